// The messages between the API's main thread and its query workers. A job names no org: the worker evaluates text
// against whatever data the main thread chooses to answer with, so isolation stays where the org is known.
// Data requests travel on a dedicated MessagePort and are answered synchronously for the worker (it blocks on a
// shared flag until the answer is there); jobs and their results travel on the worker's own parent port.

import type { Histogram } from "../../model/histogram.ts";
import type { Matcher } from "../../model/matcher.ts";
import type { QueryAnswerOptions } from "../query-answer.ts";
import type { PartialResult } from "./shard.ts";

/** Where an instant (`time`) or a range query (`start`..`end` by `step`) is evaluated; all in ms. */
export type QueryAt =
  | { readonly kind: "instant"; readonly time: number }
  | { readonly kind: "range"; readonly start: number; readonly end: number; readonly step: number };

/** The API's answer: the JSON body, with the request's `limit` and `stats` and the org's series limit. */
export type JsonRender = { readonly kind: "json" } & Pick<QueryAnswerOptions, "limit" | "maxSeries" | "stats">;

/**
 * The rules' answer: an instant vector (a scalar as one unlabelled sample) as whole samples in bytes
 * (sample-answer.ts), histograms with every field and floats with their bits; more than `maxSeries` is an error.
 */
export interface SamplesRender {
  readonly kind: "samples";
  readonly maxSeries: number;
}

/** How a finished query becomes its answer. */
export type RenderOptions = JsonRender | SamplesRender;

/** A query as the API hands it to the pool: the text, where to evaluate it, its limits and its rendering. */
export interface QuerySpec {
  readonly query: string;
  readonly at: QueryAt;
  /** Budget from the moment the query is submitted, waiting in the queue included, ms. */
  readonly timeoutMs: number;
  /** `lookback_delta` parameter in ms, absent for the engine's default. */
  readonly lookbackDelta?: number;
  /** Samples the query may hold at once; the main thread also stops serving data once this many were sent. */
  readonly maxSamples: number;
  readonly render: RenderOptions;
}

/** A job as a worker receives it. */
export interface JobMessage {
  readonly kind: "job";
  readonly id: number;
  readonly spec: QuerySpec;
  /** What is left of the timeout when the job starts, ms. */
  readonly remainingMs: number;
  /** Time the job waited in the queue, seconds (reported as `execQueueTime`). */
  readonly queueSeconds: number;
  /** Selections the main thread made ahead, for the worker to take instead of asking (see PrefetchedSelect). */
  readonly prefetched: readonly PrefetchedSelect[];
  /**
   * Present when the main thread gathered the job's one selection and split it itself: the prefetched select
   * carries every page this worker reads (it asks for none and splits nothing), and `assist` names the assist
   * evaluating the rest, whose partial result the job merges into its own (0: no assist, the pages are the whole
   * selection). With `dealt`, the main thread deals the selection's pages between the two as it reads them
   * (deal.ts): the prefetched select carries this worker's first page, and it asks for the rest by that page's
   * cursor.
   */
  readonly presplit?: { readonly assist: number; readonly dealt?: boolean };
}

/**
 * A selection the main thread made before handing the job over, on querier `querier.querier` (opened with that
 * range): a worker querier of the same range takes that id, and its `select` with equal matchers and hints takes
 * `page`, the selection's first page, instead of asking for it. Later pages are asked for by cursor as usual.
 */
export interface PrefetchedSelect {
  readonly querier: QuerierRef;
  readonly matchers: readonly WireMatcher[];
  readonly hints: object;
  readonly page: SeriesPage;
  /** The selection's pages after `page` the main thread built ahead too, in order; absent when none. */
  readonly more?: readonly SeriesPage[];
}

/**
 * Part of a job as a helping worker receives it (shard.ts): the job's query evaluated over the pages of a selection
 * another worker received, its result sent back as a partial result.
 */
export interface AssistMessage {
  readonly kind: "assist";
  readonly id: number;
  readonly spec: QuerySpec;
  readonly remainingMs: number;
  readonly pages: readonly SeriesPage[];
  /** When present, `pages` is empty and the helper asks for its pages by this cursor (a dealt half: deal.ts). */
  readonly cursor?: number;
}

/** What a worker posts on its parent port. */
export type WorkerMessage =
  | { readonly kind: "ready" }
  /** The result of an assist (copied by the post). */
  | { readonly kind: "partial"; readonly id: number; readonly partial: PartialResult }
  /** The whole answer as `render` asks (the JSON body, UTF-8, or the samples' bytes), in chunks (copied by the
   * post). */
  | { readonly kind: "done"; readonly id: number; readonly body: readonly Uint8Array[] }
  | { readonly kind: "failed"; readonly id: number; readonly code: string; readonly message: string };

/** A label matcher on the wire: type, name, value. */
export type WireMatcher = readonly [type: string, name: string, value: string];

/** Matchers as they travel between threads. */
export function wireMatchers(ms: readonly Matcher[]): WireMatcher[] {
  return ms.map((m) => [m.type, m.name, m.value]);
}

/** The time range and identity of one querier of a job; the main thread opens it on first use. */
export interface QuerierRef {
  /** Unique within the job. */
  readonly querier: number;
  readonly mint: number;
  readonly maxt: number;
}

/** A data request of a worker; `seq` pairs it with its answer, `job` ties it to the job it serves. */
export type DataRequest = { readonly seq: number; readonly job: number } & (
  | (QuerierRef & { readonly op: "select"; readonly matchers: readonly WireMatcher[]; readonly hints: object })
  | { readonly op: "page"; readonly cursor: number }
  | (QuerierRef & { readonly op: "labelNames"; readonly matchers: readonly WireMatcher[]; readonly hints?: object })
  | (QuerierRef & {
      readonly op: "labelValues";
      readonly name: string;
      readonly matchers: readonly WireMatcher[];
      readonly hints?: object;
    })
  /**
   * The worker hands the pages of the second half of its selection to an idle worker; the answer names the assist,
   * or is 0 with the pages given back when no worker is free.
   */
  | { readonly op: "assist"; readonly pages: readonly SeriesPage[] }
  /**
   * The partial result of an assist, answered once the helping worker has finished. With `partial` (the asking
   * worker's own result, small enough), the main thread may merge the two and answer the job itself: it then
   * answers `answered`, and the worker ends the job without posting an answer.
   */
  | { readonly op: "assistResult"; readonly assist: number; readonly partial?: PartialResult }
  /** One-way: the worker is done with this querier (no answer is sent). */
  | { readonly op: "close"; readonly querier: number }
  /**
   * One-way: the worker dropped what it read of selection `cursor` unkept and will select again; the selection is
   * forgotten and its samples no longer count against the job's limit.
   */
  | { readonly op: "release"; readonly cursor: number }
);

/**
 * A page of selected series. Entry `i` has `pairs[i]` label pairs, taken in order: pair `k` of the page is named
 * `names[nameRefs[k]]` and its value is the next `valueLengths[k]` UTF-16 units of `values` (label names repeat from
 * series to series, values mostly do not). Its samples come one of two ways, as `chunked[i]` says:
 * decoded, the samples `[offsets[i], offsets[i+1])` of `t` (ms) and `v`; or encoded, the chunks
 * `[chunkIndex[i], chunkIndex[i+1])` (XOR, integer or float histogram), for the worker to decode. When
 * `continued`, entry 0 has no labels: its samples or chunks continue the last series of the previous page. Native
 * histogram samples of entries given as samples are listed apart: sample `histogramAt[j]` of the page is
 * `histograms[j]` (its `v` is NaN).
 */
export interface SeriesPage {
  /** Ask for the next page with this cursor, unless `done`. */
  readonly cursor: number;
  readonly done: boolean;
  readonly continued: boolean;
  readonly pairs: Uint32Array;
  /** The page's distinct label names. */
  readonly names: readonly string[];
  readonly nameRefs: Uint32Array;
  readonly valueLengths: Uint32Array;
  readonly values: string;
  /** 1 for an entry given as chunks, 0 for one given as samples. */
  readonly chunked: Uint8Array;
  readonly offsets: Uint32Array;
  readonly t: Float64Array;
  readonly v: Float64Array;
  readonly chunkIndex: Uint32Array;
  /** Chunk `k`'s range, ms inclusive: `chunkRanges[2k]` to `chunkRanges[2k+1]`. */
  readonly chunkRanges: Float64Array;
  /** Chunk `k`'s bytes: `chunkBytes` from the end of chunk `k-1` (0 for the first) to `chunkEnds[k]`. */
  readonly chunkEnds: Uint32Array;
  readonly chunkBytes: Uint8Array;
  /** Chunk `k`'s encoding byte (tsdb/chunkenc/chunk.ts `Encoding`). */
  readonly chunkEncodings: Uint8Array;
  /**
   * The sources of the chunked series (storage/interface.ts `ChunkSource`): source `j` begins at chunk
   * `sourceStarts[j]` with the range `sourceRanges[2j]` to `sourceRanges[2j+1]` (ms inclusive). The chunks of a
   * continued entry before its first source begins continue the source the previous page ended in.
   */
  readonly sourceStarts: Uint32Array;
  readonly sourceRanges: Float64Array;
  /** Page sample indices of the histogram samples, ascending; empty for float-only pages (most). */
  readonly histogramAt: Uint32Array;
  readonly histograms: readonly Histogram[];
  /** The selection's warnings, on the last page. */
  readonly warnings: readonly string[];
}

/** The answer to a data request. */
export type DataResponse = { readonly seq: number } & (
  | { readonly ok: true; readonly page: SeriesPage }
  | { readonly ok: true; readonly strings: readonly string[] }
  | { readonly ok: true; readonly assist: number; readonly pages: readonly SeriesPage[] }
  | { readonly ok: true; readonly partial: PartialResult }
  | { readonly ok: true; readonly answered: true }
  | { readonly ok: false; readonly code: string; readonly message: string }
);

/** Slots of a worker's shared Int32Array. */
export const FLAG_REPLY = 0;
/** 0 while the job runs; set by the main thread to stop it (see {@link CANCEL_CLIENT}, {@link CANCEL_DEADLINE}). */
export const FLAG_CANCEL = 1;
/** Number of Int32 slots. */
export const FLAG_SLOTS = 2;
/** FLAG_CANCEL value: the client went away. */
export const CANCEL_CLIENT = 1;
/** FLAG_CANCEL value: the query's deadline passed. */
export const CANCEL_DEADLINE = 2;
