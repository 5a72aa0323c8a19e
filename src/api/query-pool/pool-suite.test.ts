// Prometheus's shared PromQL test suite, evaluated through the query pool: every query runs on a worker, its data
// served in pages from the main thread, its answer rendered as the API's JSON and read back. The pool must pass
// exactly what the in-thread engine passes (the same known-failures list, no regression), with the data in the
// in-memory store (series sent as samples) and in the TSDB (series sent as chunks). A missing suite follows the
// rule of testkit/shared-data.ts: skipped with one line, a failure under CI. Then native histograms in a TSDB with a
// block and a head (series of several chunks, integer, float and gauge histograms, a mixed float/histogram series),
// queried over windows that cut chunks: the pool's JSON answers, warnings and infos must be the in-thread engine's.

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ContrailError, isContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { Engine, type QueryResult, type QueryValue } from "../../promql/engine/index.ts";
import { parseKnownFailures } from "../../promql/promqltest/known-failures.ts";
import { runSuite } from "../../promql/promqltest/run-suite.ts";
import { type QueryEngine, TEST_ENGINE_OPTIONS, TestRunner, type TestStore } from "../../promql/promqltest/runner.ts";
import type { Queryable } from "../../storage/interface.ts";
import { sharedData } from "../../testkit/shared-data.ts";
import { Db } from "../../tsdb/db.ts";
import { queryDataText } from "../json-reference.ts";
import { histogramTestDb, TEST_END_MS } from "./histogram-testdb.ts";
import { QueryPool } from "./pool.ts";
import type { QueryAt } from "./protocol.ts";

const suite = sharedData("promqltest");
const KNOWN_FAILURES = fileURLToPath(new URL("../../promql/promqltest/known-failures.txt", import.meta.url));
// Pages far smaller than the defaults, so series split over pages and windows on most selections.
const SMALL_PAGES = { series: 3, samples: 40, bytes: 64, ms: 4, readSamples: 16 };

const pool = new QueryPool({ workers: 2, engine: TEST_ENGINE_OPTIONS, pageBounds: SMALL_PAGES });
after(() => pool.close());

// biome-ignore lint/suspicious/noExplicitAny: decoding arbitrary answer JSON
type Json = any;

function num(s: string): number {
  if (s === "+Inf") return Number.POSITIVE_INFINITY;
  if (s === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(s);
}

function ms(seconds: number): number {
  return Math.round(seconds * 1000);
}

// The API's `data` back into the engine's value.
function decodeValue(data: Json): QueryValue {
  const r = data.result;
  switch (data.resultType) {
    case "scalar":
      return { type: "scalar", t: ms(r[0]), v: num(r[1]) };
    case "string":
      return { type: "string", t: ms(r[0]), v: r[1] };
    case "vector":
      return {
        type: "vector",
        samples: r.map((s: Json) => ({ labels: Labels.fromRecord(s.metric), t: ms(s.value[0]), v: num(s.value[1]) })),
      };
    default:
      return {
        type: "matrix",
        series: r.map((s: Json) => ({
          labels: Labels.fromRecord(s.metric),
          t: Float64Array.from(s.values, (p: Json) => ms(p[0])),
          v: Float64Array.from(s.values, (p: Json) => num(p[1])),
        })),
      };
  }
}

// Whether a query answer's `data` holds native histograms.
function hasHistograms(data: Json): boolean {
  if (data.resultType === "vector") return data.result.some((s: Json) => s.histogram !== undefined);
  if (data.resultType === "matrix") return data.result.some((s: Json) => s.histograms !== undefined);
  return false;
}

const inThread = new Engine(TEST_ENGINE_OPTIONS);

/**
 * The in-thread engine's value for an answer holding native histograms, after checking that the pool's answer is
 * the very JSON the in-thread result renders to. The API's histogram JSON leaves out the schema, the zero threshold
 * of an empty zero bucket and the reset hint, so it cannot be decoded back into what the suite's expectations
 * compare; equal answers make the in-thread value the pool's.
 */
async function sameAsInThread(queryable: Queryable, query: string, at: QueryAt, data: Json): Promise<QueryValue> {
  const result =
    at.kind === "instant"
      ? await inThread.instantQuery(queryable, query, at.time)
      : await inThread.rangeQuery(queryable, query, at);
  const expected = JSON.parse(queryDataText(result.value, null));
  assert.deepEqual(data, expected, `the pool's histogram answer to ${query} differs from the in-thread engine's`);
  return result.value;
}

// The pool's answer to `query` as the API's JSON body.
async function poolJson(queryable: Queryable, query: string, at: QueryAt): Promise<Json> {
  let body: Uint8Array[];
  try {
    body = await pool.run(
      {
        query,
        at,
        timeoutMs: TEST_ENGINE_OPTIONS.timeout,
        maxSamples: TEST_ENGINE_OPTIONS.maxSamples,
        render: { kind: "json", limit: 0, maxSeries: Number.MAX_SAFE_INTEGER, stats: "" },
      },
      { org: "suite", maxConcurrent: 1, maxQueued: 1, queryable },
    );
  } catch (err) {
    if (err instanceof ContrailError) throw err;
    throw new Error(`the pool failed: ${String(err)}`, { cause: err });
  }
  return JSON.parse(Buffer.concat(body).toString("utf8"));
}

// The engine's interface, answered by the pool: what the runner sees is what an API client would get.
async function viaPool(queryable: Queryable, query: string, at: QueryAt): Promise<QueryResult> {
  const json = await poolJson(queryable, query, at);
  return {
    value: hasHistograms(json.data) ? await sameAsInThread(queryable, query, at, json.data) : decodeValue(json.data),
    warnings: json.warnings ?? [],
    infos: json.infos ?? [],
    stats: { samplesLoaded: 0, peakSamples: 0 },
  };
}

const engine: QueryEngine = {
  instantQuery: (queryable, query, time) => viaPool(queryable, query, { kind: "instant", time }),
  rangeQuery: (queryable, query, range) => viaPool(queryable, query, { kind: "range", ...range }),
};

/** A head range so wide that every load of a test file is appendable, whatever the order of its loads' times. */
const WIDE_BLOCK_RANGE = 2 ** 50;

// A database in a directory of its own, removed when closed.
function tsdbStore(): TestStore {
  const dir = mkdtempSync(join(tmpdir(), "pool-suite-"));
  const db = Db.open({ dir, autoCompact: false, blockRange: WIDE_BLOCK_RANGE, walFsync: "never" });
  return Object.assign(db, {
    close: () => {
      Db.prototype.close.call(db);
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

const STORES: [string, (() => TestStore) | undefined][] = [
  ["in memory", undefined],
  ["in the TSDB", tsdbStore],
];

for (const [where, store] of STORES) {
  test(`the shared PromQL suite through the query pool passes what the engine passes, data ${where}`, {
    skip: suite.skip,
  }, async () => {
    const files = readdirSync(suite.dir)
      .filter((f) => f.endsWith(".test"))
      .sort();
    assert.ok(files.length > 0, "the shared suite is missing");
    const { entries } = parseKnownFailures(readFileSync(KNOWN_FAILURES, "utf8"));
    const run = await runSuite(
      files.map((f) => suite.path(f)),
      { known: entries, log: () => {}, runner: new TestRunner({ engine, store }) },
    );
    assert.deepEqual(
      run.regressions.map((f) => `${f.file}:${f.line}  ${f.query} — ${f.reason}`),
      [],
      "failures through the pool that the engine does not have",
    );
    assert.deepEqual(
      run.nowPassing.map((f) => `${f.file}:${f.line}`),
      [],
      "known engine failures that pass through the pool (the results differ)",
    );
  });
}

const HOUR = 3_600_000;

const HISTOGRAM_QUERIES = [
  "m",
  "m[7m]",
  "rate(m[5m])",
  "increase(m[13m])",
  "delta(m{kind='gauge'}[10m])",
  "resets(m[1h])",
  "count_over_time(m[17m])",
  "last_over_time(m[3m])",
  "sum by (kind) (rate(m[5m]))",
  "sum(m{kind=~'int|float'})",
  "histogram_count(rate(m[5m]))",
  "histogram_sum(m)",
  "histogram_quantile(0.9, rate(m[10m]))",
  "histogram_fraction(0, 8, m)",
  "m offset 1h",
];

/** Instants (ms): in the block, at its edge with the head, in the head between chunk edges, at the end. */
const INSTANTS = [HOUR + 15_000, 2 * HOUR + 15_000, 3 * HOUR + 1_000, TEST_END_MS];

/** Ranges: across block and head, inside the head, cutting chunks at both ends; steps off the scrape grid. */
const RANGES = [
  { start: 1.3 * HOUR, end: 2.9 * HOUR + 45_000, step: 37_000 },
  { start: 2.5 * HOUR + 7_000, end: 3.7 * HOUR, step: 61_000 },
];

// The in-thread engine's answer as the API renders it, or the error's code.
async function inThreadJson(db: Db, query: string, at: QueryAt): Promise<Json> {
  try {
    const r =
      at.kind === "instant"
        ? await inThread.instantQuery(db, query, at.time)
        : await inThread.rangeQuery(db, query, at);
    return {
      data: JSON.parse(queryDataText(r.value, null)),
      warnings: r.warnings,
      infos: r.infos,
    };
  } catch (err) {
    if (isContrailError(err)) return { error: err.code };
    throw err;
  }
}

// The pool's answer in the shape of inThreadJson's.
async function poolAnswer(db: Db, query: string, at: QueryAt): Promise<Json> {
  try {
    const json = await poolJson(db, query, at);
    return { data: json.data, warnings: json.warnings ?? [], infos: json.infos ?? [] };
  } catch (err) {
    if (isContrailError(err)) return { error: err.code };
    throw err;
  }
}

test("native histograms through the query pool answer as the in-thread engine, over windows that cut chunks", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pool-suite-hist-"));
  const db = await histogramTestDb(dir);
  try {
    const ats: QueryAt[] = [
      ...INSTANTS.map((time): QueryAt => ({ kind: "instant", time })),
      ...RANGES.map((r): QueryAt => ({ kind: "range", ...r })),
    ];
    let histogramAnswers = 0;
    for (const query of HISTOGRAM_QUERIES) {
      for (const at of ats) {
        const want = await inThreadJson(db, query, at);
        if (want.data !== undefined && hasHistograms(want.data)) histogramAnswers++;
        assert.deepEqual(await poolAnswer(db, query, at), want, `${query} at ${JSON.stringify(at)}`);
      }
    }
    assert.ok(histogramAnswers > 20, `${histogramAnswers} answers hold histograms`);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
