// What serving a large native-histogram selection to a query worker costs the main thread (the thread that accepts
// writes): 2,000 integer native histogram series (exponential schema, a dozen buckets) × 2 h at 15 s in a TSDB
// head, asked through the query pool as a range query over the 2 h. Per run: the main thread's busy time over the
// query (event-loop utilization) and its CPU time, its time answering the worker's data requests (and the longest
// one), the longest event-loop delay (and that of an idle second, the machine's own noise), and the query's wall
// time; the same query evaluated on the main thread for reference.
// Run: npm run bench -- histogram-pool   (node --cpu-prof ... for a profile of each thread)

import { readFileSync, rmSync } from "node:fs";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { QueryPool } from "../src/api/query-pool/pool.ts";
import type { QuerySpec } from "../src/api/query-pool/protocol.ts";
import { CounterResetHint, type Histogram } from "../src/model/histogram.ts";
import { Labels } from "../src/model/labels.ts";
import { Engine } from "../src/promql/engine/index.ts";
import type { SeriesRef } from "../src/storage/interface.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { Db } from "../src/tsdb/db.ts";
import { type Figure, printFigures } from "./harness.ts";

const SERIES = 2_000;
const STEP = 15_000;
const HOURS = 2;
const SAMPLES = (HOURS * 3_600_000) / STEP;
const START = 1_700_000_000_000;
const END = START + (SAMPLES - 1) * STEP;
/** Buckets of each histogram, in two spans. */
const BUCKETS = 12;
const RUNS = 5;
const QUERY = "histogram_quantile(0.9, sum by (job) (rate(h[5m])))";
/** The range query's step, ms. */
const QUERY_STEP = 60_000;
/** Samples the query may hold: far above this selection (2,000 × 480). */
const MAX_SAMPLES = 50_000_000;

// The histogram of series `i` at its sample `k`: counts growing by a few per bucket per scrape.
function histogram(i: number, k: number): Histogram {
  const buckets: number[] = [];
  let count = 0;
  for (let b = 0; b < BUCKETS; b++) {
    const c = k * ((b + i) % 5) + b;
    buckets.push(c);
    count += c;
  }
  return {
    integer: true,
    counterResetHint: CounterResetHint.unknown,
    schema: 3,
    zeroThreshold: 2 ** -128,
    zeroCount: k,
    count: count + k,
    sum: k * 1.5 * (i + 1),
    positiveSpans: [
      { offset: 0, length: BUCKETS / 2 },
      { offset: 2, length: BUCKETS / 2 },
    ],
    negativeSpans: [],
    positiveBuckets: buckets,
    negativeBuckets: [],
    customValues: [],
  };
}

function load(db: Db): void {
  const app = db.appender();
  const refs: SeriesRef[] = [];
  for (let i = 0; i < SERIES; i++) {
    const labels = Labels.fromStrings("__name__", "h", "job", `j${i % 10}`, "instance", `i${i}`);
    refs.push(app.appendHistogram?.(labels, START, histogram(i, 0)) as SeriesRef);
  }
  for (let k = 1; k < SAMPLES; k++) {
    for (let i = 0; i < SERIES; i++) app.appendHistogramRef?.(refs[i], START + k * STEP, histogram(i, k));
  }
  const r = app.commit();
  if (r.firstRejection !== null) throw new Error(`load: ${r.firstRejection}`);
}

// The main thread's CPU time so far, ms (Linux: its schedstat; NaN elsewhere). Unlike its busy wall time, this does
// not grow when other processes share the cores.
function mainThreadCpu(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

// The longest event-loop delay, the main thread's busy time (event-loop utilization) and CPU time, all ms, while
// `fn` runs.
async function mainThreadCost(fn: () => Promise<unknown>): Promise<{ stall: number; busy: number; cpu: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await sleep(20); // the histogram's timer must be running before a synchronous stall
  const elu = performance.eventLoopUtilization();
  const cpu = mainThreadCpu();
  await fn();
  const used = performance.eventLoopUtilization(elu);
  const cpuUsed = mainThreadCpu() - cpu;
  await sleep(10); // a stall at the very end is recorded when the timer fires next
  h.disable();
  return { stall: h.max / 1e6, busy: used.active, cpu: cpuUsed };
}

const dir = scratchDir("contrail-bench-hpool-");
const db = Db.open({ dir, autoCompact: false, walFsync: "never" });
const pool = new QueryPool({ workers: 1, assists: false });
const figures: Figure[] = [];
try {
  let t0 = performance.now();
  load(db);
  console.log(
    `loaded ${SERIES} histogram series × ${SAMPLES} samples in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  while (pool.figures().ready < pool.size) await sleep(10);
  const spec: QuerySpec = {
    query: QUERY,
    at: { kind: "range", start: START, end: END, step: QUERY_STEP },
    timeoutMs: 120_000,
    maxSamples: MAX_SAMPLES,
    render: { kind: "json", limit: 0, maxSeries: Number.MAX_SAFE_INTEGER, stats: "" },
  };
  const sub = { org: "bench", maxConcurrent: 1, maxQueued: 1, queryable: db };
  let body = 0;
  const run = async () => {
    const out = await pool.run(spec, sub);
    body = out.reduce((n, b) => n + b.length, 0);
  };
  await run();
  const wall: number[] = [];
  const busy: number[] = [];
  const cpu: number[] = [];
  const stall: number[] = [];
  const serve: number[] = [];
  const serveMax: number[] = [];
  const requests: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const before = pool.figures().serve;
    t0 = performance.now();
    const cost = await mainThreadCost(run);
    wall.push(performance.now() - t0);
    const after = pool.figures().serve;
    busy.push(cost.busy);
    cpu.push(cost.cpu);
    stall.push(cost.stall);
    serve.push((after.seconds - before.seconds) * 1000);
    serveMax.push(after.maxSeconds * 1000);
    requests.push(after.count - before.count);
  }
  console.log(`answer ${body} bytes; data requests per query: ${requests.join(", ")}`);
  const idle: number[] = [];
  for (let i = 0; i < 3; i++) idle.push((await mainThreadCost(() => sleep(1000))).stall);
  const engine = new Engine({ maxSamples: MAX_SAMPLES });
  const inThread: number[] = [];
  for (let i = 0; i < 3; i++) {
    const cost = await mainThreadCost(() => engine.rangeQuery(db, QUERY, { start: START, end: END, step: QUERY_STEP }));
    inThread.push(cost.stall);
  }
  figures.push({ name: "query via the pool, wall", unit: "ms", runs: wall, higherIsBetter: false });
  figures.push({ name: "main thread busy during the query", unit: "ms", runs: busy, higherIsBetter: false });
  figures.push({ name: "main thread CPU during the query", unit: "ms", runs: cpu, higherIsBetter: false });
  figures.push({ name: "main thread answering data requests", unit: "ms", runs: serve, higherIsBetter: false });
  figures.push({ name: "longest data request (so far)", unit: "ms", runs: serveMax, higherIsBetter: false });
  figures.push({ name: "longest event-loop delay, idle 1 s", unit: "ms", runs: idle, higherIsBetter: false });
  figures.push({ name: "longest event-loop delay, pool", unit: "ms", runs: stall, higherIsBetter: false });
  figures.push({ name: "longest event-loop delay, in thread", unit: "ms", runs: inThread, higherIsBetter: false });
} finally {
  await pool.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
printFigures(`${QUERY} over ${SERIES} native histogram series × ${HOURS} h`, figures);
