// The worker's reading of pages: each series is made only when the reading reaches it, and a series that a page
// leaves open is handed out once the next page shows it ended. Real pages from a real store.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Labels } from "../../model/labels.ts";
import { newMatcher } from "../../model/matcher.ts";
import type { Series } from "../../storage/interface.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { PageReader } from "./page-reader.ts";
import { type PageBounds, SelectionCursor } from "./pages.ts";
import type { SeriesPage } from "./protocol.ts";

const SERIES = 4;
const SAMPLES = 100;

const store = new MemoryStore();
{
  const app = store.appender();
  for (let i = 0; i < SERIES; i++) {
    const labels = Labels.fromStrings("__name__", "x", "i", String(i));
    for (let k = 0; k < SAMPLES; k++) app.append(labels, k * 1000, i * 1000 + k);
  }
  app.commit();
}

/** The pages of the selection of every `x` series, each within `bounds`. */
function pages(bounds: PageBounds): SeriesPage[] {
  const q = store.querier(0, SAMPLES * 1000);
  const set = q.select([newMatcher("=", "__name__", "x")], { start: 0, end: SAMPLES * 1000 });
  const cursor = new SelectionCursor(set, { mint: 0, maxt: SAMPLES * 1000 }, bounds);
  const out: SeriesPage[] = [];
  for (let c = 1; !cursor.done; c++) out.push(cursor.nextPage(c));
  q.close();
  return out;
}

/** A series as its labels, sample count and sum of values. */
function summary(s: Series): string {
  const it = s.iterator();
  let n = 0;
  let sum = 0;
  while (it.next() !== "none") {
    n++;
    sum += it.atV();
  }
  return `${s.labels.toString()} ${n} ${sum}`;
}

const WHOLE: PageBounds = { series: 4096, samples: 1_000_000, bytes: 1 << 20, ms: 60_000, readSamples: 1000 };

test("a page's series are made as the reading reaches them, not when the page arrives", () => {
  const [page] = pages(WHOLE);
  assert.equal(page.pairs.length, SERIES);
  // An entry that cannot be read (a label count no page holds): adding the page reads none of its entries.
  page.pairs[2] = 0xffff_ffff;
  const reader = new PageReader();
  reader.add(page);
  const it = reader.take(true);
  // The first series is handed out once the second has begun; the third is read only when asked for.
  const first = it.next();
  assert.equal(first.done, false);
  assert.equal(summary(first.value as Series), `{__name__="x", i="0"} ${SAMPLES} ${(SAMPLES * (SAMPLES - 1)) / 2}`);
  assert.throws(() => it.next(), RangeError);
});

test("a series continued on the next page is handed out whole, once that page shows it ended", () => {
  // 150 samples a page: series end mid-page and continue on the next one.
  const split = pages({ ...WHOLE, samples: 150, readSamples: 50 });
  assert.ok(split.length > 2, `${split.length} pages`);
  assert.ok(
    split.some((p) => p.continued),
    "some page continues a series",
  );
  const reader = new PageReader();
  const got: string[] = [];
  for (const p of split) {
    reader.add(p);
    for (const s of reader.take(p.done)) got.push(summary(s));
  }
  const whole = new PageReader();
  for (const p of pages(WHOLE)) whole.add(p);
  const want = [...whole.take(true)].map(summary);
  assert.equal(want.length, SERIES);
  assert.deepEqual(got, want);
});
