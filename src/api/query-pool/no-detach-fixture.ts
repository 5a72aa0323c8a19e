// Run by no-detach.test.ts in a child process, under V8's --trace-protector-invalidation. Builds a query pool whose
// queries split between two workers and an ingest decode pool; with the argument "run" it then evaluates range
// queries (split ones through pages and assists, small ones inline) and decodes remote-write bodies through the
// decode pool (recycling their outputs), so that every path that posts data between threads is taken. With "setup"
// it stops there: the test compares the two runs' invalidations.

import { setTimeout as sleep } from "node:timers/promises";
import { Labels } from "../../model/labels.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { encodeWriteRequestV1 } from "../../storage/remote/codec-v1-encode.ts";
import { DecodePool } from "../../storage/remote/decode-pool.ts";
import { SnappyEncoder } from "../../tsdb/encoding/snappy.ts";
import { QueryPool } from "./pool.ts";

const SERIES = 2000;
const STEP = 15_000;
const SAMPLES = 240;
const LIMITS = {
  maxWriteBytes: 1 << 24,
  maxSeriesPerWrite: 100_000,
  maxSamplesPerWrite: 1_000_000,
  maxLabelNamesPerSeries: 30,
};

const store = new MemoryStore();
const app = store.appender();
for (let i = 0; i < SERIES; i++) {
  const labels = Labels.fromStrings("__name__", "x", "job", `job-${i % 7}`, "instance", `h-${i}`);
  for (let k = 0; k <= SAMPLES; k++) app.append(labels, k * STEP, i + k);
}
app.commit();
const pool = new QueryPool({ workers: 3 });
const decodes = new DecodePool({ workers: 1 });
for (let i = 0; i < 200 && pool.figures().ready < 3; i++) await sleep(50);

if (process.argv[2] === "run") {
  const at = { kind: "range", start: 0, end: SAMPLES * STEP, step: STEP } as const;
  const render = { kind: "json", limit: 0, maxSeries: 100_000, stats: "" } as const;
  for (const query of ["sum by (job) (rate(x[5m]))", "sum(rate(x[5m]))", 'x{instance="h-3"}', "vector(1)"]) {
    const spec = { query, at, timeoutMs: 60_000, maxSamples: 50_000_000, render };
    await pool.run(spec, { org: "o", maxConcurrent: 4, maxQueued: 4, queryable: store });
  }
  const series = Array.from({ length: 500 }, (_, i) => ({
    labels: Labels.fromStrings("__name__", "up", "instance", `h-${i}`),
    samples: [{ t: 1000, v: i }],
  }));
  const body = new SnappyEncoder().encodeCopy(encodeWriteRequestV1({ series }));
  for (let i = 0; i < 3; i++) {
    const d = await decodes.decode(body, "v1", LIMITS);
    if (!("walked" in d)) throw new Error(`decode failed: ${JSON.stringify(d)}`);
    decodes.recycle(d);
  }
  console.log(`fixture: ran, assists ${pool.figures().assists}`);
}
await Promise.all([pool.close(), decodes.close()]);
