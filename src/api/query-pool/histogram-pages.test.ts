// Series holding native histograms reach a query worker's side as "histogram" samples with atH(): a real database
// with histogram, float and mixed series (head and a compacted block), selected and sent page by page with small
// pages (so series continue across pages), read back with the worker's page reader against the database's own
// iterators. Float-only series still travel as chunks.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Histogram } from "../../model/histogram.ts";
import { Labels } from "../../model/labels.ts";
import { newMatcher } from "../../model/matcher.ts";
import { isStaleNaN } from "../../model/sample.ts";
import type { SeriesSet } from "../../storage/interface.ts";
import { counterSequence, staleMarker } from "../../tsdb/chunkenc/histogram-testdata.ts";
import { Db } from "../../tsdb/db.ts";
import { PageReader } from "./page-reader.ts";
import { type PageBounds, SelectionCursor } from "./pages.ts";

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
