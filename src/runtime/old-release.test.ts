import assert from "node:assert/strict";
import { test } from "node:test";
import {
  fullCollector,
  GROWTH_RATIO,
  MIN_GROWTH_BYTES,
  OldRelease,
  type OldReleaseProbes,
  threadRetainedBytes,
} from "./old-release.ts";
import { youngCollector } from "./young-release.ts";

const MiB = 1024 * 1024;

/**
 * Probes that replay given utilizations and retained sizes, one of each a check (the last size repeats); a full
 * collection brings the retained bytes to `after`, and the checks at which it was asked for are kept.
 */
function scripted(
  utilizations: number[],
  sizes: number[],
  after = 10 * MiB,
): OldReleaseProbes & { collected: number[] } {
  let check = 0;
  let size = sizes[0];
  let collectedSize: number | null = null;
  const p = {
    collected: [] as number[],
    retainedBytes: () => {
      if (collectedSize !== null) return collectedSize;
      size = sizes[Math.min(check, sizes.length - 1)];
      return size;
    },
    utilization: () => utilizations[check++] ?? 0,
    collectFull: () => {
      p.collected.push(check);
      collectedSize = after;
    },
  };
  return p;
}

const run = (r: OldRelease, n: number) => Array.from({ length: n }, () => r.check());

test("collects at the first quiet check after a busy spell that grew the old generation, once", () => {
  // 10 MiB at the start, 200 MiB after a busy spell of three checks, then quiet.
  const p = scripted([0, 0.6, 0.9, 0.4, 0, 0, 0, 0], [10 * MiB, 10 * MiB, 80 * MiB, 150 * MiB, 200 * MiB]);
  const r = new OldRelease(p);
  const checks = run(r, 8);
  assert.deepEqual(p.collected, [5]);
  assert.deepEqual(checks, [false, false, false, false, true, false, false, false]);
  assert.equal(r.count, 1);
});

test("never collects while the thread stays busy, however much it grew", () => {
  const p = scripted(Array(20).fill(0.05), [10 * MiB, 100 * MiB, 500 * MiB, 900 * MiB]);
  run(new OldRelease(p), 20);
  assert.deepEqual(p.collected, []);
});

test("never collects a thread that idles from the start, or after work that grew it too little", () => {
  const idle = scripted([0, 0, 0, 0], [10 * MiB, 200 * MiB]);
  run(new OldRelease(idle), 4);
  assert.deepEqual(idle.collected, []);
  // 400 MiB kept: a busy spell growing it by 36 MiB (under a tenth of it) is left to V8.
  assert.ok(36 < 400 * GROWTH_RATIO);
  const small = scripted([0.5, 0, 0.5, 0], [400 * MiB, 436 * MiB]);
  run(new OldRelease(small), 4);
  assert.deepEqual(small.collected, []);
  // 10 MiB kept: growing by 30 MiB is three times as much, but under MIN_GROWTH_BYTES.
  assert.ok(30 * MiB < MIN_GROWTH_BYTES);
  const tiny = scripted([0.5, 0, 0.5, 0], [10 * MiB, 40 * MiB]);
  run(new OldRelease(tiny), 4);
  assert.deepEqual(tiny.collected, []);
});

test("after a collection the baseline is what it kept: the next burst must grow a tenth of that", () => {
  // Collected once at 600 MiB down to 500 MiB; then bursts to 540 MiB (under 1.1 × 500) and 560 MiB (over).
  const sizes = [10 * MiB, 600 * MiB];
  const p = scripted([0.5, 0], sizes, 500 * MiB);
  const r = new OldRelease(p);
  run(r, 2);
  assert.equal(r.count, 1);
  let now = 540 * MiB;
  const busyThenQuiet = [0.5, 0];
  let k = 0;
  p.retainedBytes = () => now;
  p.utilization = () => busyThenQuiet[k++ % 2];
  run(r, 2);
  assert.equal(r.count, 1);
  assert.ok(540 < 500 * (1 + GROWTH_RATIO));
  now = 560 * MiB;
  run(r, 2);
  assert.equal(r.count, 2);
});

/** Lets the current job end: V8 keeps a WeakRef's target alive until then. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

test("a real full collection frees an old-generation object nothing holds, which young collections leave", async () => {
  const full = fullCollector();
  const young = youngCollector();
  assert.ok(full !== null && young !== null);
  let held: { payload: Float64Array } | null = { payload: new Float64Array(1024) };
  const ref = new WeakRef(held);
  await tick();
  full();
  full(); // held through two collections: in the old generation now
  held = null;
  await tick();
  young();
  young();
  assert.notEqual(ref.deref(), undefined, "young collections leave it");
  await tick();
  full();
  assert.equal(ref.deref(), undefined, "a full collection frees it");
  assert.equal(held, null);
});

test("retained bytes count the thread's array buffers", () => {
  // 64 MiB of buffer; the heap of this process is too small to shrink by the 16 MiB of slack meanwhile.
  const before = threadRetainedBytes();
  const buffer = new Float64Array(8 * MiB).fill(1);
  assert.ok(threadRetainedBytes() >= before + 48 * MiB);
  assert.equal(buffer[0], 1);
});
