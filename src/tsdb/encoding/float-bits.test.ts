import assert from "node:assert/strict";
import { test } from "node:test";
import { floatFromBits, floatHi, floatLo, isStaleNaN, STALE_NAN } from "./float-bits.ts";

test("float bit halves match IEEE-754", () => {
  const cases: [number, number, number][] = [
    [0, 0, 0],
    [-0, 0x80000000, 0],
    [1, 0x3ff00000, 0],
    [1.5, 0x3ff80000, 0],
    [-2, 0xc0000000, 0],
    [Number.POSITIVE_INFINITY, 0x7ff00000, 0],
    [Number.NEGATIVE_INFINITY, 0xfff00000, 0],
    [Number.MIN_VALUE, 0, 1],
    [Number.MAX_VALUE, 0x7fefffff, 0xffffffff],
    [0.1, 0x3fb99999, 0x9999999a],
  ];
  for (const [v, hi, lo] of cases) {
    assert.equal(floatHi(v), hi, `hi of ${v}`);
    assert.equal(floatLo(v), lo, `lo of ${v}`);
    assert.ok(Object.is(floatFromBits(hi, lo), v), `from bits ${v}`);
  }
});

test("NaN payloads survive a round trip through the halves", () => {
  for (const [hi, lo] of [
    [0x7ff00000, 2],
    [0x7ff80000, 1],
    [0xfff80000, 0],
    [0x7fffffff, 0xffffffff],
  ]) {
    const v = floatFromBits(hi, lo);
    assert.equal(floatHi(v), hi);
    assert.equal(floatLo(v), lo);
  }
});

test("isStaleNaN recognises only the staleness marker (and its quieted form)", () => {
  assert.equal(isStaleNaN(STALE_NAN), true);
  assert.equal(isStaleNaN(floatFromBits(0x7ff80000, 2)), true);
  assert.equal(isStaleNaN(Number.NaN), false);
  assert.equal(isStaleNaN(floatFromBits(0x7ff80000, 1)), false);
  assert.equal(isStaleNaN(floatFromBits(0xfff00000, 2)), false);
  assert.equal(isStaleNaN(0), false);
  assert.equal(isStaleNaN(Number.POSITIVE_INFINITY), false);
});
