import assert from "node:assert/strict";
import { test } from "node:test";
import { ByteArena, MIN_SLOT_BYTES } from "../encoding/byte-arena.ts";
import { XorAppender, XorIterator } from "./xor.ts";

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
