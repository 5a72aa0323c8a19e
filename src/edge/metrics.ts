// The edge's built-in metrics, with the names and label sets of the catalog. Every child is bound once and cached:
// per (app, edge region, edge host) for `fly_edge_*`, per instance for `fly_app_*`, and per status code below each,
// so a request only indexes an array and adds to numbers.
//
// Labels of `fly_app_*`: `region` and `host` are those of the instance (where the app runs), not of the edge that
// took the request; `fly_edge_*` carry the edge listener's region and host.

import { DEFAULT_NATIVE_SCHEMA } from "../exposition/native-buckets.ts";
import type {
  Counter,
  CounterFamily,
  Gauge,
  GaugeFamily,
  Histogram,
  HistogramFamily,
  Registry,
} from "../exposition/registry.ts";

/** Upper bounds of the response-time and connect-time histograms, in seconds (+Inf is implicit). */
export const RESPONSE_TIME_BUCKETS: readonly number[] = [0.005, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 5, 15, 30, 60, 120];

/** The children of one status code: a response counter and a response-time histogram (seconds). */
export interface StatusChildren {
  readonly responses: Counter;
  readonly time: Histogram;
}

/** Lazily binds and caches the children of each status code (100–999) for one label prefix. */
class StatusCache {
  private readonly slots: (StatusChildren | undefined)[] = [];
  readonly codes: number[] = [];

  constructor(
    private readonly counters: CounterFamily,
    private readonly histograms: HistogramFamily,
    private readonly prefix: readonly string[],
  ) {}

  get(code: number): StatusChildren {
    let c = this.slots[code];
    if (c === undefined) {
      const status = String(code);
      c = {
        responses: this.counters.labels(...this.prefix, status),
        time: this.histograms.labels(...this.prefix, status),
      };
      this.slots[code] = c;
      this.codes.push(code);
    }
    return c;
  }

  remove(): void {
    for (const code of this.codes) {
      this.counters.remove(...this.prefix, String(code));
      this.histograms.remove(...this.prefix, String(code));
    }
  }
}

/**
 * Why the edge ended a request or connection itself because the app could not take it: the `kind` label of
 * `fly_edge_error_count`. `no_instance`: no healthy instance; `connect`: every connection attempt failed; `limit`:
 * every instance at its hard limit and the queue full or its wait over; `timeout`: no response in time;
 * `bad_response`: a response the edge could not pass on; `closed`: the app closed the connection mid-response.
 */
export type EdgeErrorKind = "no_instance" | "connect" | "limit" | "timeout" | "bad_response" | "closed";

/** `fly_edge_*` children of one app at one edge listener. `app` is "" for traffic no known app can claim. */
export class EdgeAppMetrics {
  readonly connects: Counter;
  readonly disconnects: Counter;
  /** Bytes received from clients. */
  readonly dataIn: Counter;
  /** Bytes sent to clients. */
  readonly dataOut: Counter;
  private readonly statuses: StatusCache;
  /** `fly_edge_error_count` children, bound on the first error of each kind. */
  private readonly errors = new Map<EdgeErrorKind, Counter>();
  private readonly labels: readonly string[];

  constructor(
    private readonly m: EdgeMetrics,
    app: string,
    region: string,
    host: string,
  ) {
    this.labels = [app, region, host];
    this.connects = m.edgeConnects.labels(app, region, host);
    this.disconnects = m.edgeDisconnects.labels(app, region, host);
    this.dataIn = m.edgeDataIn.labels(app, region, host);
    this.dataOut = m.edgeDataOut.labels(app, region, host);
    this.statuses = new StatusCache(m.edgeResponses, m.edgeResponseTime, [app, region, host]);
  }

  /** The children for a response with this status code. */
  status(code: number): StatusChildren {
    return this.statuses.get(code);
  }

  /** The edge-error counter of this kind. */
  error(kind: EdgeErrorKind): Counter {
    let c = this.errors.get(kind);
    if (c === undefined) {
      c = this.m.edgeErrors.labels(...this.labels, kind);
      this.errors.set(kind, c);
    }
    return c;
  }
}

/** `fly_app_*` children of one instance, labelled with the instance's own region and host. */
export class InstanceMetrics {
  readonly concurrency: Gauge;
  readonly connectTime: Histogram;
  readonly connects: Counter;
  readonly disconnects: Counter;
  readonly softLimit: Counter;
  readonly hardLimit: Counter;
  private readonly statuses: StatusCache;
  private readonly labels: readonly string[];

  constructor(
    private readonly m: EdgeMetrics,
    app: string,
    region: string,
    host: string,
    instance: string,
  ) {
    const l = [app, region, host, instance];
    this.labels = l;
    this.concurrency = m.appConcurrency.labels(...l);
    this.connectTime = m.appConnectTime.labels(...l);
    this.connects = m.appConnects.labels(...l);
    this.disconnects = m.appDisconnects.labels(...l);
    this.softLimit = m.appSoftLimit.labels(...l);
    this.hardLimit = m.appHardLimit.labels(...l);
    this.statuses = new StatusCache(m.appResponses, m.appResponseTime, l);
  }

  /** The children for an instance response with this status code. */
  status(code: number): StatusChildren {
    return this.statuses.get(code);
  }

  /** Drops every series of the instance from the registry (they go stale at the next scrape). */
  remove(): void {
    const m = this.m;
    const l = this.labels;
    m.appConcurrency.remove(...l);
    m.appConnectTime.remove(...l);
    m.appConnects.remove(...l);
    m.appDisconnects.remove(...l);
    m.appSoftLimit.remove(...l);
    m.appHardLimit.remove(...l);
    this.statuses.remove();
  }
}

const EDGE = ["app", "region", "host"];
const EDGE_STATUS = ["app", "region", "host", "status"];
const APP = ["app", "region", "host", "instance"];
const APP_STATUS = ["app", "region", "host", "instance", "status"];

/** Options of the edge's families. */
export interface EdgeMetricsOptions {
  /**
   * Keep `fly_edge_http_response_time_seconds` also as a native histogram (exponential buckets of schema
   * {@link DEFAULT_NATIVE_SCHEMA}), exposed in the protobuf format and collected in process; its classic buckets stay.
   */
  readonly nativeHistograms?: boolean;
}

/** Registers the edge's families in `registry` (throws `conflict` if they already exist there). */
export class EdgeMetrics {
  readonly edgeResponses: CounterFamily;
  readonly edgeResponseTime: HistogramFamily;
  readonly edgeConnects: CounterFamily;
  readonly edgeDisconnects: CounterFamily;
  readonly edgeDataIn: CounterFamily;
  readonly edgeDataOut: CounterFamily;
  readonly edgeErrors: CounterFamily;
  readonly appConcurrency: GaugeFamily;
  readonly appResponses: CounterFamily;
  readonly appResponseTime: HistogramFamily;
  readonly appConnectTime: HistogramFamily;
  readonly appConnects: CounterFamily;
  readonly appDisconnects: CounterFamily;
  readonly appSoftLimit: CounterFamily;
  readonly appHardLimit: CounterFamily;

  constructor(registry: Registry, opts: EdgeMetricsOptions = {}) {
    const buckets = RESPONSE_TIME_BUCKETS;
    this.edgeResponses = registry.counter({
      name: "fly_edge_http_responses_count",
      help: "HTTP responses served by the edge for the app.",
      labelNames: EDGE_STATUS,
    });
    this.edgeResponseTime = registry.histogram({
      name: "fly_edge_http_response_time_seconds",
      help: "Time from request received to response finished at the edge, in seconds.",
      labelNames: EDGE_STATUS,
      buckets,
      ...(opts.nativeHistograms ? { native: { schema: DEFAULT_NATIVE_SCHEMA } } : {}),
    });
    this.edgeConnects = registry.counter({
      name: "fly_edge_tcp_connects_count",
      help: "Client connections opened at the edge.",
      labelNames: EDGE,
    });
    this.edgeDisconnects = registry.counter({
      name: "fly_edge_tcp_disconnects_count",
      help: "Client connections closed at the edge.",
      labelNames: EDGE,
    });
    this.edgeDataIn = registry.counter({
      name: "fly_edge_data_in",
      help: "Bytes received from clients.",
      labelNames: EDGE,
    });
    this.edgeDataOut = registry.counter({
      name: "fly_edge_data_out",
      help: "Bytes sent to clients.",
      labelNames: EDGE,
    });
    this.edgeErrors = registry.counter({
      name: "fly_edge_error_count",
      help: "Requests and connections the edge ended itself because the app could not take them, by kind.",
      labelNames: [...EDGE, "kind"],
    });
    this.appConcurrency = registry.gauge({
      name: "fly_app_concurrency",
      help: "Requests (HTTP) or connections (TCP, upgraded) in flight to the instance.",
      labelNames: APP,
    });
    this.appResponses = registry.counter({
      name: "fly_app_http_responses_count",
      help: "HTTP responses from the instance.",
      labelNames: APP_STATUS,
    });
    this.appResponseTime = registry.histogram({
      name: "fly_app_http_response_time_seconds",
      help: "Instance response time, from request sent to response received, in seconds.",
      labelNames: APP_STATUS,
      buckets,
    });
    this.appConnectTime = registry.histogram({
      name: "fly_app_connect_time_seconds",
      help: "Time to open a connection from the proxy to the instance, in seconds.",
      labelNames: APP,
      buckets,
    });
    this.appConnects = registry.counter({
      name: "fly_app_tcp_connects_count",
      help: "Connections opened from the proxy to the instance.",
      labelNames: APP,
    });
    this.appDisconnects = registry.counter({
      name: "fly_app_tcp_disconnects_count",
      help: "Connections from the proxy to the instance closed.",
      labelNames: APP,
    });
    this.appSoftLimit = registry.counter({
      name: "fly_app_soft_limit_reached_count",
      help: "Requests or connections that found the instance at its concurrency soft limit.",
      labelNames: APP,
    });
    this.appHardLimit = registry.counter({
      name: "fly_app_hard_limit_reached_count",
      help: "Requests or connections that had to wait because every instance was at its concurrency hard limit.",
      labelNames: APP,
    });
  }
}
