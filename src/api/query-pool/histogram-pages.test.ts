// Series holding native histograms reach a query worker's side as "histogram" samples with atH(): a real database
// with histogram, float and mixed series (head and a compacted block), selected and sent page by page with small
// pages (so series continue across pages), read back with the worker's page reader against the database's own
// iterators. Float-only series still travel as chunks. Histograms count by their size against the job's budget.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import type { Histogram } from "../../model/histogram.ts";
import { emptyHistogram } from "../../model/histogram-buckets.ts";
import { histogramPointSamples } from "../../model/histogram-size.ts";
import { Labels } from "../../model/labels.ts";
import { newMatcher } from "../../model/matcher.ts";
import { isStaleNaN } from "../../model/sample.ts";
import type { SeriesSet } from "../../storage/interface.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { counterSequence, staleMarker } from "../../tsdb/chunkenc/histogram-testdata.ts";
import { Db } from "../../tsdb/db.ts";
import { PageReader } from "./page-reader.ts";
import { type PageBounds, SelectionCursor } from "./pages.ts";
import type { SeriesPage } from "./protocol.ts";
import { SampleBudget } from "./sample-budget.ts";

const HOUR = 3_600_000;
const STEP = 30_000;
const END = 4 * HOUR;
/** Pages of a few hundred samples: long series continue over several pages. */
const SMALL_PAGES: PageBounds = { series: 2, samples: 200, bytes: 4096, ms: 1000, readSamples: 100 };

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** "labels | t:kind:value ..." per series, a histogram shown by its count and sum. */
function dump(set: SeriesSet): string[] {
  const out: string[] = [];
  for (const s of set) {
    const it = s.iterator();
    const parts: string[] = [];
    for (let k = it.next(); k !== "none"; k = it.next()) {
      if (k === "histogram") {
        const h = it.atH?.() as Histogram;
        parts.push(`${it.atT()}:h:${isStaleNaN(h.sum) ? "stale" : `${h.count}/${h.sum}`}`);
      } else parts.push(`${it.atT()}:f:${isStaleNaN(it.atV()) ? "stale" : it.atV()}`);
    }
    out.push(`${s.labels.toString()} | ${parts.join(" ")}`);
  }
  return out.sort();
}

test("histogram and mixed series read back with their kinds from pages; float series still go as chunks", async () => {
  const dir = mkdtempSync(join(tmpdir(), "contrail-hist-pages-"));
  dirs.push(dir);
  const db = Db.open({ dir, autoCompact: false });
  const app = db.appender();
  const seq = counterSequence(true).slice(0, -1);
  let i = 0;
  for (let t = 0; t < END; t += STEP, i++) {
    app.appendHistogram?.(Labels.fromStrings("__name__", "m", "kind", "int"), t, seq[i % seq.length]);
    const mixed = Labels.fromStrings("__name__", "m", "kind", "mixed");
    if (Math.floor(i / 50) % 2 === 0) app.appendHistogram?.(mixed, t, seq[i % 3]);
    else app.append(mixed, t, i);
    app.append(Labels.fromStrings("__name__", "m", "kind", "float"), t, i * 2);
  }
  app.appendHistogram?.(Labels.fromStrings("__name__", "m", "kind", "int"), END, staleMarker(true));
  assert.equal(app.commit().firstRejection, null);
  await db.compact();
  assert.equal(db.blocks().length, 1);

  const select = () => db.querier(0, END).select([newMatcher("=", "__name__", "m")], { start: 0, end: END });
  const want = dump(select());
  assert.match(want.join("\n"), /:h:/);
  const reader = new PageReader();
  const cursor = new SelectionCursor(select(), { mint: 0, maxt: END }, SMALL_PAGES);
  let pages = 0;
  let chunked = 0;
  let histograms = 0;
  do {
    const p = cursor.nextPage(1);
    pages++;
    for (const c of p.chunked) chunked += c;
    histograms += p.histograms.length;
    reader.add(p);
  } while (!cursor.done);
  assert.ok(pages > 3, `${pages} pages`);
  assert.ok(chunked > 0, "the float series travels as chunks");
  assert.ok(histograms > 0);
  assert.deepEqual(dump(reader.result()), want);
  db.close();
});

test("native histograms count by their size in a job's sample budget, on both sides of the pages", async () => {
  // 100 histograms of one span of two buckets (192 bytes: 12 samples each, see histogramPointSamples), and a
  // float twin; in a memory store (read in batches) and in a database's head (read sample by sample).
  const h: Histogram = {
    ...emptyHistogram(0),
    count: 4,
    sum: 10,
    positiveSpans: [{ offset: 0, length: 2 }],
    positiveBuckets: [2, 2],
  };
  const dir = mkdtempSync(join(tmpdir(), "contrail-hist-budget-"));
  dirs.push(dir);
  const db = Db.open({ dir, autoCompact: false });
  const memory = new MemoryStore();
  for (const app of [db.appender(), memory.appender()]) {
    for (let i = 0; i < 100; i++) {
      app.appendHistogram?.(Labels.fromStrings("__name__", "h"), i * STEP, h);
      app.append(Labels.fromStrings("__name__", "f"), i * STEP, i);
    }
    assert.equal(app.commit().firstRejection, null);
  }
  const weight = histogramPointSamples(h);
  assert.equal(weight, 12);
  for (const [store, querier] of [
    ["memory", () => memory.querier(0, END)],
    ["database", () => db.querier(0, END)],
  ] as const) {
    // Every page of the selection of `name`, and what the main thread counted as sent.
    const pagesOf = (name: string) => {
      const cursor = new SelectionCursor(
        querier().select([newMatcher("=", "__name__", name)], { start: 0, end: END }),
        { mint: 0, maxt: END },
        SMALL_PAGES,
      );
      const pages: SeriesPage[] = [];
      do pages.push(cursor.nextPage(1));
      while (!cursor.done);
      return { pages, counted: cursor.counted };
    };
    const floats = pagesOf("f");
    const hists = pagesOf("h");
    assert.equal(floats.counted, 100, store);
    assert.equal(hists.counted, 100 * weight, store);
    // The worker counts what it receives: within a budget of the histograms' weight, refused one short of it,
    // though 100 would do for floats.
    const read = (pages: readonly SeriesPage[], budget: number) => {
      const reader = new PageReader(new SampleBudget(budget));
      for (const p of pages) reader.add(p);
      return [...reader.result()].length;
    };
    assert.equal(read(floats.pages, 100), 1, store);
    assert.equal(read(hists.pages, 100 * weight), 1, store);
    assert.throws(
      () => read(hists.pages, 100 * weight - 1),
      (e) => isContrailError(e, "too_many_samples"),
      store,
    );
  }
  db.close();
});
