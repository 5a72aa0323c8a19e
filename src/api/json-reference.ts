// Test support: a query's `data` as JSON text built from strings with json.ts's formats and JSON.stringify, the
// reference the byte writer of answers (json-bytes.ts) is checked against, byte for byte.

import type { Histogram } from "../model/histogram.ts";
import type { QueryValue } from "../promql/engine/index.ts";
import { formatFloatF, formatTimestamp, histogramJson, labelsJson, type QueryStatsJson } from "./json.ts";

function floatPoint(t: number, v: number): string {
  return `[${formatTimestamp(t)},"${formatFloatF(v)}"]`;
}

function seriesPoints(t: Float64Array, v: Float64Array, h: readonly (Histogram | undefined)[] | undefined): string {
  const floats: string[] = [];
  const hists: string[] = [];
  for (let j = 0; j < t.length; j++) {
    const x = h?.[j];
    if (x === undefined) floats.push(floatPoint(t[j], v[j]));
    else hists.push(`[${formatTimestamp(t[j])},${histogramJson(x)}]`);
  }
  if (h === undefined) return `,"values":[${floats.join(",")}]`;
  let s = "";
  if (floats.length > 0) s += `,"values":[${floats.join(",")}]`;
  if (hists.length > 0) s += `,"histograms":[${hists.join(",")}]`;
  return s;
}

/** The `data` of a query response as text: `{"resultType":...,"result":...[,"stats":...]}`. */
export function queryDataText(value: QueryValue, stats: QueryStatsJson | null): string {
  const tail = stats === null ? "}" : `,"stats":${JSON.stringify(stats)}}`;
  let result: string;
  switch (value.type) {
    case "scalar":
      result = `[${JSON.stringify(value.t / 1000)},"${formatFloatF(value.v)}"]`;
      break;
    case "string":
      result = `[${JSON.stringify(value.t / 1000)},${JSON.stringify(value.v)}]`;
      break;
    case "vector":
      result = `[${value.samples
        .map(
          (s) =>
            `{"metric":${labelsJson(s.labels)},` +
            (s.h === undefined
              ? `"value":${floatPoint(s.t, s.v)}}`
              : `"histogram":[${formatTimestamp(s.t)},${histogramJson(s.h)}]}`),
        )
        .join(",")}]`;
      break;
    case "matrix":
      result = `[${value.series.map((s) => `{"metric":${labelsJson(s.labels)}${seriesPoints(s.t, s.v, s.h)}}`).join(",")}]`;
      break;
  }
  return `{"resultType":"${value.type}","result":${result}${tail}`;
}
