// Small jobs evaluated on the main thread: the same answers, stats, warnings and errors as on a worker (one table of
// queries run both ways over a real database), the budget's edges (just inside runs inline, just past goes to a
// worker), hostile queries never inline, and an evaluation that needs data not selected ahead reads it itself.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { ContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { Engine } from "../../promql/engine/index.ts";
import type { Queryable } from "../../storage/interface.ts";
import { Db } from "../../tsdb/db.ts";
import { histogramTestDb, TEST_END_MS } from "./histogram-testdb.ts";
import {
  evaluateInline,
  INLINE_MAX_SAMPLES,
  INLINE_MAX_STEPS,
  INLINE_MAX_WORK,
  type InlineOutcome,
  type InlineShape,
  inlineShape,
  inlineWorthy,
  type SelectionSize,
  workEstimate,
} from "./inline.ts";
import { JobData } from "./job-data.ts";
import { DEFAULT_PAGE_BOUNDS } from "./pages.ts";
import { QueryPool } from "./pool.ts";
import { PreselectedQueryable, type Preselection, preselect } from "./preselect.ts";
import type { QueryAt, QuerySpec } from "./protocol.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;
const SCRAPE = 15_000;
/** The data: SERIES counters `m{i, zone}` and as many gauges `g{i}` every 15 s over [0, END). */
const SERIES = 24;
const END = 6 * HOUR;

const dirs: string[] = [];
let db: Db;
let histograms: Db;
/**
 * Inline evaluations and page builds here have generous time bounds: whether a job runs inline must not depend on
 * the machine (a page cut short by its time bound leaves the selection not wholly made ahead).
 */
const GENEROUS_MS = 10_000;
const pageBounds = { ...DEFAULT_PAGE_BOUNDS, ms: GENEROUS_MS };
const inline = new QueryPool({ workers: 1, inlineMaxMs: GENEROUS_MS, pageBounds });
const onWorker = new QueryPool({ workers: 1, inline: false });
const engine = new Engine({ metricsql: true });

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "contrail-inline-"));
  dirs.push(dir);
  db = Db.open({ dir, autoCompact: false, walFsync: "never" });
  const app = db.appender();
  for (let t = 0; t < END; t += SCRAPE) {
    for (let i = 0; i < SERIES; i++) {
      app.append(Labels.fromStrings("__name__", "m", "i", String(i), "zone", `z${i % 4}`), t, (t / 1000) * (i + 1));
      app.append(Labels.fromStrings("__name__", "g", "i", String(i)), t, (i * 7 + t / SCRAPE) % 13);
    }
  }
  app.commit();
  await db.compact();
  const hdir = mkdtempSync(join(tmpdir(), "contrail-inline-h-"));
  dirs.push(hdir);
  histograms = await histogramTestDb(hdir);
});

after(async () => {
  await Promise.all([inline.close(), onWorker.close()]);
  db.close();
  histograms.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The last half hour at 15 s: 121 steps. */
const HALF_HOUR: QueryAt = { kind: "range", start: END - 30 * MIN, end: END, step: SCRAPE };

function spec(query: string, at: QueryAt, over: Partial<QuerySpec> = {}): QuerySpec {
  return {
    query,
    at,
    timeoutMs: 30_000,
    maxSamples: 50_000_000,
    render: { kind: "json", limit: 0, maxSeries: 1e9, stats: "" },
    ...over,
  };
}

// The answer (stats timings zeroed: they are measured) or the error as text, and whether the job ran inline.
async function run(pool: QueryPool, s: QuerySpec, queryable: Queryable): Promise<{ text: string; inline: boolean }> {
  // A turn of the event loop first: one job at most runs inline per turn, and the previous one may have run in this.
  await new Promise((resolve) => setImmediate(resolve));
  const before = pool.figures().inline;
  let text: string;
  try {
    const body = await pool.run(s, { org: "o", maxConcurrent: 2, maxQueued: 10, queryable });
    text = Buffer.concat(body)
      .toString("utf8")
      .replace(/"(evalTotalTime|innerEvalTime|execQueueTime|execTotalTime)":[0-9.e-]+/g, '"$1":0');
  } catch (err) {
    text = `${(err as ContrailError).code}: ${(err as Error).message}`;
  }
  return { text, inline: pool.figures().inline > before };
}

describe("the same answers inline and on a worker", () => {
  const instant: QueryAt = { kind: "instant", time: END - 7 * MIN };
  // [query, where, other spec fields, whether it runs inline]
  const TABLE: [string, QueryAt, Partial<QuerySpec>, boolean][] = [
    ["sum(rate(m[5m]))", HALF_HOUR, {}, true],
    ["sum by (zone) (increase(m[1m]))", HALF_HOUR, {}, true],
    ['m{i="3"}', HALF_HOUR, {}, true],
    ['sum(irate(m{zone="z1"}[5m])) * 8', HALF_HOUR, {}, true],
    ['rate(m{i=~"1.?"}[2m]) / on (i) group_left g', HALF_HOUR, {}, true],
    ["avg_over_time(g[5m]) > 6", HALF_HOUR, {}, true],
    ["m + ignoring (i) m", HALF_HOUR, {}, true],
    ['max(g{i="4"}) - min(g)', instant, {}, true],
    ["g", instant, { render: { kind: "json", limit: 5, maxSeries: 1e9, stats: "all" } }, true],
    ["g", instant, { render: { kind: "json", limit: 0, maxSeries: 10, stats: "" } }, true],
    ["sum(rate(m[5m]))", HALF_HOUR, { render: { kind: "json", limit: 0, maxSeries: 1e9, stats: "yes" } }, true],
    ['rate(g{i="2"}[5m])', HALF_HOUR, {}, true],
    ['m{i="1"}', HALF_HOUR, { maxSamples: 100 }, false],
    ['scalar(sum(g{i="9"}))', instant, { render: { kind: "samples", maxSeries: 10 } }, true],
    ["nothing_here", HALF_HOUR, {}, true],
    ["sum(rate(m[5m]))", { kind: "range", start: 0, end: END, step: SCRAPE }, {}, false],
    ['quantile_over_time(0.9, g{i="1"}[10m])', HALF_HOUR, {}, false],
    ['label_replace(g{i="1"}, "x", "$1", "i", "(.*)")', HALF_HOUR, {}, false],
    ["topk(3, g)", instant, {}, false],
    ['max_over_time(rate(m{i="1"}[1m])[10m:15s])', HALF_HOUR, {}, false],
    ["1 + 1", instant, {}, true],
    ["vector(1) * time()", HALF_HOUR, {}, true],
  ];
  for (const [query, at, over, inlined] of TABLE) {
    test(`${query} (${at.kind}${Object.keys(over).length > 0 ? `, ${Object.keys(over).join(", ")}` : ""})`, async () => {
      const s = spec(query, at, over);
      const [a, b] = [await run(inline, s, db), await run(onWorker, s, db)];
      assert.equal(a.text, b.text);
      assert.equal(a.inline, inlined, inlined ? "ran on a worker" : "ran inline");
      assert.equal(b.inline, false);
    });
  }

  test("native histograms go to a worker, with the same answer", async () => {
    const s = spec("histogram_quantile(0.9, rate(m[5m]))", {
      kind: "range",
      start: TEST_END_MS - 20 * MIN,
      end: TEST_END_MS,
      step: SCRAPE,
    });
    const [a, b] = [await run(inline, s, histograms), await run(onWorker, s, histograms)];
    assert.equal(a.text, b.text);
    assert.match(a.text, /"status":"success"/);
    assert.equal(a.inline, false);
  });
});

/** Listing bounds that never stop a listing. */
const UNBOUNDED = { series: Number.POSITIVE_INFINITY, samples: Number.POSITIVE_INFINITY };

// The selections of `s` made over `db` and listed whole, as the pool makes them; with the job's shape.
function selected(s: QuerySpec): { shape: InlineShape; made: Preselection[]; sizes: SelectionSize[] } {
  const at = s.at;
  const grid =
    at.kind === "instant" ? { start: at.time, end: at.time, step: 0 } : { start: at.start, end: at.end, step: at.step };
  const reads = engine.plannedReads(s.query, grid, s);
  assert.ok(reads !== null);
  const shape = inlineShape(s, engine.syntaxTree(s.query));
  assert.ok(shape !== null);
  const data = new JobData(db, { maxSamples: s.maxSamples, bounds: pageBounds });
  try {
    const made = preselect(data.aheadQuerier(reads), reads.selects, UNBOUNDED);
    return { shape, made, sizes: made.map((p) => ({ series: p.series.length, samples: p.samples, hints: p.hints })) };
  } finally {
    data.close();
  }
}

describe("the budget's edges", () => {
  test("work: the last step count inside the budget runs inline, one more step goes to a worker", async () => {
    const query = "sum(rate(m[2m]))";
    const at = (steps: number): QueryAt => ({
      kind: "range",
      start: END - (steps - 1) * SCRAPE,
      end: END,
      step: SCRAPE,
    });
    const worthy = (steps: number) => {
      const { shape, sizes } = selected(spec(query, at(steps)));
      return inlineWorthy(shape, sizes, Number.POSITIVE_INFINITY);
    };
    // The estimate grows with the steps: find the last step count inside the budget.
    let lo = 1;
    let hi = INLINE_MAX_STEPS;
    assert.ok(worthy(lo) && !worthy(hi));
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (worthy(mid)) lo = mid;
      else hi = mid;
    }
    const nodes = 4;
    assert.ok(workEstimate(selected(spec(query, at(lo))).sizes, nodes, lo) <= INLINE_MAX_WORK);
    assert.ok(workEstimate(selected(spec(query, at(hi))).sizes, nodes, hi) > INLINE_MAX_WORK);
    const [inside, past] = [await run(inline, spec(query, at(lo)), db), await run(inline, spec(query, at(hi)), db)];
    assert.deepEqual([inside.inline, past.inline], [true, false]);
    assert.equal(inside.text, (await run(onWorker, spec(query, at(lo)), db)).text);
    assert.equal(past.text, (await run(onWorker, spec(query, at(hi)), db)).text);
  });

  test("steps: INLINE_MAX_STEPS run inline, one more goes to a worker", async () => {
    const query = 'g{i="5"}';
    const at = (steps: number): QueryAt => ({ kind: "range", start: END - (steps - 1) * 1000, end: END, step: 1000 });
    const [inside, past] = [
      await run(inline, spec(query, at(INLINE_MAX_STEPS)), db),
      await run(inline, spec(query, at(INLINE_MAX_STEPS + 1)), db),
    ];
    assert.deepEqual([inside.inline, past.inline], [true, false]);
  });

  test("samples: a selection of more than INLINE_MAX_SAMPLES goes to a worker, whatever else it costs", async () => {
    // One step over the whole data: the estimate is about the samples alone.
    const s = spec('count_over_time({__name__=~"m|g"}[6h])', { kind: "instant", time: END });
    const { shape, sizes } = selected(s);
    assert.ok(2 * SERIES * (END / SCRAPE) > INLINE_MAX_SAMPLES);
    assert.equal(inlineWorthy(shape, sizes, Number.POSITIVE_INFINITY), false);
    assert.equal((await run(inline, s, db)).inline, false);
    const small = spec('count_over_time(m{i="1"}[6h])', { kind: "instant", time: END });
    const one = selected(small);
    assert.equal(inlineWorthy(one.shape, one.sizes, Number.POSITIVE_INFINITY), true);
    assert.equal(inlineWorthy(one.shape, one.sizes, one.sizes[0].samples - 1), false, "past the job's sample limit");
    assert.equal((await run(inline, small, db)).inline, true);
  });
});

describe("the listed selections", () => {
  test("count the samples of their chunks, the same the series' iterators read over a range holding them all", () => {
    const s = spec('count_over_time({__name__=~"m|g", i=~"1|2|3"}[7h])', { kind: "instant", time: END });
    const { made } = selected(s);
    assert.equal(made.length, 1);
    let read = 0;
    for (const series of made[0].set) {
      const it = series.iterator();
      while (it.next() !== "none") read++;
    }
    assert.equal(made[0].series.length, 6);
    assert.equal(made[0].samples, read);
    assert.equal(read, 6 * (END / SCRAPE));
  });

  test("stop listing past their bounds, and still give the whole selection for its pages", () => {
    const s = spec('{__name__=~"m|g"}', { kind: "instant", time: END });
    const reads = engine.plannedReads(s.query, { start: END, end: END, step: 0 }, s);
    assert.ok(reads !== null);
    const data = new JobData(db, { maxSamples: s.maxSamples, bounds: pageBounds });
    try {
      const [part] = preselect(data.aheadQuerier(reads), reads.selects, { series: 5, samples: 1e9 });
      assert.equal(part.whole, false);
      assert.equal(part.series.length, 6, "listing stops once past the bound");
      const all = [...part.set].map((x) => x.labels.toString());
      assert.equal(all.length, 2 * SERIES);
      assert.deepEqual(
        all.slice(0, 6),
        part.series.map((x) => x.labels.toString()),
      );
    } finally {
      data.close();
    }
  });
});

describe("hostile queries never run inline", () => {
  const HOSTILE: [string, QueryAt][] = [
    ["count_over_time(g[2h:1ms])", { kind: "instant", time: END }],
    ["count_over_time(vector(1)[2h:1ms])", { kind: "instant", time: END }],
    ["time()", { kind: "range", start: 0, end: END, step: 1000 }],
    ['max_over_time(g{i="1"}[1h:1s])', HALF_HOUR],
    ['g{i="1"}', { kind: "range", start: 0, end: END, step: 1000 }],
    ["sum(rate(m[30m]))", { kind: "range", start: 0, end: END, step: SCRAPE }],
    ['label_replace(g{i="1"}, "a", "$1", "i", "(((((x*)*)*)*)*y)")', HALF_HOUR],
    ['sort_desc(g{i="1"})', { kind: "instant", time: END }],
    ['count_values("v", g{i="1"})', { kind: "instant", time: END }],
    ["m * on (zone) group_left g + m + m + m + g", HALF_HOUR],
  ];
  for (const [query, at] of HOSTILE) {
    test(query, async () => {
      const r = await run(inline, spec(query, at, { timeoutMs: 10_000 }), db);
      assert.equal(r.inline, false, r.text.slice(0, 200));
    });
  }
});

test("one job at most runs inline per turn of the event loop: the others of a burst go to workers", async () => {
  const three = new QueryPool({ workers: 3, inlineMaxMs: GENEROUS_MS, pageBounds });
  try {
    while (three.figures().ready < 3) await sleep(10);
    await new Promise((resolve) => setImmediate(resolve));
    const s = spec('sum(rate(m{zone="z3"}[5m]))', HALF_HOUR);
    const burst = [0, 1, 2].map(() => three.run(s, { org: "o", maxConcurrent: 4, maxQueued: 10, queryable: db }));
    const texts = (await Promise.all(burst)).map((b) => Buffer.concat(b).toString("utf8"));
    assert.equal(three.figures().inline, 1);
    assert.deepEqual(texts, [texts[0], texts[0], texts[0]]);
    assert.equal(texts[0], (await run(onWorker, s, db)).text);
  } finally {
    await three.close();
  }
});

test("an evaluation past its time bound is abandoned: a worker answers, the same", async () => {
  const hasty = new QueryPool({ workers: 1, inlineMaxMs: 0, pageBounds });
  try {
    const s = spec("sum by (zone) (rate(m[5m]))", HALF_HOUR);
    const r = await run(hasty, s, db);
    assert.equal(r.inline, false);
    assert.equal(r.text, (await run(onWorker, s, db)).text);
    assert.match(r.text, /"status":"success"/);
  } finally {
    await hasty.close();
  }
});

test("an evaluation that needs data not selected ahead reads it from the job's data", async () => {
  const s = spec('m{i="1"} / on (i) g', HALF_HOUR);
  const at = s.at as Extract<QueryAt, { kind: "range" }>;
  const reads = engine.plannedReads(s.query, at, s);
  assert.ok(reads !== null && reads.selects.length === 2);
  const data = new JobData(db, { maxSamples: s.maxSamples, bounds: pageBounds });
  try {
    const querier = data.aheadQuerier(reads);
    const made = preselect(querier, reads.selects, UNBOUNDED);
    const times = { remainingMs: 10_000, queueSeconds: 0, maxMs: GENEROUS_MS };
    const whole = await evaluateInline(engine, s, new PreselectedQueryable(db, querier, reads, made), times);
    const part = await evaluateInline(engine, s, new PreselectedQueryable(db, querier, reads, made.slice(1)), times);
    const direct = await evaluateInline(engine, s, db, times);
    assert.equal(whole.kind, "body");
    const text = (o: InlineOutcome) => (o.kind === "body" ? Buffer.concat(o.body).toString("utf8") : o.kind);
    const plain = (t: string) =>
      t.replace(/"(evalTotalTime|innerEvalTime|execQueueTime|execTotalTime)":[0-9.e-]+/g, "");
    assert.equal(plain(text(part)), plain(text(whole)));
    assert.equal(plain(text(direct)), plain(text(whole)));
    assert.match(text(whole), /"status":"success"/);
  } finally {
    data.close();
  }
});
