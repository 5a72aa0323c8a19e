// The edge proxy of one process: several HTTP listeners (each a region and host of its own, so one machine can show
// traffic from several regions), beside each an optional HTTPS listener, the TCP service listeners derived from the
// route table, and the shared state.

import type { Registry } from "../exposition/registry.ts";
import { ContrailError } from "../model/errors.ts";
import type { LocalCa } from "./cert-authority.ts";
import { CertCache } from "./cert-cache.ts";
import { EdgeCore, type EdgeTuning, resolveTuning } from "./core.ts";
import { type EdgeListenerSpec, HttpListener } from "./listener.ts";
import { EdgeMetrics } from "./metrics.ts";
import type { RouteTable } from "./routes.ts";
import { TcpServiceListener } from "./tcp-services.ts";
import { TlsListener } from "./tls-listener.ts";
import { TlsMetrics } from "./tls-metrics.ts";

/** Options of `startEdge`. The registry receives the `fly_edge_*` and `fly_app_*` families. */
export interface EdgeOptions extends EdgeTuning {
  readonly listeners: readonly EdgeListenerSpec[];
  readonly routes: RouteTable;
  readonly registry: Registry;
  /** The CA that issues the HTTPS listeners' certificates; required when a listener has a `tlsAddress`. */
  readonly ca?: LocalCa;
  /** Keep the edge's response-time histogram also as a native histogram (EdgeMetricsOptions). */
  readonly nativeHistograms?: boolean;
}

/** A bound HTTP listener and its HTTPS listener, if any. */
export interface EdgeAddress {
  readonly region: string;
  readonly host: string;
  /** The bound `ip:port`. */
  readonly address: string;
  /** The bound `ip:port` of the HTTPS listener, or null without one. */
  readonly tlsAddress: string | null;
}

/** A TCP service port as bound (or not) by `syncTcpServices`. */
export interface TcpBinding {
  readonly app: string;
  readonly region: string;
  readonly publicPort: number;
  /** The bound `ip:port`. */
  readonly address: string;
  /** Why the port could not be bound, or null. */
  readonly error: string | null;
}

/** Bytes the proxy exchanged with one instance, over every kind of connection. */
export interface ProxiedBytes {
  readonly sent: number;
  readonly recv: number;
}

/** A running edge. */
export interface Edge {
  readonly listeners: readonly EdgeAddress[];
  /** Bytes sent to / received from the instance so far (0 for an instance never used). */
  proxiedBytes(instanceId: string): ProxiedBytes;
  /** Bytes exchanged with every instance the edge keeps state for (those it proxied to and has not forgotten). */
  allProxiedBytes(): Map<string, ProxiedBytes>;
  /**
   * Opens and closes TCP service listeners to match the route table's `tcpServices`, at every edge listener.
   * Call after the table changed. A port claimed by two apps goes to the first in `keys()` order.
   */
  syncTcpServices(): Promise<readonly TcpBinding[]>;
  /** Drops an instance that left the platform: its idle connections and its `fly_app_*` series. */
  forgetInstance(instanceId: string): void;
  /** Stops every listener and closes every connection. */
  close(): Promise<void>;
}

const REGION = /^[a-z]{3}$/;
const HOST = /^[0-9a-f]{4}$/;

/** Starts the listeners and opens the TCP services of the route table; rejects if a listener cannot bind. */
export async function startEdge(options: EdgeOptions): Promise<Edge> {
  if (options.listeners.length === 0) throw new ContrailError("bad_data", "the edge needs at least one listener");
  for (const l of options.listeners) {
    if (!REGION.test(l.region)) throw new ContrailError("bad_data", `edge region ${JSON.stringify(l.region)}`);
    if (!HOST.test(l.host)) throw new ContrailError("bad_data", `edge host id ${JSON.stringify(l.host)}`);
  }
  const ca = options.ca;
  if (ca === undefined && options.listeners.some((l) => l.tlsAddress !== undefined)) {
    throw new ContrailError("bad_data", "an edge with HTTPS listeners needs a certificate authority");
  }
  const core = new EdgeCore(
    resolveTuning(options),
    new EdgeMetrics(options.registry, { nativeHistograms: options.nativeHistograms }),
    options.routes,
  );
  const http = options.listeners.map((spec) => new HttpListener(core, spec));
  const shared =
    ca === undefined
      ? null
      : { certs: new CertCache(ca, core.tuning.tlsMaxCachedCertificates), metrics: new TlsMetrics(options.registry) };
  const secure = http.map((l) =>
    l.spec.tlsAddress === undefined || shared === null ? null : new TlsListener(core, l, shared, l.spec.tlsAddress),
  );
  const closeListeners = () =>
    Promise.all([...http.map((l) => l.close()), ...secure.map((l) => l?.close())]).then(() => undefined);
  try {
    await Promise.all([...http.map((l) => l.listen()), ...secure.map((l) => l?.listen())]);
  } catch (err) {
    await closeListeners();
    throw new ContrailError("unavailable", `edge listener: ${(err as Error).message}`, { cause: err });
  }
  core.start();
  const tcp = new Map<string, TcpServiceListener>();

  const syncTcpServices = async (): Promise<readonly TcpBinding[]> => {
    const wanted = new Map<string, { listener: HttpListener; app: string; port: number }>();
    for (const app of options.routes.keys()) {
      const route = options.routes.get(app);
      if (route === undefined) continue;
      for (const svc of route.tcpServices) {
        for (const port of svc.ports) {
          for (let i = 0; i < http.length; i++) {
            const key = `${i}/${port}`;
            if (!wanted.has(key)) wanted.set(key, { listener: http[i], app, port });
          }
        }
      }
    }
    const closing: Promise<void>[] = [];
    for (const [key, l] of tcp) {
      const w = wanted.get(key);
      if (w === undefined || w.app !== l.spec.app) {
        tcp.delete(key);
        closing.push(l.close());
      }
    }
    await Promise.all(closing);
    const out: TcpBinding[] = [];
    for (const [key, w] of wanted) {
      const { listener, app, port } = w;
      let l = tcp.get(key);
      let error: string | null = null;
      if (l === undefined) {
        l = new TcpServiceListener(core, {
          app,
          region: listener.region,
          host: listener.host,
          ip: listener.ip,
          publicPort: port,
          bindPort: port + (listener.spec.tcpPortOffset ?? 0),
        });
        try {
          await l.listen();
          tcp.set(key, l);
        } catch (err) {
          error = (err as Error).message;
        }
      }
      out.push({ app, region: listener.region, publicPort: port, address: l.address, error });
    }
    return out;
  };

  await syncTcpServices();
  return {
    listeners: http.map((l, i) => {
      const tls = secure[i];
      return {
        region: l.region,
        host: l.host,
        address: `${l.ip}:${l.port}`,
        tlsAddress: tls === null ? null : `${tls.ip}:${tls.port}`,
      };
    }),
    proxiedBytes: (id) => core.instances.get(id)?.bytes() ?? { sent: 0, recv: 0 },
    allProxiedBytes: () => new Map([...core.instances].map(([id, s]) => [id, s.bytes()])),
    syncTcpServices,
    forgetInstance: (id) => core.forget(id),
    close: async () => {
      await Promise.all([closeListeners(), ...[...tcp.values()].map((l) => l.close())]);
      tcp.clear();
      core.stop();
    },
  };
}
