// The pool's lane: with every worker busy (the pool at its maximum, or a spare still starting), the next job is
// selected at once and, when small, evaluated on the main thread instead of waiting for a worker; a larger one waits
// there with its selections made and goes to the first worker freed, or fails as a queued job does when its client
// goes away. Real workers behind a real API server; only liveness bounds, never speed.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  load,
  MemoryTenants,
  startTestServer,
  type TestControl,
  type TestServer,
  testControl,
} from "../test-support.ts";
import type { PoolFigures } from "./figures.ts";
import { QueryPool } from "./pool.ts";
import { poolReaches } from "./pool-testkit.ts";

/** How long a query that must not wait for a worker may take: generous, for a loaded machine. */
const LIVENESS_MS = 2000;
/** How long to wait for the pool to reach a state. */
const SETTLE_MS = 20_000;
/** Terms in a heavy query: each about 2 s on a worker of a quick machine, so both outlast any test's small queries. */
const HEAVY_TERMS = 8;
// Many seconds of work (7.2 million subquery steps over a nested one, a term) that checks for cancellation as it goes;
// the tests stop it when done.
const HEAVY = Array(HEAVY_TERMS).fill("count_over_time(rate(vector(time())[1m:1ms])[2h:1ms])").join(" + ");
/**
 * The pool's inline bound, ms: far past the default, so a small query preempted on a loaded machine is not abandoned
 * to wait for a worker (the heavy queries hold both for many seconds; at load 24 one was abandoned at 200 ms).
 */
const INLINE_MAX_MS = 1000;
// Past that bound (two heavy terms, about 4 s on a quick machine), so it is abandoned for a worker.
const MEDIUM = Array(2).fill("count_over_time(rate(vector(time())[1m:1ms])[2h:1ms])").join(" + ");

let control: TestControl;
let pool: QueryPool;
let server: TestServer;
const tokens: Record<string, string> = {};
/** The orgs of the two heavy queries: one org may hold only all workers but one. */
const HEAVY_ORGS = ["heavy1", "heavy2"];

before(async () => {
  control = testControl();
  for (const org of ["acme", ...HEAVY_ORGS]) tokens[org] = control.org(org);
  const store = new MemoryTenants();
  load(store, "acme", [{ labels: { __name__: "up", job: "a" }, t: 590_000, v: 1 }]);
  pool = new QueryPool({ workers: 1, maxWorkers: 2, graceMs: 300, inlineMaxMs: INLINE_MAX_MS });
  server = await startTestServer(control, store, { queryPool: pool });
});

after(async () => {
  await server.close();
  await pool.close();
  control.cleanup();
});

// An instant query at t=600 s as `org`; the reply's status, answer and wall time (ms).
async function query(q: string, signal?: AbortSignal, org = "acme") {
  const params = new URLSearchParams({ query: q, time: "600", timeout: "60s" });
  const started = performance.now();
  const r = await fetch(`${server.url}/prometheus/${org}/api/v1/query?${params}`, {
    headers: { authorization: `Bearer ${tokens[org]}` },
    signal,
  });
  // biome-ignore lint/suspicious/noExplicitAny: answer JSON
  const json: any = await r.json();
  return { status: r.status, json, ms: performance.now() - started };
}

function until(what: string, cond: (f: PoolFigures) => boolean): Promise<PoolFigures> {
  return poolReaches(pool, what, cond, SETTLE_MS);
}

// Starts two heavy queries and waits until they hold both workers (the pool's maximum).
async function fillWorkers(stop: AbortSignal): Promise<Promise<unknown>[]> {
  await until("the base worker ready and idle", (f) => f.ready === f.workers && f.busy === 0);
  const heavy = HEAVY_ORGS.map((org) => query(HEAVY, stop, org).catch(() => null));
  await until("both workers busy with the heavy queries", (f) => f.busy === 2 && f.workers === f.maxWorkers);
  return heavy;
}

describe("query pool lane", () => {
  test("a small query answers on the main thread while every worker is busy", async () => {
    const stop = new AbortController();
    const heavy = await fillWorkers(stop.signal);
    const inlineBefore = pool.figures().inline;
    for (let i = 0; i < 3; i++) {
      const r = await query("sum(up) + 1");
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.data.result, [{ metric: {}, value: [600, "2"] }]);
      assert.ok(r.ms < LIVENESS_MS, `a small query waited ${r.ms.toFixed(0)} ms with every worker busy`);
    }
    const f = pool.figures();
    assert.equal(f.busy, 2, "the heavy queries still held both workers meanwhile");
    assert.equal(f.inline, inlineBefore + 3);
    stop.abort();
    await Promise.all(heavy);
  });

  test("a larger query waits in the lane and runs on the first worker freed", async () => {
    const stop = new AbortController();
    const heavy = await fillWorkers(stop.signal);
    const waiting = query(MEDIUM);
    await sleep(200);
    assert.equal(pool.figures().busy, 2, "the larger query did not take a worker from the heavy ones");
    stop.abort();
    const r = await waiting;
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.data.result, [{ metric: {}, value: [600, "14400000"] }]);
    await Promise.all(heavy);
  });

  test("a query waiting in the lane whose client goes away is dropped, and the pool goes on", async () => {
    const stop = new AbortController();
    const heavy = await fillWorkers(stop.signal);
    const gone = new AbortController();
    const waiting = query(MEDIUM, gone.signal).catch((err: Error) => err.name);
    await sleep(200);
    const canceledBefore = pool.figures().canceled;
    gone.abort();
    assert.equal(await waiting, "AbortError");
    await until("the waiting query counted as canceled", (f) => f.canceled === canceledBefore + 1);
    stop.abort();
    await Promise.all(heavy);
    const r = await query("1+1");
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.data, { resultType: "scalar", result: [600, "2"] });
    await until("every worker idle", (f) => f.busy === 0);
  });
});
