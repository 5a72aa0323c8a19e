// Range queries split between two query workers answer as one worker does: the same series, the same steps, the
// same values (sums within rounding), over data with counter resets, NaN, gaps and series that start late; queries
// that cannot be split still answer right; a split query's deadline stops both workers. Real pools and workers.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Labels } from "../../model/labels.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { QueryPool } from "./pool.ts";
import type { QuerySpec } from "./protocol.ts";

const SERIES = 2000;
const STEP = 15_000;
const SAMPLES = 240;
const HOUR = SAMPLES * STEP;

let store: MemoryStore;
let single: QueryPool;
let split: QueryPool;

before(async () => {
  store = new MemoryStore();
  const app = store.appender();
  for (let i = 0; i < SERIES; i++) {
    const labels = Labels.fromStrings(
      "__name__",
      "x",
      "job",
      `job-${i % 7}`,
      "instance",
      `h-${i}`,
      "zone",
      `z${i % 3}`,
    );
    // Some series start late, some have a gap; counters reset now and then; a few values are NaN.
    const first = i % 11 === 0 ? 100 : 0;
    let v = i;
    for (let k = first; k <= SAMPLES; k++) {
      if (i % 13 === 0 && k > 60 && k < 90) continue;
      v = k % 97 === i % 97 ? 0 : v + (i % 5) + 0.1 * (k % 3);
      app.append(labels, k * STEP + (i % 9) * 1000, i % 101 === 0 && k % 17 === 0 ? Number.NaN : v);
    }
  }
  app.commit();
  single = new QueryPool({ workers: 2, assists: false, engine: { metricsql: true } });
  // Three workers: one for the query, one to help, one left free for whatever comes meanwhile.
  split = new QueryPool({ workers: 3, engine: { metricsql: true } });
  // A query splits only when a helper is ready as it starts: wait for every worker, as a loaded machine starts them late.
  for (let i = 0; i < 200 && split.figures().ready < 3; i++) await sleep(50);
});

after(async () => {
  await Promise.all([single.close(), split.close()]);
});

function spec(query: string, timeoutMs = 60_000): QuerySpec {
  return {
    query,
    at: { kind: "range", start: 0, end: HOUR, step: STEP },
    timeoutMs,
    maxSamples: 50_000_000,
    render: { kind: "json", limit: 0, maxSeries: 1_000_000, stats: "" },
  };
}

interface Answer {
  readonly data: { readonly result: { metric: Record<string, string>; values: [number, string][] }[] };
  readonly warnings?: string[];
  readonly infos?: string[];
}

async function run(pool: QueryPool, query: string): Promise<Answer> {
  const body = await pool.run(spec(query), { org: "o", maxConcurrent: 4, maxQueued: 4, queryable: store });
  return JSON.parse(Buffer.concat(body).toString()) as Answer;
}

// Values equal, or for sums within a relative 1e-12 (the halves are added in another order).
function sameValue(a: string, b: string): boolean {
  if (a === b) return true;
  const x = Number(a);
  const y = Number(b);
  return Math.abs(x - y) <= 1e-12 * Math.max(1, Math.abs(x), Math.abs(y));
}

describe("a range query split between two workers", () => {
  const shapes = [
    "sum by (job) (rate(x[5m]))",
    // Too many points for the main thread to merge: the job's worker merges the halves.
    "sum by (instance) (rate(x[5m]))",
    "sum(rate(x[5m]))",
    "sum without (instance) (increase(x[1m]))",
    "count by (zone) (irate(x[5m]))",
    "min by (job) (rate(x[5m]))",
    "max by (job, zone) (delta(x[5m]))",
    "group by (job) (changes(x[5m]))",
    "max(max_over_time(x[10m]))",
    "min(min_over_time(x[2m] offset 5m))",
    "sum by (zone) (last_over_time(x[5m]))",
    "count(count_over_time(x[5m]))",
    "sum by (job) (resets(x[15m]))",
    "sum by (job) (rate(x))",
    "avg by (job) (rate(x[5m]))",
    "topk(2, sum by (job) (rate(x[5m])))",
  ];
  for (const q of shapes) {
    test(q, async () => {
      const before = split.figures().assists;
      const [a, b] = [await run(single, q), await run(split, q)];
      assert.equal(single.figures().assists, 0);
      const splittable = !q.startsWith("avg") && !q.startsWith("topk");
      assert.equal(split.figures().assists > before, splittable, "split when the shape allows it");
      assert.deepEqual(
        b.data.result.map((s) => s.metric),
        a.data.result.map((s) => s.metric),
      );
      for (let i = 0; i < a.data.result.length; i++) {
        const x = a.data.result[i].values;
        const y = b.data.result[i].values;
        assert.deepEqual(
          y.map((p) => p[0]),
          x.map((p) => p[0]),
        );
        for (let j = 0; j < x.length; j++) assert.ok(sameValue(x[j][1], y[j][1]), `${x[j][1]} vs ${y[j][1]}`);
      }
      assert.deepEqual(b.warnings, a.warnings);
      assert.deepEqual(b.infos, a.infos);
    });
  }

  test("a selection of a few pages is split on the main thread, and the small answer merged there", async () => {
    // About 8 pages of 65,536 samples: gathered whole, cut, and posted to both workers at once.
    const bounds = { series: 4096, samples: 65_536, bytes: 1 << 20, ms: 60_000, readSamples: 16_384 };
    const pool = new QueryPool({ workers: 3, pageBounds: bounds, engine: { metricsql: true } });
    try {
      for (let i = 0; i < 200 && pool.figures().ready < 3; i++) await sleep(50);
      const q = "sum by (job) (rate(x[5m]))";
      const [a, b] = [await run(single, q), await run(pool, q)];
      assert.equal(pool.figures().assists, 1);
      assert.deepEqual(
        b.data.result.map((s) => s.metric),
        a.data.result.map((s) => s.metric),
      );
      for (let i = 0; i < a.data.result.length; i++) {
        const [x, y] = [a.data.result[i].values, b.data.result[i].values];
        assert.deepEqual(
          y.map((p) => p[0]),
          x.map((p) => p[0]),
        );
        for (let j = 0; j < x.length; j++) assert.ok(sameValue(x[j][1], y[j][1]), `${x[j][1]} vs ${y[j][1]}`);
      }
      // Beyond the pages gathered on the main thread, the job's worker asks for the rest and splits it itself.
      const small = new QueryPool({
        workers: 3,
        pageBounds: { ...bounds, samples: 8192 },
        engine: { metricsql: true },
      });
      try {
        for (let i = 0; i < 200 && small.figures().ready < 3; i++) await sleep(50);
        const c = await run(small, q);
        assert.equal(small.figures().assists, 1);
        assert.deepEqual(
          c.data.result.map((s) => s.values.length),
          a.data.result.map((s) => s.values.length),
        );
      } finally {
        await small.close();
      }
    } finally {
      await pool.close();
    }
  });

  test("no helper when it would take the last free worker: a spare is started instead", async () => {
    const pool = new QueryPool({ workers: 2, maxWorkers: 3, engine: { metricsql: true } });
    try {
      for (let i = 0; i < 200 && pool.figures().ready < 2; i++) await sleep(50);
      await run(pool, "sum(rate(x[5m]))");
      assert.equal(pool.figures().assists, 0);
      assert.equal(pool.figures().workers, 3);
      for (let i = 0; i < 200 && pool.figures().ready < 3; i++) await sleep(50);
      await run(pool, "sum(rate(x[5m]))");
      assert.equal(pool.figures().assists, 1);
    } finally {
      await pool.close();
    }
  });

  test("a spare started for a later split retires when it idles", async () => {
    const pool = new QueryPool({ workers: 2, maxWorkers: 3, spareIdleMs: 200, engine: { metricsql: true } });
    try {
      for (let i = 0; i < 200 && pool.figures().ready < 2; i++) await sleep(50);
      await run(pool, "sum(rate(x[5m]))");
      for (let i = 0; i < 200 && pool.figures().workers > 2; i++) await sleep(50);
      assert.equal(pool.figures().workers, 2);
      assert.equal(pool.figures().assists, 0);
    } finally {
      await pool.close();
    }
  });

  test("a spare kept free by assists stays while they go on, longer than it may idle", async () => {
    // Long beside one query even on a loaded machine: the spare's idle time starts over as each query starts.
    const idleMs = 3000;
    const pool = new QueryPool({ workers: 2, maxWorkers: 3, spareIdleMs: idleMs, engine: { metricsql: true } });
    try {
      for (let i = 0; i < 200 && pool.figures().ready < 2; i++) await sleep(50);
      await run(pool, "sum(rate(x[5m]))");
      for (let i = 0; i < 200 && pool.figures().ready < 3; i++) await sleep(50);
      // The base workers take the job and its assist, the spare stays free: never taken, yet kept.
      const end = performance.now() + 2 * idleMs;
      let queries = 0;
      while (performance.now() < end) {
        await run(pool, "sum(rate(x[5m]))");
        queries++;
        assert.equal(pool.figures().workers, 3);
      }
      assert.equal(pool.figures().assists, queries);
      for (let i = 0; i < 200 && pool.figures().workers > 2; i++) await sleep(50);
      assert.equal(pool.figures().workers, 2, "the spare retires once assists stop");
    } finally {
      await pool.close();
    }
  });

  test("a split query's deadline stops both workers, and the pool is idle again", async () => {
    const q = "sum by (job) (rate(x[5m]))";
    const sub = { org: "o", maxConcurrent: 4, maxQueued: 4, queryable: store };
    await assert.rejects(split.run(spec(q, 1), sub), (err: Error & { code?: string }) => err.code === "query_timeout");
    for (let i = 0; i < 100 && split.figures().busy > 0; i++) await sleep(50);
    assert.equal(split.figures().busy, 0);
    const again = await run(split, q);
    assert.equal(again.data.result.length, 7);
  });
});
