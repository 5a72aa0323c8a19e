// Sending answers: JSON (or text) produced in pieces is sent as one body when small and streamed when large, and
// gzip-compressed when the client accepts it (Grafana's and promtool's Go clients always do). Errors become
// Prometheus's error envelope with the status of error-status.ts.

import { maxHeaderSize } from "node:http";
import type { Duplex } from "node:stream";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { constants, createGzip, gzip } from "node:zlib";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ContrailError } from "../model/errors.ts";
import type { Answer } from "./context.ts";
import { httpErrorOf } from "./error-status.ts";
import { KeptGzip } from "./gzip-kept.ts";
import { errorJson, successJson } from "./json.ts";

const gzipAsync = promisify(gzip);

/**
 * Bodies shorter than this go uncompressed even when the client accepts gzip: about what TCP's initial congestion
 * window carries in its first round trip (RFC 6928: ten segments of up to 1,460 bytes, less the response head), so
 * on a new connection compressing them saves no round trip, only bytes, and costs both ends CPU (a single-series
 * hour of a dashboard panel, 7–8 KB, took 40–50 µs to compress, about 5% of its answer's time on the server).
 */
export const MIN_GZIP_BYTES = 14_000;
/**
 * Bodies up to this size are compressed on the event loop (about 0.3 ms at GZIP_LEVEL, less than the round
 * through the thread pool costs a small range answer); larger ones in the pool.
 */
const SYNC_GZIP_BYTES = 256 * 1024;
/** Bodies longer than this are streamed as they are produced instead of joined first. */
const STREAM_THRESHOLD = 1024 * 1024;
/**
 * Compression level: fast, since a query answer is produced once and read once. Level 2 is zlib's fast match
 * search with a slightly longer chain than level 1: on query answers it compresses as well as level 3 (within a
 * few percent, sometimes better) in half the time.
 */
const GZIP_LEVEL = 2;

/** The thread's deflate state for bodies compressed on the event loop (a zlib object per body cost more than
 * compressing a small answer). */
const keptGzip = new KeptGzip(GZIP_LEVEL);

/** The JSON content type of every API answer. */
export const JSON_TYPE = "application/json";

/** A JSON media type without a charset parameter, which Fastify completes with `; charset=utf-8` on text bodies. */
const JSON_WITHOUT_CHARSET = /^[^;]*json(?![^;]*;.*charset=)/i;

/**
 * The content type a text body goes out with: a JSON type gets `; charset=utf-8` when it names no charset, as
 * Fastify's reply adds it, so both ways of sending (Fastify's reply and node:http's response) send the same header.
 */
export function textContentType(contentType: string): string {
  return JSON_WITHOUT_CHARSET.test(contentType) ? `${contentType}; charset=utf-8` : contentType;
}

/** True when the Accept-Encoding header allows gzip (present and not `q=0`). */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  const text = Array.isArray(header) ? header.join(",") : header;
  for (const part of text.split(",")) {
    const [coding, ...params] = part.trim().split(";");
    if (coding.trim().toLowerCase() !== "gzip") continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

function* chain(first: string, rest: Iterator<string>): Generator<string> {
  if (first !== "") yield first;
  for (let r = rest.next(); !r.done; r = rest.next()) yield r.value;
}

/**
 * A response ready to be sent by Fastify's reply or by the lean query way (lean-query.ts) alike: status, the
 * headers in the order they go out (without `content-length`: the sender adds it to a whole body), and the body,
 * whole or a stream.
 */
export interface Outgoing {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string | Buffer | Readable;
}

/** The response of `pieces` as the body with `status` and `contentType`, compressed and streamed as fits. */
export async function piecesOutgoing(
  acceptEncoding: string | string[] | undefined,
  pieces: Iterable<string>,
  opts: { readonly status?: number; readonly contentType?: string } = {},
): Promise<Outgoing> {
  const it = pieces[Symbol.iterator]();
  let head = "";
  for (let r = it.next(); !r.done; r = it.next()) {
    head += r.value;
    if (head.length >= STREAM_THRESHOLD) {
      return bodyOutgoing(acceptEncoding, Readable.from(chain(head, it), { objectMode: false }), opts);
    }
  }
  return bodyOutgoing(acceptEncoding, head, opts);
}

/**
 * The response of a body already encoded (UTF-8 chunks, e.g. from a query worker) as JSON, or as
 * `opts.contentType`, compressed and streamed as fits.
 */
export async function bytesOutgoing(
  acceptEncoding: string | string[] | undefined,
  chunks: readonly Uint8Array[],
  opts: { readonly contentType?: string } = {},
): Promise<Outgoing> {
  let length = 0;
  for (const c of chunks) length += c.byteLength;
  const buffers = chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  if (length >= STREAM_THRESHOLD) {
    return bodyOutgoing(acceptEncoding, Readable.from(buffers, { objectMode: false }), opts);
  }
  return bodyOutgoing(acceptEncoding, buffers.length === 1 ? buffers[0] : Buffer.concat(buffers, length), opts);
}

/** The response of an org endpoint's answer: the success envelope, a text or binary body, or rendered JSON. */
export function answerOutgoing(acceptEncoding: string | string[] | undefined, answer: Answer): Promise<Outgoing> {
  switch (answer.kind) {
    case "data":
      return piecesOutgoing(acceptEncoding, successJson(answer.data, answer));
    case "text":
      return piecesOutgoing(acceptEncoding, [answer.body], { contentType: answer.contentType });
    case "bytes":
      return bytesOutgoing(acceptEncoding, [answer.body], { contentType: answer.contentType });
    case "json":
      return bytesOutgoing(acceptEncoding, answer.body);
  }
}

// A whole body (string or bytes) or a stream, gzip-compressed when the client accepts it and it is worth it.
async function bodyOutgoing(
  acceptEncoding: string | string[] | undefined,
  body: string | Buffer | Readable,
  opts: { readonly status?: number; readonly contentType?: string },
): Promise<Outgoing> {
  const status = opts.status ?? 200;
  const contentType = opts.contentType ?? JSON_TYPE;
  const headers: Record<string, string> = { "content-type": contentType };
  const gz = acceptsGzip(acceptEncoding);
  if (gz) headers.vary = "Accept-Encoding";
  if (!(body instanceof Readable)) {
    if (!gz || body.length < MIN_GZIP_BYTES) {
      if (typeof body === "string") headers["content-type"] = textContentType(contentType);
      return { status, headers, body };
    }
    headers["content-encoding"] = "gzip";
    return {
      status,
      headers,
      body: body.length <= SYNC_GZIP_BYTES ? keptGzip.compress(body) : await gzipAsync(body, { level: GZIP_LEVEL }),
    };
  }
  if (!gz) return { status, headers, body };
  headers["content-encoding"] = "gzip";
  const zipped = createGzip({ level: GZIP_LEVEL, flush: constants.Z_NO_FLUSH });
  body.on("error", (err) => zipped.destroy(err));
  return { status, headers, body: body.pipe(zipped) };
}

/** Sends `out` through Fastify's reply (after any headers the reply already holds). */
export function sendOutgoing(reply: FastifyReply, out: Outgoing): FastifyReply {
  return reply.code(out.status).headers(out.headers).send(out.body);
}

/** Sends `pieces` as the body with `status` and `contentType`, compressed and streamed as fits. */
export async function sendPieces(
  request: FastifyRequest,
  reply: FastifyReply,
  pieces: Iterable<string>,
  opts: { readonly status?: number; readonly contentType?: string } = {},
): Promise<FastifyReply> {
  return sendOutgoing(reply, await piecesOutgoing(request.headers["accept-encoding"], pieces, opts));
}

/** The Prometheus error envelope for `err` with its mapped status. */
export function errorOutgoing(err: ContrailError): Outgoing {
  const { status, errorType } = httpErrorOf(err.code);
  const headers: Record<string, string> = {};
  if (status === 503 && err.code === "unavailable") headers["retry-after"] = "1";
  headers["content-type"] = textContentType(JSON_TYPE);
  return { status, headers, body: errorJson(errorType, err.message) };
}

/** Sends the Prometheus error envelope for `err` with its mapped status. */
export function sendError(reply: FastifyReply, err: ContrailError): FastifyReply {
  return sendOutgoing(reply, errorOutgoing(err));
}

/** How a request Node's HTTP parser refused is answered: status, reason phrase, message. */
function clientErrorAnswer(code: string | undefined): [number, string, string] {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return [
        431,
        "Request Header Fields Too Large",
        `the request line and headers are longer than ${maxHeaderSize} bytes; send long queries as a POST form`,
      ];
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return [408, "Request Timeout", "the request was not received in time"];
    default:
      return [400, "Bad Request", `malformed HTTP request${code === undefined ? "" : ` (${code})`}`];
  }
}

/**
 * Answers a request that Node's HTTP parser refused before any route saw it (malformed, headers too large, too
 * slow) with the API's error envelope, then ends the connection: the server's `clientError` handler.
 */
export function answerClientError(err: Error & { readonly code?: string }, socket: Duplex): void {
  // A reset connection has nobody left to answer.
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const [status, reason, message] = clientErrorAnswer(err.code);
  const body = errorJson("bad_data", message);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}
