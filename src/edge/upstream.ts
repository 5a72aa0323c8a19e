// Connections from the edge to one instance: opening them (with connect-time and connect/disconnect counts), a
// keep-alive pool for HTTP, the instance's load counters behind `fly_app_concurrency`, and the byte totals of every
// connection to it (pooled HTTP, upgraded tunnels, TCP services), read by `Edge.proxiedBytes`.

import { connect, type Socket } from "node:net";
import type { InstanceMetrics } from "./metrics.ts";
import { ResponseReader } from "./response-reader.ts";
import { type HostPort, type InstanceRoute, splitAddress } from "./routes.ts";
import { sharedReadOption } from "./shared-reads.ts";
import type { Held } from "./write-batch.ts";

/** Receives a connection's events while it is assigned to it (`conn.user`). */
export interface ConnUser {
  /** A new connection is ready; a reused one is handed over already connected and gets no call. */
  onConnect(conn: UpstreamConn): void;
  /**
   * Bytes from the instance. On a pooled HTTP connection `chunk` views the read buffer the process's sockets
   * share (shared-reads.ts): valid only until the call returns, so what is kept must be copied. On other
   * connections it is a buffer of this read's own, which the user may keep or queue.
   */
  onData(chunk: Buffer): void;
  /** The socket's write buffer drained. */
  onDrain(): void;
  /** The instance ended its side (only for connections opened with `halfOpen`). */
  onEnd(): void;
  /** The connection closed; `conn.connected` is false when it never connected (no byte was sent). */
  onClose(conn: UpstreamConn, error: Error | null): void;
}

/** Settings shared by every instance's connections. */
export interface UpstreamSettings {
  /** Give up connecting after this many milliseconds. */
  readonly connectTimeoutMs: number;
  /** Close pooled connections idle for this long; keep it below the instances' own keep-alive timeout. */
  readonly idleTimeoutMs: number;
  /** Most idle connections kept per instance. */
  readonly maxIdle: number;
}

/** One socket to an instance. Owned by its InstanceState; lent to one user at a time. */
export class UpstreamConn implements Held {
  user: ConnUser | null = null;
  /** @internal Writes held this loop turn (write-batch.ts). */
  held: (Buffer | string)[] | null = null;
  /** @internal See Held. */
  unsent = 0;
  connected = false;
  /** When it entered the idle pool (`performance.now()` ms). */
  idleSince = 0;
  error: Error | null = null;
  /** Parses HTTP responses on this connection; unused for raw pipes. */
  readonly reader = new ResponseReader();

  constructor(
    readonly socket: Socket,
    readonly pooled: boolean,
  ) {}

  /** Detaches the user and closes the socket; the user gets no further calls. */
  abandon(): void {
    this.user = null;
    this.socket.destroy();
  }
}

/** Whether an idle socket can still carry a request: open both ways, nothing from the instance pending. */
function usable(socket: Socket): boolean {
  return !socket.destroyed && socket.writable && !socket.readableEnded;
}

class ConnectTimeoutError extends Error {
  readonly code = "ETIMEDOUT";
  readonly syscall = "connect";
}

/** Runtime state of one instance at this edge process. */
export class InstanceState {
  /** In-flight HTTP requests plus open upgraded tunnels. */
  httpLoad = 0;
  /** Open TCP service connections. */
  tcpLoad = 0;
  readonly target: HostPort;
  private readonly open = new Set<UpstreamConn>();
  private readonly idle: UpstreamConn[] = [];
  private sentClosed = 0;
  private recvClosed = 0;

  constructor(
    public route: InstanceRoute,
    readonly metrics: InstanceMetrics,
    private readonly settings: UpstreamSettings,
    /** Called after a unit of HTTP or TCP load is released, so queued work can be admitted. */
    private readonly onRelease: (kind: "http" | "tcp") => void,
  ) {
    this.target = splitAddress(route.address);
  }

  /** Counts one more HTTP request or tunnel in flight. */
  addHttp(): void {
    this.httpLoad++;
    this.metrics.concurrency.inc();
  }

  /** Releases one HTTP request or tunnel. */
  removeHttp(): void {
    this.httpLoad--;
    this.metrics.concurrency.dec();
    this.onRelease("http");
  }

  /** Counts one more TCP service connection. */
  addTcp(): void {
    this.tcpLoad++;
    this.metrics.concurrency.inc();
  }

  /** Releases one TCP service connection. */
  removeTcp(): void {
    this.tcpLoad--;
    this.metrics.concurrency.dec();
    this.onRelease("tcp");
  }

  /** A pooled HTTP connection for `user`: an idle one (already connected) or a new one (wait for `onConnect`). */
  acquire(user: ConnUser): UpstreamConn {
    while (this.idle.length > 0) {
      const conn = this.idle.pop()!;
      if (!usable(conn.socket)) {
        conn.socket.destroy();
        continue;
      }
      conn.user = user;
      return conn;
    }
    return this.openPooled(user);
  }

  /** A new poolable HTTP connection for `user`, bypassing the idle pool (wait for `onConnect`). */
  openPooled(user: ConnUser): UpstreamConn {
    return this.connect(user, this.target.port, { pooled: true, halfOpen: false });
  }

  /** Returns a pooled connection after a response; it is kept only when `reusable` and the pool has room. */
  release(conn: UpstreamConn, reusable: boolean, now: number): void {
    conn.user = null;
    if (reusable && conn.pooled && this.idle.length < this.settings.maxIdle && usable(conn.socket)) {
      // Its last user may have paused it for a slow client when the response's last bytes arrived: a pooled
      // connection must read again, or the next response on it would never be seen.
      if (conn.socket.isPaused()) conn.socket.resume();
      conn.idleSince = now;
      this.idle.push(conn);
    } else {
      conn.socket.destroy();
    }
  }

  /** Idle pooled connections right now. */
  get idleCount(): number {
    return this.idle.length;
  }

  /** Opens a connection to `port` on the instance's host (HTTP pool, tunnel or TCP service). */
  connect(user: ConnUser, port: number, opts: { pooled: boolean; halfOpen: boolean }): UpstreamConn {
    const started = performance.now();
    const onData = (chunk: Buffer): void => {
      if (conn.user !== null) conn.user.onData(chunk);
      else socket.destroy(); // bytes on an idle connection: the instance is out of step
    };
    // Pooled connections read into the process's shared buffer (shared-reads.ts); tunnels and TCP pipes queue
    // every chunk on another socket, so they keep a buffer per read ('data' events).
    const onread = opts.pooled ? sharedReadOption(onData) : undefined;
    const socket = connect({ host: this.target.host, port, allowHalfOpen: opts.halfOpen, noDelay: true, onread });
    const conn = new UpstreamConn(socket, opts.pooled);
    conn.user = user;
    this.open.add(conn);
    socket.setTimeout(this.settings.connectTimeoutMs);
    socket.on("connect", () => {
      conn.connected = true;
      socket.setTimeout(0);
      this.metrics.connects.inc();
      this.metrics.connectTime.observe((performance.now() - started) / 1000);
      conn.user?.onConnect(conn);
    });
    socket.on("timeout", () => {
      if (!conn.connected) socket.destroy(new ConnectTimeoutError(`connect to ${this.route.address} timed out`));
    });
    if (!opts.pooled) socket.on("data", onData);
    socket.on("drain", () => conn.user?.onDrain());
    socket.on("end", () => {
      // The instance closed an idle connection (its keep-alive timeout, or it is going away): drop it from the pool
      // at once, so no request is written to it. A busy pooled connection closes next, and its user hears of it.
      if (conn.user === null) socket.destroy();
      else if (opts.halfOpen) conn.user.onEnd();
    });
    socket.on("error", (err) => {
      conn.error = err;
    });
    socket.on("close", () => {
      this.open.delete(conn);
      this.sentClosed += socket.bytesWritten;
      this.recvClosed += socket.bytesRead;
      if (conn.connected) this.metrics.disconnects.inc();
      if (conn.user === null) {
        const i = this.idle.indexOf(conn);
        if (i >= 0) this.idle.splice(i, 1);
        return;
      }
      const user = conn.user;
      conn.user = null;
      user.onClose(conn, conn.error);
    });
    return conn;
  }

  /** Closes pooled connections idle since before `now - idleTimeoutMs` (the oldest sit at the bottom). */
  sweepIdle(now: number): void {
    const limit = now - this.settings.idleTimeoutMs;
    let n = 0;
    while (n < this.idle.length && this.idle[n].idleSince <= limit) n++;
    if (n === 0) return;
    for (const conn of this.idle.splice(0, n)) conn.socket.destroy();
  }

  /** Closes every idle pooled connection. */
  closeIdle(): void {
    for (const conn of this.idle.splice(0)) conn.socket.destroy();
  }

  /** Closes every connection to the instance, busy or not. */
  closeAll(): void {
    this.closeIdle();
    for (const conn of this.open) conn.socket.destroy();
  }

  /** Bytes the proxy sent to / received from the instance over all its connections, open ones included. */
  bytes(): { sent: number; recv: number } {
    let sent = this.sentClosed;
    let recv = this.recvClosed;
    for (const conn of this.open) {
      sent += conn.socket.bytesWritten;
      recv += conn.socket.bytesRead;
    }
    return { sent, recv };
  }
}
