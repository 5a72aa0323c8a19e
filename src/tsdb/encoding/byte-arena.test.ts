import assert from "node:assert/strict";
import { test } from "node:test";
import { XorAppender, XorIterator } from "../chunkenc/xor.ts";
import { BitWriter } from "./bstream.ts";
import { ByteArena, MAX_SLOT_BYTES, MIN_SLOT_BYTES, PAGE_BYTES } from "./byte-arena.ts";

test("slots are powers of two from the smallest size, and freed slots are reused by size", () => {
  const a = new ByteArena();
  assert.equal(ByteArena.slotSize(1), MIN_SLOT_BYTES);
  assert.equal(ByteArena.slotSize(33), 64);
  assert.equal(ByteArena.slotSize(1024), 1024);
  const x = a.alloc(20);
  const y = a.alloc(100);
  assert.notEqual(x, y);
  assert.equal(a.usedBytes, 32 + 128);
  a.free(x, 20);
  assert.equal(a.alloc(32), x);
  assert.notEqual(a.alloc(32), x);
  assert.throws(() => a.alloc(MAX_SLOT_BYTES + 1), RangeError);
});

test("a slot never straddles two pages", () => {
  const a = new ByteArena();
  const big = MAX_SLOT_BYTES;
  for (let i = 0; i < (PAGE_BYTES / big) * 3; i++) {
    a.alloc(MIN_SLOT_BYTES);
    const addr = a.alloc(big);
    assert.ok(ByteArena.offset(addr) + big <= PAGE_BYTES);
  }
  assert.equal(a.reservedBytes % PAGE_BYTES, 0);
});

test("bit writers in one arena grow and move without disturbing each other", () => {
  const arena = new ByteArena();
  const writers = Array.from({ length: 50 }, () => new BitWriter(8, arena));
  const own = Array.from({ length: 50 }, () => new BitWriter(8));
  for (let round = 0; round < 400; round++) {
    for (let i = 0; i < writers.length; i++) {
      const v = (round * 7919 + i * 104729) >>> 0;
      const bits = 1 + ((round + i) % 32);
      writers[i].writeBitsNum(v, bits);
      own[i].writeBitsNum(v, bits);
    }
  }
  for (let i = 0; i < writers.length; i++) assert.deepEqual(writers[i].bytes(), own[i].bytes());
  const used = arena.usedBytes;
  for (const w of writers) w.release();
  assert.equal(arena.usedBytes, 0);
  assert.ok(used > 0);
});

test("an XOR chunk written in an arena is the chunk written in a buffer of its own", () => {
  const arena = new ByteArena();
  const a = new XorAppender({ arena, capacity: MIN_SLOT_BYTES });
  const b = new XorAppender();
  for (let i = 0; i < 300; i++) {
    const t = 1_700_000_000_000 + i * 15_000 + (i % 7);
    const v = i % 5 === 0 ? -i * 1.25 : Math.sqrt(i);
    a.append(t, v);
    b.append(t, v);
  }
  assert.deepEqual(a.bytes(), b.bytes());
  const it = new XorIterator(a.bytes().slice());
  let n = 0;
  while (it.next() !== "none") n++;
  assert.equal(n, 300);
  a.release();
  assert.equal(arena.usedBytes, 0);
});
