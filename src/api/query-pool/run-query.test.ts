// A job's JSON answer in UTF-8: the bytes of the answer's text whatever its size and characters (answers that fit
// the encoding scratch, text of multi-byte characters that does not, text longer than the scratch), and a body
// that stays as it was once later answers are rendered.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Labels } from "../../model/labels.ts";
import type { QueryResult } from "../../promql/engine/index.ts";
import { successJson } from "../json.ts";
import { queryDataText } from "../json-reference.ts";
import type { QuerySpec } from "./protocol.ts";
import { type JobWatch, renderResult } from "./run-query.ts";

const STEP = 15_000;
const START = 1_700_000_000_000;

const spec: QuerySpec = {
  query: "q",
  at: { kind: "range", start: START, end: START, step: STEP },
  timeoutMs: 1000,
  maxSamples: 1e9,
  render: { kind: "json", limit: 0, maxSeries: 1e9, stats: "" },
};
const watch: JobWatch = {
  cancelled: () => false,
  throwCancelled: () => {
    throw new Error("not cancelled");
  },
};
const ctx = { queueSeconds: 0, evalSeconds: 0, watch };

/** A matrix of `series` series of `points` points, each labelled `label` = `value` and its index. */
function matrix(series: number, points: number, value: string): QueryResult {
  return {
    value: {
      type: "matrix",
      series: Array.from({ length: series }, (_, i) => ({
        labels: Labels.fromStrings("i", String(i), "label", value),
        t: Float64Array.from({ length: points }, (_, j) => START + j * STEP),
        v: Float64Array.from({ length: points }, (_, j) => (i * points + j) / 7),
      })),
    },
    warnings: [],
    infos: [],
    stats: { samplesLoaded: 0, peakSamples: 0 },
  };
}

/** The answer's text as the reference rendering writes it, in UTF-8. */
function expected(result: QueryResult): Buffer {
  return Buffer.from([...successJson([queryDataText(result.value, null)], result)].join(""), "utf8");
}

describe("renderResult's JSON in UTF-8", () => {
  const cases: [string, QueryResult][] = [
    ["a small answer", matrix(10, 241, "ams")],
    ["multi-byte characters that fit the scratch as text but not as bytes", matrix(2, 3, "€".repeat(120_000))],
    ["text longer than the scratch", matrix(400, 241, "é")],
    ["an empty answer", matrix(0, 0, "")],
  ];
  for (const [name, result] of cases) {
    it(`is the answer's text, byte for byte: ${name}`, () => {
      const body = Buffer.concat(renderResult(result, spec, ctx));
      assert.ok(body.equals(expected(result)));
    });
  }

  it("a body keeps its bytes when later answers are rendered", () => {
    const first = renderResult(matrix(3, 50, "a"), spec, ctx);
    const copy = Buffer.concat(first);
    renderResult(matrix(3, 50, "b"), spec, ctx);
    assert.ok(Buffer.concat(first).equals(copy));
  });
});
