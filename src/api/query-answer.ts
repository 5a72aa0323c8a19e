// The answer of a finished query, as Prometheus's API gives it: the value truncated to `limit`, checked against the
// org's series limit, annotations capped, and `stats` when asked, written as JSON in UTF-8 (json-bytes.ts). Runs
// where the query was evaluated (a query worker, or the main thread for a small job).

import type { QueryResult, QueryValue } from "../promql/engine/index.ts";
import { capNotes } from "./context.ts";
import type { QueryStatsJson } from "./json.ts";
import { JsonBytes, writeQueryData, writeSuccess } from "./json-bytes.ts";
import { checkSeriesCount } from "./limits.ts";

/** What the answer needs besides the result: the request's `limit` and `stats`, the series limit, and timings. */
export interface QueryAnswerOptions {
  /** `limit` parameter: most series in the answer, 0 for no limit. */
  readonly limit: number;
  /** The org's limit on series in one answer. */
  readonly maxSeries: number;
  /** `stats` parameter as given ("" when absent). */
  readonly stats: string;
  /** Time spent waiting for an evaluator, seconds. */
  readonly queueSeconds: number;
  /** Time spent evaluating, seconds. */
  readonly evalSeconds: number;
}

function resultSeries(v: QueryValue): number {
  switch (v.type) {
    case "vector":
      return v.samples.length;
    case "matrix":
      return v.series.length;
    case "scalar":
    case "string":
      return 0;
  }
}

function truncate(v: QueryValue, limit: number): QueryValue {
  switch (v.type) {
    case "vector":
      return { type: "vector", samples: v.samples.slice(0, limit) };
    case "matrix":
      return { type: "matrix", series: v.series.slice(0, limit) };
    case "scalar":
    case "string":
      return v;
  }
}

function statsParamWarning(stats: string): string | null {
  if (stats === "" || stats === "true" || stats === "all") return null;
  return `value ${JSON.stringify(stats)} for parameter "stats" is deprecated and will be rejected in the next major release, use "true" or "all"`;
}

/** This thread's writer of answers, reused from one to the next. */
const writer = new JsonBytes();
const noStop = (): void => {};

/**
 * The JSON answer of a finished query in UTF-8, in chunks the caller owns: truncated to `limit`, checked against the
 * series limit, with stats if asked; `poll` is called as the text is written and throws to stop it.
 */
export function queryAnswerBytes(result: QueryResult, opts: QueryAnswerOptions, poll = noStop): Uint8Array[] {
  const warnings = capNotes(result.warnings, "warning");
  let value = result.value;
  if (opts.limit > 0 && resultSeries(value) > opts.limit) {
    value = truncate(value, opts.limit);
    warnings.push("results truncated due to limit");
  }
  checkSeriesCount(resultSeries(value), opts);
  const warn = statsParamWarning(opts.stats);
  if (warn !== null) warnings.push(warn);
  let stats: QueryStatsJson | null = null;
  if (opts.stats !== "") {
    stats = {
      timings: {
        evalTotalTime: opts.evalSeconds,
        resultSortTime: 0,
        queryPreparationTime: 0,
        innerEvalTime: opts.evalSeconds,
        execQueueTime: opts.queueSeconds,
        execTotalTime: opts.queueSeconds + opts.evalSeconds,
      },
      samples: { totalQueryableSamples: result.stats.samplesLoaded, peakSamples: result.stats.peakSamples },
    };
  }
  const notes = { warnings, infos: capNotes(result.infos, "info") };
  writer.watch(poll);
  try {
    poll();
    writeSuccess(writer, (into) => writeQueryData(into, value, stats), notes);
    return writer.take();
  } catch (err) {
    writer.reset();
    throw err;
  }
}
