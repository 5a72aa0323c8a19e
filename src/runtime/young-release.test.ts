import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { test } from "node:test";
import { getHeapSpaceStatistics } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  V8_RATE_WINDOW_MS,
  YOUNG_RELEASE_CHECK_MS,
  YoungRelease,
  type YoungReleaseProbes,
  youngCollector,
} from "./young-release.ts";

const MiB = 1024 * 1024;

/**
 * Probes that replay given utilizations, one a check of `YOUNG_RELEASE_CHECK_MS` on a clock of their own; the new
 * space is 32 MiB until a collection that V8 lets shrink it (`shrinksFrom`: the clock's earliest time for that),
 * then `after`; the times of the collections asked for are kept.
 */
function scripted(
  utilizations: number[],
  opts: { after?: number; before?: number; shrinksFrom?: number } = {},
): YoungReleaseProbes & { collected: number[] } {
  let size = opts.before ?? 32 * MiB;
  let clock = 0;
  const p = {
    collected: [] as number[],
    utilization: () => {
      clock += YOUNG_RELEASE_CHECK_MS;
      return utilizations.shift() ?? 0;
    },
    newSpaceBytes: () => size,
    now: () => clock,
    collectYoung: () => {
      p.collected.push(clock);
      if (clock >= (opts.shrinksFrom ?? 0)) size = opts.after ?? 1 * MiB;
    },
  };
  return p;
}

const run = (r: YoungRelease, n: number) => Array.from({ length: n }, () => r.check());
const CHECKS_IN_WINDOW = V8_RATE_WINDOW_MS / YOUNG_RELEASE_CHECK_MS;

test("collects at the first quiet check after a busy one, then once V8's rate window has passed, then rests", () => {
  // Busy at 500 ms; quiet from 1,000 ms: the first collection there shrinks nothing (the busy spell is in V8's
  // window), the next comes 5,000 ms later and shrinks the space; nothing more until the thread is busy again.
  const p = scripted([0.5], { shrinksFrom: 1000 + V8_RATE_WINDOW_MS });
  const r = new YoungRelease(p);
  const checks = run(r, 2 + CHECKS_IN_WINDOW + 4);
  assert.deepEqual(p.collected, [1000, 1000 + V8_RATE_WINDOW_MS]);
  assert.equal(checks.filter((c) => c).length, 2);
  p.utilization = () => 0.3;
  r.check();
  p.newSpaceBytes = () => 32 * MiB;
  p.utilization = () => 0;
  r.check();
  assert.equal(r.count, 3);
});

test("a busy check between the collections starts over; a grown space is tried again at most four times", () => {
  const p = scripted([0.5, 0, 0, 0.4], { after: 32 * MiB });
  const r = new YoungRelease(p);
  run(r, 5 + CHECKS_IN_WINDOW + 10);
  // The first collection at 1,000 ms, a busy check at 2,000, the next first one at 2,500, then four tries.
  const tries = [1, 2, 3, 4].map((i) => 2500 + V8_RATE_WINDOW_MS + (i - 1) * YOUNG_RELEASE_CHECK_MS);
  assert.deepEqual(p.collected, [1000, 2500, ...tries]);
});

test("never collects while the thread stays busy, before any work, or when the new space is not grown", () => {
  const busy = scripted([0.5, 0.2, 0.9, 0.05]);
  run(new YoungRelease(busy), 4);
  assert.equal(busy.collected.length, 0);
  const idleFromStart = scripted([0, 0, 0, 0]);
  run(new YoungRelease(idleFromStart), 4);
  assert.equal(idleFromStart.collected.length, 0);
  const small = scripted([0.5, 0, 0, 0.5, 0, 0], { before: 1 * MiB });
  run(new YoungRelease(small), 6);
  assert.equal(small.collected.length, 0);
});

test("V8 shrinks a grown new space at a young collection a rate window after the first one that followed the burst", () => {
  const collect = youngCollector();
  assert.notEqual(collect, null);
  const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === "new_space")!.space_size;
  // A burst whose objects survive long enough to grow the new space.
  let keep: unknown[] = [];
  for (let i = 0; i < 300_000 && newSpace() < 16 * MiB; i++) {
    keep.push(new Array(100).fill(i));
    if (keep.length > 100_000) keep = [];
  }
  keep = [];
  assert.ok(newSpace() > 4 * MiB, `new space ${newSpace()}`);
  collect!();
  const cut = performance.now();
  while (performance.now() - cut < V8_RATE_WINDOW_MS + 20)
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  collect!();
  assert.ok(newSpace() <= 4 * MiB, `new space ${newSpace()}`);
});

test("this thread's young collection runs and adds no global gc to the thread's own context", () => {
  const before = typeof (globalThis as { gc?: unknown }).gc;
  const collect = youngCollector();
  assert.notEqual(collect, null);
  collect!();
  assert.ok(getHeapSpaceStatistics().some((s) => s.space_name === "new_space"));
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, before);
  // A context made afterwards has none either: the flag was set only for the collector's own.
  assert.equal(runInNewContext("typeof gc"), "undefined");
});
