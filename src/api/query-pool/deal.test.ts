// A selection dealt between two halves as it is read: every series goes to exactly one half, whole and in order,
// the halves weigh about the same, pages are built one per turn of the event loop and only a few ahead, and an error
// reaches the half waiting for a page. Real pages from a real store.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { Engine } from "../../promql/engine/index.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { DEAL_PAGE_BYTES, type Half, PageDeal } from "./deal.ts";
import { JobData } from "./job-data.ts";
import { PageReader } from "./page-reader.ts";
import type { PageBounds } from "./pages.ts";
import type { DataResponse, SeriesPage } from "./protocol.ts";
import { pageWeight } from "./shard.ts";

const STEP = 15_000;
const HOUR = 240 * STEP;
const planner = new Engine({ metricsql: true });
// Small pages: 2,048 samples each, so a series of 5,000 samples spans pages (continued entries).
const bounds: PageBounds = { series: 4096, samples: 2048, bytes: 1 << 20, ms: 60_000, readSamples: 1024 };

const store = new MemoryStore();
{
  const app = store.appender();
  for (let i = 0; i < 300; i++) {
    const labels = Labels.fromStrings(
      "__name__",
      "x",
      "job",
      `j${i % 5}`,
      "instance",
      `h${String(i).padStart(3, "0")}`,
    );
    const samples = i % 50 === 7 ? 5000 : 241;
    for (let k = 0; k < samples; k++) app.append(labels, Math.floor((k * HOUR) / samples), i + k);
  }
  app.commit();
}

/** A job's data with its one selection's first page made ahead and claimed for a deal. */
function claimed(): { data: JobData; first: SeriesPage } {
  const data = new JobData(store, { maxSamples: 50_000_000, bounds });
  const spec = { query: "sum(rate(x[5m]))", maxSamples: 50_000_000 };
  const reads = planner.plannedReads(spec.query, { start: 0, end: HOUR, step: STEP }, spec);
  assert.ok(reads !== null);
  const first = data.selectAhead(reads, DEAL_PAGE_BYTES)[0].page;
  assert.equal(first.done, false);
  assert.equal(data.claim(first.cursor), true);
  return { data, first };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Reads one half to its end through `deal`, as its worker would: the page asked for, waited for when not built. */
async function readHalf(deal: PageDeal, half: Half, inbox: Map<number, DataResponse>, first?: SeriesPage) {
  const pages: SeriesPage[] = first === undefined ? [] : [first];
  let seq = half * 1_000_000;
  while (pages.length === 0 || !pages[pages.length - 1].done) {
    const cursor = pages.length === 0 ? deal.cursors[half] : pages[pages.length - 1].cursor;
    assert.equal(cursor, deal.cursors[half]);
    const s = ++seq;
    let res = deal.request(cursor, s) ?? undefined;
    while (res === undefined) {
      await turn();
      res = inbox.get(s);
    }
    if (!res.ok || !("page" in res)) throw new ContrailError(res.ok ? "internal" : (res.code as "internal"), "no page");
    pages.push(res.page);
    await turn();
  }
  return pages;
}

function seriesOf(pages: readonly SeriesPage[]): string[] {
  const reader = new PageReader();
  for (const p of pages) reader.add(p);
  return [...reader.take(true)].map((s) => {
    let n = 0;
    const it = s.iterator();
    for (let k = it.next(); k !== "none"; k = it.next()) n++;
    return `${s.labels.get("instance")}:${n}`;
  });
}

test("every series goes to one half, whole and in order, and the halves weigh about the same", async () => {
  const { data, first } = claimed();
  const inbox = new Map<number, DataResponse>();
  let built = 0;
  const deal = new PageDeal(data, first, {
    alive: () => true,
    observe: () => built++,
    deliver: (_half, answer) => inbox.set(answer.seq, answer),
  });
  // Nobody asks yet: a few pages are built ahead, one per turn, then building waits.
  for (let i = 0; i < 20; i++) await turn();
  assert.ok(built >= 1 && built <= 4, `${built} pages built ahead`);
  const [mine, theirs] = await Promise.all([readHalf(deal, 0, inbox, first), readHalf(deal, 1, inbox)]);
  data.close();
  const all = [...seriesOf(mine), ...seriesOf(theirs)].sort();
  assert.equal(all.length, 300);
  assert.equal(new Set(all).size, 300);
  for (const s of all) assert.ok(/:(241|5000)$/.test(s), `whole series: ${s}`);
  for (const half of [mine, theirs]) {
    const names = seriesOf(half);
    assert.deepEqual(names, [...names].sort(), "a half's series in selection order");
    assert.equal(half[0].continued, false);
    assert.equal(half.filter((p) => p.done).length, 1);
  }
  const weigh = (pages: readonly SeriesPage[]) => pages.reduce((w, p) => w + pageWeight(p), 0);
  const heaviest = Math.max(...[...mine, ...theirs].map(pageWeight));
  assert.ok(Math.abs(weigh(mine) - weigh(theirs)) <= heaviest, `${weigh(mine)} | ${weigh(theirs)}`);
});

test("a page that fails to build reaches the half waiting for it as its error", async () => {
  const { data, first } = claimed();
  const inbox = new Map<number, DataResponse>();
  const deal = new PageDeal(data, first, {
    alive: () => true,
    observe: () => {},
    deliver: (_half, answer) => inbox.set(answer.seq, answer),
  });
  data.stop(new ContrailError("query_canceled", "query was canceled in expression evaluation"));
  await assert.rejects(readHalf(deal, 1, inbox), (e: ContrailError) => e.code === "query_canceled");
  const again = deal.request(deal.cursors[1], 99) ?? undefined;
  assert.ok(again !== undefined && !again.ok && again.code === "query_canceled");
  data.close();
});

test("once the job has ended nothing more is built", async () => {
  const { data, first } = claimed();
  let built = 0;
  let alive = true;
  const deal = new PageDeal(data, first, { alive: () => alive, observe: () => built++, deliver: () => {} });
  alive = false;
  assert.equal(deal.request(deal.cursors[1], 1), null);
  for (let i = 0; i < 5; i++) await turn();
  assert.equal(built, 0);
  deal.stop();
  data.close();
});
