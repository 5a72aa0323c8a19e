// Aggregations over a selection far larger than a query worker's heap could hold as series: the worker reads it
// page by page and the engine folds each page away, so `count`, `count by` and `sum(rate(...))` over 50,000 series
// answer within a 32 MiB worker heap, where a query that must hold the selection (topk) runs out of it with the
// pool's clear error. A streamed aggregation that meets a native histogram late goes back and reads the selection
// again without its first reading counting against the sample limit. Answers equal in-thread evaluation.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { Engine } from "../../promql/engine/index.ts";
import { counterSequence } from "../../tsdb/chunkenc/histogram-testdata.ts";
import { Db } from "../../tsdb/db.ts";
import { queryAnswerBytes } from "../query-answer.ts";
import { DEFAULT_PAGE_BOUNDS } from "./pages.ts";
import { QueryPool } from "./pool.ts";
import type { QuerySpec } from "./protocol.ts";

const SERIES = 50_000;
const APPS = 40;
/** Float series of `h` before its one native histogram series (which sorts last). */
const H_FLOATS = 600;
const STEP = 15_000;
const SAMPLES = 5;
const END = (SAMPLES - 1) * STEP;
/** A worker heap far too small for the selection as series (about 2 KiB each before streaming), MiB. */
const HEAP_MB = 32;
/** Samples of the `h` selection read once (every series has SAMPLES samples), with room for less than twice. */
const H_LIMIT = Math.round((H_FLOATS + 1) * SAMPLES * 1.5);
const NO_LIMIT = 50_000_000;

let dir: string;
let db: Db;
let pool: QueryPool;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "contrail-big-select-"));
  db = Db.open({ dir, autoCompact: false, walFsync: "never" });
  const app = db.appender();
  const hist = counterSequence(true);
  for (let i = 0; i < SERIES; i++) {
    const labels = Labels.fromStrings("__name__", "x", "app", `a${i % APPS}`, "i", String(i));
    for (let k = 0; k < SAMPLES; k++) app.append(labels, k * STEP, k * (i % 7) + i / 8);
  }
  for (let i = 0; i < H_FLOATS; i++) {
    const labels = Labels.fromStrings("__name__", "h", "kind", `f${String(i).padStart(4, "0")}`);
    for (let k = 0; k < SAMPLES; k++) app.append(labels, k * STEP, k * 3 + i);
  }
  const hl = Labels.fromStrings("__name__", "h", "kind", "native");
  for (let k = 0; k < SAMPLES; k++) app.appendHistogram?.(hl, k * STEP, hist[k]);
  const rejected = app.commit().firstRejection;
  assert.equal(rejected, null);
  pool = new QueryPool({
    workers: 1,
    maxWorkers: 2,
    workerHeapMb: HEAP_MB,
    assists: false,
    inline: false,
    pageBounds: { ...DEFAULT_PAGE_BOUNDS, series: 512 },
  });
});

after(async () => {
  await pool.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function spec(query: string, range: boolean, maxSamples: number): QuerySpec {
  return {
    query,
    at: range ? { kind: "range", start: 0, end: END, step: STEP } : { kind: "instant", time: END },
    timeoutMs: 60_000,
    maxSamples,
    render: { kind: "json", limit: 0, maxSeries: Number.MAX_SAFE_INTEGER, stats: "" },
  };
}

// The answer of `query` through the pool, as the API's JSON.
async function viaPool(query: string, range: boolean, maxSamples = NO_LIMIT): Promise<unknown> {
  const out = await pool.run(spec(query, range, maxSamples), {
    org: "big",
    maxConcurrent: 1,
    maxQueued: 4,
    queryable: db,
  });
  return JSON.parse(Buffer.concat(out).toString());
}

// The same query evaluated on this thread, as the API's JSON.
async function inThread(query: string, range: boolean, maxSamples = NO_LIMIT): Promise<unknown> {
  const engine = new Engine({ maxSamples });
  const result = range
    ? await engine.rangeQuery(db, query, { start: 0, end: END, step: STEP })
    : await engine.instantQuery(db, query, END);
  const body = Buffer.concat(
    queryAnswerBytes(result, { limit: 0, maxSeries: 1e9, stats: "", queueSeconds: 0, evalSeconds: 0 }),
  ).toString("utf8");
  return JSON.parse(body);
}

test("count and count by over 50,000 series answer within a 32 MiB worker heap", async () => {
  const total = (await viaPool("count(x)", false)) as { data: { result: { value: [number, string] }[] } };
  assert.equal(total.data.result[0].value[1], String(SERIES));
  for (const [query, range] of [
    ["count by (app) (x)", false],
    ["sum by (app) (x)", true],
    ["avg(x)", false],
  ] as const) {
    assert.deepEqual(await viaPool(query, range), await inThread(query, range), query);
  }
});

test("sum(rate(...)) over 50,000 series answers within the same heap, instant and range", async () => {
  for (const range of [false, true]) {
    const query = "sum by (app) (rate(x[1m]))";
    assert.deepEqual(await viaPool(query, range), await inThread(query, range), query);
  }
});

test("a query that holds the selection runs out of that heap with the pool's error, not a crash", async () => {
  await assert.rejects(viaPool("topk(1, x)", false), (e) => {
    assert.ok(isContrailError(e));
    assert.equal(e.code, "limit_exceeded");
    assert.match(e.message, /ran out of memory.*32 MiB/);
    return true;
  });
  // The worker was replaced: the next query answers.
  const total = (await viaPool("count(x)", false)) as { data: { result: { value: [number, string] }[] } };
  assert.equal(total.data.result[0].value[1], String(SERIES));
});

test("a native histogram met late makes the aggregation read again, counted once against the limit", async () => {
  for (const query of ["sum(rate(h[1m]))", "sum(h)", "count(h)"]) {
    assert.deepEqual(await viaPool(query, false, H_LIMIT), await inThread(query, false, H_LIMIT), query);
  }
  await assert.rejects(viaPool("sum(rate(h[1m]))", false, H_LIMIT / 2), /too many samples/);
});
