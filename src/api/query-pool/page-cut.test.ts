// A page cut in two at any entry reads back, part after part, exactly as the whole page: decoded samples with
// native histograms and non-ASCII label values (a memory store), and encoded chunks with their sources, series
// continuing across pages and histogram chunks (a real database with a block and a head).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Histogram } from "../../model/histogram.ts";
import { Labels } from "../../model/labels.ts";
import { newMatcher } from "../../model/matcher.ts";
import type { Queryable, SeriesSet } from "../../storage/interface.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { counterSequence } from "../../tsdb/chunkenc/histogram-testdata.ts";
import type { Db } from "../../tsdb/db.ts";
import { histogramTestDb, TEST_END_MS } from "./histogram-testdb.ts";
import { cutPage } from "./page-cut.ts";
import { PageReader } from "./page-reader.ts";
import { type PageBounds, SelectionCursor } from "./pages.ts";
import type { SeriesPage } from "./protocol.ts";
import { SampleBudget } from "./sample-budget.ts";

/** Pages of a few series and samples: long series continue over several pages. */
const SMALL_PAGES: PageBounds = { series: 3, samples: 40, bytes: 256, ms: 1000, readSamples: 10 };
/** Pages of a few series' chunks (a histogram chunk is a few KiB). */
const CHUNK_PAGES: PageBounds = { series: 4, samples: 40, bytes: 8192, ms: 1000, readSamples: 10 };

// Series of different lengths, label values that are not plain ASCII (one a lone surrogate), and native histograms
// beside floats.
function memoryStore(): MemoryStore {
  const s = new MemoryStore();
  const app = s.appender();
  const hs = counterSequence(true);
  for (let k = 0; k < 16; k++) {
    const labels = Labels.fromStrings("__name__", "m", "i", k % 5 === 0 ? `zürich € ${k}\udcff` : `k${k}`);
    if (k % 4 === 1) {
      for (let i = 0; i < 12; i++) app.appendHistogram?.(labels, i * 3000, hs[i % hs.length]);
      continue;
    }
    const count = k % 7 === 0 ? 500 : 10 + 3 * k;
    for (let i = 0; i < count; i++) app.append(labels, i * 1000, i * 1.5 + k);
  }
  app.commit();
  return s;
}

function pagesOf(q: Queryable, mint: number, maxt: number, bounds = SMALL_PAGES): SeriesPage[] {
  const set = q.querier(mint, maxt).select([newMatcher("=", "__name__", "m")], { start: mint, end: maxt });
  const cursor = new SelectionCursor(set, { mint, maxt }, bounds);
  const out: SeriesPage[] = [];
  do out.push(cursor.nextPage(3));
  while (!cursor.done);
  return out;
}

/** Every series read back from `pages`: labels, then each sample's time, kind and value (a histogram whole). */
function read(pages: readonly SeriesPage[]): { dump: string[]; warnings: readonly string[]; samples: number } {
  const budget = new SampleBudget(Number.POSITIVE_INFINITY);
  const reader = new PageReader(budget);
  for (const p of pages) reader.add(p);
  const set: SeriesSet = reader.result();
  const dump: string[] = [];
  for (const s of set) {
    const it = s.iterator();
    const parts: string[] = [];
    for (let k = it.next(); k !== "none"; k = it.next()) {
      parts.push(
        k === "histogram" ? `${it.atT()}:h:${JSON.stringify(it.atH?.() as Histogram)}` : `${it.atT()}:${it.atV()}`,
      );
    }
    dump.push(`${s.labels.toString()} | ${parts.join(" ")}`);
  }
  return { dump, warnings: set.warnings, samples: budget.read };
}

// Cuts every page of a selection at every entry, one cut at a time, and checks each reads back as the whole.
function checkEveryCut(pages: readonly SeriesPage[]): number {
  const whole = read(pages);
  let cuts = 0;
  for (let i = 0; i < pages.length; i++) {
    for (let e = 1; e < pages[i].pairs.length; e++) {
      const [head, tail] = cutPage(pages[i], e);
      assert.equal(head.pairs.length + tail.pairs.length, pages[i].pairs.length);
      assert.equal(head.continued, pages[i].continued);
      assert.equal(tail.continued, false);
      assert.equal(head.done, false);
      assert.equal(tail.done, pages[i].done);
      const again = read([...pages.slice(0, i), head, tail, ...pages.slice(i + 1)]);
      assert.deepEqual(again, whole, `page ${i} cut before entry ${e}`);
      cuts++;
    }
  }
  return cuts;
}

describe("a page cut in two", () => {
  test("decoded samples, native histograms and non-ASCII labels read back whole", () => {
    const store = memoryStore();
    const pages = pagesOf(store, 0, 500_000);
    assert.ok(
      pages.some((p) => p.continued),
      "a series continues on a later page",
    );
    assert.ok(
      pages.some((p) => p.histograms.length > 0),
      "a page holds decoded histograms",
    );
    assert.ok(checkEveryCut(pages) > 10, "cuts in the whole range");
    assert.ok(checkEveryCut(pagesOf(store, 5_000, 40_000)) > 0, "cuts in a window");
  });

  test("the cut parts own their buffers: posting one copies its own bytes, not the page's", () => {
    const page = pagesOf(memoryStore(), 0, 500_000).find((p) => p.pairs.length >= 2 && !p.continued);
    assert.ok(page !== undefined, "a page of two series or more");
    const [head, tail] = cutPage(page, 1);
    assert.ok(tail.t.length > 0, "the tail holds samples");
    for (const part of [head, tail]) {
      for (const a of [part.pairs, part.t, part.v, part.chunkBytes, part.chunkEnds, part.chunked]) {
        assert.notEqual(a.buffer, page.t.buffer, "not a view of the page's buffer");
        assert.equal(a.buffer.byteLength, a.byteLength, "a buffer of its own, exactly sized");
      }
    }
  });

  test("a cut must leave entries on both sides", () => {
    const [page] = pagesOf(memoryStore(), 0, 500_000);
    assert.throws(() => cutPage(page, 0), RangeError);
    assert.throws(() => cutPage(page, page.pairs.length), RangeError);
  });

  describe("chunks of a real database", () => {
    const dirs: string[] = [];
    let db: Db;
    before(async () => {
      const dir = mkdtempSync(join(tmpdir(), "contrail-page-cut-"));
      dirs.push(dir);
      db = await histogramTestDb(dir);
    });
    after(() => {
      db.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    test("chunks, their sources and histogram chunks read back whole", () => {
      for (const [mint, maxt] of [
        [0, TEST_END_MS],
        [TEST_END_MS / 3 + 7_000, TEST_END_MS - 60_000],
      ]) {
        const pages = pagesOf(db, mint, maxt, CHUNK_PAGES);
        assert.ok(
          pages.some((p) => p.chunkEncodings.length > 0),
          "series travel as chunks",
        );
        assert.ok(checkEveryCut(pages) > 0, "cuts between series of chunks");
      }
    });
  });
});
