// The platform's control loop. About once a second it reads the control database and brings the process in line:
//   - apps and their settings → the edge's route table (and its TCP service listeners);
//   - deployments whose version moved → the app's local instances stopped and started anew, the outcome recorded
//     for `deploy --wait`;
//   - external instances added or removed → health checked by the runner (and routed once healthy) or forgotten;
//   - a heartbeat row, so commands on the same data directory know this process runs.
// Passes run one at a time; a slow one (instances stopping) delays the next instead of overlapping it.

import {
  addressOf,
  beat,
  type ControlDb,
  clearLocalInstances,
  type Deployment,
  listApps,
  listDeployments,
  listInstances,
  markDeploymentApplied,
} from "../../control/index.ts";
import type { Edge } from "../../edge/index.ts";
import type { Runner } from "../../machines/index.ts";
import { type AppRouteSettings, appSpecOf, externalChecksOf, routeSettingsOf } from "./app-spec.ts";
import type { PlatformRoutes } from "./routes.ts";

/** Interval of the heartbeat row, ms. */
export const HEARTBEAT_INTERVAL_MS = 2_000;
/** A heartbeat older than this means its process is gone, ms. */
export const HEARTBEAT_STALE_MS = 5 * HEARTBEAT_INTERVAL_MS;

/** What the reconciler drives. */
export interface ReconcilerDeps {
  readonly db: ControlDb;
  readonly runner: Runner;
  readonly routes: PlatformRoutes;
  readonly edge: Edge;
  /** Asks the scraper to reread its targets. */
  readonly refreshTargets: () => void;
  /** Regions instances are placed in when the fly.toml names none: those of the running edges. */
  readonly regions: readonly string[];
  /** Time between passes, ms. */
  readonly pollIntervalMs: number;
  /** Who writes the heartbeat (role `up`); its `info` is given to {@link Reconciler.start}. */
  readonly heartbeat: { readonly pid: number; readonly hostname: string; readonly startedAt: number };
  readonly log: (line: string) => void;
  readonly warn: (line: string) => void;
}

interface Running {
  /** The deployment version last acted on (also when starting it failed, so it is not retried every pass). */
  readonly version: number;
  readonly ids: readonly string[];
}

/** Keeps the runner, the route table and the heartbeat in line with the control database. */
export class Reconciler {
  private readonly orgs = new Map<string, string>();
  private readonly running = new Map<string, Running>();
  /** External instance id → its app. */
  private readonly externals = new Map<string, string>();
  private passTimer: NodeJS.Timeout | null = null;
  private beatTimer: NodeJS.Timeout | null = null;
  private current: Promise<void> = Promise.resolve();
  private info: Readonly<Record<string, unknown>> = {};
  private stopped = false;

  constructor(private readonly deps: ReconcilerDeps) {}

  /** The org owning `app` as of the last pass, or null: the in-process collectors' routing of samples. */
  readonly orgOfApp = (app: string): string | null => this.orgs.get(app) ?? null;

  /**
   * Writes the first heartbeat with `info` (addresses for `deploy` and `apps status`), runs a first pass (starting
   * every deployed app), then a pass every poll interval.
   */
  async start(info: Readonly<Record<string, unknown>>): Promise<void> {
    this.info = info;
    this.writeBeat();
    this.beatTimer = setInterval(() => this.writeBeat(), HEARTBEAT_INTERVAL_MS);
    await this.pass();
    this.schedule();
  }

  /** Runs a pass now (after the one in progress, if any). */
  pass(): Promise<void> {
    this.current = this.current.then(
      () => this.runPass(),
      () => this.runPass(),
    );
    return this.current;
  }

  /** Stops the timers and waits for a pass in progress. Instances keep running: stop the runner after. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.passTimer !== null) clearTimeout(this.passTimer);
    if (this.beatTimer !== null) clearInterval(this.beatTimer);
    this.passTimer = null;
    this.beatTimer = null;
    await this.current.catch(() => undefined);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.passTimer = setTimeout(() => {
      this.passTimer = null;
      void this.pass().finally(() => this.schedule());
    }, this.deps.pollIntervalMs);
  }

  private writeBeat(): void {
    try {
      beat(this.deps.db, { role: "up", ...this.deps.heartbeat, info: this.info });
    } catch (err) {
      this.deps.warn(`heartbeat: ${(err as Error).message}`);
    }
  }

  private async runPass(): Promise<void> {
    if (this.stopped) return;
    try {
      let changed = await this.syncApps();
      for (const d of listDeployments(this.deps.db)) {
        if (this.stopped) return;
        if (this.running.get(d.app)?.version !== d.version) {
          await this.deploy(d);
          changed = true;
        }
      }
      changed = this.syncExternals() || changed;
      if (changed) this.deps.refreshTargets();
    } catch (err) {
      this.deps.warn(`reconcile: ${(err as Error).message}`);
    }
  }

  /** Apps → orgs and routes; stops the instances of apps that were deleted. Returns whether anything changed. */
  private async syncApps(): Promise<boolean> {
    const settings = new Map<string, AppRouteSettings>();
    this.orgs.clear();
    for (const a of listApps(this.deps.db)) {
      this.orgs.set(a.name, a.orgId);
      settings.set(a.name, routeSettingsOf(a.orgId, a.config));
    }
    if (this.deps.routes.setApps(settings)) {
      for (const b of await this.deps.edge.syncTcpServices()) {
        if (b.error !== null) this.deps.warn(`app ${b.app}: TCP port ${b.publicPort} in ${b.region}: ${b.error}`);
      }
    }
    let changed = false;
    for (const [app, r] of this.running) {
      if (settings.has(app)) continue;
      await this.deps.runner.stopApp(app);
      this.forget(r.ids);
      this.running.delete(app);
      this.deps.log(`app ${app} was deleted: its instances are stopped`);
      changed = true;
    }
    return changed;
  }

  /** Stops the app's instances (if any) and starts those of deployment `d`; records the outcome. */
  private async deploy(d: Deployment): Promise<void> {
    const { db, runner } = this.deps;
    const old = runner
      .instances()
      .filter((s) => s.info.kind === "local" && s.info.app === d.app)
      .map((s) => s.info.id);
    await runner.stopApp(d.app);
    this.forget(old);
    clearLocalInstances(db, d.app);
    const { spec, skipped } = appSpecOf({
      app: d.app,
      dir: d.dir,
      config: d.config,
      defaultRegions: this.deps.regions,
    });
    try {
      const infos = await runner.start(spec);
      this.running.set(d.app, { version: d.version, ids: infos.map((i) => i.id) });
      markDeploymentApplied(db, d.app, d.version, null);
      const where = [...new Set(infos.map((i) => i.region))].join(", ");
      this.deps.log(
        `app ${d.app} v${d.version}: ${infos.length} instance${infos.length === 1 ? "" : "s"}` +
          (infos.length > 0 ? ` in ${where}` : "") +
          (skipped.length > 0
            ? ` (process groups without a command, external instances only: ${skipped.join(", ")})`
            : ""),
      );
    } catch (err) {
      this.running.set(d.app, { version: d.version, ids: [] });
      const message = (err as Error).message;
      markDeploymentApplied(db, d.app, d.version, message);
      this.deps.warn(`app ${d.app} v${d.version}: cannot start: ${message}`);
    }
  }

  /** External instance rows → runner health checks and routes. Returns whether anything changed. */
  private syncExternals(): boolean {
    const { db, runner, routes } = this.deps;
    const rows = listInstances(db).filter((i) => i.kind === "external");
    const seen = new Set<string>();
    let changed = false;
    const configs = new Map(listApps(db).map((a) => [a.name, a.config]));
    for (const i of rows) {
      seen.add(i.id);
      const address = addressOf(i);
      if (this.externals.has(i.id) || address === null) continue;
      try {
        runner.addExternal({
          id: i.id,
          app: i.app,
          group: i.processGroup,
          region: i.region,
          host: i.host,
          address,
          checks: externalChecksOf(configs.get(i.app) ?? null, i.processGroup),
        });
      } catch (err) {
        this.deps.warn(`external instance ${i.id} of ${i.app}: ${(err as Error).message}`);
        continue;
      }
      routes.upsert({ app: i.app, id: i.id, region: i.region, host: i.host, address, healthy: false });
      this.externals.set(i.id, i.app);
      this.deps.log(`app ${i.app}: checking external instance ${i.id} at ${address}`);
      changed = true;
    }
    for (const [id, app] of this.externals) {
      if (seen.has(id)) continue;
      runner.removeExternal(id);
      this.forget([id]);
      this.externals.delete(id);
      this.deps.log(`app ${app}: external instance ${id} removed`);
      changed = true;
    }
    return changed;
  }

  /** Drops instances that left: their routes and the edge's per-instance state and series. */
  private forget(ids: readonly string[]): void {
    for (const id of ids) {
      this.deps.routes.remove(id);
      this.deps.edge.forgetInstance(id);
    }
  }
}
