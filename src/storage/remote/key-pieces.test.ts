import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KeyPieces, pieceEnd, tailWord } from "./key-pieces.ts";
import { labelFields } from "./label-fields.ts";
import { hashBytes } from "./series-cache.ts";

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

const hash = (v: DataView, from: number, to: number) => hashBytes(v, from, to, 5);

describe("pieceEnd", () => {
  test("cuts label fields one by one, and bytes that are no field as one piece to the end", () => {
    const key = labelFields([
      ["__name__", "up"],
      ["app", "x".repeat(200)],
    ]);
    const v = view(key);
    const first = pieceEnd(v, 0, key.length);
    assert.equal(first, 2 + 2 + 8 + 2 + 2);
    // The second field's length takes two varint bytes.
    assert.equal(pieceEnd(v, first, key.length), key.length);
    // A field longer than what is left, a truncated varint, a lone tag: one piece up to `to`.
    assert.equal(pieceEnd(v, 0, first - 1), first - 1);
    const bad = new Uint8Array([0x0a, 0x80, 0x80]);
    assert.equal(pieceEnd(view(bad), 0, 3), 3);
    assert.equal(pieceEnd(view(bad), 0, 1), 1);
  });
});

describe("KeyPieces", () => {
  test("interns each distinct byte string once, wherever it lies, and compares it at any offset", () => {
    const p = new KeyPieces(hash);
    const a = new Uint8Array([9, 1, 2, 3, 4, 5, 6, 9, 9]);
    const b = new Uint8Array([7, 7, 7, 1, 2, 3, 4, 5, 6]);
    const id = p.intern(view(a), 1, 7);
    assert.equal(p.intern(view(b), 3, 9), id);
    assert.equal(p.size, 1);
    // At the end of a view (no whole word to read past the piece) and inside one.
    assert.ok(p.matchesAt(id, view(b), 3));
    assert.ok(p.matchesAt(id, view(a), 1));
    b[8] ^= 1;
    assert.ok(!p.matchesAt(id, view(b), 3));
    a[7] = 0;
    assert.ok(p.matchesAt(id, view(a), 1), "bytes after the piece do not count");
    const out = new Uint8Array(8);
    assert.equal(p.copyTo(id, out, 1), 7);
    assert.deepEqual([...out], [0, 1, 2, 3, 4, 5, 6, 0]);
    assert.equal(tailWord(view(a), 5, 7), 5 | (6 << 8));
  });

  test("thousands of pieces of every length are kept apart and found again; clear forgets them", () => {
    const p = new KeyPieces(() => 3);
    const bytesOf = (i: number) => Uint8Array.from({ length: 1 + (i % 9) }, (_, j) => (i * 13 + j) & 255);
    const ids: number[] = [];
    for (let i = 0; i < 2000; i++) ids.push(p.intern(view(bytesOf(i)), 0, bytesOf(i).length));
    const distinct = new Set(Array.from({ length: 2000 }, (_, i) => bytesOf(i).join(",")));
    assert.equal(p.size, distinct.size);
    for (let i = 0; i < 2000; i++) assert.equal(p.intern(view(bytesOf(i)), 0, bytesOf(i).length), ids[i]);
    p.clear();
    assert.equal(p.size, 0);
    assert.equal(p.intern(view(bytesOf(5)), 0, bytesOf(5).length), 0);
  });
});
