import assert from "node:assert/strict";
import { test } from "node:test";
import { ByteArena } from "../encoding/byte-arena.ts";
import { STALE_NAN_HI, STALE_NAN_LO } from "../encoding/float-bits.ts";
import { XorAppender } from "./xor.ts";
import { XorSlots } from "./xor-slots.ts";

const STALE = new Float64Array(new Uint32Array([STALE_NAN_LO, STALE_NAN_HI]).buffer)[0];

// Samples of one of several kinds of series: jittered counters, gauges with wide values, staleness markers,
// irregular gaps (every delta-of-delta bucket) and negative deltas.
function sample(kind: number, i: number): [number, number] {
  const base = 1_700_000_000_000;
  switch (kind % 5) {
    case 0:
      return [base + i * 15_000 + (i % 7), i * 3 + (i % 4)];
    case 1:
      return [base + i * 15_000, Math.sin(i) * 1e12];
    case 2:
      return [base + i * 10_000, i % 9 === 8 ? STALE : i / 3];
    case 3:
      return [base + i * 1_000 + (i % 3) * 700_000 + (i % 11) * 70_000_000, -i];
    default:
      return [base - i * 5_000, 2 ** (i % 60)];
  }
}

test("chunks appended through slots are byte for byte the chunks of appenders of their own", () => {
  const arena = new ByteArena();
  const slots = new XorSlots(arena, 2);
  const own: XorAppender[] = [];
  const count = 10;
  slots.grow(count);
  assert.equal(slots.capacity, count);
  for (let s = 0; s < count; s++) {
    slots.start(s, 32);
    own.push(new XorAppender());
    assert.equal(slots.numSamples(s), 0);
    assert.deepEqual(slots.bytes(s), own[s].bytes());
  }
  // Interleaved, as a head appends a sample to every series in turn: slots move in the arena as they grow.
  for (let i = 0; i < 300; i++) {
    for (let s = 0; s < count; s++) {
      const [t, v] = sample(s, i);
      slots.append(s, t, v);
      own[s].append(t, v);
    }
  }
  for (let s = 0; s < count; s++) {
    assert.equal(slots.numSamples(s), 300);
    assert.equal(slots.size(s), own[s].size);
    assert.deepEqual(slots.bytes(s), own[s].bytes(), `slot ${s}`);
  }
  for (let s = 0; s < count; s++) slots.release(s);
  assert.equal(arena.usedBytes, 0);
});

test("a released slot starts a new chunk from scratch; growing keeps the chunks", () => {
  const arena = new ByteArena();
  const slots = new XorSlots(arena, 1);
  slots.start(0, 32);
  for (let i = 0; i < 50; i++) slots.append(0, ...sample(1, i));
  slots.grow(1000);
  const ref = new XorAppender();
  for (let i = 0; i < 50; i++) ref.append(...sample(1, i));
  assert.deepEqual(slots.bytes(0), ref.bytes());
  slots.release(0);
  slots.release(0);
  assert.equal(slots.numSamples(0), 0);
  slots.start(0, 0);
  const again = new XorAppender();
  for (let i = 0; i < 5; i++) {
    slots.append(0, ...sample(0, i));
    again.append(...sample(0, i));
  }
  assert.deepEqual(slots.bytes(0), again.bytes());
  slots.release(0);
  assert.equal(arena.usedBytes, 0);
});
