// Two halves' results merged and rendered on the main thread: the answer the job's worker would render, and only
// when small enough and of a query that splits.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Engine } from "../../promql/engine/index.ts";
import { MAIN_MERGE_MAX_POINTS, mergeHere } from "./merge-here.ts";
import type { QuerySpec } from "./protocol.ts";
import type { PartialResult } from "./shard.ts";

const planner = new Engine({ metricsql: true });
const times = { queueSeconds: 0.001, evalSeconds: 0.02 };

function spec(query: string): QuerySpec {
  return {
    query,
    at: { kind: "range", start: 0, end: 60_000, step: 15_000 },
    timeoutMs: 10_000,
    maxSamples: 1_000_000,
    render: { kind: "json", limit: 0, maxSeries: 1_000, stats: "" },
  };
}

function partial(series: { job: string; t: number[]; v: number[] }[], warnings: string[] = []): PartialResult {
  return {
    series: series.map((s) => ({ labels: ["job", s.job], t: Float64Array.from(s.t), v: Float64Array.from(s.v) })),
    warnings,
    infos: [],
    samplesLoaded: 10,
    peakSamples: 4,
  };
}

interface Answer {
  readonly status: string;
  readonly data: { readonly result: { metric: Record<string, string>; values: [number, string][] }[] };
  readonly warnings?: string[];
}

test("sums of the two halves, series sorted by labels, notes of both once", () => {
  const mine = partial([{ job: "b", t: [0, 15_000], v: [1, 2] }], ["w"]);
  const theirs = partial(
    [
      { job: "a", t: [0], v: [5] },
      { job: "b", t: [15_000, 30_000], v: [10, 20] },
    ],
    ["w"],
  );
  const out = mergeHere(planner, spec("sum by (job) (rate(x[5m]))"), mine, theirs, times);
  assert.ok(out !== null && "body" in out);
  const answer = JSON.parse(Buffer.concat(out.body).toString("utf8")) as Answer;
  assert.equal(answer.status, "success");
  assert.deepEqual(
    answer.data.result.map((s) => [s.metric, s.values]),
    [
      [{ job: "a" }, [[0, "5"]]],
      [
        { job: "b" },
        [
          [0, "1"],
          [15, "12"],
          [30, "20"],
        ],
      ],
    ],
  );
  assert.deepEqual(answer.warnings, ["w"]);
});

test("left to the job's worker: too many points, or a query that does not split", () => {
  const steps = Array.from({ length: MAIN_MERGE_MAX_POINTS / 2 + 1 }, (_, i) => i * 15_000);
  const big = partial([{ job: "a", t: steps, v: steps }]);
  assert.equal(mergeHere(planner, spec("sum by (job) (rate(x[5m]))"), big, big, times), null);
  const small = partial([{ job: "a", t: [0], v: [1] }]);
  assert.equal(mergeHere(planner, spec("avg by (job) (rate(x[5m]))"), small, small, times), null);
});

test("the series limit of the answer holds as on a worker", () => {
  const s: QuerySpec = {
    ...spec("sum by (job) (rate(x[5m]))"),
    render: { kind: "json", limit: 0, maxSeries: 1, stats: "" },
  };
  const two = partial([
    { job: "a", t: [0], v: [1] },
    { job: "b", t: [0], v: [1] },
  ]);
  const out = mergeHere(planner, s, two, partial([]), times);
  assert.ok(out !== null && "error" in out, "an error, as the worker's rendering gives");
});
