// One HTTP listener of the edge, with its own region code and host id: accepts connections and serves HTTP/1.1 on
// them itself (client-conn.ts, no node:http), routes each request by `Host: <app>.<domain>`, hands it to an
// Exchange (or a Tunnel for `Upgrade`), and answers what cannot be routed itself. The region's TLS listener
// (tls-listener.ts) hands its connections here once their handshake is done, so HTTP and HTTPS requests of one
// region share one listener and one set of `fly_edge_*` children. One interval timer per listener enforces the
// request head deadline of the connections that have one armed.
//
// Series of unroutable traffic: requests for a host that names no existing app (404), requests without Host (400),
// malformed requests (400), oversized heads (431) and head timeouts (408) are counted under app="" — one series per
// status and listener — never under the requested name, so clients cannot create series at will. Connections are
// attributed to the app of their first routed request; connections that never carried one count under app="".
//
// The same timer closes connections idle for `clientIdleTimeoutMs`: each connection stamps its reads, writes and
// drains with the listener's clock (the time of the latest sweep), so a connection is closed between the idle timeout
// and two sweep periods after it (a period is at most a quarter of the timeout, and at most MAX_SWEEP_MS). A sweep
// that fires late (the event loop busy for longer than a period) may close one early by that delay less a period, as
// a socket timer refreshed from the loop's cached time may fire early by one loop turn.

import { createServer, type Server as NetServer, type Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { ClientConn, type ConnOwner } from "./client-conn.ts";
import { ClientMeter, type EdgeCore } from "./core.ts";
import { Exchange } from "./exchange.ts";
import { EdgeAppMetrics } from "./metrics.ts";
import {
  buildRequestHead,
  clientIpOf,
  inspectRequest,
  listenerForwardLines,
  type RequestInfo,
} from "./request-head.ts";
import type { RequestHead } from "./request-parser.ts";
import { rawResponse, sendText } from "./respond.ts";
import { splitAddress } from "./routes.ts";
import { adoptSharedReads } from "./shared-reads.ts";
import { Tunnel } from "./tunnel.ts";

/** An edge listener: where it binds and which region and host it stands for. */
export interface EdgeListenerSpec {
  /** Region code, the `region` label of its `fly_edge_*` series and the `Fly-Region` header. */
  readonly region: string;
  /** 4-hex-digit host id, the `host` label of its `fly_edge_*` series. */
  readonly host: string;
  /** `ip:port` to bind for HTTP; port 0 picks a free port. */
  readonly address: string;
  /** `ip:port` to bind for HTTPS (port 0: a free port); none means no TLS listener. Needs the edge's `ca`. */
  readonly tlsAddress?: string;
  /** TCP service ports bind at `publicPort + tcpPortOffset` on the same IP (default 0). */
  readonly tcpPortOffset?: number;
}

/** Binds `server` to `ip:port`; rejects with the listen error. */
export function listenOn(server: NetServer, ip: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen(port, ip, () => {
      server.removeListener("error", onError);
      resolve();
    });
  });
}

/** The port `server` is bound to, or `requested` before it is. */
export function boundPort(server: NetServer, requested: number): number {
  const a = server.address();
  return a !== null && typeof a !== "string" ? a.port : requested;
}

/** Longest Host value echoed back in a 404 body. */
const MAX_ECHO = 200;

/** Most Host values whose app name a listener remembers; the memory is emptied when it is full. */
const MAX_REMEMBERED_HOSTS = 1024;
/** Longest Host value remembered (a DNS name and a port); longer ones are parsed each time. */
const MAX_REMEMBERED_HOST_LENGTH = 260;

/** Shortest and longest period of the head-deadline sweep, in milliseconds. */
const MIN_SWEEP_MS = 50;
const MAX_SWEEP_MS = 1000;

/** One HTTP listener; see the file comment. */
export class HttpListener implements ConnOwner {
  readonly server: NetServer;
  readonly region: string;
  readonly host: string;
  readonly ip: string;
  private tail = "";
  /** The forwarding lines of requests that came over TLS (set by the region's TLS listener). */
  secureTail = "";
  private readonly apps = new Map<string, EdgeAppMetrics>();
  private unknownApp: EdgeAppMetrics | null = null;
  /** Every open client connection, upgraded ones included. */
  private readonly sockets = new Set<Socket>();
  /** Connections whose request head deadline is armed. */
  private readonly heading = new Set<ClientConn>();
  /** Client connections served here, until they close or go to a Tunnel (watched for idleness). */
  private readonly conns = new Set<ClientConn>();
  /** `performance.now()` of the latest sweep (ms); see ConnOwner. */
  clock = performance.now();
  /** Sweep period (ms). */
  private sweepMs = MAX_SWEEP_MS;
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly suffix: string;
  private readonly requestedPort: number;
  /** `appName` of recent Host values (clients send the same few again and again). */
  private readonly hostApps = new Map<string, string | null>();

  constructor(
    private readonly core: EdgeCore,
    readonly spec: EdgeListenerSpec,
  ) {
    this.region = spec.region;
    this.host = spec.host;
    const { host, port } = splitAddress(spec.address);
    this.ip = host;
    this.requestedPort = port;
    this.suffix = `.${core.tuning.domain}`;
    // Half-open, so the connection decides what a client's end means (client-conn.ts) and tunnels pass it on.
    // Paused on accept, so `onConnection` can rebuild the socket to read into the shared buffer before any read.
    this.server = createServer({ noDelay: true, allowHalfOpen: true, pauseOnConnect: true }, this.onConnection);
  }

  /** Binds the listener and starts its head-deadline sweep; rejects with the listen error. */
  async listen(): Promise<void> {
    await listenOn(this.server, this.ip, this.requestedPort);
    this.tail = listenerForwardLines(this.region, this.port);
    const t = this.core.tuning;
    const shortest = Math.min(t.headersTimeoutMs, t.clientIdleTimeoutMs);
    this.sweepMs = Math.min(MAX_SWEEP_MS, Math.max(MIN_SWEEP_MS, Math.floor(shortest / 4)));
    this.sweepTimer = setInterval(this.sweep, this.sweepMs);
    this.sweepTimer.unref();
  }

  /** The bound port (after `listen`). */
  get port(): number {
    return boundPort(this.server, this.requestedPort);
  }

  /** Stops listening and closes every connection. */
  close(): Promise<void> {
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  /** Serves HTTP on a connection accepted elsewhere (a TLS socket after its handshake), metered by `meter`. */
  adopt(socket: Socket, meter: ClientMeter): void {
    this.accept(socket, meter, false);
  }

  /** The `fly_edge_*` children of app `name` at this listener, bound once. */
  appMetrics(name: string): EdgeAppMetrics {
    let m = this.apps.get(name);
    if (m === undefined) {
      m = new EdgeAppMetrics(this.core.metrics, name, this.region, this.host);
      this.apps.set(name, m);
    }
    return m;
  }

  /** The `fly_edge_*` children of traffic no app claims (app=""). */
  unknown(): EdgeAppMetrics {
    this.unknownApp ??= new EdgeAppMetrics(this.core.metrics, "", this.region, this.host);
    return this.unknownApp;
  }

  /** The app named by a Host value (or a TLS server name), or null when it is not `<app>.<domain>[:port]`. */
  appName(hostHeader: string): string | null {
    if (hostHeader.length > MAX_REMEMBERED_HOST_LENGTH) return this.parseAppName(hostHeader);
    let name = this.hostApps.get(hostHeader);
    if (name !== undefined) return name;
    name = this.parseAppName(hostHeader);
    if (this.hostApps.size >= MAX_REMEMBERED_HOSTS) this.hostApps.clear();
    this.hostApps.set(hostHeader, name);
    return name;
  }

  private parseAppName(hostHeader: string): string | null {
    let h = hostHeader;
    if (h.startsWith("[")) return null;
    const colon = h.lastIndexOf(":");
    if (colon >= 0) h = h.slice(0, colon);
    if (h.endsWith(".")) h = h.slice(0, -1);
    h = h.toLowerCase();
    if (h.length <= this.suffix.length || !h.endsWith(this.suffix)) return null;
    const name = h.slice(0, h.length - this.suffix.length);
    return name.includes(".") ? null : name;
  }

  private readonly onConnection = (accepted: Socket): void => {
    let conn: ClientConn | null = null;
    const socket = adoptSharedReads(accepted, true, (bytes) => conn?.receive(bytes));
    if (socket === null) {
      // No shared reads for this one: it reads with 'data' events.
      conn = this.accept(accepted, new ClientMeter(accepted), false);
      accepted.resume();
      return;
    }
    conn = this.accept(socket, new ClientMeter(socket), true);
  };

  private accept(socket: Socket, meter: ClientMeter, sharedReads: boolean): ClientConn {
    this.sockets.add(socket);
    const t = this.core.tuning;
    const limits = {
      maxHeaderBytes: t.maxHeaderBytes,
      headersTimeoutMs: t.headersTimeoutMs,
      clientIdleTimeoutMs: t.clientIdleTimeoutMs,
    };
    const conn = new ClientConn(socket, meter, this, limits, sharedReads);
    this.conns.add(conn);
    return conn;
  }

  /** @internal See ConnOwner. */
  onConnClose(conn: ClientConn): void {
    const meter = conn.meter;
    this.conns.delete(conn);
    this.sockets.delete(conn.socket);
    this.core.longLived.delete(meter);
    if (meter.app === null) meter.attribute(this.unknown());
    meter.closed();
  }

  /** @internal See ConnOwner. */
  watchHead(conn: ClientConn, on: boolean): void {
    if (on) this.heading.add(conn);
    else this.heading.delete(conn);
  }

  /** Head deadlines, then idle connections: stamped before `now - idle - period`, so idle at least `idle`. */
  private readonly sweep = (): void => {
    const now = performance.now();
    this.clock = now;
    if (this.heading.size > 0) for (const conn of this.heading) if (conn.headDeadline <= now) conn.headTimedOut();
    const before = now - this.core.tuning.clientIdleTimeoutMs - this.sweepMs;
    for (const conn of this.conns) if (conn.lastActive <= before) conn.idleTimedOut();
  };

  /** @internal See ConnOwner. */
  onRefused(conn: ClientConn, status: number, since: number): void {
    this.countUnknown(conn.meter, status, since);
  }

  /** @internal See ConnOwner. */
  onRequest(conn: ClientConn, head: RequestHead, t0: number): void {
    const meter = conn.meter;
    const info = inspectRequest(head.rawHeaders);
    const name = info.host === "" ? null : this.appName(info.host);
    const route = name === null ? undefined : this.core.routes.get(name);
    if (name === null || route === undefined) {
      const [status, message] = unroutable(info);
      sendText(conn, status, message);
      this.countUnknown(meter, status, t0);
      return;
    }
    const edgeApp = this.appMetrics(name);
    meter.attribute(edgeApp);
    new Exchange({
      core: this.core,
      region: this.region,
      client: conn,
      meter,
      edgeApp,
      app: this.core.appState(name),
      route,
      head: this.upstreamHead(conn.socket, head, info, false),
      body: info.body,
      t0,
    }).run();
  }

  /** @internal See ConnOwner. */
  onUpgrade(conn: ClientConn, head: RequestHead, rest: Buffer, t0: number): void {
    const { meter, socket } = conn;
    this.conns.delete(conn); // a tunnel is not closed for idleness
    const info = inspectRequest(head.rawHeaders);
    const name = info.host === "" ? null : this.appName(info.host);
    const route = name === null ? undefined : this.core.routes.get(name);
    if (name === null || route === undefined) {
      const [status, message] = unroutable(info);
      socket.end(rawResponse(status, message));
      this.countUnknown(meter, status, t0);
      return;
    }
    const edgeApp = this.appMetrics(name);
    meter.attribute(edgeApp);
    new Tunnel({
      core: this.core,
      region: this.region,
      client: socket,
      rest,
      meter,
      edgeApp,
      app: this.core.appState(name),
      route,
      head: this.upstreamHead(socket, head, info, true),
      t0,
    }).run();
  }

  private upstreamHead(socket: Socket, head: RequestHead, info: RequestInfo, upgrade: boolean): string {
    const fwd = {
      clientIp: clientIpOf(socket.remoteAddress),
      requestId: this.core.nextRequestId(this.region),
      listenerTail: (socket as TLSSocket).encrypted === true ? this.secureTail : this.tail,
    };
    return buildRequestHead(head.method, head.target, head.rawHeaders, info, fwd, upgrade);
  }

  private countUnknown(meter: ClientMeter, status: number, since: number): void {
    const unknown = this.unknown();
    const c = unknown.status(status);
    const now = performance.now();
    c.responses.inc();
    c.time.observe((now - since) / 1000);
    meter.lastActivity = now;
    meter.flush(meter.app ?? unknown);
  }
}

/** Status and message for a request no app can take: no Host (400) or a Host naming no app (404). */
function unroutable(info: RequestInfo): [number, string] {
  return info.host === "" ? [400, "missing Host header"] : [404, `no app at ${info.host.slice(0, MAX_ECHO)}`];
}
