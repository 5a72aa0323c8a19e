// The engine fuzz's worker (test support, started by fuzz.test.ts): evaluates generated queries over a small
// in-memory store at random instant and range grids with a small work bound, and reports each case before and
// after it runs, so the test can stop a case that never returns and name it. Not imported by production code.

import { parentPort, workerData } from "node:worker_threads";
import { isContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { STALE_NAN } from "../../model/sample.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { Random } from "../../testkit/random.ts";
import { FUNCTIONS } from "../parser/index.ts";
import { type GenMetric, PromqlGenerator } from "../parser/query-gen.ts";
import { lookupFunction } from "./functions/index.ts";
import { Engine, type QueryValue } from "./index.ts";

/** What the test asks of the worker. */
export interface FuzzJob {
  readonly seed: number;
  readonly cases: number;
  /** Per-query limits: the work bound every case must respect. */
  readonly maxSamples: number;
  readonly timeoutMs: number;
  /** How far past its timeout a case may run before it counts as unbounded, ms. */
  readonly slackMs: number;
}

/** A case about to run (`start`), its verdict (`done`: `failure` is null when it passed), or the end. */
export type FuzzMessage =
  | { readonly kind: "start"; readonly index: number; readonly description: string }
  | {
      readonly kind: "done";
      readonly index: number;
      readonly outcome: "value" | "error";
      readonly failure: string | null;
    }
  | { readonly kind: "end" };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Codes an evaluation may fail with; `internal` (or any other) is a bug. */
const EXPECTED_CODES = new Set([
  "parse_error",
  "bad_data",
  "invalid_regex",
  "execution",
  "too_many_samples",
  "query_timeout",
]);
/** Functions the plan folds into numbers: in the parser's table but not the engine's. */
const FOLDED = new Set(["start", "end", "range", "step"]);

const METRICS: readonly GenMetric[] = [
  { name: "http_requests_total", labels: ["job", "instance"] },
  { name: "g", labels: ["a"] },
  { name: "h_bucket", labels: ["job", "le"] },
  { name: "target_info", labels: ["job", "instance", "version"] },
  { name: "sparse", labels: ["x"] },
  { name: "nothing", labels: ["job"] },
];

/** Two hours of 15 s samples: counters with a reset, a gauge with NaN, infinities and a staleness marker, a
 * classic histogram, an info metric and a sparse series. */
function fuzzStore(): MemoryStore {
  const store = new MemoryStore();
  const app = store.appender();
  const series = (record: Record<string, string>) => Labels.fromRecord(record);
  const counters = ["a", "b"].map((i) => series({ __name__: "http_requests_total", job: "api", instance: i }));
  const gauge = series({ __name__: "g", a: "1" });
  const buckets = ["0.1", "1", "+Inf"].map((le) => series({ __name__: "h_bucket", job: "api", le }));
  const info = series({ __name__: "target_info", job: "api", instance: "a", version: "1" });
  for (let k = 0, t = 0; t <= 2 * HOUR; k++, t += 15_000) {
    for (const [i, l] of counters.entries()) app.append(l, t, k === 200 ? 3 : (k % 200) * (i + 1) * 10);
    const special = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, STALE_NAN];
    app.append(gauge, t, k % 97 < special.length ? special[k % 97] : Math.sin(k) * 100);
    for (const [i, l] of buckets.entries()) app.append(l, t, k * (i + 1));
    if (k % 40 === 0) app.append(info, t, 1);
    if (k % 120 === 0) app.append(series({ __name__: "sparse", x: "y" }), t, k);
  }
  app.commit();
  return store;
}

/** Ordinary query times first, then extreme ones: the edges of the evaluable range and beyond 2^53 ms. */
const TIMES = [0, 30 * MINUTE, HOUR, 2 * HOUR, -HOUR, 1e12, 8.64e15, -8.64e15, 2 ** 53, 1e20, -1e20];
const STEPS = [1, 1000, 15_000, MINUTE, HOUR];

/** A random grid: an instant time, or start, end and step of a range query (ms). */
function grid(rnd: Random): { start: number; end: number; step: number } {
  const start = rnd.chance(0.8) ? rnd.pick(TIMES.slice(0, 4)) + rnd.int(0, 100) * 1000 : rnd.pick(TIMES);
  if (rnd.chance(0.5)) return { start, end: start, step: 0 };
  const step = rnd.pick(STEPS);
  return { start, end: start + rnd.int(0, 120) * step + (rnd.chance(0.2) ? rnd.int(0, step) : 0), step };
}

/** Why a successful result breaks the engine's contract, or null when it holds. */
function resultProblem(v: QueryValue, g: { start: number; end: number; step: number }): string | null {
  if (g.step === 0) {
    if (v.type === "vector" && v.samples.some((s) => s.t !== g.start)) return "vector sample not at the query time";
    return null;
  }
  if (v.type !== "matrix") return `range query returned a ${v.type}`;
  const seen = new Set<string>();
  for (const s of v.series) {
    const key = s.labels.toString();
    if (seen.has(key)) return `two series with labels ${key}`;
    seen.add(key);
    if (s.t.length !== s.v.length) return "timestamps and values differ in length";
    for (let i = 0; i < s.t.length; i++) {
      const t = s.t[i];
      if (t < g.start || t > g.end || (t - g.start) % g.step !== 0) return `point at ${t} is off the grid`;
      if (i > 0 && t <= s.t[i - 1]) return "timestamps not increasing";
    }
  }
  return null;
}

async function run(job: FuzzJob, port: NonNullable<typeof parentPort>): Promise<void> {
  const store = fuzzStore();
  const functions = [...FUNCTIONS.values()].filter((f) => lookupFunction(f.name) !== undefined || FOLDED.has(f.name));
  const rnd = new Random(job.seed);
  const gen = new PromqlGenerator(rnd, { functions, metrics: METRICS, maxDepth: 5, hostile: 0.08 });
  const engine = new Engine({ maxSamples: job.maxSamples, timeout: job.timeoutMs });
  for (let index = 0; index < job.cases; index++) {
    const query = gen.query();
    const g = grid(rnd);
    const description = `seed ${job.seed} case ${index}: ${JSON.stringify(query)} ${g.step === 0 ? `at ${g.start}` : `over [${g.start}, ${g.end}] step ${g.step}`}`;
    port.postMessage({ kind: "start", index, description } satisfies FuzzMessage);
    const began = performance.now();
    let outcome: "value" | "error" = "value";
    let failure: string | null = null;
    try {
      const r =
        g.step === 0 ? await engine.instantQuery(store, query, g.start) : await engine.rangeQuery(store, query, g);
      failure = resultProblem(r.value, g);
    } catch (err) {
      outcome = "error";
      if (!isContrailError(err)) failure = `threw a non-coded error: ${(err as Error)?.stack ?? String(err)}`;
      else if (!EXPECTED_CODES.has(err.code)) failure = `threw ${err.code}: ${err.message}`;
    }
    const elapsed = performance.now() - began;
    if (failure === null && elapsed > job.timeoutMs + job.slackMs) {
      failure = `took ${elapsed.toFixed(0)} ms, past the ${job.timeoutMs} ms timeout`;
    }
    port.postMessage({ kind: "done", index, outcome, failure } satisfies FuzzMessage);
  }
  port.postMessage({ kind: "end" } satisfies FuzzMessage);
}

if (parentPort !== null) await run(workerData as FuzzJob, parentPort);
