// A large selection split on the main thread: which jobs qualify, how its pages are gathered (one per turn, up to a
// bound), and how they are cut between the job's worker and a helper. Real pages from a real store.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { Engine } from "../../promql/engine/index.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { JobData } from "./job-data.ts";
import type { PageBounds } from "./pages.ts";
import {
  type Gathered,
  type GatheredPages,
  gatherPages,
  MAX_GATHERED_PAGES,
  splitGathered,
  worthSplitting,
} from "./presplit.ts";
import type { PrefetchedSelect, QuerySpec, SeriesPage } from "./protocol.ts";

const STEP = 15_000;
const HOUR = 240 * STEP;
const planner = new Engine({ metricsql: true });

const store = new MemoryStore();
{
  const app = store.appender();
  for (let i = 0; i < 600; i++) {
    const labels = Labels.fromStrings("__name__", "x", "job", `j${i % 5}`, "instance", `h${i}`);
    for (let k = 0; k <= 240; k++) app.append(labels, k * STEP, i + k);
  }
  app.commit();
}

function spec(query: string, at: QuerySpec["at"] = { kind: "range", start: 0, end: HOUR, step: STEP }): QuerySpec {
  return {
    query,
    at,
    timeoutMs: 10_000,
    maxSamples: 50_000_000,
    render: { kind: "json", limit: 0, maxSeries: 1e6, stats: "" },
  };
}

/** The selections of `s` made ahead from the store, with pages of at most `samples` samples. */
function ahead(s: QuerySpec, samples: number): { data: JobData; selects: PrefetchedSelect[] } {
  const bounds: PageBounds = { series: 4096, samples, bytes: 1 << 20, ms: 60_000, readSamples: 4096 };
  const data = new JobData(store, { maxSamples: s.maxSamples, bounds });
  const at = s.at.kind === "range" ? s.at : { start: s.at.time, end: s.at.time, step: 0 };
  const reads = planner.plannedReads(s.query, { start: at.start, end: at.end, step: at.step }, s);
  assert.ok(reads !== null);
  return { data, selects: data.selectAhead(reads) };
}

function gathered(s: QuerySpec, samples: number): Promise<Gathered> {
  const { data, selects } = ahead(s, samples);
  let turns = 0;
  return new Promise((resolve) => {
    gatherPages(data, selects[0], { alive: () => true, observe: () => turns++ }, (g) => {
      data.close();
      resolve(g);
    });
  });
}

const entries = (pages: readonly SeriesPage[]) => pages.reduce((n, p) => n + p.pairs.length - (p.continued ? 1 : 0), 0);

test("only a range query a worker would split, over more than a page or a heavy one, is split here", () => {
  const q = "sum by (job) (rate(x[5m]))";
  assert.equal(worthSplitting(planner, spec(q), ahead(spec(q), 16_384).selects), true);
  // One page holding the whole selection, heavier than the split's least weight (145k samples × 16 bytes).
  assert.equal(worthSplitting(planner, spec(q), ahead(spec(q), 1_000_000).selects), true);
  assert.equal(worthSplitting(planner, spec("avg by (job) (rate(x[5m]))"), ahead(spec(q), 16_384).selects), false);
  const instant = spec(q, { kind: "instant", time: HOUR });
  assert.equal(worthSplitting(planner, instant, ahead(instant, 16_384).selects), false);
  const few = spec('sum(rate(x{instance=~"h1.?"}[5m]))');
  assert.equal(worthSplitting(planner, few, ahead(few, 16_384).selects), false);
});

test("the pages are gathered whole, cut where the halves weigh the same, the second half to the helper", async () => {
  const g = (await gathered(spec("sum(rate(x[5m]))"), 16_384)) as GatheredPages;
  assert.ok(!("error" in g));
  assert.equal(g.whole, true);
  assert.ok(g.pages.length > 2 && g.pages.length <= MAX_GATHERED_PAGES);
  assert.equal(g.pages[g.pages.length - 1].done, true);
  assert.equal(entries(g.pages), 600);
  let given: readonly SeriesPage[] = [];
  const split = splitGathered(g, () => (second) => {
    given = second;
    return 7;
  });
  assert.deepEqual(split.presplit, { assist: 7 });
  const mine = [split.select.page, ...(split.select.more ?? [])];
  assert.equal(entries(mine) + entries(given), 600);
  assert.ok(Math.abs(entries(mine) - entries(given)) <= 2, `${entries(mine)} | ${entries(given)}`);
  // No helper free: the job's worker keeps every page, told no assist holds any.
  const alone = splitGathered((await gathered(spec("sum(rate(x[5m]))"), 16_384)) as GatheredPages, () => null);
  assert.deepEqual(alone.presplit, { assist: 0 });
  assert.equal(entries([alone.select.page, ...(alone.select.more ?? [])]), 600);
});

test("past the page bound the gathered pages go as they are, for the worker to ask for the rest", async () => {
  const g = (await gathered(spec("sum(rate(x[5m]))"), 2048)) as GatheredPages;
  assert.equal(g.whole, false);
  assert.equal(g.pages.length, MAX_GATHERED_PAGES);
  const split = splitGathered(g, () => assert.fail("no helper is looked for"));
  assert.equal(split.presplit, undefined);
  assert.equal(1 + (split.select.more?.length ?? 0), MAX_GATHERED_PAGES);
});

test("gathering stops once the job has ended, and a page's error ends it", async () => {
  const { data, selects } = ahead(spec("sum(rate(x[5m]))"), 16_384);
  let called = false;
  gatherPages(data, selects[0], { alive: () => false, observe: () => {} }, () => {
    called = true;
  });
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.equal(called, false);
  data.close();
  const stopped = ahead(spec("sum(rate(x[5m]))"), 16_384);
  stopped.data.stop(new ContrailError("query_canceled", "query was canceled in expression evaluation"));
  const g = await new Promise<Gathered>((resolve) =>
    gatherPages(stopped.data, stopped.selects[0], { alive: () => true, observe: () => {} }, resolve),
  );
  assert.ok("error" in g && g.error.code === "query_canceled");
  stopped.data.close();
});
