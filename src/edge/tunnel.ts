// An `Upgrade` request (WebSocket or any other protocol): the request head goes to the instance on a connection
// of its own, and from then on bytes are piped both ways unchanged, the instance's response head included (its
// Connection/Upgrade headers belong to the handshake). The instance's load counts +1 for as long as the tunnel is
// open, so `fly_app_concurrency` shows open WebSockets. The exchange is counted under the response's status when
// its head arrives (101 normally); the response time of an upgrade ends there.

import type { Socket } from "node:net";
import { pickInstance } from "./balancer.ts";
import type { AppState, ClientMeter, EdgeCore } from "./core.ts";
import { CLIENT_CLOSED_STATUS } from "./exchange.ts";
import type { EdgeAppMetrics, EdgeErrorKind } from "./metrics.ts";
import { rawResponse } from "./respond.ts";
import type { ResponseSink } from "./response-reader.ts";
import type { AppRoute } from "./routes.ts";
import type { ConnUser, InstanceState, UpstreamConn } from "./upstream.ts";

/** Everything a tunnel needs at its start; built by the listener once the app is known. */
export interface TunnelStart {
  readonly core: EdgeCore;
  readonly region: string;
  readonly client: Socket;
  /** Bytes the client sent after the request head. */
  readonly rest: Buffer;
  readonly meter: ClientMeter;
  readonly edgeApp: EdgeAppMetrics;
  readonly app: AppState;
  readonly route: AppRoute;
  /** The request head to send upstream, with Connection/Upgrade kept. */
  readonly head: string;
  /** `performance.now()` when the request head was received. */
  readonly t0: number;
}

/** One upgraded connection; see the file comment. */
export class Tunnel implements ConnUser, ResponseSink {
  private inst: InstanceState | null = null;
  private conn: UpstreamConn | null = null;
  private tried: Set<string> | null = null;
  private attempts = 0;
  private tSent = 0;
  private counted = false;
  private finished = false;
  private endClient = false;

  constructor(private readonly s: TunnelStart) {}

  /** Starts the tunnel. */
  run(): void {
    const { client, core, meter } = this.s;
    client.pause();
    client.on("error", ignore); // a reset is seen as "close"
    client.on("close", this.onClientClose);
    core.longLived.add(meter);
    this.choose();
  }

  private choose(): void {
    const s = this.s;
    const p = pickInstance({
      instances: s.route.instances,
      region: s.region,
      limits: s.route.concurrency,
      loadOf: s.core.httpLoadOf,
      start: s.app.rr++,
      exclude: this.tried,
    });
    switch (p.kind) {
      case "none":
        if (this.tried === null) this.reject("no_instance", 503, "no healthy instance");
        else this.reject("connect", 502, "cannot reach app");
        return;
      case "full":
        s.core.instanceState(s.app, p.first).metrics.hardLimit.inc();
        this.reject("limit", 503, "every instance is at its concurrency limit");
        return;
      case "instance": {
        if (p.softLimited !== null) s.core.instanceState(s.app, p.softLimited).metrics.softLimit.inc();
        const inst = s.core.instanceState(s.app, p.instance);
        this.inst = inst;
        inst.addHttp();
        this.attempts++;
        this.conn = inst.connect(this, inst.target.port, { pooled: false, halfOpen: true });
      }
    }
  }

  onConnect(conn: UpstreamConn): void {
    const { client, head, rest } = this.s;
    this.tSent = performance.now();
    conn.reader.reset(this, true);
    conn.socket.write(head, "latin1");
    if (rest.length > 0) conn.socket.write(rest);
    client.on("data", this.onClientData);
    client.on("end", this.onClientEnd);
    client.on("drain", this.onClientDrain);
    client.resume();
  }

  onData(chunk: Buffer): void {
    const conn = this.conn!;
    conn.reader.feed(chunk);
    if (this.finished) return;
    if (!this.s.client.write(chunk)) conn.socket.pause();
    if (this.endClient) {
      this.s.client.end();
      conn.socket.end();
    }
  }

  onDrain(): void {
    this.s.client.resume();
  }

  onEnd(): void {
    this.s.client.end();
  }

  onResponseHead(status: number): void {
    const now = performance.now();
    const c = this.inst!.metrics.status(status);
    c.responses.inc();
    c.time.observe((now - this.tSent) / 1000);
    this.count(status);
  }

  onResponseBody(): void {}

  onResponseEnd(): void {
    // A refused upgrade (any status but 101): the client socket left the HTTP layer, so it closes after this.
    this.endClient = true;
  }

  onResponseError(message: string, kind: "bad_response" | "closed"): void {
    if (!this.counted) this.reject(kind, 502, message);
    else this.destroy();
  }

  onClose(conn: UpstreamConn, error: Error | null): void {
    this.conn = null;
    if (!conn.connected) {
      this.tried ??= new Set();
      this.tried.add(this.inst!.route.id);
      this.release();
      if (this.attempts < this.s.core.tuning.maxConnectAttempts) this.choose();
      else this.reject("connect", 502, "cannot connect to the app");
      return;
    }
    if (!this.counted) {
      this.reject("closed", 502, "the app closed the connection");
      return;
    }
    if (error === null) this.s.client.end();
    else this.s.client.destroy();
    this.finish();
  }

  private readonly onClientData = (chunk: Buffer): void => {
    const conn = this.conn;
    if (conn === null) return;
    if (!conn.socket.write(chunk)) this.s.client.pause();
  };

  private readonly onClientEnd = (): void => {
    this.conn?.socket.end();
  };

  private readonly onClientDrain = (): void => {
    this.conn?.socket.resume();
  };

  private readonly onClientClose = (): void => {
    this.conn?.abandon();
    this.conn = null;
    if (!this.counted) this.count(CLIENT_CLOSED_STATUS);
    this.finish();
  };

  /** Answers the client with an edge-made response, counted by kind, and closes. */
  private reject(kind: EdgeErrorKind, status: number, message: string): void {
    this.s.edgeApp.error(kind).inc();
    this.conn?.abandon();
    this.conn = null;
    if (!this.counted) this.count(status);
    const client = this.s.client;
    if (client.writable) client.end(rawResponse(status, message));
    else client.destroy();
    this.finish();
  }

  private destroy(): void {
    this.conn?.abandon();
    this.conn = null;
    this.s.client.destroy();
    this.finish();
  }

  private count(status: number): void {
    this.counted = true;
    const c = this.s.edgeApp.status(status);
    c.responses.inc();
    c.time.observe((performance.now() - this.s.t0) / 1000);
  }

  private release(): void {
    const inst = this.inst;
    if (inst === null) return;
    this.inst = null;
    inst.removeHttp();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.release();
  }
}

function ignore(): void {}
