// The ingest decode worker: the stateless part of a remote-write request, run off the thread that owns the
// org's storage. It takes a compressed body (in a shared buffer), its message version and the org's limits, and
// answers with the decompressed message (decoded into a shared buffer, so it goes back without a copy) or the
// refusal the main thread would have made itself (decompress.ts: same statuses, same messages). Nothing is
// transferred either way: a thread that detaches a buffer slows its typed-array code for good (docs/architecture.md,
// "Query threads never detach a buffer"). A plain 1.0 message also comes back walked (codec-v1-walk.ts): its
// series' label places, its samples and each series' number in the worker's key table of label bytes, so the main
// thread does not walk it again nor compare label bytes. It keeps no state between jobs but
// that table, its decoder and a few spare buffers: each output buffer is handed over, and the main thread gives
// plain 1.0 ones back with later jobs, so decoding does not allocate (and fault in) a fresh one for every request.

import { parentPort, workerData } from "node:worker_threads";
import { exposedGc } from "../../runtime/young-release.ts";
import { SnappyDecoder } from "../../tsdb/encoding/snappy.ts";
import { type WalkedV1, type WalkLimits, walkWriteRequestV1 } from "./codec-v1-walk.ts";
import { decompressWrite, type EarlyRefusal, isEarlyRefusal } from "./decompress.ts";
import { SeriesCache } from "./series-cache.ts";
import type { WriteProto } from "./types.ts";

/**
 * What a decode worker is started with (its `workerData`): the bounds of its key table (series-cache.ts defaults
 * when absent; `maxEntries` 0 numbers nothing).
 */
export interface DecodeWorkerData {
  readonly keyTable?: { readonly maxEntries?: number; readonly maxKeyBytes?: number };
}

/** The org's limits a decode job needs: the decompressed size (bytes) and the 1.0 walk's counts. */
export type DecodeJobLimits = WalkLimits & { readonly maxWriteBytes: number };

/** Outputs up to this many bytes are decoded into recycled buffers; larger ones into fresh arrays, never kept. */
export const MAX_RECYCLED_BYTES = 4 * 1024 * 1024;
/** Spare output buffers a worker keeps, and the pool keeps for the next jobs. */
export const MAX_SPARES = 2;
/**
 * Bytes of shared buffers (bodies received, outputs handed over) after which the worker collects its heap. A shared
 * buffer's memory is freed once every thread's handle on it is collected, and this thread allocates too little to
 * collect often on its own: without it, the memory bench's 100,000-series ingest settled 6-11 MB higher.
 */
export const SHARED_BYTES_PER_COLLECTION = 32 * 1024 * 1024;

/**
 * A job for a decode worker: its id, the compressed body (a view of a shared buffer), its message version, the org's
 * limits, and possibly a spare output buffer given back (shared; the main thread holds no view of it any more).
 */
export interface DecodeJob {
  readonly id: number;
  readonly body: Uint8Array;
  readonly proto: WriteProto;
  readonly limits: DecodeJobLimits;
  readonly spare: SharedArrayBuffer | null;
}

/**
 * A decode worker's answer to job `id`: the decompressed message (a view of a shared buffer the worker no longer
 * writes; the receiver's to keep) with its walk (null: not a plain 1.0 request), or a refusal.
 */
export type DecodeAnswer =
  | { readonly id: number; readonly message: Uint8Array; readonly walked: WalkedV1 | null }
  | { readonly id: number; readonly refusal: EarlyRefusal };

/** What a worker posts once its modules are loaded, before any answer: the pool times jobs from then. */
export const DECODE_WORKER_READY = 0;

/** Hooks of a worker built for tests: called with each job before it is decoded. */
export interface DecodeWorkerHooks {
  beforeDecode?(job: DecodeJob): void;
}

/**
 * Decodes one job with `snappy` (whose outputs are shared buffers): the output goes with the answer and the decoder
 * forgets it, taking a spare from `spares` for the next output, or allocating one. A walked 1.0 message's series are
 * numbered in `keys`.
 */
export function decodeJob(
  job: DecodeJob,
  snappy: SnappyDecoder,
  spares: SharedArrayBuffer[],
  keys: SeriesCache | null = null,
): DecodeAnswer {
  if (job.spare !== null && spares.length < MAX_SPARES) spares.push(job.spare);
  const spare = spares.pop();
  if (spare !== undefined && !snappy.reuse(new Uint8Array(spare))) spares.push(spare);
  const d = decompressWrite(job.body, job.limits.maxWriteBytes, snappy);
  if (isEarlyRefusal(d)) return { id: job.id, refusal: d };
  snappy.handOver(d);
  const walked = job.proto === "v1" ? walkWriteRequestV1(d, job.limits, keys) : null;
  return { id: job.id, message: d, walked };
}

/** Serves decode jobs from the parent thread until it goes away; `hooks` only in test workers. */
export function serveDecodes(hooks: DecodeWorkerHooks = {}): void {
  const port = parentPort;
  if (port === null) throw new Error("decode-worker: not started as a worker thread");
  const snappy = new SnappyDecoder({ maxRetainedBytes: MAX_RECYCLED_BYTES, shared: true });
  const spares: SharedArrayBuffer[] = [];
  // The table only numbers keys: the thread owning the storage keeps the refs (key-index.ts).
  const keys = new SeriesCache({ ...(workerData as DecodeWorkerData | null)?.keyTable, keysOnly: true });
  const collect = exposedGc();
  let shared = 0;
  port.on("message", (job: DecodeJob) => {
    hooks.beforeDecode?.(job);
    // The walk's arrays are copied by the post (a few bytes a sample); the message is shared.
    const answer = decodeJob(job, snappy, spares, keys);
    port.postMessage(answer);
    shared += job.body.byteLength + ("message" in answer ? answer.message.byteLength : 0);
    if (shared >= SHARED_BYTES_PER_COLLECTION && collect !== null) {
      shared = 0;
      collect();
    }
  });
  port.postMessage(DECODE_WORKER_READY);
}
