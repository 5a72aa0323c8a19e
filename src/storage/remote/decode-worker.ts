// The ingest decode worker: the stateless part of a remote-write request, run off the thread that owns the
// org's storage. It takes a compressed body (transferred, so never copied) and the org's decompressed size limit,
// and answers with the decompressed message (transferred back) or the refusal the main thread would have made
// itself (receive.ts `decompressWrite`: same statuses, same messages). It keeps no state between jobs but its
// decoder, and its output buffers are fresh per job, since each is handed over to the main thread.

import { parentPort } from "node:worker_threads";
import { SnappyDecoder } from "../../tsdb/encoding/snappy.ts";
import { decompressWrite, type EarlyRefusal, isEarlyRefusal } from "./decompress.ts";

/** A job for a decode worker: its id, the compressed body (transferred) and the org's decompressed size limit, bytes. */
export interface DecodeJob {
  readonly id: number;
  readonly body: Uint8Array;
  readonly maxWriteBytes: number;
}

/** A decode worker's answer to job `id`: the decompressed message (transferred; the receiver's to keep) or a refusal. */
export type DecodeAnswer =
  | { readonly id: number; readonly message: Uint8Array }
  | { readonly id: number; readonly refusal: EarlyRefusal };

/** Hooks of a worker built for tests: called with each job before it is decoded. */
export interface DecodeWorkerHooks {
  beforeDecode?(job: DecodeJob): void;
}

/** Decodes one job. The snappy decoder retains no buffer, so every message is an ArrayBuffer of its own. */
export function decodeJob(job: DecodeJob, snappy: SnappyDecoder): { answer: DecodeAnswer; transfer: ArrayBuffer[] } {
  const d = decompressWrite(job.body, job.maxWriteBytes, snappy);
  if (isEarlyRefusal(d)) return { answer: { id: job.id, refusal: d }, transfer: [] };
  return { answer: { id: job.id, message: d }, transfer: [d.buffer as ArrayBuffer] };
}

/** Serves decode jobs from the parent thread until it goes away; `hooks` only in test workers. */
export function serveDecodes(hooks: DecodeWorkerHooks = {}): void {
  const port = parentPort;
  if (port === null) throw new Error("decode-worker: not started as a worker thread");
  const snappy = new SnappyDecoder({ maxRetainedBytes: 0 });
  port.on("message", (job: DecodeJob) => {
    hooks.beforeDecode?.(job);
    const { answer, transfer } = decodeJob(job, snappy);
    port.postMessage(answer, transfer);
  });
}
