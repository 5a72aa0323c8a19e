import assert from "node:assert/strict";
import { test } from "node:test";
import { getHeapSpaceStatistics } from "node:v8";
import { runInNewContext } from "node:vm";
import { YoungRelease, type YoungReleaseProbes, youngCollector } from "./young-release.ts";

const MiB = 1024 * 1024;

/**
 * Probes that replay given utilizations; the new space is 32 MiB until a collection, then `after` (V8 shrank it,
 * or not when `after` is still large), and the collections asked for are counted.
 */
function scripted(
  utilizations: number[],
  after = 1 * MiB,
  before = 32 * MiB,
): YoungReleaseProbes & { collected: number } {
  let size = before;
  const p = {
    collected: 0,
    utilization: () => utilizations.shift() ?? 0,
    newSpaceBytes: () => size,
    collectYoung: () => {
      p.collected++;
      size = after;
    },
  };
  return p;
}

const run = (r: YoungRelease, n: number) => Array.from({ length: n }, () => r.check());

test("collects once two quiet checks follow a busy one, and not again until the node was busy again", () => {
  const p = scripted([0.5, 0.01, 0, 0, 0, 0, 0.3, 0, 0.01]);
  const r = new YoungRelease(p);
  // After the collection the new space is small: nothing more, until the next busy check grows it again.
  assert.deepEqual(run(r, 6), [false, false, true, false, false, false]);
  p.newSpaceBytes = () => 32 * MiB;
  assert.deepEqual(run(r, 3), [false, false, true]);
  assert.equal(r.count, 2);
});

test("tries again at each quiet check while V8 keeps the new space grown, at most four times a busy spell", () => {
  const p = scripted([0.5], 32 * MiB);
  const r = new YoungRelease(p);
  assert.deepEqual(run(r, 8), [false, false, true, true, true, true, false, false]);
  assert.equal(p.collected, 4);
});

test("never collects while the node stays busy, before any work, or when the new space is not grown", () => {
  const busy = scripted([0.5, 0.2, 0.9, 0.05]);
  run(new YoungRelease(busy), 4);
  assert.equal(busy.collected, 0);
  const idleFromStart = scripted([0, 0, 0, 0]);
  run(new YoungRelease(idleFromStart), 4);
  assert.equal(idleFromStart.collected, 0);
  const small = scripted([0.5, 0, 0, 0.5, 0, 0], 1 * MiB, 1 * MiB);
  run(new YoungRelease(small), 6);
  assert.equal(small.collected, 0);
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
