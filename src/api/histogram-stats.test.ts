// Native histograms in the query API's sample limit and `stats=all` figures: a histogram weighs its size in float
// samples, as Prometheus 3 counts it. The histograms here have one span of two buckets: Prometheus's
// FloatHistogram.Size gives 168 + 8 * 3 = 192 bytes, so a point weighs (192 + 8) / 16 = 12 samples and a sample
// of a step's vector 1 + 192 / 16 = 13 (promql/value.go). The figures below are worked out by hand from those
// rules and from where Prometheus's engine counts (promql/engine.go), as said at each case.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Histogram } from "../model/histogram.ts";
import { emptyHistogram } from "../model/histogram-buckets.ts";
import { Labels } from "../model/labels.ts";
import {
  MemoryTenants,
  orgRequest,
  startTestServer,
  type TestControl,
  type TestServer,
  testControl,
} from "./test-support.ts";

const M = 60_000;
/** The server's "now": the last sample's time. */
const NOW = 10 * M;
const POINT = 12;
const VECTOR = 13;
/** A limit of samples that 11 float points fit and 11 histogram points (132) do not. */
const TIGHT_LIMIT = 100;

let control: TestControl;
let server: TestServer;
let token: string;
let tightToken: string;

/** `h{s}` holds a histogram every minute over [0, 10m] (11 each), `f{s}` a float at the same times. */
function loadFixture(store: MemoryTenants, org: string): void {
  const app = store.appender(org);
  for (let i = 0; i <= 10; i++) {
    const h: Histogram = {
      ...emptyHistogram(0),
      integer: true,
      count: 4 * (i + 1),
      sum: 10 * (i + 1),
      positiveSpans: [{ offset: 0, length: 2 }],
      positiveBuckets: [2 * (i + 1), 2 * (i + 1)],
    };
    for (const s of ["a", "b"]) {
      app.appendHistogram?.(Labels.fromStrings("__name__", "h", "s", s), i * M, h);
      app.append(Labels.fromStrings("__name__", "f", "s", s), i * M, i);
    }
  }
  app.commit();
}

before(async () => {
  control = testControl();
  token = control.org("acme");
  tightToken = control.org("tight");
  const store = new MemoryTenants();
  loadFixture(store, "acme");
  loadFixture(store, "tight");
  server = await startTestServer(control, store, {
    now: () => NOW,
    limitsFor: (org) => (org === "tight" ? { maxSamples: TIGHT_LIMIT } : undefined),
  });
});

after(async () => {
  await server.close();
  control.cleanup();
});

function query(org: string, bearer: string, params: Record<string, string>) {
  const path = "start" in params ? "/api/v1/query_range" : "/api/v1/query";
  return orgRequest(server.url, org, bearer, `${path}?${new URLSearchParams({ ...params, stats: "all" })}`);
}

describe("native histograms in the query API's sample accounting", () => {
  const range = { start: "0", end: String(NOW / 1000), step: "60" };
  // [what, parameters, totalQueryableSamples, peakSamples]
  const cases: [string, Record<string, string>, number, number][] = [
    // evalSeries adds a point's size per series and step: 2 series, 1 step.
    ["an instant selector", { query: "h" }, 2 * POINT, 2 * POINT],
    // 11 steps of one series.
    ["a selector over a range", { query: 'h{s="a"}', ...range }, 11 * POINT, 11 * POINT],
    // matrixIterSlice adds each loaded sample's size: two windows (0, 10m] of 10 samples.
    ["a range selector", { query: "h[10m]" }, 20 * POINT, 20 * POINT],
    // rangeEval: both sides hold 2 points (48), gatherVector adds 1 per input sample (4), and the step's output
    // vector counts 1 + 192 / 16 per histogram (Vector.TotalSamples): 48 + 4 + 26.
    ["a binary operation", { query: "h + on(s) h" }, 4 * POINT, 4 * POINT + 4 + 2 * VECTOR],
    // histogram_count's selector reads histograms without buckets (168 bytes: (168 + 8) / 16 = 11 each); the
    // call's rangeEval then gathers 2 inputs and produces 2 floats: 22 + 2 + 2.
    ["histogram_count", { query: "histogram_count(h)" }, 2 * 11, 2 * 11 + 2 + 2],
    // rangeEvalAgg adds nothing while aggregating: the input, 2 series of 11 points, is the peak.
    ["an aggregation over a range", { query: "sum(h)", ...range }, 22 * POINT, 22 * POINT],
  ];
  for (const [what, params, total, peak] of cases) {
    test(`${what}: ${total} queryable samples, ${peak} at the peak`, async () => {
      const r = await query("acme", token, params);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.data.stats.samples, { totalQueryableSamples: total, peakSamples: peak });
    });
  }

  test("a query that fits the org's sample limit as floats is refused over histograms, counted by size", async () => {
    const floats = await query("tight", tightToken, { query: 'f{s="a"}', ...range });
    assert.equal(floats.status, 200, floats.text);
    assert.equal(floats.json.data.stats.samples.peakSamples, 11);
    const hists = await query("tight", tightToken, { query: 'h{s="a"}', ...range });
    assert.equal(hists.status, 422);
    assert.deepEqual(hists.json, {
      status: "error",
      errorType: "execution",
      error: "query processing would load too many samples into memory in query execution",
    });
  });
});
