// The edge process (`contrail edge`): the edge proxy's HTTP and HTTPS listeners of some regions (certificates from
// the data directory's local CA, made at the first start), their route table kept from the control database
// (route-sync.ts), and a local metrics listener: `/metrics` (the `fly_edge_*` and `fly_app_*`
// families, scraped by the metrics node), `/healthz`, `/proxied-bytes` (bytes per instance, read by the agent for
// `fly_instance_net_*`) and `/routes/<app>` (what this edge routes, read by `deploy --wait`). It needs no other
// process to do its job: with the metrics node or the agent gone it keeps routing on the routes it last read.
//
// Start order: control database, route table read, edge listeners, metrics listener, heartbeat (`edge/<region>`,
// with the listeners and the metrics address), polling. Stop order: listeners, polling, metrics listener,
// heartbeat row, database.

import { type ControlDb, openControlDb } from "../control/index.ts";
import { type Edge, LocalCa, startEdge } from "../edge/index.ts";
import { Registry } from "../exposition/registry.ts";
import { ContrailError } from "../model/errors.ts";
import { stopOnce } from "./child.ts";
import { type BoundEdge, edgeRole, RoleHeartbeat, refuseEdgeOverlap } from "./heartbeat.ts";
import { DEFAULT_EDGES, type EdgeSpec, hostIdFor, tcpPortOffsets, tlsAddressOf } from "./options.ts";
import { jsonAnswer, metricsAnswer, type RoleHttp, type RoleHttpAnswer, startRoleHttp } from "./role-http.ts";
import { RouteSync } from "./route-sync.ts";
import { PlatformRoutes } from "./routes.ts";

/** How long the edge waits for another process's write lock before keeping its last routes, ms. */
const EDGE_DB_BUSY_MS = 100;

/** Options of {@link startEdgeRole}. */
export interface EdgeRoleOptions {
  readonly dataDir: string;
  /** The listeners; empty means {@link DEFAULT_EDGES}, which move to free ports when one of theirs is taken. */
  readonly edges: readonly EdgeSpec[];
  /** App host names are `<app>.<domain>`. */
  readonly domain: string;
  /** `HOST:PORT` of the metrics listener (port 0: a free one). */
  readonly metrics: string;
  /** Keep the response-time histogram also as a native histogram (`--native-histograms`). */
  readonly nativeHistograms?: boolean;
  /** Time between two checks of the control database, ms. */
  readonly pollIntervalMs?: number;
  readonly warn: (line: string) => void;
}

/** A running edge process. */
export interface EdgeRole {
  readonly edges: readonly BoundEdge[];
  /** `http://HOST:PORT` of the metrics listener. */
  readonly metricsUrl: string;
  /** Absolute path of the local CA's certificate, which clients of the HTTPS listeners must trust. */
  readonly caCertPath: string;
  /** Stops in order; resolves when every listener is closed. Idempotent. */
  stop(): Promise<void>;
}

/** Starts the listeners of `specs`; default listeners whose port is taken move to a free port (told through `warn`). */
async function startEdges(
  specs: readonly EdgeSpec[],
  movable: boolean,
  routes: PlatformRoutes,
  o: EdgeRoleOptions,
  ca: LocalCa,
): Promise<{ edge: Edge; registry: Registry }> {
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
          tlsAddress: tlsAddressOf(e),
          tcpPortOffset: offsets[i],
        })),
        routes,
        registry,
        ca,
        domain: o.domain,
        nativeHistograms: o.nativeHistograms,
      });
      return { edge, registry };
    } catch (err) {
      if (!movable || attempt > 0 || !/EADDRINUSE/.test((err as Error).message)) throw err;
      o.warn(`a default edge port is taken (${(err as Error).message}); the edges listen on free ports`);
      const free = (a: string) => `${a.slice(0, a.lastIndexOf(":"))}:0`;
      specs = specs.map((e) => ({ region: e.region, address: free(e.address), tlsAddress: free(tlsAddressOf(e)) }));
    }
  }
}

/** The JSON of `/routes/<app>`: the instances this edge knows for the app, or 404 for an unknown app. */
function routesAnswer(routes: PlatformRoutes, path: string): RoleHttpAnswer | undefined {
  let app: string;
  try {
    app = decodeURIComponent(path.slice("/routes/".length));
  } catch {
    return undefined;
  }
  const route = routes.get(app);
  if (route === undefined) return undefined;
  return jsonAnswer({ app, instances: route.instances.map((i) => ({ id: i.id, healthy: i.healthy })) });
}

/** Starts an edge process's roles; rejects (with what was started closed again) when one cannot start. */
export async function startEdgeRole(o: EdgeRoleOptions): Promise<EdgeRole> {
  const movable = o.edges.length === 0;
  const specs = movable ? DEFAULT_EDGES : o.edges;
  if (specs.length === 0) throw new ContrailError("bad_data", "an edge needs at least one region");
  const regions = specs.map((e) => e.region);
  const db: ControlDb = openControlDb({ dataDir: o.dataDir, busyTimeoutMs: EDGE_DB_BUSY_MS });
  let edge: Edge | null = null;
  let http: RoleHttp | null = null;
  let beat: RoleHeartbeat | null = null;
  let sync: RouteSync | null = null;
  const close = async () => {
    sync?.stop();
    await edge?.close();
    await http?.close();
    beat?.stop();
    db.close();
  };
  try {
    refuseEdgeOverlap(db, regions);
    const routes = new PlatformRoutes();
    const s = new RouteSync({ db, routes, pollIntervalMs: o.pollIntervalMs, warn: o.warn });
    sync = s;
    // Routes before listening: the first request already finds every app.
    s.load();
    const ca = LocalCa.openOrCreate(o.dataDir);
    const started = await startEdges(specs, movable, routes, o, ca);
    const e = started.edge;
    edge = e;
    s.attach(e);
    http = await startRoleHttp(o.metrics, (path, accept) => {
      if (path === "/metrics") return metricsAnswer(started.registry, accept);
      if (path === "/proxied-bytes") return jsonAnswer(Object.fromEntries(e.allProxiedBytes()));
      if (path.startsWith("/routes/")) return routesAnswer(routes, path);
      return undefined;
    });
    const portOf = (address: string) => address.slice(address.lastIndexOf(":") + 1);
    const edges: BoundEdge[] = e.listeners.map((l) => ({
      region: l.region,
      host: l.host,
      address: l.address,
      url: `http://<app>.${o.domain}:${portOf(l.address)}`,
      ...(l.tlsAddress === null
        ? {}
        : { tlsAddress: l.tlsAddress, tlsUrl: `https://<app>.${o.domain}:${portOf(l.tlsAddress)}` }),
    }));
    const b = new RoleHeartbeat({ db, role: edgeRole(regions), warn: o.warn });
    beat = b;
    b.start({ edges, regions, metrics: http.url, ca: ca.certPath });
    s.start();
    return {
      edges,
      metricsUrl: http.url,
      caCertPath: ca.certPath,
      stop: stopOnce(close),
    };
  } catch (err) {
    await close();
    throw err;
  }
}
