// Native histograms written by the remote-storage appender, read back by a real Prometheus (Debian's 2.42, its
// remote-write receiver with native histograms on): integer and float histograms, positive and negative spans with
// gaps, the zero bucket, custom bucket bounds left out (2.42 has none), and float samples in the same request.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CounterResetHint, type Histogram } from "../../model/histogram.ts";
import { Labels } from "../../model/labels.ts";
import { IDLE_PROMETHEUS_CONFIG, type Peer, startPrometheus } from "../../testkit/peers.ts";
import { BackendTenantStore } from "./backend-store.ts";

let dir: string;
let prom: Peer;
let store: BackendTenantStore;
const warnings: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "contrail-histogram-interop-"));
  prom = await startPrometheus({
    dir,
    config: () => IDLE_PROMETHEUS_CONFIG,
    flags: ["--web.enable-remote-write-receiver", "--enable-feature=native-histograms"],
  });
  // Prometheus's receiver path is the single-node VictoriaMetrics one; the org label is harmless to it.
  store = new BackendTenantStore({
    spec: { kind: "victoriametrics", url: prom.url },
    dataDir: join(dir, "contrail"),
    sender: { batchWaitMs: 1 },
    warn: (line) => warnings.push(line),
  });
});

after(async () => {
  await store?.close();
  await prom?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const BASE: Omit<Histogram, "integer" | "count" | "sum" | "zeroCount" | "positiveBuckets" | "negativeBuckets"> = {
  counterResetHint: CounterResetHint.notCounterReset,
  schema: 0,
  zeroThreshold: 0.001,
  positiveSpans: [
    { offset: 0, length: 2 },
    { offset: 1, length: 1 },
  ],
  negativeSpans: [{ offset: 1, length: 1 }],
  customValues: [],
};

/** Prometheus's answer for `query` at `t` (ms): the first result's histogram, or its float value. */
async function read(query: string, t: number): Promise<unknown> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const url = `${prom.url}/api/v1/query?query=${encodeURIComponent(query)}&time=${t / 1000}`;
    const body = (await (await fetch(url)).json()) as {
      data: { result: { histogram?: [number, unknown]; value?: [number, string] }[] };
    };
    const first = body.data.result[0];
    if (first !== undefined) return first.histogram?.[1] ?? Number(first.value?.[1]);
    if (Date.now() > deadline) assert.fail(`no result for ${query} within 10 s: ${warnings.join("; ")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("integer and float native histograms and float samples reach Prometheus as written", async () => {
  const t = Date.now() - 60_000;
  const integer: Histogram = {
    ...BASE,
    integer: true,
    count: 12,
    sum: 40.5,
    zeroCount: 1,
    positiveBuckets: [2, 5, 3],
    negativeBuckets: [1],
  };
  const float: Histogram = { ...integer, integer: false, count: 8, zeroCount: 0.5, positiveBuckets: [1.5, 2, 2.5] };
  const app = store.appender("acme");
  app.appendHistogram!(Labels.fromStrings("__name__", "lat_int"), t, integer);
  const ref = app.appendHistogram!(Labels.fromStrings("__name__", "lat_float"), t, float);
  app.appendHistogramRef!(ref, t + 1000, { ...float, count: 9, positiveBuckets: [1.5, 3, 2.5] });
  app.append(Labels.fromStrings("__name__", "plain"), t, 3.25);
  assert.equal(app.commit().appended, 4);

  assert.equal(await read("plain", t), 3.25);
  const h = (await read("lat_int", t)) as { count: string; sum: string; buckets: [number, string, string, string][] };
  assert.equal(h.count, "12");
  assert.equal(h.sum, "40.5");
  // Schema 0: bucket i holds (2^(i-1), 2^i]; positive buckets 0, 1 and 3 (a gap of one), negative bucket 1.
  assert.deepEqual(
    h.buckets.map((b) => [b[1], b[2], b[3]]),
    [
      ["-2", "-1", "1"],
      ["-0.001", "0.001", "1"],
      ["0.5", "1", "2"],
      ["1", "2", "5"],
      ["4", "8", "3"],
    ],
  );
  const f = (await read("lat_float", t + 1000)) as { count: string; buckets: [number, string, string, string][] };
  assert.equal(f.count, "9");
  assert.deepEqual(
    f.buckets.filter((b) => Number(b[1]) > 0).map((b) => b[3]),
    ["1.5", "3", "2.5"],
  );
});
