// The edge's view of the platform: which apps exist, where their instances listen and how much load each may take.
// The edge never reads the control plane itself (layer rule); the wiring layer fills a RouteTable from it and keeps
// it current. A plain `Map<string, AppRoute>` is a RouteTable, which is what tests use.

import { ContrailError } from "../model/errors.ts";

/**
 * How load is counted against the limits: in-flight HTTP requests or open connections. For the HTTP service both
 * come to the same count, since each request holds one proxy-to-instance connection while in flight (HTTP/1.1
 * without pipelining) and an upgraded tunnel holds one until it closes; TCP services always count connections.
 */
export type ConcurrencyType = "connections" | "requests";

/** Per-instance load limits of a service (`[http_service.concurrency]` or `[services.concurrency]`). */
export interface ConcurrencyLimits {
  readonly type: ConcurrencyType;
  /** Above this the balancer prefers other instances. */
  readonly softLimit: number;
  /** At this no more load is sent to the instance; requests wait in a bounded queue. */
  readonly hardLimit: number;
}

/** The platform's defaults when fly.toml sets no `concurrency`. */
export const DEFAULT_CONCURRENCY: ConcurrencyLimits = { type: "connections", softLimit: 20, hardLimit: 25 };

/** One running instance of an app, as the edge routes to it. */
export interface InstanceRoute {
  /** 14 lower-case hex digits; the `instance` label. */
  readonly id: string;
  /** Region code of the server the instance runs on; the `region` label of its `fly_app_*` series. */
  readonly region: string;
  /** 4-hex-digit id of the server the instance runs on; the `host` label of its `fly_app_*` series. */
  readonly host: string;
  /** `ip:port` (or `[v6]:port`) of the instance's HTTP service (`http_service.internal_port`). */
  readonly address: string;
  /** Only healthy instances receive new requests and connections. */
  readonly healthy: boolean;
}

/** A raw TCP service (`[[services]]` with protocol tcp): public ports piped to `internalPort` on each instance. */
export interface TcpServiceRoute {
  readonly internalPort: number;
  /** Public ports the edge listens on for this service. */
  readonly ports: readonly number[];
  readonly concurrency: ConcurrencyLimits;
}

/** Everything the edge needs to know about one app. */
export interface AppRoute {
  /** The owning organisation's slug (not used for routing; kept for the wiring layer and logs). */
  readonly org: string;
  /** Limits of the HTTP service. */
  readonly concurrency: ConcurrencyLimits;
  readonly instances: readonly InstanceRoute[];
  readonly tcpServices: readonly TcpServiceRoute[];
}

/**
 * App name → route. `get` is called on every request and connection, so it must be a plain lookup; the table may
 * change at any time (the edge keeps no copy). A `Map<string, AppRoute>` satisfies it.
 */
export interface RouteTable {
  get(app: string): AppRoute | undefined;
  /** Every app name; read by `Edge.syncTcpServices` to open and close TCP service listeners. */
  keys(): Iterable<string>;
}

/** A network address split into host and port; IPv6 hosts come without brackets. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Splits `ip:port` or `[v6]:port`; throws `bad_data` when the port is missing or out of range. */
export function splitAddress(address: string): HostPort {
  const colon = address.lastIndexOf(":");
  if (colon <= 0) throw new ContrailError("bad_data", `address ${JSON.stringify(address)} has no port`);
  let host = address.slice(0, colon);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const portText = address.slice(colon + 1);
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) {
    throw new ContrailError("bad_data", `address ${JSON.stringify(address)} has a bad port`);
  }
  return { host, port };
}
