// The query pool behind a real API server: cheap queries answer while heavy ones run, a client that goes away
// frees its worker, the timeout stops even a query that never checks, memory exhaustion costs one worker only,
// per-org queues refuse with 503 past their bound, and one org cannot take every worker. Workers run the test
// entry module, which adds two misbehaving queries (see test-worker.ts); their pools evaluate nothing inline, since
// the hooks live in the worker. Only liveness bounds, never speed.

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
import { DEFAULT_WORKER_YOUNG_GENERATION_MB } from "./pool-options.ts";
import { poolReaches } from "./pool-testkit.ts";

const HOOKS = new URL("./test-worker.ts", import.meta.url);
/** How long a query that must not wait for heavy ones may take: generous, for a loaded machine. */
const LIVENESS_MS = 2000;
/** How long to wait for the pool to reach a state. */
const SETTLE_MS = 10_000;
/** Idle time after which the test pool retires a spare worker. */
const SPARE_IDLE_MS = 1000;
/** Grace of a pool whose workers must give up by themselves: longer than any wait here, so it never ends first. */
const PATIENT_GRACE_MS = 6 * SETTLE_MS;
/** Least time the queue test keeps a query waiting, ms; its stats must report at least as much. */
const QUEUED_MS = 500;
const SPIN = 'test_hook{action="spin"}';
const WAIT = 'test_hook{action="wait"}';
const EXHAUST = 'test_hook{action="exhaust"}';
/** Terms in a heavy query: enough that both outlast a spare's start on a loaded machine; the tests stop them. */
const HEAVY_TERMS = 8;
// About 7 million subquery steps a term: seconds of work that checks for cancellation at every step.
const HEAVY = Array(HEAVY_TERMS).fill("count_over_time(vector(1)[2h:1ms])").join(" + ");

let control: TestControl;
let pool: QueryPool;
let server: TestServer;
const tokens: Record<string, string> = {};

before(async () => {
  control = testControl();
  for (const org of ["acme", "other", "small"]) tokens[org] = control.org(org);
  const store = new MemoryTenants();
  load(store, "acme", [{ labels: { __name__: "up", job: "a" }, t: 0, v: 1 }]);
  pool = new QueryPool({
    workers: 2,
    maxWorkers: 4,
    workerScript: HOOKS,
    graceMs: 300,
    spareIdleMs: SPARE_IDLE_MS,
    inline: false,
  });
  server = await startTestServer(control, store, {
    queryPool: pool,
    limitsFor: (org) => (org === "small" ? { maxConcurrentQueries: 1, maxQueuedQueries: 1 } : undefined),
  });
});

after(async () => {
  await server.close();
  await pool.close();
  control.cleanup();
});

interface Reply {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answer JSON
  readonly json: any;
  readonly ms: number;
}

// An instant query at t=100 s to `base` (default: the shared server) as `org`.
async function query(
  org: string,
  q: string,
  extra: Record<string, string> = {},
  signal?: AbortSignal,
  base = server.url,
): Promise<Reply> {
  const params = new URLSearchParams({ query: q, time: "100", ...extra });
  const started = performance.now();
  const r = await fetch(`${base}/prometheus/${org}/api/v1/query?${params}`, {
    headers: { authorization: `Bearer ${tokens[org]}` },
    signal,
  });
  const text = await r.text();
  return { status: r.status, json: JSON.parse(text), ms: performance.now() - started };
}

// Waits until `cond` holds for the figures of `p` (default: the shared pool); fails after SETTLE_MS.
function until(what: string, cond: (f: PoolFigures) => boolean, p = pool): Promise<PoolFigures> {
  return poolReaches(p, what, cond, SETTLE_MS);
}

// Waits until every worker is up and idle again.
function settled(): Promise<PoolFigures> {
  return until("all workers ready and idle", (f) => f.ready === f.workers && f.busy === 0 && f.queued === 0);
}

describe("query pool", () => {
  test("1+1 answers while two heavy queries run", async () => {
    await settled();
    const stop = new AbortController();
    const heavy = [1, 2].map(() => query("acme", HEAVY, { timeout: "60s" }, stop.signal).catch(() => null));
    // The warm spare, started once every worker is busy, must have booted: what is measured is the wait beside
    // heavy queries, not a thread's start, which takes seconds on a loaded machine.
    await until("two heavy queries running, a spare ready", (f) => f.busy >= 2 && f.ready > f.busy);
    let checked = 0;
    while (checked < 5 && pool.figures().busy >= 2) {
      const r = await query("acme", "1+1");
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.data, { resultType: "scalar", result: [100, "2"] });
      assert.ok(r.ms < LIVENESS_MS, `1+1 took ${r.ms.toFixed(0)} ms beside two heavy queries`);
      checked++;
    }
    assert.ok(checked > 0, "the heavy queries ended before 1+1 could be asked");
    stop.abort();
    await Promise.all(heavy);
    await settled();
  });

  test("a cheap query of the same org runs on a spare beside the org's heavy ones; idle spares retire", async () => {
    await settled();
    const stop = new AbortController();
    const waits = [1, 2].map(() => query("acme", WAIT, { timeout: "60s" }, stop.signal).catch(() => null));
    await until("every base worker busy, a spare ready", (f) => f.busy === 2 && f.workers === 3 && f.ready === 3);
    const r = await query("acme", "1+1");
    assert.equal(r.status, 200);
    assert.ok(r.ms < LIVENESS_MS, `1+1 waited ${r.ms.toFixed(0)} ms beside the org's two running queries`);
    stop.abort();
    await Promise.all(waits);
    await until("the spare retired after idling", (f) => f.workers === 2 && f.busy === 0);
  });

  test("a client that goes away raises its query's cancel flag: the worker gives up by itself", async () => {
    // A pool of its own, whose grace outlasts every wait here: only the worker's own check of the flag can free it
    // in time, however late a loaded machine runs the worker.
    const patient = new QueryPool({ workers: 1, workerScript: HOOKS, graceMs: PATIENT_GRACE_MS, inline: false });
    const s = await startTestServer(control, new MemoryTenants(), { queryPool: patient });
    try {
      const before = await until("the worker ready", (f) => f.ready === 1, patient);
      const client = new AbortController();
      const gone = query("acme", WAIT, { timeout: "60s" }, client.signal, s.url).catch((err: Error) => err.name);
      await until("the heavy query running", (f) => f.busy === 1, patient);
      client.abort();
      assert.equal(await gone, "AbortError");
      const f = await until("the worker free again", (x) => x.busy === 0, patient);
      assert.equal(f.canceled, before.canceled + 1);
      assert.equal(f.restarts.canceled, 0, "the worker stopped without being terminated");
    } finally {
      await s.close();
      await patient.close();
    }
  });

  test("the timeout stops a query that never checks: its worker is replaced", async () => {
    const before = await settled();
    const r = await query("acme", SPIN, { timeout: "500ms" });
    assert.equal(r.status, 503);
    assert.deepEqual(r.json, {
      status: "error",
      errorType: "timeout",
      error: "query timed out in expression evaluation",
    });
    const f = await settled();
    assert.equal(f.restarts.timeout, before.restarts.timeout + 1);
    assert.equal(f.timedOut, before.timedOut + 1);
    assert.equal((await query("acme", "up")).json.data.result.length, 1);
  });

  test("a queue per org: past its bound 503 naming the limit; waiting counts against the timeout", async () => {
    await settled();
    // The org's one running query holds its worker until released, not until a deadline that a loaded machine
    // could reach before the checks.
    const hold = new AbortController();
    const holding = query("small", WAIT, { timeout: "60s" }, hold.signal).catch(() => null);
    await until("the holding query running", (f) => f.busy === 1);
    const waiting = query("small", "1+1", { stats: "all" });
    await until("one query waiting", (f) => f.queued === 1);
    const queuedBy = performance.now();
    const refused = await query("small", "1+1");
    assert.equal(refused.status, 503);
    assert.equal(refused.json.errorType, "unavailable");
    assert.match(refused.json.error, /too many queries waiting for this org \(limit 1 queued, 1 running at once\)/);
    const other = await query("other", "1+1");
    assert.equal(other.status, 200, "another org is not held up");
    // Released once it has waited at least QUEUED_MS (it was queued before `queuedBy`).
    await sleep(Math.max(0, queuedBy + QUEUED_MS - performance.now()));
    hold.abort();
    await holding;
    const w = await waiting;
    assert.equal(w.status, 200);
    const timings = w.json.data.stats.timings;
    assert.ok(timings.execQueueTime >= QUEUED_MS / 1000, `queued ${timings.execQueueTime} s, held ${QUEUED_MS} ms`);
    assert.ok(timings.execTotalTime >= timings.execQueueTime);

    await settled();
    const holdAgain = new AbortController();
    const holdingAgain = query("small", WAIT, { timeout: "60s" }, holdAgain.signal).catch(() => null);
    await until("the holding query running", (f) => f.busy === 1);
    const late = await query("small", "1+1", { timeout: "200ms" });
    assert.equal(late.status, 503);
    assert.equal(late.json.error, "query timed out in query queue");
    holdAgain.abort();
    await holdingAgain;
    await settled();
  });

  test("one org cannot take every worker: another org's query runs while it waits", async () => {
    await settled();
    // The org's queries hold their workers until released (not until a deadline, which a loaded machine could
    // reach before the checks), and the last worker has booted before the other org asks.
    const stop = new AbortController();
    const waits = [1, 2, 3].map(() => query("acme", WAIT, { timeout: "60s" }, stop.signal).catch(() => null));
    await until("three queries of one org running, the last worker ready", (f) => f.busy === 3 && f.ready === 4);
    const fourth = query("acme", "1+1");
    await until("the org's next query waiting", (f) => f.queued === 1);
    const other = await query("other", "1+1");
    assert.equal(other.status, 200);
    assert.ok(other.ms < LIVENESS_MS, `another org waited ${other.ms.toFixed(0)} ms`);
    assert.equal(pool.figures().queued, 1, "the org's own query still waits for one of its workers");
    stop.abort();
    await Promise.all(waits);
    assert.equal((await fourth).status, 200);
    await settled();
  });

  test("an answer of several megabytes arrives whole, compressed or not", async () => {
    // One series per step, each with a 200-character label: about 3 MB of JSON in 4 chunks from the worker.
    const q = `label_replace(count_values("t", vector(time())), "long", "${"x".repeat(200)}", "", "")`;
    const params = new URLSearchParams({ query: q, start: "0", end: String(3 * 3600), step: "1" });
    for (const encoding of ["gzip", "identity"]) {
      const r = await fetch(`${server.url}/prometheus/acme/api/v1/query_range?${params}`, {
        headers: { authorization: `Bearer ${tokens.acme}`, "accept-encoding": encoding },
      });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-encoding"), encoding === "gzip" ? "gzip" : null);
      const json: Reply["json"] = await r.json();
      assert.equal(json.data.result.length, 3 * 3600 + 1);
      // Series come sorted by labels ("9999" after "10800"); each holds its own step.
      const steps = json.data.result.map((x: Reply["json"]) => x.values[0][0]).sort((a: number, b: number) => a - b);
      assert.deepEqual([steps[0], steps.at(-1)], [0, 3 * 3600]);
    }
  });

  test("/metrics shows the pool", async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /^contrail_query_workers [234]$/m);
    assert.match(text, /^contrail_query_workers_max 4$/m);
    assert.match(text, /^contrail_query_workers_busy 0$/m);
    assert.match(text, /^contrail_query_queue_length 0$/m);
    assert.match(text, /^contrail_queries_stopped_total\{reason="canceled"\} [1-9]/m);
    assert.match(text, /^contrail_query_worker_restarts_total\{reason="timeout"\} [1-9]/m);
    assert.match(text, /^contrail_queries_rejected_total [1-9]/m);
    assert.match(text, /^contrail_query_data_request_duration_seconds_bucket\{le="\+Inf"\} \d+$/m);
  });
});

describe("query pool limits", () => {
  test("a query that exhausts its worker's memory is answered 422 and the server lives on", async () => {
    const small = new QueryPool({ workers: 1, workerScript: HOOKS, workerHeapMb: 48, inline: false });
    const store = new MemoryTenants();
    const s = await startTestServer(control, store, { queryPool: small });
    try {
      const ask = (q: string) => query("acme", q, {}, undefined, s.url);
      const r = await ask(EXHAUST);
      assert.equal(r.status, 422);
      assert.equal(r.json.errorType, "execution");
      assert.match(r.json.error, /query ran out of memory: it needed more than a query worker's limit of 48 MiB/);
      assert.equal((await ask("1+1")).status, 200);
      assert.equal(small.figures().restarts.out_of_memory, 1);
    } finally {
      await s.close();
      await small.close();
    }
  });

  test("each worker runs with the pool's heap limit and the default young generation limit", async () => {
    const sized = new QueryPool({ workers: 1, workerScript: HOOKS, workerHeapMb: 96, inline: false });
    const store = new MemoryTenants();
    const s = await startTestServer(control, store, { queryPool: sized });
    try {
      const r = await query("acme", 'test_hook{action="limits"}', {}, undefined, s.url);
      const limits = JSON.parse(/limits: (\{.*\})/.exec(r.json.error)![1]);
      assert.equal(limits.maxOldGenerationSizeMb, 96);
      assert.equal(limits.maxYoungGenerationSizeMb, DEFAULT_WORKER_YOUNG_GENERATION_MB);
    } finally {
      await s.close();
      await sized.close();
    }
  });

  test("workers that cannot start fail queries with 503 instead of leaving them waiting", async () => {
    const broken = new QueryPool({ workers: 1, workerScript: new URL("./no-such-worker.ts", import.meta.url) });
    try {
      const spec = {
        query: "1+1",
        at: { kind: "instant" as const, time: 0 },
        timeoutMs: 60_000,
        maxSamples: 100,
        render: { kind: "json" as const, limit: 0, maxSeries: 10, stats: "" },
      };
      const sub = { org: "acme", maxConcurrent: 1, maxQueued: 1, queryable: new MemoryTenants().queryable("acme") };
      await assert.rejects(broken.run(spec, sub), /no query worker could start/);
    } finally {
      await broken.close();
    }
  });
});
