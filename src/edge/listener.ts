// One HTTP listener of the edge, with its own region code and host id: routes each request by `Host:
// <app>.<domain>`, hands it to an Exchange (or a Tunnel for `Upgrade`), and answers what cannot be routed itself.
// The region's TLS listener (tls-listener.ts) hands its connections here once their handshake is done, so HTTP and
// HTTPS requests of one region share one HTTP server and one set of `fly_edge_*` children.
//
// Series of unroutable traffic: requests for a host that names no existing app (404), requests without Host (400),
// malformed requests (400), oversized heads (431) and head timeouts (408) are counted under app="" — one series per
// status and listener — never under the requested name, so clients cannot create series at will. Connections are
// attributed to the app of their first routed request; connections that never carried one count under app="".

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Server as NetServer, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
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
import { rawResponse, sendText } from "./respond.ts";
import { splitAddress } from "./routes.ts";
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

/** One HTTP listener; see the file comment. */
export class HttpListener {
  readonly server: Server;
  readonly region: string;
  readonly host: string;
  readonly ip: string;
  private tail = "";
  /** The forwarding lines of requests that came over TLS (set by the region's TLS listener). */
  secureTail = "";
  /** The meter of the connection `adopt` is handing to the server (its `connection` event runs synchronously). */
  private adopting: ClientMeter | null = null;
  private readonly apps = new Map<string, EdgeAppMetrics>();
  private unknownApp: EdgeAppMetrics | null = null;
  private readonly meters = new WeakMap<Socket, ClientMeter>();
  /** Every open client connection, upgraded ones included (Node stops tracking those). */
  private readonly sockets = new Set<Socket>();
  private readonly suffix: string;
  private readonly requestedPort: number;

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
    const t = core.tuning;
    this.server = createServer({
      // No keep-alive timer of Node's own: it re-arms the socket's timer twice per request. The socket timeout
      // below (armed once per connection, pushed back by every byte) closes idle connections after the same time.
      keepAliveTimeout: 0,
      headersTimeout: t.headersTimeoutMs,
      requestTimeout: 0,
      maxHeaderSize: t.maxHeaderBytes,
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(t.headersTimeoutMs / 4))),
      noDelay: true,
    });
    this.server.timeout = t.clientIdleTimeoutMs;
    this.server.on("connection", this.onConnection);
    this.server.on("request", this.onRequest);
    this.server.on("upgrade", this.onUpgrade);
    this.server.on("clientError", this.onClientError);
  }

  /** Binds the listener; rejects with the listen error. */
  async listen(): Promise<void> {
    await listenOn(this.server, this.ip, this.requestedPort);
    this.tail = listenerForwardLines(this.region, this.port);
  }

  /** The bound port (after `listen`). */
  get port(): number {
    return boundPort(this.server, this.requestedPort);
  }

  /** Stops listening and closes every connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      for (const s of this.sockets) s.destroy();
    });
  }

  /** Serves HTTP on a connection accepted elsewhere (a TLS socket after its handshake), metered by `meter`. */
  adopt(socket: Socket, meter: ClientMeter): void {
    this.adopting = meter;
    try {
      this.server.emit("connection", socket);
    } finally {
      this.adopting = null;
    }
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

  private readonly onConnection = (socket: Socket): void => {
    const meter = this.adopting ?? new ClientMeter(socket);
    this.meters.set(socket, meter);
    this.sockets.add(socket);
    socket.on("close", () => {
      this.sockets.delete(socket);
      this.core.longLived.delete(meter);
      if (meter.app === null) meter.attribute(this.unknown());
      meter.closed();
    });
  };

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const t0 = performance.now();
    const meter = this.meters.get(req.socket)!;
    const info = inspectRequest(req.rawHeaders);
    const name = info.host === "" ? null : this.appName(info.host);
    const route = name === null ? undefined : this.core.routes.get(name);
    if (name === null || route === undefined) {
      const [status, message] = unroutable(info);
      sendText(res, status, message);
      this.countUnknown(meter, status, t0);
      return;
    }
    const edgeApp = this.appMetrics(name);
    meter.attribute(edgeApp);
    new Exchange({
      core: this.core,
      region: this.region,
      req,
      res,
      meter,
      edgeApp,
      app: this.core.appState(name),
      route,
      head: this.upstreamHead(req, info, false),
      body: info.body,
      t0,
    }).run();
  };

  private readonly onUpgrade = (req: IncomingMessage, socket: Socket, rest: Buffer): void => {
    const t0 = performance.now();
    const meter = this.meters.get(socket)!;
    const info = inspectRequest(req.rawHeaders);
    const name = info.host === "" ? null : this.appName(info.host);
    const route = name === null ? undefined : this.core.routes.get(name);
    if (name === null || route === undefined) {
      const [status, message] = unroutable(info);
      socket.on("error", ignore);
      socket.end(rawResponse(status, message));
      this.countUnknown(meter, status, t0);
      return;
    }
    const edgeApp = this.appMetrics(name);
    meter.attribute(edgeApp);
    new Tunnel({
      core: this.core,
      region: this.region,
      req,
      client: socket,
      rest,
      meter,
      edgeApp,
      app: this.core.appState(name),
      route,
      head: this.upstreamHead(req, info, true),
      t0,
    }).run();
  };

  private upstreamHead(req: IncomingMessage, info: RequestInfo, upgrade: boolean): string {
    const fwd = {
      clientIp: clientIpOf(req.socket.remoteAddress),
      requestId: this.core.nextRequestId(this.region),
      listenerTail: (req.socket as TLSSocket).encrypted === true ? this.secureTail : this.tail,
    };
    return buildRequestHead(req.method!, req.url!, req.rawHeaders, info, fwd, upgrade);
  }

  private readonly onClientError = (err: Error & { code?: string }, socket: Socket): void => {
    const meter = this.meters.get(socket);
    // A connection that sent nothing since it opened (or since its last response) is idle, not a bad request:
    // it is closed without an answer and without counting one.
    const idle = err.code === "ERR_HTTP_REQUEST_TIMEOUT" && meter !== undefined && meter.unflushedIn === 0;
    if (err.code === "ECONNRESET" || !socket.writable || idle) {
      socket.destroy();
      return;
    }
    let status = 400;
    let message = "malformed HTTP request";
    if (err.code === "HPE_HEADER_OVERFLOW") {
      status = 431;
      message = "request headers too large";
    } else if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
      status = 408;
      message = "request head not received in time";
    }
    socket.end(rawResponse(status, message));
    if (meter !== undefined) this.countUnknown(meter, status, meter.lastActivity);
  };

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

function ignore(): void {}
