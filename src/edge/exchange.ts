// One proxied HTTP request: choose an instance, wait in the app's queue if every instance is at its hard limit,
// connect (retrying another instance when the connection fails before any byte was sent), stream the request body
// up and the response body down with backpressure both ways, and count the outcome exactly once.
//
// A reused keep-alive connection may turn out dead only once the request is on it (the instance closed it idle, or
// died, while the request was on the way). Like browsers, nginx and Go's http.Transport, the edge then sends the
// request once more on a fresh connection, when that is safe: the connection came from the pool, not one response
// byte arrived, the request has no body and its method is idempotent (or it carries an idempotency key). The retry
// goes to the same instance while it is still routable, else to another one, and happens at most once per request.
// Upgrades never come here (see tunnel.ts).
//
// Timing: `fly_edge_http_response_time_seconds` runs from the request head received to the response handed to the
// client socket; `fly_app_http_response_time_seconds` from the request head written to the instance to the last
// response byte read from it. A request written to a pooled connection in the turn its head arrived (the usual case)
// takes the head's arrival time as its send time: one clock read fewer, microseconds apart.

import { pickInstance } from "./balancer.ts";
import type { ClientSide, ClientUser } from "./client-conn.ts";
import { type AppState, type ClientMeter, type EdgeCore, Waiter } from "./core.ts";
import type { EdgeAppMetrics, EdgeErrorKind } from "./metrics.ts";
import { type BodyFraming, VIA } from "./request-head.ts";
import { sendText } from "./respond.ts";
import type { ResponseHead, ResponseSink } from "./response-reader.ts";
import type { AppRoute } from "./routes.ts";
import type { ConnUser, InstanceState, UpstreamConn } from "./upstream.ts";
import { holdWrite, releaseNow } from "./write-batch.ts";

// Phases of an exchange.
const NEW = 0;
const QUEUED = 1;
const CONNECTING = 2;
const SENDING = 3;
const RECEIVING = 4;
const DONE = 5;

/** The Via line the edge adds to every response it forwards. */
const VIA_FIELD = `Via: ${VIA}\r\n`;

/** Status counted when the client went away before a response head was sent (nginx's convention). */
export const CLIENT_CLOSED_STATUS = 499;

/** Everything an exchange needs at its start; built by the listener once the app is known. */
export interface ExchangeStart {
  readonly core: EdgeCore;
  readonly region: string;
  /** The client's request and the response to it. */
  readonly client: ClientSide;
  readonly meter: ClientMeter;
  readonly edgeApp: EdgeAppMetrics;
  readonly app: AppState;
  readonly route: AppRoute;
  /** The request head to send upstream (same for every attempt). */
  readonly head: string;
  /** How the request body goes upstream: none, as is (Content-Length), or re-chunked. */
  readonly body: BodyFraming;
  /** `performance.now()` when the request head was received. */
  readonly t0: number;
}

/** A proxied request; see the file comment. Lives until the response is counted. */
export class Exchange extends Waiter implements ConnUser, ResponseSink, ClientUser {
  private phase = NEW;
  private inst: InstanceState | null = null;
  private conn: UpstreamConn | null = null;
  private tried: Set<string> | null = null;
  /** New connections opened for this request (reused pooled ones do not count). */
  private attempts = 0;
  /** The current connection came from the idle pool. */
  private reused = false;
  /** Bytes arrived on the current connection. */
  private gotBytes = false;
  /** The request was already sent a second time; it never is a third. */
  private retried = false;
  private status = 0;
  private tSent = 0;
  /** `run` is on the stack: a request sent now goes out in the turn its head arrived (see the file comment). */
  private starting = false;
  private requestDone: boolean;
  /** The response body waits for the client socket to drain (the instance's socket is paused). */
  private clientFull = false;
  private route: AppRoute;
  private readonly s: ExchangeStart;

  constructor(start: ExchangeStart) {
    super();
    this.s = start;
    this.route = start.route;
    this.requestDone = start.body === "none";
  }

  /** Starts the exchange. */
  run(): void {
    this.s.client.attach(this);
    this.starting = true;
    this.choose();
    this.starting = false;
  }

  private choose(): void {
    const s = this.s;
    const p = pickInstance({
      instances: this.route.instances,
      region: s.region,
      limits: this.route.concurrency,
      loadOf: s.core.httpLoadOf,
      start: s.app.rr++,
      exclude: this.tried,
    });
    switch (p.kind) {
      case "none":
        if (this.tried === null) this.fail("no_instance", 503, "no healthy instance");
        else this.fail("connect", 502, "cannot reach app");
        return;
      case "full": {
        s.core.instanceState(s.app, p.first).metrics.hardLimit.inc();
        if (this.tried !== null || s.app.httpQueue.size >= s.core.tuning.queueLimit) {
          this.fail("limit", 503, "every instance is at its concurrency limit");
          return;
        }
        this.phase = QUEUED;
        s.app.httpQueue.push(this, performance.now());
        return;
      }
      case "instance":
        if (p.softLimited !== null) s.core.instanceState(s.app, p.softLimited).metrics.softLimit.inc();
        this.dispatch(s.core.instanceState(s.app, p.instance));
    }
  }

  /** Called by the queue when an instance frees up. */
  admit(): boolean {
    const s = this.s;
    const route = s.core.routes.get(s.app.name);
    if (route === undefined) {
      this.s.app.httpQueue.remove(this);
      this.fail("no_instance", 503, "app is gone");
      return true;
    }
    this.route = route;
    const p = pickInstance({
      instances: route.instances,
      region: s.region,
      limits: route.concurrency,
      loadOf: s.core.httpLoadOf,
      start: s.app.rr++,
      exclude: null,
    });
    switch (p.kind) {
      case "full":
        return false;
      case "none":
        s.app.httpQueue.remove(this);
        this.fail("no_instance", 503, "no healthy instance");
        return true;
      case "instance":
        s.app.httpQueue.remove(this);
        if (p.softLimited !== null) s.core.instanceState(s.app, p.softLimited).metrics.softLimit.inc();
        this.dispatch(s.core.instanceState(s.app, p.instance));
        return true;
    }
  }

  /** The queue wait or the upstream response wait ran out. */
  expired(): void {
    if (this.phase === QUEUED) this.fail("limit", 503, "every instance is at its concurrency limit");
    else this.fail("timeout", 504, "the app did not respond in time");
  }

  private dispatch(inst: InstanceState): void {
    this.inst = inst;
    inst.addHttp();
    // After a retry, only fresh connections: another pooled one may be as dead as the first.
    this.attach(this.retried ? inst.openPooled(this) : inst.acquire(this));
  }

  private attach(conn: UpstreamConn): void {
    this.conn = conn;
    this.gotBytes = false;
    this.reused = conn.connected;
    if (conn.connected) this.send(conn);
    else {
      this.attempts++;
      this.phase = CONNECTING;
    }
  }

  onConnect(conn: UpstreamConn): void {
    this.send(conn);
  }

  private send(conn: UpstreamConn): void {
    const s = this.s;
    this.phase = SENDING;
    this.tSent = this.starting ? s.t0 : performance.now();
    conn.reader.reset(this, s.client.method !== "HEAD");
    holdWrite(conn, s.head);
    if (this.requestDone) {
      s.core.upstreamTimeouts.push(this, this.tSent);
      return;
    }
    // The body is read only now, so a failed connect never consumed any of it.
    s.client.readBody();
  }

  /** A slice of the request body from the client. */
  onRequestBody(chunk: Buffer): void {
    const conn = this.conn;
    if (conn === null) return;
    let ok: boolean;
    releaseNow(conn); // the head leaves first
    if (this.s.body === "chunked") {
      // Size line, data and terminator leave in one write.
      conn.socket.cork();
      conn.socket.write(`${chunk.length.toString(16)}\r\n`, "latin1");
      conn.socket.write(chunk);
      ok = conn.socket.write("\r\n", "latin1");
      conn.socket.uncork();
    } else ok = conn.socket.write(chunk);
    if (!ok) this.s.client.pauseBody();
  }

  /** The request body is complete. */
  onRequestEnd(): void {
    const conn = this.conn;
    if (conn === null) return;
    if (this.s.body === "chunked") {
      releaseNow(conn);
      conn.socket.write("0\r\n\r\n", "latin1");
    }
    this.requestDone = true;
    if (this.phase === SENDING) this.s.core.upstreamTimeouts.push(this, performance.now());
  }

  onDrain(): void {
    if (!this.requestDone) this.s.client.resumeBody();
  }

  onEnd(): void {}

  onData(chunk: Buffer): void {
    this.gotBytes = true;
    this.conn!.reader.feed(chunk);
    // A response head that came without body bytes leaves now (one that came with some left with them).
    this.s.client.flushHead();
  }

  onResponseHead(status: number, head: ResponseHead): void {
    const s = this.s;
    s.core.upstreamTimeouts.remove(this);
    this.status = status;
    this.phase = RECEIVING;
    if (status === 101) {
      // Switching protocols without being asked to: nothing sensible can be passed on.
      this.instanceResponded(performance.now());
      this.fail("bad_response", 502, "the app switched protocols on a plain request");
      return;
    }
    if (head.valid) s.client.writeFields(status, head.fields + VIA_FIELD, head.hasLength, head.hasDate);
    else {
      // A header name or value that cannot be sent (control characters): the app's response is unusable.
      this.instanceResponded(performance.now());
      this.fail("bad_response", 502, "the app sent an invalid response header");
    }
  }

  onResponseBody(chunk: Buffer): void {
    if (!this.s.client.write(chunk) && !this.clientFull) {
      this.clientFull = true;
      this.conn!.socket.pause();
    }
  }

  /** The client socket drained: the instance's socket reads again. */
  onClientDrain(): void {
    if (!this.clientFull) return;
    this.clientFull = false;
    this.conn?.socket.resume();
  }

  onResponseEnd(reusable: boolean): void {
    const now = performance.now();
    this.instanceResponded(now);
    const conn = this.conn;
    this.conn = null;
    this.phase = DONE;
    // A close-delimited body ends with the connection (conn is then null already). When the app answered before
    // the request body was all sent, the connection is out of step and is closed.
    if (conn !== null) {
      if (this.requestDone) this.inst!.release(conn, reusable, now);
      else conn.abandon();
    }
    this.releaseLoad();
    this.s.client.end();
    this.countEdge(this.status, now);
  }

  onResponseError(message: string, kind: "bad_response" | "closed"): void {
    if (this.status !== 0) this.instanceResponded(performance.now());
    this.fail(kind, 502, message);
  }

  onClose(conn: UpstreamConn, error: Error | null): void {
    if (!conn.connected) {
      // Nothing was sent: try another instance.
      this.conn = null;
      this.tried ??= new Set();
      this.tried.add(this.inst!.route.id);
      this.releaseLoad();
      if (this.attempts < this.s.core.tuning.maxConnectAttempts) this.choose();
      else this.fail("connect", 502, "cannot connect to the app");
      return;
    }
    this.conn = null;
    if (this.mayResend()) {
      conn.reader.reset(null, false);
      this.resend();
      return;
    }
    conn.reader.eof(error === null);
    if (this.phase !== DONE) this.fail("closed", 502, "the app closed the connection");
  }

  /** Whether the request, just lost with its connection, may be sent again; see the file comment. */
  private mayResend(): boolean {
    return (
      this.phase === SENDING &&
      this.reused &&
      !this.gotBytes &&
      !this.retried &&
      this.s.body === "none" &&
      replayable(this.s.client.method, this.s.client.rawHeaders)
    );
  }

  /** Sends the request again: on a fresh connection to the same instance while it is routable, else elsewhere. */
  private resend(): void {
    const s = this.s;
    this.retried = true;
    if (this.list !== null) this.list.remove(this); // the response wait starts again with the new send
    const inst = this.inst!;
    const route = s.core.routes.get(s.app.name);
    if (route === undefined) {
      this.fail("closed", 502, "the app closed the connection");
      return;
    }
    this.route = route;
    const current = route.instances.find((r) => r.id === inst.route.id);
    if (current?.healthy) {
      const next = s.core.instanceState(s.app, current);
      if (next === inst) {
        // The load unit stays held, so no queued request can take this instance's place meanwhile.
        this.attach(inst.openPooled(this));
        return;
      }
      this.releaseLoad();
      this.dispatch(next);
      return;
    }
    this.tried ??= new Set();
    this.tried.add(inst.route.id);
    this.releaseLoad();
    this.choose();
  }

  private instanceResponded(now: number): void {
    const c = this.inst!.metrics.status(this.status);
    c.responses.inc();
    c.time.observe((now - this.tSent) / 1000);
  }

  private releaseLoad(): void {
    const inst = this.inst;
    if (inst === null) return;
    this.inst = null;
    inst.removeHttp();
  }

  /** Ends the exchange with an edge-made response (or a cut one, if the head already went out), counted by kind. */
  private fail(kind: EdgeErrorKind, status: number, message: string): void {
    if (this.phase === DONE) return;
    this.phase = DONE;
    this.s.edgeApp.error(kind).inc();
    if (this.list !== null) this.list.remove(this);
    this.dropConn();
    this.releaseLoad();
    const client = this.s.client;
    if (client.headersSent) {
      client.destroy();
      this.countEdge(this.status);
    } else {
      // Ending the response lets the connection read and drop the rest of an unsent body.
      sendText(client, status, message);
      this.countEdge(status);
    }
  }

  /** Closes the instance connection, and stops its reader so no later byte of the chunk being read reaches us. */
  private dropConn(): void {
    const conn = this.conn;
    if (conn === null) return;
    this.conn = null;
    conn.reader.reset(null, false);
    conn.abandon();
  }

  private countEdge(status: number, now: number = performance.now()): void {
    const s = this.s;
    const c = s.edgeApp.status(status);
    c.responses.inc();
    c.time.observe((now - s.t0) / 1000);
    s.meter.lastActivity = now;
    s.meter.flush(s.edgeApp);
  }

  /** The client connection closed before the response ended: the exchange is abandoned. */
  onClientClose(): void {
    if (this.phase === DONE) return;
    this.phase = DONE;
    if (this.list !== null) this.list.remove(this);
    this.dropConn();
    this.releaseLoad();
    this.countEdge(this.s.client.headersSent ? this.status : CLIENT_CLOSED_STATUS);
  }
}

/** Whether a request without a body may be sent twice: an idempotent method (RFC 9110) or an idempotency key. */
function replayable(method: string, rawHeaders: readonly string[]): boolean {
  switch (method) {
    case "GET":
    case "HEAD":
    case "OPTIONS":
    case "TRACE":
    case "PUT":
    case "DELETE":
      return true;
  }
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (name === "idempotency-key" || name === "x-idempotency-key") return true;
  }
  return false;
}
