import assert from "node:assert/strict";
import { test } from "node:test";
import { ByteArena, FreeSlots, MAX_SLOT_BYTES, MIN_SLOT_BYTES, PAGE_BYTES } from "./byte-arena.ts";

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

test("freed slots merge with their free buddies, so slots growing in step reuse the room of smaller ones", () => {
  const a = new ByteArena();
  // 1,000 buffers growing in step from 32 to 1,024 bytes, as the open chunks of series scraped together do.
  // Each moves to its larger slot and frees the smaller one before the next moves.
  const slots = Array.from({ length: 1000 }, () => a.alloc(32));
  for (let size = 64; size <= 1024; size *= 2) {
    for (let i = 0; i < slots.length; i++) {
      const next = a.alloc(size);
      a.free(slots[i], size / 2);
      slots[i] = next;
    }
  }
  assert.equal(a.usedBytes, 1000 * 1024);
  // Without merging, every smaller size would stay reserved too: about twice the bytes in use.
  assert.ok(a.reservedBytes < 1.3 * a.usedBytes, `${a.reservedBytes} reserved for ${a.usedBytes} used`);
  for (const addr of slots) a.free(addr, 1024);
  const reserved = a.reservedBytes;
  const big = Array.from({ length: reserved / MAX_SLOT_BYTES }, () => a.alloc(MAX_SLOT_BYTES));
  assert.equal(a.reservedBytes, reserved, "everything merged back into whole blocks");
  assert.equal(new Set(big).size, big.length);
});

test("slots handed out never overlap, under random allocations and frees of every size", () => {
  const a = new ByteArena();
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const live = new Map<number, number>();
  for (let step = 0; step < 20_000; step++) {
    if (live.size > 0 && rnd() < 0.45) {
      const addrs = [...live.keys()];
      const addr = addrs[Math.floor(rnd() * addrs.length)];
      a.free(addr, live.get(addr)!);
      live.delete(addr);
    } else {
      const bytes = ByteArena.slotSize(1 + Math.floor(rnd() ** 3 * MAX_SLOT_BYTES));
      live.set(a.alloc(bytes), bytes);
    }
  }
  const spans = [...live].sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < spans.length; i++) {
    assert.ok(
      spans[i - 1][0] + spans[i - 1][1] <= spans[i][0],
      `slots at ${spans[i - 1][0]} and ${spans[i][0]} overlap`,
    );
  }
  for (const [addr, bytes] of spans) assert.equal(addr % bytes, 0, "a slot is aligned to its size");
  const used = spans.reduce((s, [, bytes]) => s + bytes, 0);
  assert.equal(a.usedBytes, used);
  for (const [addr, bytes] of spans) a.free(addr, bytes);
  const whole = Array.from({ length: a.reservedBytes / MAX_SLOT_BYTES }, () => a.alloc(MAX_SLOT_BYTES));
  assert.equal(new Set(whole).size, whole.length, "everything merged back into whole blocks");
});

test("a free list hands each free slot out once, stale entries and rebuilds included", () => {
  const f = new FreeSlots();
  // Slots added and then taken out by number (as merges do) leave stale entries, until a rebuild drops them.
  for (let round = 0; round < 5; round++) {
    for (let n = 0; n < 3000; n++) f.add(n);
    for (let n = 0; n < 3000; n++) if (n % 3 !== 0) assert.ok(f.remove(n));
    assert.equal(f.remove(1), false, "a slot already taken out");
    for (let n = 0; n < 3000; n++) if (n % 3 === 0) assert.ok(f.remove(n));
    assert.equal(f.size, 0);
  }
  assert.ok(f.entries < 3000 + 1024 + 200, `${f.entries} stack entries for no free slot`);
  // A slot freed, taken out, and freed again has two entries; it is still handed out once.
  f.add(7);
  f.remove(7);
  f.add(7);
  f.add(9);
  const taken = [f.take(), f.take()].sort((x, y) => x - y);
  assert.deepEqual(taken, [7, 9]);
  assert.equal(f.size, 0);
  assert.throws(() => f.take(), RangeError);
});
