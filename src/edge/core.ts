// State shared by every listener of one edge process: resolved options, metrics, per-app queues and per-instance
// state, the upstream-timeout list, and the one interval timer that sweeps them.

import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { DeadlineList, DeadlineNode } from "./deadlines.ts";
import { type EdgeAppMetrics, type EdgeMetrics, InstanceMetrics } from "./metrics.ts";
import type { InstanceRoute, RouteTable } from "./routes.ts";
import { InstanceState } from "./upstream.ts";

/** Timeouts and bounds of the edge; every field has a default (see `resolveOptions`). Durations in milliseconds. */
export interface EdgeTuning {
  /** Host suffix of app addresses: `<app>.<domain>`. Default "localhost". */
  readonly domain?: string;
  /** Close a client connection idle (between requests, or with no traffic at all) for this long. Default 75 s. */
  readonly clientIdleTimeoutMs?: number;
  /** A client must send a complete request head within this time. Default 10 s. */
  readonly headersTimeoutMs?: number;
  /** Largest request head accepted, in bytes; larger heads get 431. Default 16 KiB. */
  readonly maxHeaderBytes?: number;
  /** The instance must start its response within this time after the request was sent; else 504. Default 60 s. */
  readonly upstreamTimeoutMs?: number;
  /** Give up connecting to an instance after this time (then try another). Default 5 s. */
  readonly connectTimeoutMs?: number;
  /** Connection attempts per request, each on a different instance. Default 3. */
  readonly maxConnectAttempts?: number;
  /** How long a request waits when every instance is at its hard limit; then 503. Default 5 s. */
  readonly queueTimeoutMs?: number;
  /** Most requests (and, apart, TCP connections) waiting per app; more get 503 at once. Default 256. */
  readonly queueLimit?: number;
  /** Close pooled instance connections idle for this long. Default 4 s (below Node's 5 s server default). */
  readonly upstreamIdleTimeoutMs?: number;
  /** Most idle pooled connections per instance. Default 256. */
  readonly maxIdlePerInstance?: number;
  /** A TLS handshake must finish within this time after it started. Default 10 s. */
  readonly tlsHandshakeTimeoutMs?: number;
  /** Most TLS handshakes in progress at once per TLS listener; later connections wait. Default 64. */
  readonly tlsMaxHandshakes?: number;
  /** Most connections waiting for a handshake slot per TLS listener; more are refused. Default 256. */
  readonly tlsHandshakeQueueLimit?: number;
  /** Longest wait for a handshake slot; then the connection is refused. Default 2 s. */
  readonly tlsHandshakeQueueTimeoutMs?: number;
  /** TLS handshakes per second per server name (app host name) and TLS listener, bursts as large. Default 200. */
  readonly tlsHandshakesPerSecondPerName?: number;
  /** TLS handshakes per second per client IP and TLS listener, bursts as large. Default 50. */
  readonly tlsHandshakesPerSecondPerIp?: number;
  /** Most host names whose certificates an edge process keeps. Default 1024. */
  readonly tlsMaxCachedCertificates?: number;
}

/** EdgeTuning with every default applied. */
export type ResolvedTuning = Required<EdgeTuning>;

/** Applies the defaults of EdgeTuning. */
export function resolveTuning(t: EdgeTuning): ResolvedTuning {
  return {
    domain: (t.domain ?? "localhost").toLowerCase(),
    clientIdleTimeoutMs: t.clientIdleTimeoutMs ?? 75_000,
    headersTimeoutMs: t.headersTimeoutMs ?? 10_000,
    maxHeaderBytes: t.maxHeaderBytes ?? 16 * 1024,
    upstreamTimeoutMs: t.upstreamTimeoutMs ?? 60_000,
    connectTimeoutMs: t.connectTimeoutMs ?? 5_000,
    maxConnectAttempts: t.maxConnectAttempts ?? 3,
    queueTimeoutMs: t.queueTimeoutMs ?? 5_000,
    queueLimit: t.queueLimit ?? 256,
    upstreamIdleTimeoutMs: t.upstreamIdleTimeoutMs ?? 4_000,
    maxIdlePerInstance: t.maxIdlePerInstance ?? 256,
    tlsHandshakeTimeoutMs: t.tlsHandshakeTimeoutMs ?? 10_000,
    tlsMaxHandshakes: t.tlsMaxHandshakes ?? 64,
    tlsHandshakeQueueLimit: t.tlsHandshakeQueueLimit ?? 256,
    tlsHandshakeQueueTimeoutMs: t.tlsHandshakeQueueTimeoutMs ?? 2_000,
    tlsHandshakesPerSecondPerName: t.tlsHandshakesPerSecondPerName ?? 200,
    tlsHandshakesPerSecondPerIp: t.tlsHandshakesPerSecondPerIp ?? 50,
    tlsMaxCachedCertificates: t.tlsMaxCachedCertificates ?? 1024,
  };
}

/** Something waiting for an instance below its hard limit. `expired()` is called when the wait runs out. */
export abstract class Waiter extends DeadlineNode {
  /** Tries again to get an instance; false (and no side effect) when every instance is still at its hard limit. */
  abstract admit(): boolean;
  /** Called when the entry's deadline passes while it is in a list. */
  abstract expired(): void;
}

/** Per-app state of this edge process: the hard-limit queues and the tie-breaking rotation. */
export class AppState {
  readonly httpQueue: DeadlineList<Waiter>;
  readonly tcpQueue: DeadlineList<Waiter>;
  /** Rotation counter for the balancer's tie-breaking. */
  rr = 0;

  constructor(
    readonly name: string,
    queueTimeoutMs: number,
  ) {
    this.httpQueue = new DeadlineList(queueTimeoutMs);
    this.tcpQueue = new DeadlineList(queueTimeoutMs);
  }
}

/** Admits queued waiters, oldest first, until one cannot be admitted. */
function drain(queue: DeadlineList<Waiter>): void {
  let w = queue.first();
  while (w !== null) {
    if (!w.admit()) return;
    if (w.list !== null) queue.remove(w);
    w = queue.first();
  }
}

/**
 * Byte and connection accounting of one client connection. The connection is attributed to the app of its first
 * routed request (or TCP service); bytes are added to the app of each response as it ends, and the rest when the
 * connection closes. Connections that never reach an app are counted under app "" when they close.
 */
export class ClientMeter {
  app: EdgeAppMetrics | null = null;
  private lastIn = 0;
  private lastOut = 0;
  /** `performance.now()` of the connection's start or its last finished response. */
  lastActivity = performance.now();

  constructor(readonly socket: Socket) {}

  /** Attributes the connection to `app` unless it already is; counts the connect there. */
  attribute(app: EdgeAppMetrics): void {
    if (this.app !== null) return;
    this.app = app;
    app.connects.inc();
  }

  /** Adds the bytes moved since the last flush to `to` (default: the attributed app). */
  flush(to: EdgeAppMetrics | null = this.app): void {
    if (to === null) return;
    const r = this.socket.bytesRead;
    const w = this.socket.bytesWritten;
    to.dataIn.inc(r - this.lastIn);
    to.dataOut.inc(w - this.lastOut);
    this.lastIn = r;
    this.lastOut = w;
  }

  /** Bytes received since the last flush (0 on a connection idle since its last response, or since it opened). */
  get unflushedIn(): number {
    return this.socket.bytesRead - this.lastIn;
  }

  /** The connection closed: final bytes and the disconnect to its app (attribute it first, if it never was). */
  closed(): void {
    this.flush();
    this.app?.disconnects.inc();
  }
}

/** The shared state of one edge process. */
export class EdgeCore {
  readonly instances = new Map<string, InstanceState>();
  readonly apps = new Map<string, AppState>();
  /** Exchanges waiting for the instance's response head. */
  readonly upstreamTimeouts: DeadlineList<Waiter>;
  /** Client connections with long-lived traffic (tunnels, TCP pipes), flushed on every tick. */
  readonly longLived = new Set<ClientMeter>();
  private readonly idPrefix = randomBytes(6).toString("hex");
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastIdleSweep = 0;

  /** Current HTTP load of an instance, for the balancer. */
  readonly httpLoadOf = (inst: InstanceRoute): number => this.instances.get(inst.id)?.httpLoad ?? 0;
  /** Current TCP load of an instance, for the balancer. */
  readonly tcpLoadOf = (inst: InstanceRoute): number => this.instances.get(inst.id)?.tcpLoad ?? 0;

  constructor(
    readonly tuning: ResolvedTuning,
    readonly metrics: EdgeMetrics,
    readonly routes: RouteTable,
  ) {
    this.upstreamTimeouts = new DeadlineList(tuning.upstreamTimeoutMs);
  }

  /** The state of app `name`, created on first use (only for apps present in the route table). */
  appState(name: string): AppState {
    let s = this.apps.get(name);
    if (s === undefined) {
      s = new AppState(name, this.tuning.queueTimeoutMs);
      this.apps.set(name, s);
    }
    return s;
  }

  /** The state of an instance, created on first use and renewed when its address, region or host changed. */
  instanceState(app: AppState, route: InstanceRoute): InstanceState {
    let s = this.instances.get(route.id);
    if (s !== undefined) {
      if (s.route === route) return s;
      const old = s.route;
      if (old.address === route.address && old.region === route.region && old.host === route.host) {
        s.route = route;
        return s;
      }
      this.forget(route.id);
    }
    const metrics = new InstanceMetrics(this.metrics, app.name, route.region, route.host, route.id);
    const settings = {
      connectTimeoutMs: this.tuning.connectTimeoutMs,
      idleTimeoutMs: this.tuning.upstreamIdleTimeoutMs,
      maxIdle: this.tuning.maxIdlePerInstance,
    };
    s = new InstanceState(route, metrics, settings, (kind) => drain(kind === "http" ? app.httpQueue : app.tcpQueue));
    this.instances.set(route.id, s);
    return s;
  }

  /** Drops an instance's state and series; connections in use finish on their own. */
  forget(id: string): void {
    const s = this.instances.get(id);
    if (s === undefined) return;
    s.closeIdle();
    s.metrics.remove();
    this.instances.delete(id);
  }

  /** A request id unique within this process and across processes with high probability. */
  nextRequestId(region: string): string {
    this.seq++;
    return `${this.idPrefix}${this.seq.toString(36).padStart(6, "0")}-${region}`;
  }

  /** Starts the sweep timer: timeouts, queue waits, idle pool connections, long-lived byte counts. */
  start(): void {
    const shortest = Math.min(this.tuning.upstreamTimeoutMs, this.tuning.queueTimeoutMs);
    const every = Math.max(5, Math.min(250, Math.floor(shortest / 10)));
    this.timer = setInterval(() => this.tick(), every);
    this.timer.unref();
  }

  /** Stops the timer and closes every instance connection. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const s of this.instances.values()) s.closeAll();
  }

  private tick(): void {
    const now = performance.now();
    this.upstreamTimeouts.expire(now, expire);
    for (const app of this.apps.values()) {
      // Expire what waited too long, then admit what a changed route table (a new instance) may now take.
      if (app.httpQueue.size > 0) {
        app.httpQueue.expire(now, expire);
        drain(app.httpQueue);
      }
      if (app.tcpQueue.size > 0) {
        app.tcpQueue.expire(now, expire);
        drain(app.tcpQueue);
      }
    }
    if (now - this.lastIdleSweep >= 250) {
      this.lastIdleSweep = now;
      for (const s of this.instances.values()) s.sweepIdle(now);
    }
    for (const m of this.longLived) m.flush();
  }
}

function expire(w: Waiter): void {
  w.expired();
}
