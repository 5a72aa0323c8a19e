// Every role in one process over the embedded store: the control plane, the HTTP API (Prometheus API per org,
// remote write, control routes), the TSDB tenants, the edge (one listener per region), the machines runner and
// instance agent, the scraper (app endpoints from the control plane, plus the edge's and agent's registries in
// process), and the reconciler that keeps them in line with the control database.
//
// Start order: control database (refusing a data directory another live `up` serves), store, edge, runner and
// agent, scraper, API; then the first reconcile pass starts every deployed app. Stop order: stop accepting (API and
// edge), stop scraping, stop the instances, then close the tenant databases (WAL flushed) and the control database.

import { hostname } from "node:os";
import { checkAccess } from "../../api/auth.ts";
import { registerControlRoutes } from "../../api/control-routes.ts";
import { registerRemoteWrite } from "../../api/remote-write.ts";
import { createApiServer } from "../../api/server.ts";
import {
  authenticate,
  type ControlDb,
  clearHeartbeat,
  clearLocalInstances,
  isFresh,
  openControlDb,
  readHeartbeat,
  resetAppliedDeployments,
} from "../../control/index.ts";
import { type Edge, startEdge } from "../../edge/index.ts";
import type { MetricMetadata } from "../../exposition/index.ts";
import { Registry } from "../../exposition/registry.ts";
import { InstanceAgent, Runner } from "../../machines/index.ts";
import { ContrailError } from "../../model/errors.ts";
import { ScrapeManager } from "../../scrape/index.ts";
import { MetadataStore } from "../../storage/remote/metadata.ts";
import { EmbeddedTenantStore } from "../../storage/tenants.ts";
import { instanceMirror } from "./instance-events.ts";
import { type EdgeSpec, hostIdFor, type PlatformOptions, parseListenAddress, tcpPortOffsets } from "./options.ts";
import { HEARTBEAT_STALE_MS, Reconciler } from "./reconcile.ts";
import { PlatformRoutes } from "./routes.ts";
import { controlTargetSource } from "./targets.ts";

/** A bound edge listener, as printed and written to the heartbeat. */
export interface BoundEdge {
  readonly region: string;
  readonly host: string;
  /** `ip:port`. */
  readonly address: string;
  /** `http://<app>.<domain>:<port>` with a literal `<app>`. */
  readonly url: string;
}

/** A running platform. */
export interface Platform {
  /** Base URL of the API, e.g. `http://127.0.0.1:9300`. */
  readonly apiUrl: string;
  readonly edges: readonly BoundEdge[];
  /** Stops everything in order; resolves when the databases are closed. Idempotent. */
  stop(): Promise<void>;
}

/** True when a process with `pid` exists on this machine. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Throws `conflict` when another live `up` beats on this control database. */
function refuseSecondUp(db: ControlDb): void {
  const hb = readHeartbeat(db, "up");
  if (!isFresh(hb, db.now(), HEARTBEAT_STALE_MS) || hb.pid === process.pid) return;
  if (hb.hostname === hostname() && !alive(hb.pid)) return;
  throw new ContrailError(
    "conflict",
    `another contrail up (pid ${hb.pid} on ${hb.hostname}) serves this data directory; stop it first`,
  );
}

/**
 * Starts the edge with a registry of its own; default listeners whose port is taken move to a free port (told
 * through `warn`).
 */
async function startEdges(
  options: PlatformOptions,
  routes: PlatformRoutes,
): Promise<{ edge: Edge; registry: Registry; specs: readonly EdgeSpec[] }> {
  let specs = options.edges;
  for (let attempt = 0; ; attempt++) {
    const offsets = tcpPortOffsets(specs);
    // A failed start leaves its families registered: each attempt gets a fresh registry.
    const registry = new Registry();
    try {
      const edge = await startEdge({
        listeners: specs.map((e, i) => ({
          region: e.region,
          host: hostIdFor(`edge/${e.region}`),
          address: e.address,
          tcpPortOffset: offsets[i],
        })),
        routes,
        registry,
        domain: options.domain,
      });
      return { edge, registry, specs };
    } catch (err) {
      if (!options.defaultEdges || attempt > 0 || !/EADDRINUSE/.test((err as Error).message)) throw err;
      options.warn(`a default edge port is taken (${(err as Error).message}); the edges listen on free ports`);
      specs = specs.map((e) => ({ region: e.region, address: `${e.address.slice(0, e.address.lastIndexOf(":"))}:0` }));
    }
  }
}

/** Merges metadata lists of several sources, keeping each distinct (type, help, unit) once, names sorted. */
function mergeMetadata(
  scraped: ReadonlyMap<string, readonly MetricMetadata[]>,
  written: readonly [string, MetricMetadata][],
): Map<string, MetricMetadata[]> {
  const out = new Map<string, MetricMetadata[]>();
  for (const [name, list] of scraped) out.set(name, [...list]);
  for (const [name, md] of written) {
    const list = out.get(name) ?? [];
    if (!list.some((m) => m.type === md.type && m.help === md.help && m.unit === md.unit)) list.push(md);
    out.set(name, list);
  }
  return new Map([...out].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

/** Starts every role; rejects (with everything started so far stopped again) when one cannot start. */
export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const address = parseListenAddress(options.api);
  const control = openControlDb({ dataDir: options.dataDir });
  const cleanups: (() => Promise<void> | void)[] = [() => control.close()];
  const unwind = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        options.warn(`shutdown: ${(err as Error).message}`);
      }
    }
    cleanups.length = 0;
  };
  try {
    refuseSecondUp(control);
    // What a previous run left: its local instances are gone, and every deployed app is to be started again.
    clearLocalInstances(control);
    resetAppliedDeployments(control);

    const store = new EmbeddedTenantStore({ dataDir: options.dataDir });
    cleanups.push(() => store.close());

    const routes = new PlatformRoutes();
    const { edge, registry: edgeRegistry, specs } = await startEdges(options, routes);
    cleanups.push(() => edge.close());

    const runner = new Runner({ host: hostIdFor("machines") });
    cleanups.push(() => runner.stop());
    const agentRegistry = new Registry();
    new InstanceAgent({ source: runner, proxiedBytes: edge.proxiedBytes, registry: agentRegistry });

    // The scraper routes in-process samples by the reconciler's app → org map; the reconciler asks the scraper to
    // reread its targets when instances come and go. Neither calls the other before both exist.
    const scraper = new ScrapeManager({
      store,
      source: controlTargetSource(control),
      scrape: { intervalMs: options.scrapeIntervalMs },
      refreshIntervalMs: Math.max(1000, Math.min(10_000, options.scrapeIntervalMs)),
      shard: options.shard,
      inProcess: [
        { name: "edge", registry: edgeRegistry },
        { name: "agent", registry: agentRegistry },
      ],
      orgOfApp: (app) => reconciler.orgOfApp(app),
      onSourceError: (err) => options.warn(`scrape targets: ${err.message}`),
    });
    cleanups.push(() => scraper.stop());
    const refreshTargets = () => {
      void scraper.refresh();
    };
    const reconciler = new Reconciler({
      db: control,
      runner,
      routes,
      edge,
      refreshTargets,
      regions: specs.map((e) => e.region),
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      heartbeat: { pid: process.pid, hostname: hostname(), startedAt: Date.now() },
      log: options.log,
      warn: options.warn,
    });
    const unsubscribe = runner.on(
      instanceMirror({ db: control, runner, routes, onTargetsChanged: refreshTargets, warn: options.warn }),
    );

    const metadata = new MetadataStore();
    const auth = (token: string) => authenticate(control, token);
    const { app } = createApiServer({
      store,
      authenticate: auth,
      status: {
        targetsFor: (org) => scraper.targetsFor(org),
        metadataFor: (org) => mergeMetadata(scraper.metadataFor(org), metadata.list(org)),
      },
      onInternalError: (err, request) => {
        // The URL is logged without its query string: queries may name what an org monitors.
        options.warn(
          `internal error on ${request.method} ${request.url.split("?")[0]}: ${(err as Error)?.stack ?? err}`,
        );
      },
    });
    await registerRemoteWrite(app, {
      authorize: (request, org, scope) => checkAccess(auth, { header: request.headers.authorization, org, scope }),
      tenants: store,
      metadata,
    });
    registerControlRoutes(app, { control, authenticate: auth });
    await app.listen({ host: address.host, port: address.port });
    cleanups.push(() => app.close());
    const bound = app.server.address();
    const host = address.host.includes(":") ? `[${address.host}]` : address.host;
    const apiUrl = `http://${host}:${bound !== null && typeof bound === "object" ? bound.port : address.port}`;
    const edges: BoundEdge[] = edge.listeners.map((l) => ({
      region: l.region,
      host: l.host,
      address: l.address,
      url: `http://<app>.${options.domain}:${l.address.slice(l.address.lastIndexOf(":") + 1)}`,
    }));
    cleanups.push(async () => {
      await reconciler.stop();
      unsubscribe();
      clearHeartbeat(control, "up", process.pid);
    });
    await reconciler.start({ api: apiUrl, edges, scrapeIntervalMs: options.scrapeIntervalMs });
    await scraper.start();

    let stopping: Promise<void> | null = null;
    return {
      apiUrl,
      edges,
      stop: () => {
        stopping ??= (async () => {
          // Stop accepting first: no new requests on the API or the edge, no new deploys acted on.
          const [api, edgeClose] = [app.close(), edge.close()];
          await reconciler.stop();
          await Promise.all([api, edgeClose]);
          await scraper.stop();
          await runner.stop();
          unsubscribe();
          clearHeartbeat(control, "up", process.pid);
          cleanups.length = 0;
          try {
            store.close();
          } finally {
            control.close();
          }
        })();
        return stopping;
      },
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}
