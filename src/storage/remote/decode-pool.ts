// The ingest decode pool: remote-write bodies decompressed (and 1.0 ones walked) on worker threads
// (decode-worker.ts), so that the thread owning the orgs' storage spends its time on what needs that storage
// (finding each series, the appends, the WAL, the commit). Bodies go to the worker holding the fewest jobs; workers start on first use, up to the pool's size.
//
// Guarantees:
//   - Bounded: at most `maxPendingJobs` jobs and `maxPendingBytes` compressed bytes are held at once (a worker
//     decodes one job at a time, into at most the org's max_write_bytes, and the main thread takes each answer as
//     it arrives). A job over either bound is refused
//     at once with a 503 and a Retry-After, as a server too busy to take it; nothing queues without bound.
//   - A worker that crashes (an uncaught error, a heap limit) fails only the jobs it held, with a 503 the sender
//     retries, and is replaced by the next job. A worker that holds a job longer than `stuckMs` (counted from when
//     the job was posted, or from when the worker said it was ready if later), or is not ready within
//     `startMs`, is terminated, the same way. The main thread never waits on a worker synchronously: it keeps
//     answering everything else.
//   - Answers are the worker's `decompressWrite` answers: the same refusals as decoding on the main thread. The
//     walk of a 1.0 message (codec-v1-walk.ts) refuses nothing: it only saves the main thread work.

import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { sharedCopy } from "../../runtime/shared-copy.ts";
import { siblingModule, spawnWorker } from "../../runtime/worker-thread.ts";
import type { WalkedV1 } from "./codec-v1-walk.ts";
import {
  DECODE_WORKER_READY,
  type DecodeAnswer,
  type DecodeJob,
  type DecodeJobLimits,
  type DecodeWorkerData,
  MAX_RECYCLED_BYTES,
  MAX_SPARES,
} from "./decode-worker.ts";
import type { EarlyRefusal } from "./decompress.ts";
import type { WriteProto } from "./types.ts";

/**
 * Default most jobs held by the pool (queued in workers or decoding): a sender's shards each wait for their answer,
 * so this is dozens of shards' requests at once.
 */
export const DEFAULT_MAX_PENDING_JOBS = 64;
/** Default most compressed bytes held by the pool, bytes. */
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;
/** Default time a worker may hold a job before it is deemed stuck and terminated, ms. */
export const DEFAULT_STUCK_MS = 10_000;
/** Default time a new worker has to load its modules and say it is ready, ms. */
export const DEFAULT_START_MS = 30_000;
/** Default heap limit of a decode worker (V8 old generation), MiB: its buffers live outside the heap. */
export const DEFAULT_DECODE_WORKER_HEAP_MB = 64;
/**
 * Default young generation limit of a decode worker (V8's new space and its large objects), MiB: what it allocates
 * per request is short-lived and small (its output buffers are recycled), and a cap keeps the new space of a busy
 * worker from growing to V8's 32 MiB and staying there (docs/benchmarks.md, "Memory per series").
 */
export const DEFAULT_DECODE_WORKER_YOUNG_GENERATION_MB = 12;
/** How long a sender refused because the pool is full or a worker failed should wait, ms. */
export const DECODE_RETRY_AFTER_MS = 1000;

/** Options of a {@link DecodePool}. */
export interface DecodePoolOptions {
  /** Worker threads at most; default: the available cores less the one the storage's thread uses, at least 1. */
  readonly workers?: number;
  /** Most jobs held at once; default {@link DEFAULT_MAX_PENDING_JOBS}. */
  readonly maxPendingJobs?: number;
  /** Most compressed bytes held at once, bytes; default {@link DEFAULT_MAX_PENDING_BYTES}. */
  readonly maxPendingBytes?: number;
  /** Time a worker may hold a job before it is terminated, ms; default {@link DEFAULT_STUCK_MS}. */
  readonly stuckMs?: number;
  /** Time a new worker has to be ready, ms; default {@link DEFAULT_START_MS}. */
  readonly startMs?: number;
  /** Heap limit of each worker, MiB; default {@link DEFAULT_DECODE_WORKER_HEAP_MB}. */
  readonly workerHeapMb?: number;
  /** Young generation limit of each worker, MiB; default {@link DEFAULT_DECODE_WORKER_YOUNG_GENERATION_MB}. */
  readonly workerYoungGenerationMb?: number;
  /** The workers' entry module; default `decode-worker-main`. Tests pass one with hooks. */
  readonly workerScript?: URL;
  /** Bounds of each worker's key table (decode-worker.ts); series-cache.ts defaults. */
  readonly keyTable?: DecodeWorkerData["keyTable"];
}

/** The pool could not decode a job: full, closed, or its worker failed. The sender should retry after a pause. */
export interface DecodeUnavailable {
  readonly status: 503;
  readonly code: "unavailable";
  readonly message: string;
  /** How long the sender should wait, ms. */
  readonly retryAfterMs: number;
}

/**
 * A decompressed body: the message and, for a plain 1.0 request, its walk, whose key numbers are those of the
 * worker `source`. The caller's to keep.
 */
export interface Decoded {
  readonly message: Uint8Array;
  readonly walked: WalkedV1 | null;
  /** The worker that walked it: a number never given to another worker of any pool in this process. */
  readonly source: number;
}

// The next worker's source number, process-wide: key numbers of two workers must never be taken for each other,
// even when two pools feed one receiver.
let nextSource = 1;

/** What the pool answers for a body: the decompressed message, or why not. */
export type PoolDecode = Decoded | EarlyRefusal | DecodeUnavailable;

/** The pool's counters, for tests and self-metrics (decode-pool-metrics.ts). */
export interface DecodePoolFigures {
  /** Worker threads running or starting. */
  readonly workers: number;
  /** Most worker threads the pool runs (its size). */
  readonly maxWorkers: number;
  /** Jobs held and their compressed bytes. */
  readonly pendingJobs: number;
  readonly pendingBytes: number;
  /** Jobs refused because the pool was full. */
  readonly rejected: number;
  /** Workers that crashed, and workers terminated for holding a job too long. */
  readonly crashed: number;
  readonly stuck: number;
  /** Bodies a worker answered for (decompressed, or refused as decoding in place would have). */
  readonly decoded: number;
  /** Bodies the caller decompressed on its own thread instead, too small to hand over (`countInPlace`). */
  readonly inPlace: number;
}

interface Pending {
  readonly bytes: number;
  /** The stuck timer, started once the worker is ready (its start-up is not the job's time). */
  timer: NodeJS.Timeout | null;
  readonly resolve: (d: PoolDecode) => void;
}

interface Slot {
  readonly worker: Worker;
  /** The worker's source number (see `Decoded.source`). */
  readonly source: number;
  readonly jobs: Map<number, Pending>;
  /** The worker said it is ready (its modules loaded): jobs' stuck timers run from then. */
  online: boolean;
  /** Set once the slot is being replaced: its exit fails its jobs and nothing more. */
  gone: boolean;
}

function unavailable(message: string): DecodeUnavailable {
  return { status: 503, code: "unavailable", message, retryAfterMs: DECODE_RETRY_AFTER_MS };
}

/** A pool of ingest decode workers. One per server; `close()` it with the server. */
export class DecodePool {
  /** Worker threads at most. */
  readonly size: number;
  private readonly maxJobs: number;
  private readonly maxBytes: number;
  private readonly stuckMs: number;
  private readonly startMs: number;
  private readonly heapMb: number;
  private readonly youngMb: number;
  private readonly script: URL;
  private readonly workerData: DecodeWorkerData;
  private readonly slots: Slot[] = [];
  /** Output buffers given back by `recycle`, sent along with the next jobs. */
  private readonly spares: SharedArrayBuffer[] = [];
  private nextId = 1;
  /** Workers that ended (crashed, stuck, or closed with the pool): their source numbers are never seen again. */
  private ended = 0;
  private jobs = 0;
  private bytes = 0;
  private closed = false;
  private counts = { rejected: 0, crashed: 0, stuck: 0, decoded: 0, inPlace: 0 };

  /** A pool; its workers start with the first jobs. */
  constructor(opts: DecodePoolOptions = {}) {
    this.size = Math.max(1, Math.floor(opts.workers ?? availableParallelism() - 1));
    this.maxJobs = opts.maxPendingJobs ?? DEFAULT_MAX_PENDING_JOBS;
    this.maxBytes = opts.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    this.stuckMs = opts.stuckMs ?? DEFAULT_STUCK_MS;
    this.startMs = opts.startMs ?? DEFAULT_START_MS;
    this.heapMb = opts.workerHeapMb ?? DEFAULT_DECODE_WORKER_HEAP_MB;
    this.youngMb = opts.workerYoungGenerationMb ?? DEFAULT_DECODE_WORKER_YOUNG_GENERATION_MB;
    this.script = opts.workerScript ?? siblingModule(import.meta.url, "decode-worker-main");
    this.workerData = { keyTable: opts.keyTable };
  }

  /**
   * Decompresses the snappy `body` (a `proto` message) under `limits` on a worker, and walks it when it is 1.0.
   * `body` is copied into a shared buffer (the caller keeps it); nothing is transferred. Never rejects.
   */
  decode(body: Uint8Array, proto: WriteProto, limits: DecodeJobLimits): Promise<PoolDecode> {
    if (this.closed) return Promise.resolve(unavailable("the ingest decode pool is shut down"));
    if (this.jobs + 1 > this.maxJobs || this.bytes + body.byteLength > this.maxBytes) {
      this.counts.rejected++;
      return Promise.resolve(
        unavailable(
          `the server is decoding ${this.jobs} write requests (${this.bytes} compressed bytes), as many as it ` +
            `holds at once (${this.maxJobs} requests, ${this.maxBytes} bytes); retry shortly`,
        ),
      );
    }
    const slot = this.pick();
    const id = this.nextId++;
    const own = sharedCopy(body);
    const bytes = own.byteLength;
    this.jobs++;
    this.bytes += bytes;
    return new Promise<PoolDecode>((resolve) => {
      const timer = slot.online ? this.stuckTimer(slot) : null;
      slot.jobs.set(id, { bytes, timer, resolve });
      // Only the limits the worker reads: the org's whole set would be cloned with every job.
      const { maxWriteBytes, maxSeriesPerWrite, maxSamplesPerWrite, maxLabelNamesPerSeries } = limits;
      const spare = this.spares.pop() ?? null;
      const job: DecodeJob = {
        id,
        body: own,
        proto,
        limits: { maxWriteBytes, maxSeriesPerWrite, maxSamplesPerWrite, maxLabelNamesPerSeries },
        spare,
      };
      slot.worker.postMessage(job);
    });
  }

  /**
   * Gives the buffer of `d.message` back for a later job's output, once nothing reads it any more (the caller
   * must hold no view of it: a later job's worker writes into it). Kept only up to a few, of a bounded size.
   */
  recycle(d: Decoded): void {
    const b = d.message.buffer;
    if (!(b instanceof SharedArrayBuffer)) return;
    if (this.closed || this.spares.length >= MAX_SPARES || b.byteLength > MAX_RECYCLED_BYTES) return;
    this.spares.push(b);
  }

  /** How many of the pool's workers have ended: when it changes, only `sources()` can appear in later answers. */
  get endedWorkers(): number {
    return this.ended;
  }

  /** The source numbers of the workers running or starting (see `Decoded.source`). */
  sources(): number[] {
    return this.slots.map((s) => s.source);
  }

  /** Counts a body its caller decompressed on its own thread instead of handing it to the pool. */
  countInPlace(): void {
    this.counts.inPlace++;
  }

  /** Counters, for tests and self-metrics. */
  figures(): DecodePoolFigures {
    return {
      workers: this.slots.length,
      maxWorkers: this.size,
      pendingJobs: this.jobs,
      pendingBytes: this.bytes,
      ...this.counts,
    };
  }

  /** Stops every worker; the jobs they held are answered as unavailable, later ones at once. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    for (const s of slots) this.fail(s, "the ingest decode pool is shut down");
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  // The slot to take a job: an idle worker, a new one while under the size, else the one holding fewest jobs.
  private pick(): Slot {
    let best: Slot | null = null;
    for (const s of this.slots) if (best === null || s.jobs.size < best.jobs.size) best = s;
    if (best !== null && (best.jobs.size === 0 || this.slots.length >= this.size)) return best;
    return this.start();
  }

  private start(): Slot {
    const worker = spawnWorker(this.script, {
      resourceLimits: { maxOldGenerationSizeMb: this.heapMb, maxYoungGenerationSizeMb: this.youngMb },
      workerData: this.workerData,
    });
    // An idle pool does not keep the process alive; a held job keeps its request (and so the server) waiting.
    worker.unref();
    const slot: Slot = { worker, source: nextSource++, jobs: new Map(), online: false, gone: false };
    const starting = setTimeout(() => {
      if (!slot.online) this.stuck(slot, `the ingest decode worker did not start within ${this.startMs} ms; retry`);
    }, this.startMs);
    starting.unref();
    worker.on("message", (a: DecodeAnswer | typeof DECODE_WORKER_READY) => {
      if (a !== DECODE_WORKER_READY) this.answer(slot, a);
      else {
        clearTimeout(starting);
        slot.online = true;
        for (const p of slot.jobs.values()) p.timer ??= this.stuckTimer(slot);
      }
    });
    worker.on("error", () => {
      // The exit that follows fails the slot's jobs.
    });
    worker.on("exit", () => {
      if (slot.gone) return;
      this.counts.crashed++;
      this.drop(slot, "the ingest decode worker handling this request failed; retry");
    });
    this.slots.push(slot);
    return slot;
  }

  private answer(slot: Slot, a: DecodeAnswer): void {
    const p = slot.jobs.get(a.id);
    if (p === undefined) return;
    slot.jobs.delete(a.id);
    this.counts.decoded++;
    this.settle(p);
    p.resolve("refusal" in a ? a.refusal : { message: a.message, walked: a.walked, source: slot.source });
  }

  private stuckTimer(slot: Slot): NodeJS.Timeout {
    return setTimeout(() => this.stuck(slot), this.stuckMs);
  }

  private settle(p: Pending): void {
    if (p.timer !== null) clearTimeout(p.timer);
    this.jobs--;
    this.bytes -= p.bytes;
  }

  // A worker holding a job past `stuckMs` (or not ready in time): terminated, its jobs failed with `message`; the
  // next job starts a new one.
  private stuck(
    slot: Slot,
    message = `the ingest decode worker did not finish this request within ${this.stuckMs} ms; retry`,
  ): void {
    if (slot.gone) return;
    this.counts.stuck++;
    this.drop(slot, message);
    void slot.worker.terminate();
  }

  // Removes `slot` from the pool and fails its jobs with `message`.
  private drop(slot: Slot, message: string): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    this.fail(slot, message);
  }

  private fail(slot: Slot, message: string): void {
    if (!slot.gone) this.ended++;
    slot.gone = true;
    for (const p of slot.jobs.values()) {
      this.settle(p);
      p.resolve(unavailable(message));
    }
    slot.jobs.clear();
  }
}
