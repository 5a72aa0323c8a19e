// Series holding native histograms travel to a query worker as their encoded chunks (integer and float histogram
// chunks, beside the XOR chunks of mixed series) and read back there exactly as the database reads them: a real
// database with a compacted block and a head of several chunks per series, selected over windows that cut chunks,
// sent with small pages (so series continue across pages) and read back with the worker's page reader against the
// database's own iterators, every histogram field and counter reset hint included.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import type { Histogram } from "../../model/histogram.ts";
import { emptyHistogram } from "../../model/histogram-buckets.ts";
import { histogramPointSamples } from "../../model/histogram-size.ts";
import { Labels } from "../../model/labels.ts";
import { newMatcher } from "../../model/matcher.ts";
import { isStaleNaN } from "../../model/sample.ts";
import type { SeriesSet } from "../../storage/interface.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { Encoding } from "../../tsdb/chunkenc/chunk.ts";
import { counterSequence } from "../../tsdb/chunkenc/histogram-testdata.ts";
import { Db } from "../../tsdb/db.ts";
import { histogramTestDb, TEST_END_MS, TEST_SCRAPE_MS } from "./histogram-testdb.ts";
import { PageReader } from "./page-reader.ts";
import { type PageBounds, SelectionCursor } from "./pages.ts";
import type { SeriesPage } from "./protocol.ts";
import { SampleBudget } from "./sample-budget.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;
const STEP = TEST_SCRAPE_MS;
const END = TEST_END_MS;
/** Pages of a few chunks: long series continue over several pages. */
const SMALL_PAGES: PageBounds = { series: 2, samples: 200, bytes: 1024, ms: 1000, readSamples: 100 };

/** Query windows [mint, maxt] ms: the whole, within the head cutting its chunks, across block and head, tiny. */
const WINDOWS: readonly (readonly [number, number])[] = [
  [0, END],
  [2.5 * HOUR + 7_000, 3.7 * HOUR],
  [1.3 * HOUR, 2.9 * HOUR + 45_000],
  [3 * HOUR + 1_000, 3 * HOUR + MIN],
  [END - 10 * MIN, END + HOUR],
];

const dirs: string[] = [];
let db: Db;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "contrail-hist-pages-"));
  dirs.push(dir);
  db = await histogramTestDb(dir);
});

after(() => {
  db.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** "labels | t:kind:value ..." per series, a histogram shown whole (hint, spans, buckets). */
function dump(set: SeriesSet): string[] {
  const out: string[] = [];
  for (const s of set) {
    const it = s.iterator();
    const parts: string[] = [];
    for (let k = it.next(); k !== "none"; k = it.next()) {
      if (k === "histogram") {
        const h = it.atH?.() as Histogram;
        parts.push(`${it.atT()}:h:${isStaleNaN(h.sum) ? "stale" : JSON.stringify(h)}`);
      } else parts.push(`${it.atT()}:f:${isStaleNaN(it.atV()) ? "stale" : it.atV()}`);
    }
    out.push(`${s.labels.toString()} | ${parts.join(" ")}`);
  }
  return out.sort();
}

function select(mint: number, maxt: number): SeriesSet {
  return db.querier(mint, maxt).select([newMatcher("=", "__name__", "m")], { start: mint, end: maxt });
}

/** Every page of the selection of [mint, maxt]. */
function pagesOf(mint: number, maxt: number): SeriesPage[] {
  const cursor = new SelectionCursor(select(mint, maxt), { mint, maxt }, SMALL_PAGES);
  const pages: SeriesPage[] = [];
  do pages.push(cursor.nextPage(1));
  while (!cursor.done);
  return pages;
}

test("histogram and mixed series travel as their chunks and read back exactly, over windows that cut chunks", () => {
  const encodings = new Set<number>();
  for (const [mint, maxt] of WINDOWS) {
    const want = dump(select(mint, maxt));
    assert.match(want.join("\n"), /:h:/);
    const pages = pagesOf(mint, maxt);
    const reader = new PageReader();
    for (const p of pages) {
      assert.deepEqual([...p.chunked], new Array(p.chunked.length).fill(1), "every series travels as chunks");
      assert.equal(p.histograms.length, 0, "no histogram is decoded on the sending side");
      for (const e of p.chunkEncodings) encodings.add(e);
      reader.add(p);
    }
    if (mint === 0) assert.ok(pages.length > 3, `${pages.length} pages`);
    assert.deepEqual(dump(reader.result()), want, `window [${mint}, ${maxt}]`);
  }
  assert.deepEqual(
    [...encodings].sort(),
    [Encoding.xor, Encoding.histogram, Encoding.floatHistogram].sort(),
    "XOR, integer and float histogram chunks were sent",
  );
});

test("a histogram series appended to while its chunks are being sent reads as the database reads it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "contrail-hist-append-"));
  dirs.push(dir);
  const live = Db.open({ dir, autoCompact: false });
  try {
    const labels = Labels.fromStrings("__name__", "m", "kind", "live");
    const seq = counterSequence(false).slice(0, -1);
    const app = live.appender();
    let t = 0;
    for (; t < 300 * STEP; t += STEP) app.appendHistogram?.(labels, t, seq[(t / STEP) % seq.length]);
    assert.equal(app.commit().firstRejection, null);
    const sel = () => live.querier(0, END).select([newMatcher("=", "__name__", "m")], { start: 0, end: END });
    // The database's own reading of the series selected now and read after the append, as a query in-thread
    // selects and then reads: the open chunk's samples as recoded, up to the end the selection saw.
    const inThread = Object.assign([...sel()], { warnings: [] });
    // One chunk a page: the open chunk is copied pages after the series' chunk list was taken.
    const cursor = new SelectionCursor(sel(), { mint: 0, maxt: END }, { ...SMALL_PAGES, bytes: 1 });
    const reader = new PageReader();
    reader.add(cursor.nextPage(1));
    const more = live.appender();
    // A sample with a new bucket: the open chunk is recoded as well as extended.
    more.appendHistogram?.(labels, t, { ...seq[3], count: seq[3].count + 100, sum: seq[3].sum + 100 });
    assert.equal(more.commit().firstRejection, null);
    let pages = 1;
    while (!cursor.done) {
      reader.add(cursor.nextPage(1));
      pages++;
    }
    assert.ok(pages > 2, `${pages} pages`);
    const want = dump(inThread);
    assert.doesNotMatch(want[0], new RegExp(` ${t}:h:`), "the sample appended after the selection is not read");
    assert.deepEqual(dump(reader.result()), want);
  } finally {
    live.close();
  }
});

test("the worker counts each histogram sample it reads once against the query's read budget", () => {
  const [mint, maxt] = WINDOWS[1];
  // Chunk-carried samples count one each against the read budget, histograms too (the engine weighs them).
  const total = dump(select(mint, maxt)).reduce((n, line) => n + line.split(" | ")[1].split(" ").length, 0);
  // Reads every series twice, as a query reading a selection again does.
  const read = (budget: SampleBudget): void => {
    const reader = new PageReader(budget);
    for (const p of pagesOf(mint, maxt)) reader.add(p);
    const set = reader.result();
    dump(set);
    dump(set);
  };
  const exact = new SampleBudget(total);
  read(exact);
  assert.equal(exact.read, total, "reading twice counts once");
  assert.throws(
    () => read(new SampleBudget(total - 1)),
    (err: unknown) => isContrailError(err) && err.code === "too_many_samples",
  );
});

test("decoded native histograms (a memory store's) count by their size on both sides of the pages", () => {
  // 100 histograms of one span of two buckets (12 samples each, see histogramPointSamples) and a float twin.
  const h: Histogram = {
    ...emptyHistogram(0),
    count: 4,
    sum: 10,
    positiveSpans: [{ offset: 0, length: 2 }],
    positiveBuckets: [2, 2],
  };
  const memory = new MemoryStore();
  const app = memory.appender();
  for (let i = 0; i < 100; i++) {
    app.appendHistogram?.(Labels.fromStrings("__name__", "h"), i * STEP, h);
    app.append(Labels.fromStrings("__name__", "f"), i * STEP, i);
  }
  assert.equal(app.commit().firstRejection, null);
  const weight = histogramPointSamples(h);
  assert.equal(weight, 12);
  const pagesNamed = (name: string) => {
    const set = memory.querier(0, END).select([newMatcher("=", "__name__", name)], { start: 0, end: END });
    const cursor = new SelectionCursor(set, { mint: 0, maxt: END }, SMALL_PAGES);
    const pages: SeriesPage[] = [];
    do pages.push(cursor.nextPage(1));
    while (!cursor.done);
    return { pages, counted: cursor.counted };
  };
  const floats = pagesNamed("f");
  const hists = pagesNamed("h");
  assert.equal(floats.counted, 100);
  assert.equal(hists.counted, 100 * weight);
  // The worker counts what it receives: within a budget of the histograms' weight, refused one short of it,
  // though 100 would do for floats.
  const read = (pages: readonly SeriesPage[], budget: number) => {
    const reader = new PageReader(new SampleBudget(budget));
    for (const p of pages) reader.add(p);
    return [...reader.result()].length;
  };
  assert.equal(read(floats.pages, 100), 1);
  assert.equal(read(hists.pages, 100 * weight), 1);
  assert.throws(
    () => read(hists.pages, 100 * weight - 1),
    (e) => isContrailError(e, "too_many_samples"),
  );
});
