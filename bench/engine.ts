// PromQL engine throughput over the in-memory store: 10,000 series holding one hour of 15 s samples (counters
// `x{job, instance}` in 10 jobs, and a classic histogram `h_bucket{instance, le}` with the 12 seed buckets and +Inf),
// evaluated as range queries at a 15 s step over that hour. Reports samples read per second and the time per
// query. Median of 5 runs.
// Run: npm run bench -- engine

import { Labels } from "../src/model/labels.ts";
import { Engine } from "../src/promql/engine/index.ts";
import { MemoryStore } from "../src/storage/memory.ts";
import { type Figure, printFigures, timeRuns } from "./harness.ts";

const SERIES = 10_000;
const BUCKETS = ["0.005", "0.025", "0.05", "0.1", "0.2", "0.5", "1", "5", "15", "30", "60", "120", "+Inf"];
const HISTOGRAM_INSTANCES = 62; // 62 × 13 = 806 bucket series
const JOBS = 10;
const STEP = 15_000;
const HOUR = 3_600_000;
const START = 1_700_000_000_000;

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

function load(store: MemoryStore): number {
  const rnd = lcg(7);
  const app = store.appender();
  const counters = SERIES - HISTOGRAM_INSTANCES * BUCKETS.length;
  let samples = 0;
  const refs = [];
  const values: number[] = [];
  for (let i = 0; i < counters; i++) {
    const labels = Labels.fromStrings("__name__", "x", "job", `job-${i % JOBS}`, "instance", `host-${i}:9100`);
    refs.push(app.append(labels, START, 0));
    values.push(0);
  }
  const bucketRefs = [];
  for (let i = 0; i < HISTOGRAM_INSTANCES; i++) {
    for (const le of BUCKETS) {
      bucketRefs.push(
        app.append(Labels.fromStrings("__name__", "h_bucket", "instance", `host-${i}:9100`, "le", le), START, 0),
      );
    }
  }
  samples += refs.length + bucketRefs.length;
  const cumulative = new Float64Array(bucketRefs.length);
  for (let t = START + STEP; t <= START + HOUR; t += STEP) {
    for (let i = 0; i < refs.length; i++) {
      values[i] += Math.floor(rnd() * 100);
      app.appendRef(refs[i], t, values[i]);
    }
    for (let h = 0; h < HISTOGRAM_INSTANCES; h++) {
      let running = 0;
      for (let b = 0; b < BUCKETS.length; b++) {
        running += Math.floor(rnd() * 5);
        const k = h * BUCKETS.length + b;
        cumulative[k] += running;
        app.appendRef(bucketRefs[k], t, cumulative[k]);
      }
    }
    samples += refs.length + bucketRefs.length;
  }
  app.commit();
  return samples;
}

const store = new MemoryStore();
const loadStart = process.hrtime.bigint();
const stored = load(store);
const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;
console.log(`loaded ${store.numSeries} series, ${stored} samples in ${loadMs.toFixed(0)} ms`);

const engine = new Engine();
const queries = [
  { name: "sum by (job) (rate(x[5m]))", query: "sum by (job) (rate(x[5m]))" },
  { name: "histogram_quantile sum by (le) rate", query: "histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))" },
];
const figures: Figure[] = [];
for (const { name, query } of queries) {
  let loaded = 0;
  const range = { start: START, end: START + HOUR, step: STEP };
  const times = await timeRuns(async () => {
    const r = await engine.rangeQuery(store, query, range);
    loaded = r.stats.samplesLoaded;
  });
  figures.push({ name: `${name}: time`, unit: "ms", runs: times, higherIsBetter: false });
  figures.push({
    name: `${name}: samples/s`,
    unit: "samples/s",
    runs: times.map((ms) => loaded / (ms / 1000)),
    higherIsBetter: true,
  });
}
printFigures("PromQL range queries, 10,000 series × 1 h at 15 s, step 15 s", figures);
