// The PromQL query routes (`/prometheus/<org>/api/v1/query` and `query_range`) answered on the API's connections
// directly, ahead of node:http and Fastify. Each connection starts here: its requests are read with the edge's
// HTTP/1.1 parser, and a plain one (GET without a body, or POST with a url-encoded form of declared length within
// the body limit, to a query route of an org of plain characters, its head and body whole in what has arrived, no
// header twice) is answered here with one write. At the first request that is not plain, the connection goes to
// node:http for good, with the bytes not yet answered put back in front of the socket: node:http, and Fastify
// behind it, answer it and every later request as they always have (errors, limits, HEAD, chunked bodies,
// `Expect`, upgrades, slow heads and their timeouts). A stopping server hands its new requests over too (Fastify
// answers 503). Both ways share the access check, the handlers, the senders and the request metrics, so their
// answers are the same bytes (lean-query.test.ts compares them). Hooks added to the Fastify app do not see these
// requests. This way exists for the time it saves: node:http's request and response objects, their streams and
// events cost a small answer 0.1-0.2 ms more after the connection has been idle (docs/benchmarks.md).

import { maxHeaderSize, type Server } from "node:http";
import type { Socket } from "node:net";
import type { Readable } from "node:stream";
import { HEAD_END, parseRequestHead, type RequestHead } from "../edge/request-parser.ts";
import { httpDate, statusLine } from "../edge/response-line.ts";
import type { ContrailError } from "../model/errors.ts";
import type { Refusal } from "./auth.ts";
import { Form } from "./params.ts";
import { errorOutgoing, type Outgoing } from "./respond.ts";
import { refusalOutgoing } from "./session-auth.ts";

/** A request's method and headers (names in lower case, each once), as the access check reads them. */
export interface LeanRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** What the lean routes need of the server; every part is shared with the Fastify routes. */
export interface LeanQueryDeps {
  /** Largest accepted request body in bytes; a longer declared body goes to Fastify (which answers 413). */
  readonly bodyLimit: number;
  /** Idle time after which a connection between requests is closed, ms (node:http's keep-alive timeout). */
  readonly keepAliveMs: number;
  /** True once the server is closing: its requests then go to Fastify, which answers 503. */
  readonly closing: () => boolean;
  /** The refusal of a request to `org` whose credentials do not grant reading it (counted), or null. */
  readonly refusal: (request: LeanRequest, org: string) => Refusal | null;
  /**
   * Answers the query endpoint `path` (`/api/v1/query` or `/api/v1/query_range`) of an authorized request that came
   * on `socket`, sending the answer with `send` (whose promise it returns).
   */
  readonly serve: (
    path: string,
    org: string,
    form: Form,
    request: LeanRequest,
    socket: Socket,
    send: (out: Outgoing) => Promise<void>,
  ) => Promise<void>;
  /** An error thrown while answering, as the API's error (told to the server's internal-error hook when it is one). */
  readonly failure: (err: unknown, request: LeanRequest) => ContrailError;
  /** Counts a finished request of `route` (the Fastify route's URL pattern) with its status and duration. */
  readonly observe: (route: string, status: number, seconds: number) => void;
}

/** The lean way of one server: which connections it holds, and its part of a stop. */
export interface LeanQueryFront {
  /** Whether `socket` is still this way's (not handed to node:http). */
  owns(socket: Socket): boolean;
  /** For a stop: closes the connections waiting for a request, and the others once their answer is written. */
  stop(): void;
}

/** The query routes' URLs this way takes: org of plain characters, the endpoint, then the end or a query string. */
const QUERY_URL = /^\/prometheus\/([A-Za-z0-9_-]{1,100})\/api\/v1\/(query|query_range)(?:\?|$)/;
/** The form content type, with parameters or without, as Fastify's parser for it matches. */
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;
/** Most header lines of a request this way answers; one with more goes to node:http. */
const MAX_HEADER_LINES = 64;
const MS_PER_SECOND = 1000;

/** The route patterns the request metrics count the endpoints under, as Fastify names them. */
const ROUTES: Readonly<Record<string, string>> = {
  query: "/prometheus/:org/api/v1/query",
  query_range: "/prometheus/:org/api/v1/query_range",
};

/**
 * Puts the lean way in front of `server`'s connections: node:http's own connection listener is taken off `server`
 * and given each connection this way hands over. Call before anything else listens to `connection`.
 */
export function leanQueryFront(server: Server, deps: LeanQueryDeps): LeanQueryFront {
  const nodeListeners = server.listeners("connection") as ((socket: Socket) => void)[];
  server.removeAllListeners("connection");
  const open = new Map<Socket, LeanConnection>();
  const front = {
    deps,
    stopping: false,
    handOver(socket: Socket): void {
      open.delete(socket);
      for (const listener of nodeListeners) listener.call(server, socket);
    },
    done(socket: Socket): void {
      open.delete(socket);
    },
  };
  server.on("connection", (socket: Socket) => {
    if (front.stopping) {
      socket.destroy();
      return;
    }
    open.set(socket, new LeanConnection(front, socket));
  });
  return {
    owns: (socket) => open.has(socket),
    stop: () => {
      front.stopping = true;
      for (const conn of open.values()) conn.stop();
    },
  };
}

/** The server-wide part a connection sees. */
interface Front {
  readonly deps: LeanQueryDeps;
  readonly stopping: boolean;
  handOver(socket: Socket): void;
  done(socket: Socket): void;
}

/** One request this way answers, as read from the connection. */
interface Asked {
  readonly request: LeanRequest;
  readonly org: string;
  readonly endpoint: string;
  readonly body: string;
  readonly keepAlive: boolean;
}

/** One connection while it is this way's: the bytes not yet answered, and whether an answer is under way. */
class LeanConnection {
  private pending: Buffer | null = null;
  private busy = false;
  private ended = false;
  private closeAfter = false;
  private paused = false;
  private readonly onData = (chunk: Buffer) => this.data(chunk);
  private readonly onEnd = () => this.end();
  private readonly onError = () => this.socket.destroy();
  private readonly onTimeout = () => {
    if (!this.busy) this.socket.destroy();
  };
  private readonly onClose = () => this.front.done(this.socket);

  constructor(
    private readonly front: Front,
    private readonly socket: Socket,
  ) {
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("error", this.onError);
    socket.on("timeout", this.onTimeout);
    socket.on("close", this.onClose);
    socket.setTimeout(front.deps.keepAliveMs);
  }

  /** For a stop: closes now when no answer is under way, or else after it. */
  stop(): void {
    if (this.busy) this.closeAfter = true;
    else this.socket.destroy();
  }

  private data(chunk: Buffer): void {
    this.pending = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    if (!this.busy) {
      this.next();
    } else if (!this.paused && this.pending.length > maxHeaderSize + this.front.deps.bodyLimit) {
      // Requests sent ahead wait in the socket, not here, while this one is answered.
      this.paused = true;
      this.socket.pause();
    }
  }

  private end(): void {
    // As node:http does when a client ends its side: no answer is sent any more, and the connection closes, which
    // stops a query under way.
    this.ended = true;
    this.socket.end();
  }

  // Answers the next request when it is plain and whole, or hands the connection over.
  private next(): void {
    const buf = this.pending;
    if (buf === null) return;
    const asked = this.front.stopping || this.front.deps.closing() ? null : this.read(buf);
    if (asked === null) {
      this.handOver();
      return;
    }
    this.busy = true;
    // A failure past the error answer (none is known) drops the connection rather than the process.
    this.answer(asked).then(
      () => this.answered(asked.keepAlive),
      () => this.socket.destroy(),
    );
  }

  // After an answer: the next request, or the connection's end.
  private answered(keepAlive: boolean): void {
    this.busy = false;
    if (this.socket.destroyed || this.ended) return;
    if (this.closeAfter || !keepAlive) {
      this.socket.end();
      return;
    }
    if (this.socket.writableNeedDrain) {
      // Answers the client has not read yet wait in the socket's buffer; its next requests wait until they are sent.
      this.busy = true;
      this.socket.once("drain", () => this.answered(keepAlive));
      return;
    }
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    this.next();
  }

  // The plain request at the start of `buf`, taken off `pending`; null when it is not one.
  private read(buf: Buffer): Asked | null {
    const headEnd = buf.indexOf(HEAD_END);
    if (headEnd < 0 || headEnd + HEAD_END.length > maxHeaderSize) return null;
    const head = parseRequestHead(buf.toString("latin1", 0, headEnd));
    if ("status" in head || !plainHead(head)) return null;
    const match = QUERY_URL.exec(head.target);
    if (match === null) return null;
    const headers = headerMap(head.rawHeaders);
    if (headers === null) return null;
    if (head.method === "GET") {
      if (head.bodyLength !== 0) return null;
    } else if (
      head.bodyLength <= 0 ||
      head.bodyLength > this.front.deps.bodyLimit ||
      !FORM_TYPE.test(headers["content-type"] ?? "")
    ) {
      return null;
    }
    const bodyStart = headEnd + HEAD_END.length;
    const end = bodyStart + head.bodyLength;
    if (buf.length < end) return null;
    this.pending = end === buf.length ? null : buf.subarray(end);
    return {
      request: { method: head.method, url: head.target, headers },
      org: match[1],
      endpoint: match[2],
      body: head.bodyLength === 0 ? "" : buf.toString("utf8", bodyStart, end),
      keepAlive: head.keepAlive,
    };
  }

  // Gives the connection to node:http, with the bytes not yet answered back in front of it.
  private handOver(): void {
    const socket = this.socket;
    socket.off("data", this.onData);
    socket.off("end", this.onEnd);
    socket.off("error", this.onError);
    socket.off("timeout", this.onTimeout);
    socket.off("close", this.onClose);
    socket.setTimeout(0);
    if (this.pending !== null) socket.unshift(this.pending);
    this.pending = null;
    if (this.paused) socket.resume();
    this.front.handOver(socket);
  }

  // Access, handler and response of one request, and its metrics once the response is written.
  private async answer(asked: Asked): Promise<void> {
    const { deps } = this.front;
    const start = performance.now();
    const { request } = asked;
    let status = 0;
    let headSent = false;
    const send = (out: Outgoing): Promise<void> => {
      status = out.status;
      headSent = true;
      return this.write(out, asked.keepAlive);
    };
    try {
      const refusal = deps.refusal(request, asked.org);
      if (refusal !== null) {
        await send(refusalOutgoing(refusal));
      } else {
        const url = request.url;
        const q = url.indexOf("?");
        const form = new Form(asked.body, q < 0 ? "" : url.slice(q + 1));
        await deps.serve(`/api/v1/${asked.endpoint}`, asked.org, form, request, this.socket, send);
      }
    } catch (err) {
      const error = errorOutgoing(deps.failure(err, request));
      // An answer already under way cannot become an error any more: the connection is dropped, as Fastify does.
      if (headSent) this.socket.destroy();
      else await send(error);
    }
    if (!this.socket.destroyed && !this.ended)
      deps.observe(ROUTES[asked.endpoint], status, (performance.now() - start) / MS_PER_SECOND);
  }

  // Writes `out` as node:http's response would be: the same status line and headers in the same order.
  private write(out: Outgoing, keepAlive: boolean): Promise<void> {
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return Promise.resolve();
    const keep = keepAlive && !this.closeAfter && !this.ended && !this.front.stopping;
    const { body } = out;
    let head = statusLine(out.status);
    for (const name in out.headers) head += `${name}: ${out.headers[name]}\r\n`;
    const streamed = typeof body !== "string" && !Buffer.isBuffer(body);
    if (!streamed) head += `content-length: ${typeof body === "string" ? Buffer.byteLength(body) : body.length}\r\n`;
    head += `Date: ${httpDate()}\r\n`;
    head += keep
      ? `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(this.front.deps.keepAliveMs / MS_PER_SECOND)}\r\n`
      : "Connection: close\r\n";
    if (streamed) return this.writeChunked(`${head}Transfer-Encoding: chunked\r\n\r\n`, body);
    head += "\r\n";
    if (typeof body === "string") {
      socket.write(head + body);
    } else {
      socket.cork();
      socket.write(head, "latin1");
      socket.write(body);
      socket.uncork();
    }
    return Promise.resolve();
  }

  // Writes a streamed body in chunks, waiting for the socket to drain; a failing stream drops the connection.
  private async writeChunked(head: string, body: Readable): Promise<void> {
    const socket = this.socket;
    socket.write(head, "latin1");
    try {
      for await (const chunk of body) {
        if (socket.destroyed) {
          body.destroy();
          return;
        }
        const bytes: Buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        if (bytes.length === 0) continue;
        socket.cork();
        socket.write(`${bytes.length.toString(16)}\r\n`, "latin1");
        socket.write(bytes);
        const room = socket.write("\r\n", "latin1");
        socket.uncork();
        if (!room) await drained(socket);
      }
      socket.write("0\r\n\r\n", "latin1");
    } catch {
      socket.destroy();
    }
  }
}

/** Whether a parsed head may be answered here: GET or POST over HTTP/1.1, nothing asked of the connection. */
function plainHead(head: RequestHead): boolean {
  return (
    (head.method === "GET" || head.method === "POST") &&
    head.minor === 1 &&
    !head.upgrade &&
    !head.expectContinue &&
    !head.expectOther &&
    head.bodyLength >= 0 &&
    head.rawHeaders.length <= 2 * MAX_HEADER_LINES
  );
}

/** The headers by lower-case name, or null when a name comes twice (node:http's rules for that are its own). */
function headerMap(raw: readonly string[]): Record<string, string> | null {
  const out: Record<string, string> = Object.create(null);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (out[name] !== undefined) return null;
    out[name] = raw[i + 1];
  }
  return out;
}

/** Resolves when `socket` can take more, or has closed. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    socket.on("drain", done);
    socket.on("close", done);
  });
}
