// `POST /prometheus/<org>/api/v1/read`: Prometheus's remote read protocol over the org's store. The server's
// authorization hook has checked the token for `read` on the org before the body is read; the body (a snappy
// ReadRequest) is taken raw up to what snappy can make of the largest request, its declared length checked before
// it is decompressed. The response type is negotiated from `accepted_response_types` as Prometheus does: SAMPLES
// (a snappy ReadResponse, `application/x-protobuf`) or STREAMED_XOR_CHUNKS (ChunkedReadResponse frames,
// `application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse`). A read counts against the org's
// concurrent query limit. Every refusal is a 4xx in the API's JSON envelope (a timeout 503, as for queries); a
// stream that breaks a bound after its first half megabyte was sent can no longer change its status, and is cut off
// instead (the client sees a broken stream, never a short answer that looks whole).

import { once } from "node:events";
import { PassThrough } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ContrailError } from "../../model/errors.ts";
import type { TenantStore } from "../../storage/interface.ts";
import { SnappyDecoder, snappyDecodedLength, snappyMaxEncodedLength } from "../../tsdb/encoding/snappy.ts";
import { readBody } from "../body.ts";
import { METHOD_NOT_ALLOWED } from "../error-status.ts";
import { errorJson } from "../json.ts";
import type { ConcurrencyGate, OrgLimits } from "../limits.ts";
import { JSON_TYPE } from "../respond.ts";
import { decodeReadRequest, negotiateResponseType, type ReadRequest, ResponseType } from "./codec.ts";
import { type FrameSink, REMOTE_READ_BOUNDS, readSamples, readStreamed } from "./read.ts";

/** The route, relative to the server root. */
export const REMOTE_READ_ROUTE = "/prometheus/:org/api/v1/read";
/** Content-Type of a SAMPLES answer (its body is snappy-compressed). */
export const SAMPLES_CONTENT_TYPE = "application/x-protobuf";
/** Content-Type of a STREAMED_XOR_CHUNKS answer. */
export const STREAMED_CONTENT_TYPE = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";
/**
 * Frame bytes held back before a stream starts (half a full frame: a stream starts with its first full frame), so
 * a read that breaks a bound before that is still answered with its 4xx.
 */
export const STREAM_COMMIT_BYTES = 512 * 1024;

const ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"];

/** What the route needs from the server. */
export interface RemoteReadDeps {
  readonly store: TenantStore;
  /** The server's per-org gate of lookups in flight (max_concurrent_queries). */
  readonly gate: ConcurrencyGate;
  readonly limitsOf: (org: string) => OrgLimits;
  /** The org the server's authorization hook granted the request, if any. */
  readonly grantedOrg: (request: FastifyRequest) => string | undefined;
  /** Answers a request whose grant does not name the URL's org (403). */
  readonly forbid: (reply: FastifyReply) => Promise<unknown>;
  /** True with remote storage, whose reads the route does not serve. */
  readonly remoteStorage: boolean;
}

/** Largest compressed body read, bytes. */
const MAX_BODY_BYTES = snappyMaxEncodedLength(REMOTE_READ_BOUNDS.maxRequestBytes);

/** Decompresses and decodes a request body. Throws ContrailError bad_data, too_large, invalid_regex. */
export function parseReadRequest(body: Uint8Array): ReadRequest {
  let length: number;
  try {
    length = snappyDecodedLength(body);
  } catch (err) {
    throw new ContrailError("bad_data", `the body is not snappy-compressed: ${(err as Error).message}`);
  }
  const max = REMOTE_READ_BOUNDS.maxRequestBytes;
  if (length > max) {
    throw new ContrailError("too_large", `the request decompresses to ${length} bytes, over the limit of ${max}`);
  }
  let raw: Uint8Array;
  try {
    raw = new SnappyDecoder().decode(body);
  } catch (err) {
    throw new ContrailError("bad_data", `the body is not valid snappy: ${(err as Error).message}`);
  }
  return decodeReadRequest(raw, REMOTE_READ_BOUNDS);
}

/** Frame bytes gathered into one write to the response once the stream has started. */
export const STREAM_WRITE_BYTES = 64 * 1024;

/**
 * Frames of a streamed answer: held until {@link STREAM_COMMIT_BYTES}, then the answer starts and frames are written
 * in batches of about {@link STREAM_WRITE_BYTES} (small frames one by one would cost a write each); `flush` writes
 * a partial batch, `drain` waits for the client to take what was written when it lags.
 */
class FrameStream implements FrameSink {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private out: PassThrough | null = null;
  private readonly reply: FastifyReply;
  private readonly signal: AbortSignal;

  constructor(reply: FastifyReply, signal: AbortSignal) {
    this.reply = reply;
    this.signal = signal;
  }

  push(frame: Uint8Array): void {
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (this.out !== null) {
      if (this.pendingBytes >= STREAM_WRITE_BYTES) this.flush();
      return;
    }
    if (this.pendingBytes < STREAM_COMMIT_BYTES) return;
    // The stream holds up to a frame bound before it asks the reader to wait for the client.
    this.out = new PassThrough({ highWaterMark: REMOTE_READ_BOUNDS.maxBytesInFrame });
    this.reply.code(200).header("content-type", STREAMED_CONTENT_TYPE).send(this.out);
    this.flush();
  }

  flush(): void {
    if (this.out === null || this.pending.length === 0) return;
    this.out.write(this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes));
    this.pending = [];
    this.pendingBytes = 0;
  }

  async drain(remainingMs: number): Promise<void> {
    if (this.out === null || !this.out.writableNeedDrain) return;
    try {
      await once(this.out, "drain", { signal: AbortSignal.any([this.signal, AbortSignal.timeout(remainingMs)]) });
    } catch {
      if (this.signal.aborted) throw new ContrailError("query_canceled", "the client closed the connection");
      throw new ContrailError("query_timeout", "remote read timed out while the client was not reading");
    }
  }

  /** Sends what is left and ends the answer. */
  async end(remainingMs: number): Promise<FastifyReply> {
    if (this.out === null) {
      const body = Buffer.concat(this.pending);
      return this.reply.code(200).header("content-type", STREAMED_CONTENT_TYPE).send(body);
    }
    this.flush();
    await this.drain(remainingMs);
    this.out.end();
    return this.reply;
  }

  /** Cuts a started stream off with `err` (true); false when nothing was sent yet, so the error can be answered. */
  fail(err: unknown): boolean {
    if (this.out === null) return false;
    this.out.destroy(err instanceof Error ? err : new Error(String(err)));
    return true;
  }
}

/** Adds the remote read route to `app`, in a context of its own (its raw body parser touches no other route). */
export function registerRemoteRead(app: FastifyInstance, deps: RemoteReadDeps): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", async (request: FastifyRequest, payload: NodeJS.ReadableStream) =>
      readBody(payload, request.headers["content-length"], {
        limit: MAX_BODY_BYTES,
        what: `what snappy can make of the largest request (${REMOTE_READ_BOUNDS.maxRequestBytes} bytes)`,
      }),
    );
    scope.route({
      method: ALL_METHODS,
      url: REMOTE_READ_ROUTE,
      handler: async (request, reply) => {
        if (request.method !== "POST") {
          const { status, errorType } = METHOD_NOT_ALLOWED;
          return reply
            .code(status)
            .header("allow", "POST")
            .header("content-type", JSON_TYPE)
            .send(errorJson(errorType, `method ${request.method} not allowed; use POST`));
        }
        const { org } = request.params as { org: string };
        if (deps.grantedOrg(request) !== org) {
          await deps.forbid(reply);
          return reply;
        }
        if (deps.remoteStorage) {
          throw new ContrailError("not_found", "remote read is served only over the embedded store (--storage)");
        }
        const limits = deps.limitsOf(org);
        const leave = deps.gate.enter(org, limits.maxConcurrentQueries);
        const controller = new AbortController();
        reply.raw.once("close", () => {
          if (!reply.raw.writableFinished) controller.abort();
        });
        try {
          const req = parseReadRequest(Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
          const ctx = { org, store: deps.store, limits, signal: controller.signal };
          if (negotiateResponseType(req.accepted) === ResponseType.samples) {
            const body = await readSamples(ctx, req.queries);
            return reply
              .code(200)
              .header("content-type", SAMPLES_CONTENT_TYPE)
              .header("content-encoding", "snappy")
              .send(body);
          }
          const sink = new FrameStream(reply, controller.signal);
          const started = performance.now();
          try {
            await readStreamed(ctx, req.queries, sink);
            return await sink.end(Math.max(1, limits.queryTimeoutMs - (performance.now() - started)));
          } catch (err) {
            if (sink.fail(err)) return reply;
            throw err;
          }
        } finally {
          leave();
        }
      },
    });
  });
}
