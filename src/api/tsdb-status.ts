// `/api/v1/status/tsdb`: the cardinality of one org's database (head statistics, top metrics by series, labels by
// value count and memory, top label pairs) in Prometheus's JSON shape. A store that keeps its own statistics
// (the embedded TSDB) answers from them; any other TenantStore is counted through its querier.

import { compareStrings, METRIC_NAME } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import type { Querier } from "../storage/interface.ts";
import type { DbStats, NameCount } from "../tsdb/db.ts";

/** A TenantStore that can report its own statistics (EmbeddedTenantStore does). */
export interface TenantStatsSource {
  stats(org: string, opts: { limit?: number }): DbStats;
}

/** True when `store` offers `stats(org, opts)`. */
export function hasStats(store: object): store is TenantStatsSource {
  return typeof (store as Partial<TenantStatsSource>).stats === "function";
}

/** The `data` object of the status/tsdb response. */
export interface TsdbStatusJson {
  readonly headStats: {
    readonly numSeries: number;
    readonly numLabelPairs: number;
    readonly chunkCount: number;
    readonly minTime: number;
    readonly maxTime: number;
  };
  readonly seriesCountByMetricName: readonly NameCount[];
  readonly labelValueCountByLabelName: readonly NameCount[];
  readonly memoryInBytesByLabelName: readonly NameCount[];
  readonly seriesCountByLabelValuePair: readonly NameCount[];
}

// What Prometheus reports for the time range of an empty head (math.MaxInt64 and math.MinInt64 as ms); JSON
// numbers that large round, so the exact digits are written by `tsdbStatusText`.
const EMPTY_MIN = "9223372036854775807";
const EMPTY_MAX = "-9223372036854775808";

/** The status of a database from its own statistics. */
export function statusFromStats(s: DbStats): TsdbStatusJson {
  return {
    headStats: {
      numSeries: s.head.numSeries,
      numLabelPairs: s.head.numLabelPairs,
      chunkCount: s.head.chunkCount,
      minTime: s.head.minTime ?? Number.NaN,
      maxTime: s.head.maxTime ?? Number.NaN,
    },
    seriesCountByMetricName: s.seriesCountByMetricName,
    labelValueCountByLabelName: s.labelValueCountByLabelName,
    memoryInBytesByLabelName: s.memoryInBytesByLabelName,
    seriesCountByLabelValuePair: s.seriesCountByLabelValuePair,
  };
}

function top(counts: Map<string, number>, limit: number): NameCount[] {
  return [...counts]
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => b.value - a.value || compareStrings(a.name, b.name))
    .slice(0, limit);
}

/** The status of a store without statistics, counted over every series `querier` holds. */
export function statusFromQuerier(querier: Querier, limit: number): TsdbStatusJson {
  const byMetric = new Map<string, number>();
  const byPair = new Map<string, number>();
  const values = new Map<string, Set<string>>();
  const bytes = new Map<string, number>();
  let numSeries = 0;
  let minTime = Number.POSITIVE_INFINITY;
  let maxTime = Number.NEGATIVE_INFINITY;
  const all = querier.select([newMatcher("=~", METRIC_NAME, ".+")], {
    start: -Infinity,
    end: Infinity,
    func: "series",
  });
  for (const series of all) {
    numSeries++;
    series.labels.forEach((name, value) => {
      if (name === METRIC_NAME) byMetric.set(value, (byMetric.get(value) ?? 0) + 1);
      const pair = `${name}=${value}`;
      byPair.set(pair, (byPair.get(pair) ?? 0) + 1);
      let set = values.get(name);
      if (set === undefined) {
        set = new Set();
        values.set(name, set);
      }
      set.add(value);
      bytes.set(name, (bytes.get(name) ?? 0) + Buffer.byteLength(value));
    });
    const it = series.iterator();
    if (it.next() !== "none") {
      minTime = Math.min(minTime, it.atT());
      let last = it.atT();
      while (it.next() !== "none") last = it.atT();
      maxTime = Math.max(maxTime, last);
    }
  }
  const valueCounts = new Map<string, number>();
  for (const [name, set] of values) valueCounts.set(name, set.size);
  return {
    headStats: {
      numSeries,
      numLabelPairs: byPair.size,
      chunkCount: 0,
      minTime: numSeries === 0 ? Number.NaN : minTime,
      maxTime: numSeries === 0 ? Number.NaN : maxTime,
    },
    seriesCountByMetricName: top(byMetric, limit),
    labelValueCountByLabelName: top(valueCounts, limit),
    memoryInBytesByLabelName: top(bytes, limit),
    seriesCountByLabelValuePair: top(byPair, limit),
  };
}

/** The JSON text of a status; an empty head's times are written as Prometheus writes them. */
export function tsdbStatusText(s: TsdbStatusJson): string {
  const h = s.headStats;
  const minTime = Number.isNaN(h.minTime) ? EMPTY_MIN : String(h.minTime);
  const maxTime = Number.isNaN(h.maxTime) ? EMPTY_MAX : String(h.maxTime);
  return (
    `{"headStats":{"numSeries":${h.numSeries},"numLabelPairs":${h.numLabelPairs},"chunkCount":${h.chunkCount},` +
    `"minTime":${minTime},"maxTime":${maxTime}},` +
    `"seriesCountByMetricName":${JSON.stringify(s.seriesCountByMetricName)},` +
    `"labelValueCountByLabelName":${JSON.stringify(s.labelValueCountByLabelName)},` +
    `"memoryInBytesByLabelName":${JSON.stringify(s.memoryInBytesByLabelName)},` +
    `"seriesCountByLabelValuePair":${JSON.stringify(s.seriesCountByLabelValuePair)}}`
  );
}
