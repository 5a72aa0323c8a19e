// The runner's lifecycle events, mirrored to the control plane's instance rows (state, address, pid, restarts,
// last exit), which the edges route by (traffic goes to an instance while its row says `started`: from its
// `healthy` event until its next `unhealthy` or `exited`), and which the scrape targets and `apps status` read.
//
// Row states: started (spawned) → `starting`; healthy → `started`; unhealthy → `failed`; exited → `stopped` when it
// was asked to stop or exited cleanly, else `failed`; restarting → `starting`.

import {
  type ControlDb,
  type InstanceHealth,
  type InstanceState,
  type LocalInstanceIdentity,
  recordInstanceReport,
} from "../control/index.ts";
import { exitStatus, type InstanceEvent, type InstanceListener, type Runner } from "../machines/index.ts";

/** What the mirror writes to and reads from. */
export interface InstanceMirrorDeps {
  readonly db: ControlDb;
  readonly runner: Runner;
  readonly warn: (line: string) => void;
}

/** The listener to add with `runner.on`. It never throws: a failed write is reported through `warn`. */
export function instanceMirror(deps: InstanceMirrorDeps): InstanceListener {
  const { db, runner } = deps;
  return (e: InstanceEvent) => {
    const info = e.instance;
    const status = runner.status(info.id);
    const restarts = status?.restarts ?? 0;
    const address = info.address ?? undefined;
    const identity: LocalInstanceIdentity | undefined =
      info.kind === "local"
        ? { id: info.id, app: info.app, region: info.region, host: info.host, processGroup: info.group }
        : undefined;
    const report = (
      state: InstanceState,
      health: InstanceHealth,
      extra: { pid: number | null; exit?: { status: number; atMs: number } },
    ) => {
      try {
        const ports = info.ports;
        recordInstanceReport(db, { id: info.id, state, health, address, ports, restarts, ...extra }, identity);
      } catch (err) {
        deps.warn(`instance ${info.id} of ${info.app}: cannot record ${e.kind}: ${(err as Error).message}`);
      }
    };
    switch (e.kind) {
      case "started":
        report("starting", "starting", { pid: e.pid });
        return;
      case "healthy":
        report("started", "healthy", { pid: status?.pid ?? null });
        return;
      case "unhealthy":
        report("failed", "unhealthy", { pid: status?.pid ?? null });
        return;
      case "exited": {
        const clean = e.exit.code === 0 && e.exit.signal === null;
        const asked = status?.state === "stopping" || status?.state === "stopped";
        report(asked || clean ? "stopped" : "failed", "unhealthy", {
          pid: null,
          exit: { status: exitStatus(e.exit), atMs: e.exit.atMs },
        });
        return;
      }
      case "restarting":
        report("starting", "starting", { pid: null });
        return;
    }
  };
}
