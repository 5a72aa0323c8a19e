// The agent's control loop. About once a second it reads the control database and brings the runner in line:
//   - deployments whose version moved → the app's local instances stopped and started anew, the outcome recorded
//     for `deploy --wait`;
//   - apps deleted → their instances stopped;
//   - external instances added or removed → health checked by the runner or forgotten.
// The instance rows it leads to are written by the instance mirror (instance-events.ts); the edges read them.
// Passes run one at a time; a slow one (instances stopping) delays the next instead of overlapping it.

import {
  addressOf,
  type ControlDb,
  clearLocalInstances,
  type Deployment,
  listApps,
  listDeployments,
  listInstances,
  markDeploymentApplied,
} from "../control/index.ts";
import type { Runner } from "../machines/index.ts";
import { appSpecOf, externalChecksOf } from "./app-spec.ts";

/** What the deployer drives. */
export interface DeployerDeps {
  readonly db: ControlDb;
  readonly runner: Runner;
  /** Regions instances are placed in when the fly.toml names none: those of the edges. */
  readonly regions: readonly string[];
  /** Time between passes, ms. */
  readonly pollIntervalMs: number;
  readonly log: (line: string) => void;
  readonly warn: (line: string) => void;
}

/** Keeps the runner in line with the deployments and external instances of the control database. */
export class Deployer {
  /** App → the deployment version last acted on (also when starting it failed, so it is not retried every pass). */
  private readonly running = new Map<string, number>();
  /** External instance id → its app. */
  private readonly externals = new Map<string, string>();
  private passTimer: NodeJS.Timeout | null = null;
  private current: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly deps: DeployerDeps) {}

  /** Runs a first pass (starting every deployed app), then a pass every poll interval. */
  async start(): Promise<void> {
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
    this.passTimer = null;
    await this.current.catch(() => undefined);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.passTimer = setTimeout(() => {
      this.passTimer = null;
      void this.pass().finally(() => this.schedule());
    }, this.deps.pollIntervalMs);
  }

  private async runPass(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.stopDeletedApps();
      for (const d of listDeployments(this.deps.db)) {
        if (this.stopped) return;
        if (this.running.get(d.app) !== d.version) await this.deploy(d);
      }
      this.syncExternals();
    } catch (err) {
      this.deps.warn(`reconcile: ${(err as Error).message}`);
    }
  }

  /** Stops the instances of apps that were deleted. */
  private async stopDeletedApps(): Promise<void> {
    const apps = new Set(listApps(this.deps.db).map((a) => a.name));
    for (const app of this.running.keys()) {
      if (apps.has(app)) continue;
      await this.deps.runner.stopApp(app);
      this.running.delete(app);
      this.deps.log(`app ${app} was deleted: its instances are stopped`);
    }
  }

  /** Stops the app's instances (if any) and starts those of deployment `d`; records the outcome. */
  private async deploy(d: Deployment): Promise<void> {
    const { db, runner } = this.deps;
    await runner.stopApp(d.app);
    // The rows go with the instances: the edges drop their routes and per-instance series when they see it.
    clearLocalInstances(db, d.app);
    const { spec, skipped } = appSpecOf({
      app: d.app,
      dir: d.dir,
      config: d.config,
      defaultRegions: this.deps.regions,
    });
    try {
      const infos = await runner.start(spec);
      this.running.set(d.app, d.version);
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
      this.running.set(d.app, d.version);
      const message = (err as Error).message;
      markDeploymentApplied(db, d.app, d.version, message);
      this.deps.warn(`app ${d.app} v${d.version}: cannot start: ${message}`);
    }
  }

  /** External instance rows → runner health checks (the mirror writes their state as the checks report it). */
  private syncExternals(): void {
    const { db, runner } = this.deps;
    const rows = listInstances(db).filter((i) => i.kind === "external");
    const seen = new Set<string>();
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
      this.externals.set(i.id, i.app);
      this.deps.log(`app ${i.app}: checking external instance ${i.id} at ${address}`);
    }
    for (const [id, app] of this.externals) {
      if (seen.has(id)) continue;
      runner.removeExternal(id);
      this.externals.delete(id);
      this.deps.log(`app ${app}: external instance ${id} removed`);
    }
  }
}
