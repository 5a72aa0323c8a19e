import assert from "node:assert/strict";
import { test } from "node:test";
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
