// Running a remote read over one org's store, on the main thread in slices: the samples of every query are read
// series by series, and once a slice has taken its few milliseconds the read pauses for the event loop, then
// resumes with a fresh iterator sought past the last sample read (an iterator is not kept across a pause, as the
// query pool's selection pages do not keep one: the head may have moved on meanwhile). Every read is bounded: series
// and samples of the whole response by the org's limits (max_series, max_samples), its time by the org's query
// timeout, and the response's size (SAMPLES) or each frame's (STREAMED_XOR_CHUNKS) by the bounds below.
//
// As Prometheus does, each query reads [start_timestamp_ms, end_timestamp_ms] narrowed by its hints' start and end
// when it sends hints (both 0 means none), the hints' `series` function gives series without samples (SAMPLES
// only, as Prometheus's chunk querier has no such case), and step, grouping, by and range are ignored.

import { setImmediate as nextTurn } from "node:timers/promises";
import { ContrailError } from "../../model/errors.ts";
import type { Histogram } from "../../model/histogram.ts";
import type { Labels } from "../../model/labels.ts";
import { SampleBuffer } from "../../model/sample.ts";
import type { Series, TenantStore } from "../../storage/interface.ts";
import { checkSeriesCount, type OrgLimits } from "../limits.ts";
import { SeriesChunker } from "./chunker.ts";
import { ChunkedFrameWriter, labelMessageBytes, type ReadQuery, ReadResponseWriter } from "./codec.ts";
import { snappyInSlices } from "./compress.ts";
import { streamSeriesChunks } from "./stored-chunks.ts";

/** The bounds of remote read that are not per-org limits. */
export const REMOTE_READ_BOUNDS = {
  /** Largest request once decompressed, bytes (the compressed body may be at most what snappy makes of it). */
  maxRequestBytes: 1024 * 1024,
  /** Most queries in one request (Prometheus sends one). */
  maxQueries: 16,
  /** Most matchers in one query. */
  maxMatchers: 64,
  /** Largest SAMPLES response before compression, bytes: about four million samples. */
  maxResponseBytes: 64 * 1024 * 1024,
  /** Chunk bytes past which a STREAMED_XOR_CHUNKS frame is sent (Prometheus's default read-max-bytes-in-frame). */
  maxBytesInFrame: 1024 * 1024,
} as const;

/** Main-thread time one slice of a read may take before it pauses for the event loop, ms. */
export const SLICE_MS = 4;
/** Samples read between two looks at the clock. */
const SAMPLES_PER_CLOCK_CHECK = 256;
/** Samples a batch read of a float series aims at: a long series is read in time windows of about this many. */
const WINDOW_SAMPLES = 8192;
/** The first window of a batch read, ms; windows then follow the series' density, growing at most this much. */
const FIRST_WINDOW_MS = 10 * 60_000;
const MAX_WINDOW_GROWTH = 16;

/** The org, store and limits a read runs with, and the signal of the client going away. */
export interface ReadContext {
  readonly org: string;
  readonly store: TenantStore;
  readonly limits: OrgLimits;
  readonly signal: AbortSignal;
}

/** Counts a read's series and samples against the org's limits and its time against the timeout. */
export class ReadBudget {
  private series = 0;
  private samples = 0;
  private sliceStart = performance.now();
  private readonly deadline: number;
  private readonly limits: OrgLimits;
  private readonly signal: AbortSignal;

  /** A budget starting now, for `ctx`'s limits. */
  constructor(ctx: ReadContext) {
    this.limits = ctx.limits;
    this.signal = ctx.signal;
    this.deadline = performance.now() + ctx.limits.queryTimeoutMs;
  }

  /** Time left before the timeout, ms (at least 1). */
  get remainingMs(): number {
    return Math.max(1, Math.ceil(this.deadline - performance.now()));
  }

  /** Counts one more series; throws limit_exceeded past max_series. */
  addSeries(): void {
    checkSeriesCount(++this.series, this.limits);
  }

  /** Counts one more sample; throws too_many_samples past max_samples. */
  addSample(): void {
    if (++this.samples > this.limits.maxSamples) this.tooManySamples();
  }

  /** Counts `n` more samples (a stored chunk's); throws too_many_samples past max_samples. */
  addSamples(n: number): void {
    this.samples += n;
    if (this.samples > this.limits.maxSamples) this.tooManySamples();
  }

  /** True once the current slice has taken its time. */
  sliceOver(): boolean {
    return performance.now() - this.sliceStart >= SLICE_MS;
  }

  /** Lets the event loop run, then checks that the client is still there and the timeout has not passed. */
  async pause(): Promise<void> {
    await nextTurn();
    this.check();
    this.sliceStart = performance.now();
  }

  private tooManySamples(): never {
    throw new ContrailError(
      "too_many_samples",
      `the read returns more than ${this.limits.maxSamples} samples, the limit of this org (max_samples); ` +
        "narrow the matchers or the time range",
    );
  }

  /** Throws query_canceled when the client went away, query_timeout past the deadline. */
  check(): void {
    if (this.signal.aborted) throw new ContrailError("query_canceled", "the client closed the connection");
    if (performance.now() > this.deadline) {
      throw new ContrailError(
        "query_timeout",
        `remote read timed out after ${this.limits.queryTimeoutMs} ms, the limit of this org (query_timeout)`,
      );
    }
  }
}

/** What a read does with each series and sample, in order. */
interface SeriesVisitor {
  begin(labels: Labels): void;
  float(t: number, v: number): void;
  histogram(t: number, h: Histogram): void;
  /** Ends the series; may wait (a streamed frame being written). */
  end(): void | Promise<void>;
  /** Called after each pause within a series: a chance to send what the slice produced. */
  paused?(): Promise<void>;
}

/** The range a query reads, ms inclusive: its own, narrowed by its hints' range when it sent one. */
export function queryRange(q: ReadQuery): { readonly mint: number; readonly maxt: number } {
  const h = q.hints;
  if (h === null || (h.start === 0 && h.end === 0)) return { mint: q.start, maxt: q.end };
  return { mint: Math.max(q.start, h.start), maxt: Math.min(q.end, h.end) };
}

/**
 * Reads the samples of `s` in [from, to] ms into `visit`, pausing between slices (then resuming with a fresh
 * iterator sought past the last sample read).
 */
export async function readRange(
  s: Series,
  from: number,
  to: number,
  budget: ReadBudget,
  visit: SeriesVisitor,
): Promise<void> {
  let it = s.iterator();
  let k = it.seek(from);
  let read = 0;
  while (k !== "none") {
    const t = it.atT();
    if (t > to) break;
    budget.addSample();
    if (k === "histogram" && it.atH !== undefined) visit.histogram(t, it.atH());
    else visit.float(t, it.atV());
    if (++read % SAMPLES_PER_CLOCK_CHECK === 0 && budget.sliceOver()) {
      await budget.pause();
      await visit.paused?.();
      it = s.iterator();
      k = it.seek(t + 1);
      continue;
    }
    k = it.next();
  }
}

/**
 * Reads the float samples of `s` in [from, to] ms in batches when its iterator can (`readInto`), handing each batch
 * to `take` (the buffer is reused: take what it holds before returning), in time windows of about
 * {@link WINDOW_SAMPLES}, pausing between slices. Returns false, having read nothing, when `s` cannot.
 */
export async function readBatches(
  s: Series,
  from: number,
  to: number,
  budget: ReadBudget,
  buf: SampleBuffer,
  take: (buf: SampleBuffer) => void,
): Promise<boolean> {
  let it = s.iterator();
  if (it.readInto === undefined) return false;
  let span = FIRST_WINDOW_MS;
  for (let at = from; at <= to; ) {
    const end = Math.min(to, at + span - 1);
    buf.n = 0;
    it.readInto?.(at, end, buf);
    budget.addSamples(buf.n);
    take(buf);
    const grown = span * MAX_WINDOW_GROWTH;
    span = buf.n > 0 ? Math.min(grown, Math.max(1, Math.floor((WINDOW_SAMPLES * (end - at + 1)) / buf.n))) : grown;
    at = end + 1;
    if (at > to) break;
    if (budget.sliceOver()) await budget.pause();
    it = s.iterator(it);
  }
  return true;
}

// Reads the series of `q` sorted by labels: `visit.begin`, then `body` for what the series holds in the range
// [mint, maxt] ms (nothing for labels only), then `visit.end`, pausing between slices.
async function readQuery(
  ctx: ReadContext,
  q: ReadQuery,
  budget: ReadBudget,
  visit: SeriesVisitor,
  body: ((s: Series, mint: number, maxt: number) => Promise<void>) | null,
): Promise<void> {
  const { mint, maxt } = queryRange(q);
  if (mint > maxt) return;
  const querier = ctx.store.querier(ctx.org, mint, maxt);
  try {
    // Only the `series` function changes what the store returns; other hints would only mislead it.
    const func = body === null ? "series" : undefined;
    for (const s of querier.select(q.matchers, { start: mint, end: maxt, func, sorted: true })) {
      budget.addSeries();
      visit.begin(s.labels);
      if (body !== null) await body(s, mint, maxt);
      await visit.end();
      if (budget.sliceOver()) await budget.pause();
    }
  } finally {
    querier.close();
  }
}

/** Answers `queries` as a SAMPLES ReadResponse, snappy-compressed. Throws ContrailError on any bound. */
export async function readSamples(ctx: ReadContext, queries: readonly ReadQuery[]): Promise<Buffer> {
  const budget = new ReadBudget(ctx);
  const out = new ReadResponseWriter();
  const max = REMOTE_READ_BOUNDS.maxResponseBytes;
  const checkSize = () => {
    if (out.length > max) {
      throw new ContrailError(
        "too_large",
        `the SAMPLES response exceeds ${max} bytes before compression, the limit of remote read; narrow the ` +
          "matchers or the time range, or accept STREAMED_XOR_CHUNKS",
      );
    }
  };
  let sinceCheck = 0;
  const visit: SeriesVisitor = {
    begin: (labels) => out.beginSeries(labels),
    float: (t, v) => {
      out.sample(t, v);
      if (++sinceCheck % SAMPLES_PER_CLOCK_CHECK === 0) checkSize();
    },
    histogram: (t, h) => {
      out.histogram(t, h);
      checkSize();
    },
    end: () => {
      out.endSeries();
      checkSize();
    },
  };
  const batch = new SampleBuffer(WINDOW_SAMPLES);
  const takeBatch = (b: SampleBuffer) => {
    out.samples(b, 0, b.n);
    checkSize();
  };
  for (const q of queries) {
    out.result();
    const body =
      q.hints?.func === "series"
        ? null
        : async (s: Series, mint: number, maxt: number) => {
            if (!(await readBatches(s, mint, maxt, budget, batch, takeBatch))) {
              await readRange(s, mint, maxt, budget, visit);
            }
          };
    await readQuery(ctx, q, budget, visit, body);
  }
  return snappyInSlices(out.finish(), () => budget.pause());
}

/**
 * Where streamed frames go: `push` takes a frame (owned by the sink) and may write it at once or gather it with
 * others; `flush` writes what was gathered; `drain` waits until the client has taken enough of what was written to
 * go on, or `remainingMs` passed.
 */
export interface FrameSink {
  push(frame: Uint8Array): void;
  flush(): void;
  drain(remainingMs: number): Promise<void>;
}

/**
 * Answers `queries` as STREAMED_XOR_CHUNKS frames into `sink`: per series, its chunks (stored ones as they are where
 * they can be, see stored-chunks.ts) in frames of about
 * {@link REMOTE_READ_BOUNDS}.maxBytesInFrame (a series may span several frames, each with its labels; a series
 * without samples sends none). Throws ContrailError on any bound.
 */
export async function readStreamed(ctx: ReadContext, queries: readonly ReadQuery[], sink: FrameSink): Promise<void> {
  const budget = new ReadBudget(ctx);
  const frames = new ChunkedFrameWriter();
  for (let i = 0; i < queries.length; i++) {
    let labels: Labels | null = null;
    let chunker = new SeriesChunker();
    let frameData = 0;
    const send = () => {
      const chunks = chunker.take();
      if (labels !== null && chunks.length > 0) sink.push(frames.frame(labels, chunks, i));
    };
    const full = () => {
      if (chunker.finishedBytes >= frameData) send();
    };
    const visit: SeriesVisitor = {
      begin: (l) => {
        labels = l;
        chunker = new SeriesChunker();
        frameData = REMOTE_READ_BOUNDS.maxBytesInFrame - labelMessageBytes(l);
      },
      float: (t, v) => {
        chunker.float(t, v);
        full();
      },
      histogram: (t, h) => {
        chunker.histogram(t, h);
        full();
      },
      end: () => {
        chunker.flush();
        send();
        return sink.drain(budget.remainingMs);
      },
      paused: () => {
        sink.flush();
        return sink.drain(budget.remainingMs);
      },
    };
    const body = (s: Series, mint: number, maxt: number) =>
      streamSeriesChunks(s, mint, maxt, {
        stored: (c) => {
          budget.addSamples(c.samples);
          chunker.stored(c);
          full();
        },
        samples: (from, to) => readRange(s, from, to, budget, visit),
        breathe: async () => {
          if (!budget.sliceOver()) return;
          await budget.pause();
          sink.flush();
          await sink.drain(budget.remainingMs);
        },
      });
    await readQuery(ctx, queries[i], budget, visit, body);
  }
}
