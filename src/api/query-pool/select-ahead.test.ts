// A job's selections are made on the main thread before the job is handed over: the worker takes them (no querier
// of its own, no select of its own) and the answers are those of selections asked for. A job evaluated on the main
// thread reads the selections made there, no more.

import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { Querier, Queryable } from "../../storage/interface.ts";
import { load, MemoryTenants } from "../test-support.ts";
import { QueryPool } from "./pool.ts";
import type { QuerySpec } from "./protocol.ts";

const pool = new QueryPool({ workers: 1, inline: false });
/** Inline evaluations with a bound no cold start reaches. */
const here = new QueryPool({ workers: 1, inlineMaxMs: 10_000 });
after(() => Promise.all([pool.close(), here.close()]));

function store(): MemoryTenants {
  const s = new MemoryTenants();
  const samples = [];
  for (let i = 0; i < 5; i++) {
    for (let t = 0; t < 3_600_000; t += 15_000)
      samples.push({ labels: { __name__: "m", i: String(i) }, t, v: t / 1000 });
  }
  load(s, "acme", samples);
  return s;
}

// A Queryable that counts the queriers opened and the selections made on them.
function counting(q: Queryable): { queryable: Queryable; queriers: () => number; selects: () => number } {
  let queriers = 0;
  let selects = 0;
  return {
    queriers: () => queriers,
    selects: () => selects,
    queryable: {
      querier(mint, maxt): Querier {
        queriers++;
        const inner = q.querier(mint, maxt);
        return {
          select: (ms, hints) => {
            selects++;
            return inner.select(ms, hints);
          },
          labelNames: (ms, hints) => inner.labelNames(ms, hints),
          labelValues: (n, ms, hints) => inner.labelValues(n, ms, hints),
          close: () => inner.close(),
        };
      },
    },
  };
}

async function answer(queryable: Queryable, query: string, on = pool): Promise<string> {
  const spec: QuerySpec = {
    query,
    at: { kind: "range", start: 600_000, end: 3_000_000, step: 15_000 },
    timeoutMs: 10_000,
    maxSamples: 1_000_000,
    render: { kind: "json", limit: 0, maxSeries: 1e9, stats: "" },
  };
  const body = await on.run(spec, { org: "acme", maxConcurrent: 4, maxQueued: 4, queryable });
  return Buffer.concat(body).toString("utf8");
}

test("the worker takes the selections made ahead: one querier, one select per selector", async () => {
  const s = store();
  const one = counting(s.queryable("acme"));
  const text = await answer(one.queryable, "sum(rate(m[5m]))");
  assert.match(text, /"status":"success"/);
  assert.deepEqual([one.queriers(), one.selects()], [1, 1]);

  const two = counting(s.queryable("acme"));
  await answer(two.queryable, 'm{i="1"} / on(i) m');
  assert.deepEqual([two.queriers(), two.selects()], [1, 2]);
});

test("a job evaluated on the main thread reads its selections made there: one querier, one select per selector", async () => {
  const s = store();
  for (const query of ["sum(rate(m[5m]))", 'm{i="1"} / on(i) m']) {
    const c = counting(s.queryable("acme"));
    // A turn of the event loop first: one job at most runs inline per turn, and the previous one may have run in this.
    await new Promise((resolve) => setImmediate(resolve));
    const inlineBefore = here.figures().inline;
    const text = await answer(c.queryable, query, here);
    assert.equal(text, await answer(s.queryable("acme"), query));
    assert.equal(here.figures().inline, inlineBefore + 1);
    assert.deepEqual([c.queriers(), c.selects()], [1, query.includes("/") ? 2 : 1]);
  }
});

test("over more selectors than are made ahead, the worker asks for each", async () => {
  const s = store();
  const c = counting(s.queryable("acme"));
  const text = await answer(c.queryable, "m + m + m + m + m");
  assert.match(text, /"status":"success"/);
  assert.deepEqual([c.queriers(), c.selects()], [1, 5]);
});
