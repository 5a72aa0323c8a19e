// Runtime facts of instances, as the process running them reports them: state and address in the instance's row,
// and the process facts (pid, health, restarts, last exit) in `instance_runtime`. The runner writes them on every
// lifecycle event, so `apps status` in another process and the scrape targets see what runs now.
//
// The instance row's address is unique per app and never empty. A local instance without a service has no
// address, and should a loopback port move from an exited instance to another of the same app (a restart picks a
// new port only when its old one was taken), the exited one's row gives the address up. Both cases store the
// placeholder `none:<id>`, which no reader can parse as an address and which only that row can hold;
// {@link addressOf} turns it back into null.

import { ContrailError } from "../model/errors.ts";
import type { ControlDb } from "./connection.ts";
import { getInstance, type Instance, type InstanceState, listInstances } from "./instances.ts";
import { checkHostId, checkProcessGroup, checkRegion, parseAddress } from "./validate.ts";

/** Health as the runner's checks see it. */
export type InstanceHealth = "starting" | "healthy" | "unhealthy";

/** Process facts of an instance; null fields are unknown or not applicable (external instances have no pid). */
export interface InstanceRuntime {
  readonly pid: number | null;
  readonly health: InstanceHealth;
  /** Restarts since the instance was first started. */
  readonly restarts: number;
  /** Status of the last exit: the code, or 128 + the signal number. */
  readonly lastExitCode: number | null;
  readonly lastExitAt: number | null;
  readonly updatedAt: number;
}

/** An instance with its runtime facts (null before the runner reported any). */
export interface InstanceWithRuntime extends Instance {
  readonly runtime: InstanceRuntime | null;
}

/** A lifecycle report of one instance. */
export interface InstanceReport {
  readonly id: string;
  readonly state: InstanceState;
  readonly health: InstanceHealth;
  /** Where it listens now, when known. */
  readonly address?: string;
  /** The ports it listens on in place of declared ones, by declared port, when known (see `Instance.ports`). */
  readonly ports?: Readonly<Record<string, number>>;
  readonly pid: number | null;
  readonly restarts: number;
  /** Set when this report is about an exit. */
  readonly exit?: { readonly status: number; readonly atMs: number };
}

/** Identity of a local instance, for its first report (the runner chooses local ids). */
export interface LocalInstanceIdentity {
  readonly id: string;
  readonly app: string;
  readonly region: string;
  readonly host: string;
  readonly processGroup: string;
}

const NO_ADDRESS = "none:";

/** Most stand-in ports one instance may report: one per declared metrics port is the only use. */
const MAX_STAND_IN_PORTS = 16;

/** `ports` as stored: JSON of a checked map of port numbers; throws `bad_data` naming the bad entry. */
function portsJson(ports: Readonly<Record<string, number>>): string {
  const entries = Object.entries(ports);
  if (entries.length > MAX_STAND_IN_PORTS) {
    throw new ContrailError("bad_data", `ports: at most ${MAX_STAND_IN_PORTS} entries, got ${entries.length}`);
  }
  const port = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
  for (const [declared, actual] of entries) {
    if (!/^[1-9][0-9]{0,4}$/.test(declared) || !port(Number(declared)) || !port(actual)) {
      throw new ContrailError("bad_data", `ports: expected port numbers, got ${JSON.stringify(declared)}: ${actual}`);
    }
  }
  return JSON.stringify(Object.fromEntries(entries));
}

/** The address of an instance row, or null when it holds the no-address placeholder (see the file comment). */
export function addressOf(instance: { readonly address: string }): string | null {
  return instance.address.startsWith(NO_ADDRESS) ? null : instance.address;
}

/**
 * Records a report. A local instance unknown so far is registered from `identity` (its app must exist); returns
 * false when the instance is unknown and no identity is given, or its app is gone.
 */
export function recordInstanceReport(db: ControlDb, report: InstanceReport, identity?: LocalInstanceIdentity): boolean {
  if (report.address !== undefined) parseAddress(report.address);
  const ports = report.ports === undefined ? null : portsJson(report.ports);
  return db.transaction(() => {
    const now = db.now();
    const current = getInstance(db, report.id);
    if (current === undefined) {
      if (identity === undefined) return false;
      const app = db.stmt<[string], { name: string }>("SELECT name FROM apps WHERE name = ?").get(identity.app);
      if (app === undefined) return false;
      if (report.address !== undefined) releaseAddress(db, identity.app, report.address, report.id);
      db.stmt(
        `INSERT INTO instances (id, app, kind, region, host, address, process_group, state, ports, registered_at,
           started_at, updated_at)
         VALUES (?, ?, 'local', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        report.id,
        identity.app,
        checkRegion(identity.region),
        checkHostId(identity.host),
        report.address ?? `${NO_ADDRESS}${report.id}`,
        checkProcessGroup("process group", identity.processGroup),
        report.state,
        ports,
        now,
        report.state === "started" ? now : null,
        now,
      );
    } else {
      if (report.address !== undefined && report.address !== current.address) {
        releaseAddress(db, current.app, report.address, report.id);
      }
      db.stmt<[{ id: string; state: string; address: string | null; ports: string | null; now: number }]>(
        `UPDATE instances
         SET state = @state, address = coalesce(@address, address), ports = coalesce(@ports, ports),
             updated_at = @now,
             started_at = CASE WHEN @state = 'started' AND state <> 'started' THEN @now ELSE started_at END
         WHERE id = @id`,
      ).run({ id: report.id, state: report.state, address: report.address ?? null, ports, now });
    }
    db.stmt<
      [
        {
          id: string;
          pid: number | null;
          health: string;
          restarts: number;
          code: number | null;
          at: number | null;
          now: number;
        },
      ]
    >(
      `INSERT INTO instance_runtime (id, pid, health, restarts, last_exit_code, last_exit_at, updated_at)
       VALUES (@id, @pid, @health, @restarts, @code, @at, @now)
       ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, health = excluded.health, restarts = excluded.restarts,
         last_exit_code = coalesce(excluded.last_exit_code, last_exit_code),
         last_exit_at = coalesce(excluded.last_exit_at, last_exit_at), updated_at = excluded.updated_at`,
    ).run({
      id: report.id,
      pid: report.pid,
      health: report.health,
      restarts: report.restarts,
      code: report.exit?.status ?? null,
      at: report.exit?.atMs ?? null,
      now,
    });
    return true;
  });
}

/** Takes `address` away from another instance of `app` that no longer listens there (see the file comment). */
function releaseAddress(db: ControlDb, app: string, address: string, except: string): void {
  db.stmt<[{ app: string; address: string; except: string; now: number }]>(
    `UPDATE instances SET address = '${NO_ADDRESS}' || id, updated_at = @now
     WHERE app = @app AND address = @address AND id <> @except`,
  ).run({ app, address, except, now: db.now() });
}

/** Removes every local instance row (a starting `up` clears what a previous run left); returns how many. */
export function clearLocalInstances(db: ControlDb, app?: string): number {
  const r = db
    .stmt<[{ app: string | null }]>("DELETE FROM instances WHERE kind = 'local' AND (@app IS NULL OR app = @app)")
    .run({ app: app ?? null });
  return r.changes;
}

interface RuntimeRow {
  id: string;
  pid: number | null;
  health: InstanceHealth;
  restarts: number;
  last_exit_code: number | null;
  last_exit_at: number | null;
  updated_at: number;
}

/** Instances of `app` (or of every app) with their runtime facts, in registration order. */
export function listInstancesWithRuntime(db: ControlDb, filter: { readonly app?: string } = {}): InstanceWithRuntime[] {
  const instances = listInstances(db, { app: filter.app });
  const rows = db
    .stmt<[{ app: string | null }], RuntimeRow>(
      `SELECT r.id, r.pid, r.health, r.restarts, r.last_exit_code, r.last_exit_at, r.updated_at
       FROM instance_runtime r JOIN instances i ON i.id = r.id WHERE (@app IS NULL OR i.app = @app)`,
    )
    .all({ app: filter.app ?? null });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return instances.map((i) => {
    const r = byId.get(i.id);
    return {
      ...i,
      runtime:
        r === undefined
          ? null
          : {
              pid: r.pid,
              health: r.health,
              restarts: r.restarts,
              lastExitCode: r.last_exit_code,
              lastExitAt: r.last_exit_at,
              updatedAt: r.updated_at,
            },
    };
  });
}
