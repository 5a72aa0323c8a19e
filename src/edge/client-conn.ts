// The server side of one client connection of the edge: HTTP/1.1 on a plain or TLS socket, without node:http.
// Request heads are parsed by request-parser.ts; requests are served one at a time in arrival order (pipelined ones
// wait in the read buffer, which is bounded: reading pauses while a request is in progress and more than
// PIPELINE_BUFFER_BYTES wait). The request body (Content-Length or chunked) flows to the request's user only once it
// asks for it, with backpressure both ways; whatever of a body the user did not take is read and dropped after the
// response, so the next request on the connection is found. Responses go straight to the socket: status line and
// headers in one write with the first body bytes, the body framed by Content-Length, chunked (HTTP/1.1 clients) or
// by closing the connection (HTTP/1.0 clients).
//
// Time limits: a request head must be complete within `headersTimeoutMs` of its first byte (of the connection's
// opening, for the first request); the listener's sweep enforces it (408, or a silent close when nothing arrived).
// A connection with no traffic for `clientIdleTimeoutMs` is closed by the same sweep: reads, writes and drains stamp
// the connection with the owner's coarse clock (a field, no timer refreshed and no clock read per request).

import type { Socket } from "node:net";
import type { ClientMeter } from "./core.ts";
import {
  bareLineFeed,
  CHUNKED,
  ChunkedDecoder,
  HEAD_END,
  type HeadError,
  isFieldValue,
  isToken,
  parseRequestHead,
  type RequestHead,
} from "./request-parser.ts";
import { rawResponse } from "./respond.ts";
import { httpDate, statusLine } from "./response-line.ts";
import { viewsSharedBuffer } from "./shared-reads.ts";
import { type Held, holdWrite, releaseNow } from "./write-batch.ts";

/** Receives the client side's events of one request (the Exchange). */
export interface ClientUser {
  /** Request body bytes, a buffer of their own (never a view of the shared read buffer) the user may keep. */
  onRequestBody(chunk: Buffer): void;
  /** The request body is complete. */
  onRequestEnd(): void;
  /** The client socket's write buffer drained. */
  onClientDrain(): void;
  /** The client connection closed before `end` (the user gets no further calls). */
  onClientClose(): void;
}

/** The client side of one request, as an Exchange sees it; valid until `end` or `destroy`. */
export interface ClientSide {
  readonly method: string;
  readonly rawHeaders: readonly string[];
  /** Whether the response head was written. */
  readonly headersSent: boolean;
  /** Registers the request's user. */
  attach(user: ClientUser): void;
  /** Starts the flow of the request body to the user (at once, or as it arrives). */
  readBody(): void;
  /** Stops the request body flow until `resumeBody` (backpressure from the instance). */
  pauseBody(): void;
  /** Resumes the request body flow. */
  resumeBody(): void;
  /** Writes the response head (sent with the first body bytes); false, with nothing written, if a header is invalid. */
  writeHead(status: number, headers: readonly string[]): boolean;
  /**
   * Holds the response head from header lines already checked, each `Name: value\r\n`, to leave with the first body
   * bytes; `hasLength` and `hasDate` say whether a Content-Length and a Date line are among them. Unlike `writeHead`
   * it schedules no write of its own: the caller calls `flushHead` once the read that brought the head is consumed.
   */
  writeFields(status: number, fields: string, hasLength: boolean, hasDate: boolean): void;
  /** Writes a response head still held (no body bytes came with it). */
  flushHead(): void;
  /**
   * Writes response body bytes; false when the socket's buffer is full (wait for `onClientDrain`). The caller may
   * reuse `chunk`'s memory once the call returns: what the socket keeps is a copy.
   */
  write(chunk: Buffer): boolean;
  /** Ends the response; the connection goes on to the next request or closes. */
  end(): void;
  /** Cuts the connection (a response that cannot be completed). */
  destroy(): void;
}

/** What a connection asks of its listener. */
export interface ConnOwner {
  /** A complete request head arrived (`t0`: when, `performance.now()` ms). */
  onRequest(conn: ClientConn, head: RequestHead, t0: number): void;
  /** An `Upgrade` request arrived; the socket and `rest` (bytes after the head) now belong to the callee. */
  onUpgrade(conn: ClientConn, head: RequestHead, rest: Buffer, t0: number): void;
  /** The connection answered a request it refused itself (`status`), with the time the request started. */
  onRefused(conn: ClientConn, status: number, since: number): void;
  /** The head deadline of `conn` is armed (true) or disarmed (false). */
  watchHead(conn: ClientConn, on: boolean): void;
  /** The socket closed. */
  onConnClose(conn: ClientConn): void;
  /** `performance.now()` ms of the owner's latest sweep: connections stamp their activity with it. */
  readonly clock: number;
}

/** Bounds and timeouts of client connections (milliseconds, bytes). */
export interface ConnLimits {
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  readonly clientIdleTimeoutMs: number;
}

/** Largest body write copied into one buffer with the head or chunk framing before it (bytes). */
const MAX_COALESCE_BYTES = 16 * 1024;
/** Most bytes read ahead (pipelined requests, body not yet taken) before reading pauses. */
const PIPELINE_BUFFER_BYTES = 64 * 1024;
/** Most empty lines skipped before a request line (RFC 9112 §2.2 allows some after a body). */
const MAX_LEADING_EMPTY_LINES = 4;

// Connection states.
const HEAD = 0;
const BODY = 1;
const WAIT = 2;
const DRAIN = 3;
const GONE = 4;

// Response body framing.
const NONE = 0;
const LENGTH = 1;
const CHUNKS = 2;
const UNTIL_CLOSE = 3;

const CRLF = "\r\n";
const LAST_CHUNK = "0\r\n\r\n";
const CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n";

/** One client connection; see the file comment. Lives until its socket closes or is handed to a Tunnel. */
export class ClientConn implements ClientSide, Held {
  /** @internal Writes held this loop turn (write-batch.ts). */
  held: (Buffer | string)[] | null = null;
  /** @internal See Held. */
  unsent = 0;
  method = "";
  rawHeaders: readonly string[] = [];
  headersSent = false;
  /** `performance.now()` deadline of the current request head, 0 when unarmed (read by the listener's sweep). */
  headDeadline: number;
  /** The owner's clock at the latest read, write or drain (ms; read by the listener's idle sweep). */
  lastActive: number;
  private state = HEAD;
  private buf: Buffer | null = null;
  private user: ClientUser | null = null;
  private head: RequestHead | null = null;
  /** Body bytes still to come (Content-Length framing). */
  private remaining = 0;
  private chunked = false;
  private readonly decoder: ChunkedDecoder;
  private reading = false;
  private bodyPaused = false;
  private bodyDone = true;
  private framing = NONE;
  private closeAfter = false;
  /** The response head, held until the first body bytes, `end` or `flushHead`, to leave in one write. */
  private pendingHead: string | null = null;
  private pausedForBuffer = false;
  /** Reading waits for the socket to drain responses already written (a client pipelining without reading). */
  private pausedForOutput = false;
  /** `pump` is on the stack: a nested call (from a user's callback) leaves the work to the outer loop. */
  private pumping = false;
  /** The socket went to a Tunnel: reads that still arrive through `receive` are passed on as 'data' events. */
  private handedOver = false;
  private readonly forwardBody = (slice: Buffer): void => {
    // A write that the kernel does not take at once keeps its bytes: a view of the shared buffer is copied.
    if (slice.length > 0) this.user?.onRequestBody(viewsSharedBuffer(slice) ? Buffer.from(slice) : slice);
  };

  /**
   * Serves `socket`. With `sharedReads`, the socket reads into the process's shared buffer (shared-reads.ts) and
   * its reads come through `receive`; otherwise through its 'data' events (TLS sockets).
   */
  constructor(
    readonly socket: Socket,
    readonly meter: ClientMeter,
    private readonly owner: ConnOwner,
    private readonly limits: ConnLimits,
    sharedReads: boolean,
  ) {
    this.decoder = new ChunkedDecoder(limits.maxHeaderBytes);
    this.headDeadline = performance.now() + limits.headersTimeoutMs;
    owner.watchHead(this, true);
    this.lastActive = owner.clock;
    if (!sharedReads) socket.on("data", this.receive);
    socket.on("end", this.onEnd);
    socket.on("drain", this.onDrain);
    socket.on("error", ignore); // a reset is seen as "close"
    socket.on("close", this.onClose);
  }

  attach(user: ClientUser): void {
    this.user = user;
  }

  readBody(): void {
    if (this.reading) return;
    this.reading = true;
    if (this.bodyDone) {
      this.user?.onRequestEnd();
      return;
    }
    this.pump();
  }

  pauseBody(): void {
    if (this.bodyPaused) return;
    this.bodyPaused = true;
    this.socket.pause();
  }

  resumeBody(): void {
    if (!this.bodyPaused) return;
    this.unpauseBody();
    this.pump();
  }

  private unpauseBody(): void {
    if (!this.bodyPaused) return;
    this.bodyPaused = false;
    this.resumeReading();
  }

  writeHead(status: number, headers: readonly string[]): boolean {
    let fields = "";
    let length = false;
    let date = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i];
      const value = headers[i + 1];
      if (!isToken(name) || !isFieldValue(value)) return false;
      if (name.length === 14 && name === "Content-Length") length = true;
      else if (name.length === 4 && name.toLowerCase() === "date") date = true;
      fields += `${name}: ${value}\r\n`;
    }
    this.writeFields(status, fields, length, date);
    // Held until the first body bytes, `end` or the end of this tick, to leave in one write.
    process.nextTick(this.flushHead);
    return true;
  }

  writeFields(status: number, fields: string, hasLength: boolean, hasDate: boolean): void {
    const req = this.head!;
    let out = statusLine(status) + fields;
    if (!hasDate) out += `Date: ${httpDate()}\r\n`;
    if (req.method === "HEAD" || status === 204 || status === 304 || status < 200) this.framing = NONE;
    else if (hasLength) this.framing = LENGTH;
    else if (req.minor === 1) {
      this.framing = CHUNKS;
      out += "Transfer-Encoding: chunked\r\n";
    } else {
      this.framing = UNTIL_CLOSE;
      this.closeAfter = true;
    }
    if (!req.keepAlive) this.closeAfter = true;
    if (this.closeAfter) out += "Connection: close\r\n\r\n";
    else if (req.minor === 0) out += "Connection: keep-alive\r\n\r\n";
    else out += CRLF;
    this.headersSent = true;
    this.pendingHead = out;
  }

  write(chunk: Buffer): boolean {
    const len = chunk.length;
    if (len === 0 || this.framing === NONE || this.state === GONE) return true;
    this.lastActive = this.owner.clock;
    const head = this.pendingHead ?? "";
    this.pendingHead = null;
    const chunked = this.framing === CHUNKS;
    const prefix = chunked ? `${head}${len.toString(16)}\r\n` : head;
    const suffix = chunked ? CRLF : "";
    // A write the kernel does not take at once keeps a reference to its bytes: those of `chunk` are copied.
    if (len > MAX_COALESCE_BYTES) {
      // A large write leaves at once, after what this turn held: held, it would pass the high-water mark and pause
      // the instance's socket until the release, once for every read of a large body.
      releaseNow(this);
      if (prefix !== "") this.socket.write(prefix, "latin1");
      const ok = this.socket.write(Buffer.from(chunk));
      return suffix === "" ? ok : this.socket.write(suffix, "latin1");
    }
    if (prefix === "" && suffix === "") return holdWrite(this, Buffer.from(chunk));
    // One buffer, one write: the head (or chunk size line), the bytes, and the chunk's CRLF.
    const out = Buffer.allocUnsafe(prefix.length + len + suffix.length);
    out.write(prefix, 0, "latin1");
    chunk.copy(out, prefix.length);
    if (chunked) out.write(suffix, prefix.length + len, "latin1");
    return holdWrite(this, out);
  }

  end(): void {
    if (this.state === GONE) return;
    this.lastActive = this.owner.clock;
    this.user = null;
    const head = this.pendingHead;
    this.pendingHead = null;
    if (this.framing === CHUNKS) holdWrite(this, head === null ? LAST_CHUNK : head + LAST_CHUNK);
    else if (head !== null) holdWrite(this, head);
    this.framing = NONE;
    this.headersSent = false;
    this.head = null;
    if (this.closeAfter) {
      this.state = GONE;
      releaseNow(this);
      this.socket.end();
      return;
    }
    if (this.bodyDone) this.nextRequest();
    else {
      // The rest of the body is read and dropped, so the next request is found.
      this.state = DRAIN;
      this.reading = true;
      this.unpauseBody();
      this.pump();
    }
  }

  destroy(): void {
    releaseNow(this); // what the response already wrote leaves before the cut
    this.socket.destroy();
  }

  /** The head deadline passed (called by the listener's sweep): 408 after a partial head, else a silent close. */
  headTimedOut(): void {
    if (this.state !== HEAD) return;
    if (this.pausedForOutput) {
      // The head is not read because the client does not read its answers: not a slow head. The idle timeout
      // still closes a connection whose responses make no progress.
      this.headDeadline = performance.now() + this.limits.headersTimeoutMs;
      return;
    }
    if (this.buf === null) {
      this.socket.destroy();
      return;
    }
    this.refuse(
      { status: 408, message: "request head not received in time" },
      this.headDeadline - this.limits.headersTimeoutMs,
    );
  }

  readonly flushHead = (): void => {
    const head = this.pendingHead;
    if (head === null) return;
    this.pendingHead = null;
    if (this.state !== GONE) holdWrite(this, head);
  };

  /** No traffic for the idle timeout (called by the listener's sweep): the connection is closed. */
  idleTimedOut(): void {
    this.socket.destroy();
  }

  /** Bytes read from the socket; a view of the shared read buffer is valid only until this returns. */
  readonly receive = (chunk: Buffer): void => {
    this.lastActive = this.owner.clock;
    if (this.state === GONE) {
      if (this.handedOver) this.socket.emit("data", Buffer.from(chunk));
      return;
    }
    if (this.buf === null) this.buf = chunk;
    else this.buf = Buffer.concat([this.buf, chunk]);
    this.pump();
    if (this.buf === null) return;
    // What waits for a later read (a partial head, pipelined requests, body not taken yet) gets its own copy.
    if (viewsSharedBuffer(this.buf)) this.buf = Buffer.from(this.buf);
    // A head that did not arrive whole starts its deadline (the first one started with the connection).
    if (this.state === HEAD && this.headDeadline === 0) this.armHead();
  };

  private readonly onDrain = (): void => {
    this.lastActive = this.owner.clock;
    if (this.pausedForOutput) {
      this.pausedForOutput = false;
      this.resumeReading();
      this.pump();
    }
    this.user?.onClientDrain();
  };

  /** Resumes reading the socket unless some reason to pause it still holds. */
  private resumeReading(): void {
    if (!this.bodyPaused && !this.pausedForBuffer && !this.pausedForOutput) this.socket.resume();
  }

  private readonly onEnd = (): void => {
    // The client ended its side: like node:http, a request in progress is abandoned (its user hears the client
    // left) and the connection is closed once what was already written is sent.
    const user = this.user;
    this.user = null;
    this.state = GONE;
    this.buf = null;
    user?.onClientClose();
    this.flushHead();
    releaseNow(this);
    this.socket.end();
  };

  private readonly onClose = (): void => {
    const user = this.user;
    this.user = null;
    this.state = GONE;
    if (this.headDeadline !== 0) this.owner.watchHead(this, false);
    user?.onClientClose();
    this.owner.onConnClose(this);
  };

  private armHead(): void {
    this.headDeadline = performance.now() + this.limits.headersTimeoutMs;
    this.owner.watchHead(this, true);
  }

  /** Works through the buffered bytes as far as the current state allows. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.buf !== null && this.state !== GONE) {
        if (this.state === HEAD) {
          if (this.socket.writableNeedDrain) {
            // The next request waits until the client reads what was already answered: memory stays bounded.
            this.pausedForOutput = true;
            this.socket.pause();
            break;
          }
          if (!this.readHead()) break;
        } else if (this.state === BODY || this.state === DRAIN) {
          if (!this.reading || this.bodyPaused) break;
          this.readBodyBytes();
        } else break;
      }
    } finally {
      this.pumping = false;
    }
    this.bufferBound();
  }

  /** Pauses reading while too much is buffered ahead of the request in progress; resumes once it is taken. */
  private bufferBound(): void {
    const over =
      this.state !== HEAD && this.state !== GONE && this.buf !== null && this.buf.length >= PIPELINE_BUFFER_BYTES;
    if (over && !this.pausedForBuffer) {
      this.pausedForBuffer = true;
      this.socket.pause();
    } else if (!over && this.pausedForBuffer) {
      this.pausedForBuffer = false;
      this.resumeReading();
    }
  }

  /** Parses a head from the buffer; false when it is incomplete (or the connection ended on it). */
  private readHead(): boolean {
    let buf = this.buf!;
    let start = 0;
    for (
      let n = 0;
      n < MAX_LEADING_EMPTY_LINES && buf.length - start >= 2 && buf[start] === 13 && buf[start + 1] === 10;
      n++
    ) {
      start += 2;
    }
    if (start > 0) {
      buf = buf.subarray(start);
      this.buf = buf.length > 0 ? buf : null;
      if (this.buf === null) return false;
    }
    const end = buf.indexOf(HEAD_END);
    const max = this.limits.maxHeaderBytes;
    if (end < 0 && bareLineFeed(buf)) {
      this.refuse({ status: 400, message: "bare LF in the request head" }, this.headStart());
      return false;
    }
    if (end < 0 || end + 4 > max) {
      if (end >= 0 || buf.length > max)
        this.refuse({ status: 431, message: "request headers too large" }, this.headStart());
      return false;
    }
    const t0 = performance.now();
    const parsed = parseRequestHead(buf.toString("latin1", 0, end));
    const next = end + 4;
    this.buf = next < buf.length ? buf.subarray(next) : null;
    if ("status" in parsed) {
      this.refuse(parsed, this.headStart());
      return false;
    }
    if (this.headDeadline !== 0) {
      this.headDeadline = 0;
      this.owner.watchHead(this, false);
    }
    this.startRequest(parsed, t0);
    return true;
  }

  private startRequest(head: RequestHead, t0: number): void {
    this.head = head;
    this.method = head.method;
    this.rawHeaders = head.rawHeaders;
    this.user = null;
    this.reading = false;
    this.bodyPaused = false;
    this.closeAfter = false;
    if (head.method === "CONNECT") {
      this.refuse({ status: 405, message: "CONNECT is not supported" }, t0);
      return;
    }
    if (head.upgrade) {
      this.handOver(head, t0);
      return;
    }
    if (head.expectOther) {
      this.refuse({ status: 417, message: "expectation not supported" }, t0);
      return;
    }
    this.chunked = head.bodyLength === CHUNKED;
    this.remaining = this.chunked ? 0 : head.bodyLength;
    this.bodyDone = head.bodyLength === 0;
    if (this.chunked) this.decoder.reset();
    this.state = this.bodyDone ? WAIT : BODY;
    if (head.expectContinue && !this.bodyDone && head.minor === 1) holdWrite(this, CONTINUE);
    this.owner.onRequest(this, head, t0);
  }

  /** Gives the socket to the listener's upgrade handling (the Tunnel); this object lets go of it. */
  private handOver(head: RequestHead, t0: number): void {
    const buf = this.buf;
    const rest = buf === null ? Buffer.alloc(0) : viewsSharedBuffer(buf) ? Buffer.from(buf) : buf;
    this.buf = null;
    this.state = GONE;
    this.handedOver = true;
    releaseNow(this); // the Tunnel writes to the socket itself
    const socket = this.socket;
    socket.removeListener("data", this.receive);
    socket.removeListener("end", this.onEnd);
    socket.removeListener("drain", this.onDrain);
    if (this.pausedForBuffer) socket.resume();
    this.owner.onUpgrade(this, head, rest, t0);
  }

  private readBodyBytes(): void {
    const buf = this.buf!;
    let used: number;
    if (this.chunked) {
      used = this.decoder.feed(buf, 0, this.forwardBody);
      if (used < 0) {
        this.bodyFailed(this.decoder.error);
        return;
      }
      this.bodyDone = this.decoder.done;
    } else {
      used = Math.min(this.remaining, buf.length);
      this.remaining -= used;
      this.forwardBody(used === buf.length ? buf : buf.subarray(0, used));
      this.bodyDone = this.remaining === 0;
    }
    // The user may have ended the response from its callback: DRAIN then goes on here; GONE stops.
    if (this.state === GONE) return;
    this.buf = used < buf.length ? buf.subarray(used) : null;
    if (!this.bodyDone) return;
    if (this.state === DRAIN) {
      this.nextRequest();
      return;
    }
    this.state = WAIT;
    this.user?.onRequestEnd();
  }

  /** A malformed chunked body: the request cannot be completed, and the connection is out of step. */
  private bodyFailed(message: string): void {
    const user = this.user;
    if (user !== null && !this.headersSent && this.state === BODY) {
      // The request's user is told the client went away; the client gets a 400 it can read.
      this.user = null;
      user.onClientClose();
      this.refuse({ status: 400, message }, performance.now());
      return;
    }
    this.socket.destroy();
  }

  private nextRequest(): void {
    this.state = HEAD;
    this.reading = false;
    this.unpauseBody();
    if (this.buf !== null) {
      this.armHead();
      // Pipelined bytes are read once the response's own bookkeeping is done.
      queueMicrotask(() => this.pump());
    }
  }

  /** When the head in progress started, as the owner counts it. */
  private headStart(): number {
    return this.headDeadline === 0 ? performance.now() : this.headDeadline - this.limits.headersTimeoutMs;
  }

  /** Answers a request the connection refuses itself, and closes. */
  private refuse(err: HeadError, since: number): void {
    this.buf = null;
    this.state = GONE;
    if (this.headDeadline !== 0) {
      this.headDeadline = 0;
      this.owner.watchHead(this, false);
    }
    releaseNow(this);
    this.socket.end(rawResponse(err.status, err.message));
    this.owner.onRefused(this, err.status, since);
  }
}

function ignore(): void {}
