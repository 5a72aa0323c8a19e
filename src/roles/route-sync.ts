// The edge process's view of the control database: every poll interval it asks SQLite whether another process
// committed since the last read (`data_version`, which reads no table) and only then rereads the apps and instance
// rows into the route table (settings, which instances exist, which are healthy: state `started`), opens or closes
// TCP service listeners, and drops the per-instance state of instances that left. Requests never touch SQLite:
// they read the route table, which keeps the last routes read while the database is busy or unreadable.

import { addressOf, type ControlDb, listApps, listInstances } from "../control/index.ts";
import type { Edge } from "../edge/index.ts";
import { type AppRouteSettings, routeSettingsOf } from "./app-spec.ts";
import type { PlatformRoutes, RoutedInstance } from "./routes.ts";

/** Default time between two checks of the control database, ms. */
export const ROUTE_POLL_MS = 200;

/** Options of a {@link RouteSync}. */
export interface RouteSyncOptions {
  readonly db: ControlDb;
  readonly routes: PlatformRoutes;
  /** Time between two checks, ms (default {@link ROUTE_POLL_MS}). */
  readonly pollIntervalMs?: number;
  /** Called after each read that changed the routes. */
  readonly onChange?: () => void;
  readonly warn: (line: string) => void;
}

function sameRoute(a: RoutedInstance | undefined, b: RoutedInstance): boolean {
  return (
    a !== undefined &&
    a.app === b.app &&
    a.region === b.region &&
    a.host === b.host &&
    a.address === b.address &&
    a.healthy === b.healthy
  );
}

/** Keeps a route table in line with the control database. Single-threaded. */
export class RouteSync {
  private edge: Edge | null = null;
  private version: number | null = null;
  private known = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private failing = false;

  constructor(private readonly o: RouteSyncOptions) {}

  /** The edge whose TCP services and per-instance state follow the table (set once it listens). */
  attach(edge: Edge): void {
    this.edge = edge;
  }

  /**
   * Rereads the database when another process changed it (always on the first call); returns whether the routes
   * changed. A failed read keeps the current routes and is reported once per streak of failures.
   */
  load(): boolean {
    const { db } = this.o;
    try {
      const version = db.dataVersion();
      if (version === this.version) return false;
      const apps = listApps(db);
      const instances = listInstances(db);
      this.version = version;
      this.failing = false;
      return this.apply(
        new Map<string, AppRouteSettings>(apps.map((a) => [a.name, routeSettingsOf(a.orgId, a.config)])),
        instances.flatMap((i) => {
          const address = addressOf(i);
          return address === null
            ? []
            : [{ app: i.app, id: i.id, region: i.region, host: i.host, address, healthy: i.state === "started" }];
        }),
      );
    } catch (err) {
      if (!this.failing) this.o.warn(`routes: cannot read the control database, keeping the last routes: ${err}`);
      this.failing = true;
      return false;
    }
  }

  /** Checks the database every poll interval until stopped. */
  start(): void {
    const every = this.o.pollIntervalMs ?? ROUTE_POLL_MS;
    this.timer = setInterval(() => {
      if (this.load()) this.o.onChange?.();
    }, every);
  }

  /** Stops polling. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private apply(settings: ReadonlyMap<string, AppRouteSettings>, rows: readonly RoutedInstance[]): boolean {
    const { routes } = this.o;
    const tcpChanged = routes.setApps(settings);
    let changed = tcpChanged;
    const seen = new Set<string>();
    for (const r of rows) {
      seen.add(r.id);
      if (sameRoute(routes.instance(r.id), r)) continue;
      routes.upsert(r);
      changed = true;
    }
    for (const id of this.known) {
      if (seen.has(id)) continue;
      routes.remove(id);
      this.edge?.forgetInstance(id);
      changed = true;
    }
    this.known = seen;
    if (tcpChanged) void this.syncTcp();
    return changed;
  }

  private async syncTcp(): Promise<void> {
    if (this.edge === null) return;
    for (const b of await this.edge.syncTcpServices()) {
      if (b.error !== null) this.o.warn(`app ${b.app}: TCP port ${b.publicPort} in ${b.region}: ${b.error}`);
    }
  }
}
