// Queries off the ingest path: the API server with its query pool, measured over HTTP on loopback.
// - `1+1` latency (p50, p99) alone, beside 2 heavy queries and beside 4 (same org, and for 4 also another org's);
//   heavy = the instant query `count_over_time(vector(1)[2h:1ms])` twelve times over (`a + b + ...`), about 2 s
//   of CPU.
// - Two heavy queries at once against one alone: the ratio of wall times, and (Linux) of on-CPU times: the busiest
//   thread's CPU time with two at once over the one thread's alone, which is the wall ratio two idle cores would
//   give, whatever else the machine runs.
// - How long a query runs on after its client goes away (abort to worker free), and after its timeout.
// - The main thread's longest event-loop delay while a worker reads a large selection (20,000 series × 360
//   samples from the TSDB head, served in pages), the longest single page served, and the same query evaluated on
//   the main thread; an idle second gives the machine's own noise. Also what the endpoints that stay on the main
//   thread (series, labels, label values, federate, TSDB status) cost over that tenant.
// Each case runs with the default pool (cores + 2 workers) and with one worker per core.
// Run: npm run bench -- query-pool

import { readdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import { QueryPool } from "../src/api/query-pool/pool.ts";
import { createApiServer } from "../src/api/server.ts";
import { authenticate, createOrg, createToken, localUser, openControlDb } from "../src/control/index.ts";
import { Labels } from "../src/model/labels.ts";
import { Engine } from "../src/promql/engine/index.ts";
import { EmbeddedTenantStore } from "../src/storage/tenants.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { type Figure, median, printFigures } from "./harness.ts";

// The heavy query, twelve times over: about 2 s of CPU (`[3h:1ms]` passes the default sample limit).
const HEAVY = Array(12).fill("count_over_time(vector(1)[2h:1ms])").join(" + ");
const CHEAP = "1+1";
const SERIES = 20_000;
const SAMPLES = 360;
const STEP = 15_000;
const START = 1_700_000_000_000;
const END = START + (SAMPLES - 1) * STEP;
const LARGE = "sum(rate(x[5m]))";
const CHEAP_ALONE = 200;
const RANGE = `start=${START / 1000}&end=${END / 1000}`;
// The org endpoints that stay on the main thread, each over every series of the large tenant.
const MAIN_THREAD_ENDPOINTS: readonly [string, string][] = [
  ["series", `api/v1/series?match[]=x&${RANGE}`],
  ["label names", `api/v1/labels?${RANGE}`],
  ["label values", `api/v1/label/instance/values?${RANGE}`],
  ["federate", "federate?match[]=x"],
  ["tsdb status", "api/v1/status/tsdb"],
];

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Bench {
  readonly url: string;
  readonly token: Record<string, string>;
  readonly pool: QueryPool;
  readonly store: EmbeddedTenantStore;
  close(): Promise<void>;
}

async function start(dir: string, workers: number): Promise<Bench> {
  const control = openControlDb({ dataDir: dir });
  const admin = localUser(control)!.id;
  const token: Record<string, string> = {};
  for (const org of ["acme", "other"]) {
    try {
      createOrg(control, { slug: org, admin });
    } catch {
      // Made by an earlier run of the same data directory.
    }
    token[org] = createToken(control, { org, scopes: ["read"] }).token;
  }
  const store = new EmbeddedTenantStore({ dataDir: dir, db: { autoCompact: false } });
  const pool = new QueryPool({ workers });
  const { app } = createApiServer({
    store,
    authenticate: (t) => authenticate(control, t),
    queryPool: pool,
    now: () => END, // federation reads the 5 minutes before "now"
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  while (pool.figures().ready < pool.size) await sleep(10);
  return {
    url: `http://127.0.0.1:${address.port}`,
    token,
    pool,
    store,
    close: async () => {
      await app.close();
      await pool.close();
      store.close();
      control.close();
    },
  };
}

async function ask(
  b: Bench,
  query: string,
  opts: { org?: string; range?: boolean; signal?: AbortSignal; timeout?: string } = {},
): Promise<{ status: number; ms: number }> {
  const org = opts.org ?? "acme";
  const params = new URLSearchParams({ query });
  if (opts.range) {
    params.set("start", String(START / 1000));
    params.set("end", String(END / 1000));
    params.set("step", "15");
  } else {
    params.set("time", String(END / 1000));
  }
  if (opts.timeout !== undefined) params.set("timeout", opts.timeout);
  const started = performance.now();
  const r = await fetch(`${b.url}/prometheus/${org}/api/v1/${opts.range ? "query_range" : "query"}?${params}`, {
    headers: { authorization: `Bearer ${b.token[org]}` },
    signal: opts.signal,
  });
  await r.arrayBuffer();
  if (r.status !== 200 && opts.timeout === undefined) throw new Error(`${query}: HTTP ${r.status}`);
  return { status: r.status, ms: performance.now() - started };
}

// `1+1` latencies (ms) asked one after the other while `heavy` queries of the org run, until they end.
async function cheapBeside(b: Bench, heavy: number, org: string): Promise<{ cheap: number[] }> {
  const running = Array.from({ length: heavy }, () => ask(b, HEAVY));
  let done = false;
  const all = Promise.all(running).then(() => {
    done = true;
  });
  while (b.pool.figures().busy < Math.min(heavy, b.pool.perOrgCap)) await sleep(1);
  const cheap: number[] = [];
  while (!done) cheap.push((await ask(b, CHEAP, { org })).ms);
  await all;
  return { cheap };
}

// Wall time from a client's abort (or a query's deadline) to its worker being free, ms.
async function stopLatency(b: Bench, how: "abort" | "timeout", query = HEAVY, range = false): Promise<number> {
  const client = new AbortController();
  const submitted = performance.now();
  const opts = how === "abort" ? { signal: client.signal, range } : { timeout: "500ms", range };
  const q = ask(b, query, opts).catch(() => null);
  while (b.pool.figures().busy === 0) await sleep(1);
  let from = submitted + 500;
  if (how === "abort") {
    await sleep(300);
    from = performance.now();
    client.abort();
  }
  while (b.pool.figures().busy > 0) await sleep(0);
  const ms = performance.now() - from;
  await q;
  return ms;
}

// CPU time (ms) each thread of this process has run so far, by thread id (Linux; empty elsewhere).
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync("/proc/self/task")) {
      const stat = readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8");
      out.set(tid, Number(stat.split(" ")[0]) / 1e6);
    }
  } catch {
    // Not Linux, or a thread ended while being read: no figure.
  }
  return out;
}

// The largest per-thread CPU times (ms) spent between two `threadCpu()` readings.
function busiest(before: Map<string, number>, after: Map<string, number>): number[] {
  return [...after].map(([tid, ms]) => ms - (before.get(tid) ?? 0)).sort((a, b) => b - a);
}

/** Iterations of the CPU probe's loop: about half a second. */
const PROBE_LOOPS = 2e8;

// Wall time of two threads running the same CPU loop at once over one thread alone: what this machine gives this
// process right now (1.0 on two idle cores; shared machines and per-session CPU shares give more).
async function parallelCapacity(): Promise<number> {
  const code = `const { parentPort } = require("node:worker_threads");
parentPort.on("message", () => { let x = 0; for (let i = 0; i < ${PROBE_LOOPS}; i++) x = (x + i * 7) % 1000003; parentPort.postMessage(x); });`;
  const threads = [new Worker(code, { eval: true }), new Worker(code, { eval: true })];
  const run = (w: Worker) =>
    new Promise((resolve) => {
      w.once("message", resolve);
      w.postMessage(0);
    });
  let t0 = performance.now();
  await run(threads[0]);
  const one = performance.now() - t0;
  t0 = performance.now();
  await Promise.all(threads.map(run));
  const two = performance.now() - t0;
  await Promise.all(threads.map((w) => w.terminate()));
  return two / one;
}

function loadLarge(store: EmbeddedTenantStore): void {
  const app = store.appender("acme");
  const refs = [];
  for (let i = 0; i < SERIES; i++) {
    refs.push(app.append(Labels.fromStrings("__name__", "x", "job", `j${i % 10}`, "instance", `i${i}`), START, 0));
  }
  for (let k = 1; k < SAMPLES; k++) for (let i = 0; i < SERIES; i++) app.appendRef(refs[i], START + k * STEP, k * i);
  app.commit();
}

// The longest event-loop delay (ms) while `fn` runs.
async function longestStall(fn: () => Promise<unknown>): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await sleep(20); // the histogram's timer must be running before a synchronous stall
  await fn();
  await sleep(10); // a stall at the very end is recorded when the timer fires next
  h.disable();
  return h.max / 1e6;
}

const figures: Figure[] = [];
const lines: string[] = [];
const cores = availableParallelism();
for (const workers of [cores + 2, cores]) {
  const dir = scratchDir("contrail-bench-pool-");
  const b = await start(dir, workers);
  const tag = `${workers} workers`;
  try {
    for (let i = 0; i < 20; i++) await ask(b, CHEAP);
    const alone: number[] = [];
    for (let i = 0; i < CHEAP_ALONE; i++) alone.push((await ask(b, CHEAP)).ms);
    const one: number[] = [];
    const two: number[] = [];
    const cpuRatio: number[] = [];
    for (let run = 0; run < 3; run++) {
      let cpu = threadCpu();
      one.push((await ask(b, HEAVY)).ms);
      const alone = busiest(cpu, threadCpu())[0];
      cpu = threadCpu();
      const started = performance.now();
      await Promise.all([ask(b, HEAVY), ask(b, HEAVY)]);
      two.push(performance.now() - started);
      cpuRatio.push(busiest(cpu, threadCpu())[0] / alone);
    }
    const rows: [string, number[]][] = [["alone", alone]];
    for (let run = 0; run < 3; run++)
      rows.push([`beside 2 heavy (run ${run + 1})`, (await cheapBeside(b, 2, "acme")).cheap]);
    rows.push(["beside 4 heavy, same org", (await cheapBeside(b, 4, "acme")).cheap]);
    rows.push(["beside 4 heavy, other org", (await cheapBeside(b, 4, "other")).cheap]);
    for (const [name, ms] of rows) {
      lines.push(
        `${tag}: 1+1 ${name}: n=${ms.length} p50 ${percentile(ms, 50).toFixed(1)} ms, p99 ${percentile(ms, 99).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms`,
      );
    }
    figures.push({ name: `${tag}: one heavy query`, unit: "ms", runs: one, higherIsBetter: false });
    figures.push({ name: `${tag}: two heavy queries at once`, unit: "ms", runs: two, higherIsBetter: false });
    const capacity = await parallelCapacity();
    lines.push(
      `${tag}: two heavy at once / one alone = ${(median(two) / median(one)).toFixed(2)} wall (a pure CPU loop on two threads / one, just after: ${capacity.toFixed(2)}); on-CPU ${cpuRatio.map((r) => r.toFixed(2)).join(", ")}`,
    );
    const aborts: number[] = [];
    const timeouts: number[] = [];
    for (let i = 0; i < 5; i++) aborts.push(await stopLatency(b, "abort"));
    for (let i = 0; i < 5; i++) timeouts.push(await stopLatency(b, "timeout"));
    figures.push({ name: `${tag}: client abort to worker free`, unit: "ms", runs: aborts, higherIsBetter: false });
    figures.push({ name: `${tag}: timeout to worker free`, unit: "ms", runs: timeouts, higherIsBetter: false });
    if (workers === cores + 2) {
      const t0 = performance.now();
      loadLarge(b.store);
      lines.push(`loaded ${SERIES} series × ${SAMPLES} samples in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      await ask(b, LARGE, { range: true });
      const largeAborts: number[] = [];
      for (let i = 0; i < 5; i++) largeAborts.push(await stopLatency(b, "abort", LARGE, true));
      figures.push({
        name: `${LARGE}: client abort to worker free`,
        unit: "ms",
        runs: largeAborts,
        higherIsBetter: false,
      });
      const idle: number[] = [];
      for (let i = 0; i < 3; i++) idle.push(await longestStall(() => sleep(1000)));
      const pooled: number[] = [];
      const pooledTime: number[] = [];
      const serveMax: number[] = [];
      for (let i = 0; i < 3; i++) {
        const before = b.pool.figures().serve;
        let ms = 0;
        pooled.push(
          await longestStall(async () => {
            ms = (await ask(b, LARGE, { range: true })).ms;
          }),
        );
        pooledTime.push(ms);
        const after = b.pool.figures().serve;
        serveMax.push(after.maxSeconds * 1000);
        lines.push(
          `${LARGE}: ${after.count - before.count} data requests, ${((after.seconds - before.seconds) * 1000).toFixed(0)} ms of main thread in all, ${after.buckets[3] - before.buckets[3]} of them within 5 ms`,
        );
      }
      for (const [name, path] of MAIN_THREAD_ENDPOINTS) {
        const runs: number[] = [];
        for (let i = 0; i < 3; i++) {
          const started = performance.now();
          const r = await fetch(`${b.url}/prometheus/acme/${path}`, {
            headers: { authorization: `Bearer ${b.token.acme}` },
          });
          await r.arrayBuffer();
          if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status}`);
          runs.push(performance.now() - started);
        }
        figures.push({ name: `main thread: ${name}`, unit: "ms", runs, higherIsBetter: false });
      }
      const engine = new Engine();
      const inThread: number[] = [];
      for (let i = 0; i < 3; i++) {
        inThread.push(
          await longestStall(() =>
            engine.rangeQuery(b.store.queryable("acme"), LARGE, { start: START, end: END, step: STEP }),
          ),
        );
      }
      figures.push({ name: `${LARGE} over HTTP via the pool`, unit: "ms", runs: pooledTime, higherIsBetter: false });
      figures.push({ name: "longest event-loop delay, idle server", unit: "ms", runs: idle, higherIsBetter: false });
      figures.push({ name: "longest event-loop delay, pool", unit: "ms", runs: pooled, higherIsBetter: false });
      figures.push({ name: "longest data request served (pool)", unit: "ms", runs: serveMax, higherIsBetter: false });
      figures.push({ name: "longest event-loop delay, in thread", unit: "ms", runs: inThread, higherIsBetter: false });
    }
  } finally {
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(`\n== query pool on ${cores} cores ==`);
for (const l of lines) console.log(l);
printFigures("query pool", figures);
