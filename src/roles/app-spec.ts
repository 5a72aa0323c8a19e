// From an app's checked fly.toml to what each role needs: the runner's AppSpec (which processes to start where),
// the edge's per-app route settings (HTTP limits, TCP services), and the scraper's view of its metrics endpoints.

import type { FlyConfig, HttpService, Service } from "../control/index.ts";
import { DEFAULT_PROCESS_GROUP, metricsFor, processGroups } from "../control/index.ts";
import { type ConcurrencyLimits, DEFAULT_CONCURRENCY, type TcpServiceRoute } from "../edge/index.ts";
import type { AppSpec, HealthCheck, ProcessGroupSpec } from "../machines/index.ts";
import type { AppMetricsSpec } from "../scrape/index.ts";

/** Most public ports one `[[services.ports]]` range opens. */
const MAX_RANGE_PORTS = 256;

function covers(processes: readonly string[], group: string): boolean {
  return processes.length === 0 || processes.includes(group);
}

/** The HTTP service that serves process group `group`, if any. */
function httpServiceOf(config: FlyConfig, group: string): HttpService | null {
  const s = config.httpService;
  return s !== null && covers(s.processes, group) ? s : null;
}

/** The first TCP service that serves process group `group`, if any. */
function tcpServiceOf(config: FlyConfig, group: string): Service | null {
  return config.services.find((s) => s.protocol === "tcp" && covers(s.processes, group)) ?? null;
}

/** The internal port the instances of `group` serve (HTTP service first, else a TCP service), or null. */
export function internalPortOf(config: FlyConfig, group: string): number | null {
  return httpServiceOf(config, group)?.internalPort ?? tcpServiceOf(config, group)?.internalPort ?? null;
}

/** The command of `group`: its `[processes]` entry, or `[build] command` for the single default group. */
export function commandOf(config: FlyConfig, group: string): string | null {
  if (Object.keys(config.processes).length > 0) return config.processes[group] ?? null;
  return group === DEFAULT_PROCESS_GROUP ? (config.build?.command ?? null) : null;
}

/** What {@link appSpecOf} makes of an app: the spec to run and the groups it could not run locally. */
export interface PlannedApp {
  readonly spec: AppSpec;
  /** Groups without a command (they can only have external instances). */
  readonly skipped: readonly string[];
}

/**
 * The runner's spec of an app: one instance of each group with a command in each region, the regions being the
 * fly.toml's `regions` when it lists some, else `defaultRegions` (those of the running edges).
 */
export function appSpecOf(options: {
  readonly app: string;
  readonly dir: string;
  readonly config: FlyConfig;
  readonly defaultRegions: readonly string[];
}): PlannedApp {
  const { config } = options;
  const regions = config.regions.length > 0 ? config.regions : options.defaultRegions;
  const groups: ProcessGroupSpec[] = [];
  const skipped: string[] = [];
  for (const name of processGroups(config)) {
    const command = commandOf(config, name);
    if (command === null) {
      skipped.push(name);
      continue;
    }
    const http = httpServiceOf(config, name);
    const checks: HealthCheck[] = (http?.checks ?? []).map((c) => ({ kind: "http", ...c }));
    const internalPort = internalPortOf(config, name);
    groups.push({
      name,
      command,
      internalPort,
      privatePorts: [...new Set(metricsFor(config, name).map((m) => m.port))].filter((p) => p !== internalPort),
      checks,
      regions,
      instancesPerRegion: 1,
    });
  }
  return {
    spec: {
      app: options.app,
      dir: options.dir,
      env: config.env,
      primaryRegion: config.primaryRegion,
      killSignal: config.killSignal ?? null,
      killTimeoutMs: config.killTimeoutMs ?? null,
      groups,
    },
    skipped,
  };
}

/** The health checks of an external instance of `group`: the HTTP service's, or none (a TCP connect). */
export function externalChecksOf(config: FlyConfig | null, group: string): HealthCheck[] {
  if (config === null) return [];
  return (httpServiceOf(config, group)?.checks ?? []).map((c) => ({ kind: "http", ...c }));
}

/** The edge's per-app settings: HTTP limits and TCP services (instances are added by the route table). */
export interface AppRouteSettings {
  readonly org: string;
  readonly concurrency: ConcurrencyLimits;
  readonly tcpServices: readonly TcpServiceRoute[];
}

function publicPorts(s: Service): number[] {
  const out: number[] = [];
  for (const p of s.ports) {
    if (p.port !== null) out.push(p.port);
    else if (p.startPort !== null && p.endPort !== null) {
      for (let q = p.startPort; q <= p.endPort && q < p.startPort + MAX_RANGE_PORTS; q++) out.push(q);
    }
  }
  return out;
}

/** The route settings of an app owned by `org`; an app without fly.toml gets the platform defaults. */
export function routeSettingsOf(org: string, config: FlyConfig | null): AppRouteSettings {
  if (config === null) return { org, concurrency: DEFAULT_CONCURRENCY, tcpServices: [] };
  return {
    org,
    concurrency: config.httpService?.concurrency ?? DEFAULT_CONCURRENCY,
    tcpServices: config.services
      .filter((s) => s.protocol === "tcp")
      .map((s) => ({ internalPort: s.internalPort, ports: publicPorts(s), concurrency: s.concurrency })),
  };
}

/** The scraper's view of an app: its metrics endpoints and, per group, the internal port addresses stand for. */
export function metricsSpecOf(name: string, org: string, config: FlyConfig): AppMetricsSpec {
  const internalPorts: Record<string, number> = {};
  for (const g of processGroups(config)) {
    const port = internalPortOf(config, g);
    if (port !== null) internalPorts[g] = port;
  }
  return { name, org, metrics: config.metrics, internalPorts };
}
