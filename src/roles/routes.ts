// The edge's route table of the platform: per-app settings from the control plane (refreshed by the reconciler)
// joined with the instances the runner reports (healthy, unhealthy, gone). The edge reads `get` on every request,
// so each change rebuilds the app's AppRoute once and lookups stay a plain map read.

import type { AppRoute, InstanceRoute, RouteTable } from "../edge/index.ts";
import type { AppRouteSettings } from "./app-spec.ts";

/** An instance as the route table keeps it: its route and the app it belongs to. */
export interface RoutedInstance extends InstanceRoute {
  readonly app: string;
}

/** App name → route, kept current from the control plane and the runner's events. Single-threaded. */
export class PlatformRoutes implements RouteTable {
  private readonly settings = new Map<string, AppRouteSettings>();
  private readonly instances = new Map<string, RoutedInstance>();
  private readonly routes = new Map<string, AppRoute>();
  private tcpKey = "[]";

  /** The route of `app`, or undefined when no such app exists. */
  get(app: string): AppRoute | undefined {
    return this.routes.get(app);
  }

  /** Every app with a route. */
  keys(): Iterable<string> {
    return this.routes.keys();
  }

  /**
   * Replaces every app's settings (apps missing from `apps` lose their route; their instances stay known until
   * removed). Returns true when the TCP services changed, so the caller can resync the edge's listeners.
   */
  setApps(apps: ReadonlyMap<string, AppRouteSettings>): boolean {
    for (const name of this.settings.keys()) if (!apps.has(name)) this.settings.delete(name);
    for (const [name, s] of apps) this.settings.set(name, s);
    for (const name of this.routes.keys()) if (!apps.has(name)) this.routes.delete(name);
    for (const name of apps.keys()) this.rebuild(name);
    const key = JSON.stringify([...this.settings].filter(([, s]) => s.tcpServices.length > 0));
    const changed = key !== this.tcpKey;
    this.tcpKey = key;
    return changed;
  }

  /** Adds or replaces an instance (by id). */
  upsert(instance: RoutedInstance): void {
    const old = this.instances.get(instance.id);
    this.instances.set(instance.id, instance);
    if (old !== undefined && old.app !== instance.app) this.rebuild(old.app);
    this.rebuild(instance.app);
  }

  /** Marks an instance healthy or not; unknown ids are ignored. */
  setHealthy(id: string, healthy: boolean, address?: string | null): void {
    const old = this.instances.get(id);
    if (old === undefined) return;
    const next = address === undefined || address === null ? old.address : address;
    if (old.healthy === healthy && old.address === next) return;
    this.upsert({ ...old, healthy, address: next });
  }

  /** Forgets an instance; returns whether it was known. */
  remove(id: string): boolean {
    const old = this.instances.get(id);
    if (old === undefined) return false;
    this.instances.delete(id);
    this.rebuild(old.app);
    return true;
  }

  /** The instance with `id`, or undefined. */
  instance(id: string): RoutedInstance | undefined {
    return this.instances.get(id);
  }

  private rebuild(app: string): void {
    const s = this.settings.get(app);
    if (s === undefined) return;
    const list: InstanceRoute[] = [];
    for (const i of this.instances.values()) {
      if (i.app === app)
        list.push({ id: i.id, region: i.region, host: i.host, address: i.address, healthy: i.healthy });
    }
    this.routes.set(app, { org: s.org, concurrency: s.concurrency, tcpServices: s.tcpServices, instances: list });
  }
}
