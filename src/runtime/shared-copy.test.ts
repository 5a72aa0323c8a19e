import assert from "node:assert/strict";
import { test } from "node:test";
import { sharedCopy } from "./shared-copy.ts";

test("sharedCopy: the same bytes in a shared buffer of their length, apart from the original", () => {
  const backing = new Uint8Array([9, 1, 2, 3, 9]);
  const copy = sharedCopy(backing.subarray(1, 4));
  assert.ok(copy.buffer instanceof SharedArrayBuffer);
  assert.equal(copy.buffer.byteLength, 3);
  assert.deepEqual([...copy], [1, 2, 3]);
  backing[1] = 7;
  assert.equal(copy[0], 1);
});
