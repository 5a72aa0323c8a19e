// The counts `/api/v1/status/tsdb` shows of a database: head series, chunks and times, the blocks' totals and the
// head's top cardinalities (as Prometheus shows them).

import { compareStrings, METRIC_NAME } from "../model/labels.ts";
import type { Block } from "./block.ts";
import type { Head } from "./head/head.ts";

/** One name (metric, label, label pair) and a count, for the cardinality lists of `DbStats`. */
export interface NameCount {
  readonly name: string;
  readonly value: number;
}

/** What `/api/v1/status/tsdb` shows of a database (the cardinality lists cover the head, as in Prometheus). */
export interface DbStats {
  readonly head: {
    readonly numSeries: number;
    readonly numLabelPairs: number;
    readonly chunkCount: number;
    /** Oldest and newest sample time in the head (ms), null while it is empty. */
    readonly minTime: number | null;
    readonly maxTime: number | null;
  };
  readonly blocks: {
    readonly count: number;
    readonly bytes: number;
    /** Series summed over the blocks (a series in several blocks counts in each). */
    readonly numSeries: number;
    readonly numSamples: number;
    /** Range covered by the blocks (ms, maxTime exclusive), null without blocks. */
    readonly minTime: number | null;
    readonly maxTime: number | null;
  };
  /** Oldest and newest sample time over blocks and head (ms), null when the database is empty. */
  readonly minTime: number | null;
  readonly maxTime: number | null;
  readonly seriesCountByMetricName: readonly NameCount[];
  readonly labelValueCountByLabelName: readonly NameCount[];
  readonly memoryInBytesByLabelName: readonly NameCount[];
  readonly seriesCountByLabelValuePair: readonly NameCount[];
}

/**
 * Counts of a database for the status API: the head's series and cardinalities and the blocks' totals; each
 * cardinality list holds the top `limit` entries (all when `limit` is 0).
 */
export function dbStats(head: Head, blocks: readonly Block[], limit: number): DbStats {
  const hs = head.stats();
  const ix = head.index();
  const byMetric: NameCount[] = [];
  const valueCounts: NameCount[] = [];
  const memory: NameCount[] = [];
  const pairs: NameCount[] = [];
  let numLabelPairs = 0;
  for (const name of ix.labelNames()) {
    const values = ix.labelValues(name);
    numLabelPairs += values.length;
    valueCounts.push({ name, value: values.length });
    let bytes = 0;
    for (const v of values) {
      const n = ix.postings(name, [v]).length;
      bytes += Buffer.byteLength(v) * n;
      pairs.push({ name: `${name}=${v}`, value: n });
      if (name === METRIC_NAME) byMetric.push({ name: v, value: n });
    }
    memory.push({ name, value: bytes });
  }
  const headEmpty = hs.numSeries === 0 || hs.minTime === Number.POSITIVE_INFINITY;
  let bMin: number | null = null;
  let bMax: number | null = null;
  let bytes = 0;
  let numSeries = 0;
  let numSamples = 0;
  for (const b of blocks) {
    bMin = bMin === null ? b.minTime : Math.min(bMin, b.minTime);
    bMax = bMax === null ? b.maxTime : Math.max(bMax, b.maxTime);
    bytes += b.size;
    numSeries += b.meta.stats.numSeries ?? 0;
    numSamples += b.meta.stats.numSamples ?? 0;
  }
  const headMin = headEmpty ? null : hs.minTime;
  const headMax = headEmpty ? null : hs.maxTime;
  const mins = [bMin, headMin].filter((x): x is number => x !== null);
  const maxs = [bMax === null ? null : bMax - 1, headMax].filter((x): x is number => x !== null);
  return {
    head: { numSeries: hs.numSeries, numLabelPairs, chunkCount: hs.numChunks, minTime: headMin, maxTime: headMax },
    blocks: { count: blocks.length, bytes, numSeries, numSamples, minTime: bMin, maxTime: bMax },
    minTime: mins.length > 0 ? Math.min(...mins) : null,
    maxTime: maxs.length > 0 ? Math.max(...maxs) : null,
    seriesCountByMetricName: top(byMetric, limit),
    labelValueCountByLabelName: top(valueCounts, limit),
    memoryInBytesByLabelName: top(memory, limit),
    seriesCountByLabelValuePair: top(pairs, limit),
  };
}

function top(list: NameCount[], limit: number): NameCount[] {
  list.sort((a, b) => b.value - a.value || compareStrings(a.name, b.name));
  return limit > 0 ? list.slice(0, limit) : list;
}
