// Sending answers: JSON (or text) produced in pieces is sent as one body when small and streamed when large, and
// gzip-compressed when the client accepts it (Grafana's and promtool's Go clients always do). Errors become
// Prometheus's error envelope with the status of error-status.ts.

import { maxHeaderSize } from "node:http";
import type { Duplex } from "node:stream";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { constants, createGzip, gzip, gzipSync } from "node:zlib";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ContrailError } from "../model/errors.ts";
import { httpErrorOf } from "./error-status.ts";
import { errorJson } from "./json.ts";

const gzipAsync = promisify(gzip);

/** Bodies shorter than this go uncompressed: gzip would save little and cost a round through the thread pool. */
const MIN_GZIP_BYTES = 1024;
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

/** The JSON content type of every API answer. */
export const JSON_TYPE = "application/json";

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

/** Sends `pieces` as the body with `status` and `contentType`, compressed and streamed as fits. */
export async function sendPieces(
  request: FastifyRequest,
  reply: FastifyReply,
  pieces: Iterable<string>,
  opts: { readonly status?: number; readonly contentType?: string } = {},
): Promise<FastifyReply> {
  const it = pieces[Symbol.iterator]();
  let head = "";
  for (let r = it.next(); !r.done; r = it.next()) {
    head += r.value;
    if (head.length >= STREAM_THRESHOLD) {
      return sendBody(request, reply, Readable.from(chain(head, it), { objectMode: false }), opts);
    }
  }
  return sendBody(request, reply, head, opts);
}

/**
 * Sends a body already encoded (UTF-8 chunks, e.g. from a query worker) as JSON, or as `opts.contentType`,
 * compressed and streamed as fits.
 */
export async function sendBytes(
  request: FastifyRequest,
  reply: FastifyReply,
  chunks: readonly Uint8Array[],
  opts: { readonly contentType?: string } = {},
): Promise<FastifyReply> {
  let length = 0;
  for (const c of chunks) length += c.byteLength;
  const buffers = chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  if (length >= STREAM_THRESHOLD) return sendBody(request, reply, Readable.from(buffers, { objectMode: false }), opts);
  return sendBody(request, reply, buffers.length === 1 ? buffers[0] : Buffer.concat(buffers, length), opts);
}

// Sends a whole body (string or bytes) or a stream, gzip-compressed when the client accepts it and it is worth it.
async function sendBody(
  request: FastifyRequest,
  reply: FastifyReply,
  body: string | Buffer | Readable,
  opts: { readonly status?: number; readonly contentType?: string },
): Promise<FastifyReply> {
  reply.code(opts.status ?? 200).header("content-type", opts.contentType ?? JSON_TYPE);
  const gz = acceptsGzip(request.headers["accept-encoding"]);
  if (gz) reply.header("vary", "Accept-Encoding");
  if (!(body instanceof Readable)) {
    if (!gz || body.length < MIN_GZIP_BYTES) return reply.send(body);
    reply.header("content-encoding", "gzip");
    const level = { level: GZIP_LEVEL };
    return reply.send(body.length <= SYNC_GZIP_BYTES ? gzipSync(body, level) : await gzipAsync(body, level));
  }
  if (!gz) return reply.send(body);
  reply.header("content-encoding", "gzip");
  const zipped = createGzip({ level: GZIP_LEVEL, flush: constants.Z_NO_FLUSH });
  body.on("error", (err) => zipped.destroy(err));
  return reply.send(body.pipe(zipped));
}

/** Sends the Prometheus error envelope for `err` with its mapped status. */
export function sendError(reply: FastifyReply, err: ContrailError): FastifyReply {
  const { status, errorType } = httpErrorOf(err.code);
  if (status === 503 && err.code === "unavailable") reply.header("retry-after", "1");
  return reply.code(status).header("content-type", JSON_TYPE).send(errorJson(errorType, err.message));
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
