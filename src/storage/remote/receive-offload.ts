// A remote-write request received with its decompression on an ingest decode worker (decode-pool.ts): the header
// and size checks first (no body needed), then the body goes to the pool, and the decompressed message (walked,
// when it is a plain 1.0 request) comes back to the thread owning the storage, which decodes it into one appender
// batch and commits it before answering, as `receiveWrite` does. Small bodies are decompressed in place: handing them over would cost more than it saves.
// The answers are `receiveWrite`'s, plus a 503 with a Retry-After when the pool is full or its worker failed.

import type { Appender } from "../interface.ts";
import type { DecodePool } from "./decode-pool.ts";
import {
  checkWrite,
  DEFAULT_RECEIVE_LIMITS,
  earlyOutcome,
  type ReceiveLimits,
  type ReceiveOptions,
  receiveMessage,
  receiveWrite,
  type WriteHeaders,
  type WriteOutcome,
} from "./receive.ts";

/**
 * Compressed bodies smaller than this are decompressed on the storage's thread, bytes. The hand-over to a worker
 * and back costs about 15-20 µs of CPU in all; measured per request of the `ingest` bench's shape, a 4 KiB body
 * takes ~60 µs of the main thread in place against ~20 µs handed over (~75 µs in all), a 2 KiB one 28 against 15
 * (~45 in all), a 0.6 KiB one 9 against 11: below 4 KiB the main thread gains too little for the CPU it costs.
 * Bodies of 4 KiB and more are also always an ArrayBuffer of their own (Node pools smaller ones), so they are
 * transferred without a copy.
 */
export const DEFAULT_INLINE_BELOW_BYTES = 4 * 1024;

/** Options of {@link receiveWriteOffloaded}: those of `receiveWrite`, the pool, and the inline threshold. */
export interface OffloadOptions extends ReceiveOptions {
  /** The decode pool; every body is decompressed in place when null. */
  readonly pool: DecodePool | null;
  /** Bodies under this many compressed bytes are decompressed in place; default {@link DEFAULT_INLINE_BELOW_BYTES}. */
  readonly inlineBelowBytes?: number;
}

/**
 * Handles one remote-write request as `receiveWrite` does, decompressing a large body on a worker of `opts.pool`
 * meanwhile the thread serves others. `body` may be transferred to the worker: the caller must not read it after.
 * The commit happens before the promise resolves; it never rejects.
 */
export async function receiveWriteOffloaded(
  body: Uint8Array,
  headers: WriteHeaders,
  appender: () => Appender,
  opts: OffloadOptions,
): Promise<WriteOutcome> {
  const pool = opts.pool;
  if (pool === null || body.length < (opts.inlineBelowBytes ?? DEFAULT_INLINE_BELOW_BYTES)) {
    pool?.countInPlace();
    return receiveWrite(body, headers, appender, opts);
  }
  const limits: ReceiveLimits = { ...DEFAULT_RECEIVE_LIMITS, ...opts.limits };
  const proto = checkWrite(body.length, headers, limits);
  if (typeof proto !== "string") return earlyOutcome(proto, proto.proto);
  const d = await pool.decode(body, proto, limits);
  if (!("walked" in d)) return earlyOutcome(d, proto);
  // Rows of key numbers of workers that ended are dropped (a worker that failed is replaced under a new number).
  opts.state?.v1.retainWorkers(pool);
  const outcome = receiveMessage(d.message, proto, appender, opts, d.walked, d.source);
  // A walked 1.0 message is read only during receiveMessage (labels, metadata and cache keys are copies), so its
  // buffer can serve a later request. Other messages go to decoders that are not held to that.
  if (d.walked !== null) pool.recycle(d);
  return outcome;
}
