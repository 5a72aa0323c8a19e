import assert from "node:assert/strict";
import { test } from "node:test";
import { HEADROOM_BYTES, headroomPercent, holdHeapHeadroom, LARGE_HEAP_BYTES } from "./heap-headroom.ts";

const MIB = 1024 * 1024;

test("a small live heap is given HEADROOM_BYTES of room above it, at most V8's own largest factor", () => {
  assert.equal(headroomPercent(20 * MIB), 200);
  assert.equal(headroomPercent(23 * MIB), Math.ceil((100 * HEADROOM_BYTES) / (23 * MIB)));
  assert.ok(23 * MIB * (headroomPercent(23 * MIB) / 100) >= HEADROOM_BYTES);
  assert.equal(headroomPercent(5 * MIB), 300);
  assert.equal(headroomPercent(0), 300);
});

test("from LARGE_HEAP_BYTES of live heap up, V8 sizes the heap itself", () => {
  assert.equal(headroomPercent(LARGE_HEAP_BYTES), 0);
  assert.equal(headroomPercent(LARGE_HEAP_BYTES - 1) > 0, true);
  assert.equal(headroomPercent(4096 * MIB), 0);
  assert.equal(headroomPercent(Number.NaN), 0);
});

test("holders release in any order, each once, and the process runs on", () => {
  const first = holdHeapHeadroom();
  const second = holdHeapHeadroom();
  first();
  first();
  const kept: number[][] = [];
  for (let i = 0; i < 200; i++) kept.push(new Array(10_000).fill(i));
  assert.equal(kept.length, 200);
  second();
});
