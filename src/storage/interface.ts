// The storage contracts. The PromQL engine, the API and the scraper depend on these interfaces only, never on the
// TSDB. Every time is an inclusive Unix timestamp in milliseconds. Storage calls are synchronous: the embedded TSDB
// reads memory and page-cached files, and the engine keeps its own deadline and cancellation checks.

import type { ContrailError } from "../model/errors.ts";
import type { Histogram } from "../model/histogram.ts";
import type { Labels } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import type { SampleBuffer } from "../model/sample.ts";

/** Opaque handle of a series inside one appendable store; valid for the lifetime of that store. */
export type SeriesRef = number & { readonly __brand: "SeriesRef" };

/** The kind of the sample an iterator is positioned on; "none" once it is exhausted. */
export type ValueKind = "none" | "float" | "histogram";

/**
 * Iterates one series' samples in increasing time order. Starts before the first sample: call `next()` or `seek()`
 * first. Accessors read the current sample without allocating; an iterator may reuse its buffers between calls.
 */
export interface SampleIterator {
  /** Moves to the next sample and returns its kind ("none" at the end). */
  next(): ValueKind;
  /**
   * Moves to the first sample with timestamp >= `t` (ms). If the current sample already satisfies it, stays.
   * Returns the kind of the sample it stops on, "none" if there is none.
   */
  seek(t: number): ValueKind;
  /** Timestamp of the current sample, ms. */
  atT(): number;
  /** Float value of the current sample (StaleNaN marks a stale series). */
  atV(): number;
  /**
   * The native histogram of the current sample, when `next`/`seek` returned "histogram" (a stale histogram sample
   * has a StaleNaN `sum`). Valid until the iterator moves: copy it to keep it. Absent on stores without histograms.
   */
  atH?(): Histogram;
  /**
   * Optional batch read on a fresh iterator (no `next`/`seek` yet): appends to `out` the samples that `seek(mint)`
   * and then `next()` would give, up to the last one with timestamp <= `maxt` (ms), and leaves the iterator spent.
   * Readers use it when present, as it skips the per-sample calls; the samples and errors are the same.
   */
  readInto?(mint: number, maxt: number, out: SampleBuffer): void;
}

/** A series selected by a query: its labels and a way to read its samples in the selected time range. */
export interface Series {
  readonly labels: Labels;
  /** A fresh iterator (or `reuse`, reset, when the implementation can recycle it). */
  iterator(reuse?: SampleIterator): SampleIterator;
  /**
   * Optional: the series' samples in the selected range as the encoded chunks that hold them, for a reader that
   * decodes elsewhere (a query worker thread); null when this series cannot be given so (for example, some of its
   * samples are deleted): read it with `iterator()` then. The samples are those of the sources merged by time, at
   * equal timestamps the earlier source's; see {@link ChunkSource} for the samples of one source. They are exactly
   * the iterator's.
   */
  chunks?(): readonly ChunkSource[] | null;
}

/** One encoded chunk of a series, in Prometheus's chunk format. */
export interface EncodedChunk {
  /** Prometheus's encoding byte; XOR (1) is the float encoding, readers skip chunks of encodings they do not read. */
  readonly encoding: number;
  /** The chunk's range, ms inclusive: samples of `data` outside it are not part of the series. */
  readonly mint: number;
  readonly maxt: number;
  /**
   * How many samples `data` holds, all of them in [mint, maxt] with increasing timestamps; -1 when that is not
   * known without decoding (the chunk may hold more, e.g. a chunk still being appended to).
   */
  readonly samples: number;
  /**
   * The chunk's bytes, header included. Must not be modified. May be a view of memory the store keeps writing
   * (the chunk being appended to): copy it before the store can be written to again.
   */
  readonly data: Uint8Array;
}

/**
 * The chunks of one source of a series (a block, or the head), in time order. The source's samples are those of
 * its chunks in order, each within its chunk's range and the source's [mint, maxt], skipping a sample not newer
 * than the last one taken; the source ends at its first sample past `maxt`.
 */
export interface ChunkSource {
  /** The source's sample range, ms inclusive. */
  readonly mint: number;
  readonly maxt: number;
  /** Number of chunks. */
  readonly length: number;
  /** Chunk `i` (0 <= i < length), read now; throws what reading the samples would (`not_found`, `corruption`). */
  chunk(i: number): EncodedChunk;
  /**
   * Optional: how many samples chunk `i` holds as stored, when it is a float (XOR) chunk and the source knows the
   * count without reading the chunk (its header in memory); -1 otherwise (read the chunk then).
   */
  sampleCount?(i: number): number;
}

/** The result of `Querier.select`: series in `Labels.compare` order when `sorted` was asked, plus warnings. */
export interface SeriesSet extends Iterable<Series> {
  /** Non-fatal problems met while selecting (e.g. a partial result); shown to the user as query warnings. */
  readonly warnings: readonly string[];
}

/** Hints that let a store do less work; a store may ignore every field but `start`/`end`. */
export interface SelectHints {
  /** Inclusive time range of samples the caller will read, ms. */
  readonly start: number;
  readonly end: number;
  /** Query step in ms (0 for instant queries). */
  readonly step?: number;
  /** Name of the surrounding function or aggregation, e.g. "rate", "series" for metadata-only calls. */
  readonly func?: string;
  /** Range of the range selector in ms, 0 for instant selectors. */
  readonly range?: number;
  /** Grouping labels of the surrounding aggregation and whether they are `by` (true) or `without`. */
  readonly grouping?: readonly string[];
  readonly by?: boolean;
  /** Maximum number of series to return; 0 or absent for no limit. */
  readonly limit?: number;
  /** Return series sorted by labels. */
  readonly sorted?: boolean;
}

/** Hints for label name/value lookups. */
export interface LabelHints {
  /** Maximum number of results; 0 or absent for no limit. */
  readonly limit?: number;
}

/** Reads one time range of one store. Strings it returns stay valid after `close()` (JS strings are immutable). */
export interface Querier {
  /** Series matching all `matchers` (AND) that have samples in the querier's range. */
  select(matchers: readonly Matcher[], hints: SelectHints): SeriesSet;
  /** Sorted label names of series matching `matchers` (all series when empty). */
  labelNames(matchers: readonly Matcher[], hints?: LabelHints): string[];
  /** Sorted distinct values of label `name` among series matching `matchers`. */
  labelValues(name: string, matchers: readonly Matcher[], hints?: LabelHints): string[];
  /** Releases what the querier holds; idempotent. */
  close(): void;
}

/** Something that can be queried over a time range, ms inclusive. */
export interface Queryable {
  querier(mint: number, maxt: number): Querier;
}

/**
 * What `commit()` did with a batch: how many samples it stored and how many it rejected, by reason. A rejected
 * sample is never stored and never silently dropped: it is counted here (and in the store's stats).
 */
export interface CommitReport {
  /** Samples stored (a sample repeating the newest one exactly, same time and value, is accepted and not stored). */
  readonly appended: number;
  /** Older than the newest sample of its series. */
  readonly outOfOrder: number;
  /** Same timestamp as the newest sample of its series, different value. */
  readonly duplicate: number;
  /** Older than the oldest time the store still accepts (e.g. already compacted). */
  readonly outOfBounds: number;
  /** The first rejected sample as a coded error naming its series and time, or null when none was rejected. */
  readonly firstRejection: ContrailError | null;
}

/**
 * Collects samples for one atomic batch. Samples become visible and durable together at `commit()`; `rollback()`
 * discards them. An appender is used by one caller at a time and is spent after commit or rollback: any further
 * call throws `internal`. Rejections: samples that are out of order, duplicates or out of bounds are left out and reported by `commit()`;
 * the rest of the batch is committed (as Prometheus's scrape path does).
 */
export interface Appender {
  /**
   * The identity of the ref space of this appender's store, when it has one: a ref from `append` stays usable with
   * `appendRef` on later appenders with the same `refScope` object (the same open database); a different object
   * means earlier refs may name other series. Absent: refs are not to be kept beyond this appender.
   */
  readonly refScope?: object;
  /** Adds a sample for the series `labels` (ms, float). Returns the series' ref for `appendRef`. */
  append(labels: Labels, t: number, v: number): SeriesRef;
  /** Adds a sample for a series known by ref from an earlier `append` to the same store. */
  appendRef(ref: SeriesRef, t: number, v: number): SeriesRef;
  /**
   * Adds a native histogram sample (ms) for the series `labels`; the appender keeps no reference to `h` after the
   * call returns. Absent on stores that keep no histograms: callers refuse such samples with a clear error.
   */
  appendHistogram?(labels: Labels, t: number, h: Histogram): SeriesRef;
  /** Like `appendHistogram`, for a series known by ref from an earlier append to the same store. */
  appendHistogramRef?(ref: SeriesRef, t: number, h: Histogram): SeriesRef;
  /**
   * Makes the accepted samples visible and durable (in the WAL) and reports what was rejected. Throws only when the
   * batch could not be made durable, and then nothing of it is visible.
   */
  commit(): CommitReport;
  /** Drops the batch. */
  rollback(): void;
}

/** Something samples can be appended to. */
export interface Appendable {
  appender(): Appender;
}

/** Per-organization access to storage: each org is its own database, so no query can reach another org's data. */
export interface TenantStore {
  /** An appender writing into `org`'s database. */
  appender(org: string): Appender;
  /** A querier over `org`'s database for [mint, maxt] ms. */
  querier(org: string, mint: number, maxt: number): Querier;
  /** A Queryable bound to one org, handed to the PromQL engine. */
  queryable(org: string): Queryable;
}
