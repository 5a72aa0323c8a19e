import assert from "node:assert/strict";
import { test } from "node:test";
import { float64Bits, isStaleNaN, millis, SampleBuffer, STALE_NAN } from "./sample.ts";

test("STALE_NAN has Prometheus's bit pattern", () => {
  assert.deepEqual(float64Bits(STALE_NAN), [0x7ff00000, 0x00000002]);
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, STALE_NAN);
  assert.equal(view.getBigUint64(0), 0x7ff0000000000002n);
});

test("isStaleNaN distinguishes the marker from other values", () => {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, 0x7ff0000000000002n);
  const fromBits = view.getFloat64(0);
  view.setBigUint64(0, 0x7ff8000000000002n);
  const quieted = view.getFloat64(0);
  const cases: [number, boolean][] = [
    [STALE_NAN, true],
    [fromBits, true],
    [quieted, true], // what V8 makes of the marker in a plain JS array
    [Number.NaN, false],
    [0 / 0, false],
    [Math.sqrt(-1), false],
    [0, false],
    [-0, false],
    [1, false],
    [Number.POSITIVE_INFINITY, false],
  ];
  for (const [v, want] of cases) assert.equal(isStaleNaN(v), want, String(v));
  assert.ok(Number.isNaN(STALE_NAN));
});

test("millis brands without changing the value", () => {
  const t = millis(1_700_000_000_000);
  assert.equal(t + 1, 1_700_000_000_001);
});

test("SampleBuffer grows keeping its samples, and reserve makes room without moving them", () => {
  const b = new SampleBuffer(2);
  for (let i = 0; i < 10; i++) b.push(i * 1000, i + 0.5);
  assert.equal(b.n, 10);
  assert.deepEqual([...b.t.subarray(0, 10)], [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]);
  assert.equal(b.v[9], 9.5);
  const before = b.t;
  b.reserve(b.t.length - b.n);
  assert.equal(b.t, before, "no growth when the room is there");
  b.reserve(b.t.length);
  assert.ok(b.t.length >= 10 + before.length);
  assert.equal(b.t[9], 9000);
  assert.equal(b.v[0], 0.5);
  // The staleness marker keeps its bits.
  b.push(10_000, STALE_NAN);
  assert.ok(isStaleNaN(b.v[10]));
});
