import assert from "node:assert/strict";
import { test } from "node:test";
import { type RefList, refListAdd, refListFilter, refListLength, refListView } from "./ref-list.ts";

const refs = (l: RefList | undefined): number[] => (l === undefined ? [] : Array.from(refListView(l)));

test("one ref is a bare number; a second makes a sorted list", () => {
  let l = refListAdd(undefined, 7);
  assert.equal(l, 7);
  assert.equal(refListAdd(l, 7), 7);
  l = refListAdd(l, 3);
  assert.ok(l instanceof Uint8Array);
  assert.deepEqual(refs(l), [3, 7]);
  assert.equal(refListLength(l), 2);
});

test("refs added out of order or twice keep the list sorted and distinct", () => {
  let l: RefList | undefined;
  for (const r of [10, 20, 30, 15, 5, 20, 40, 5, 25, 2 ** 32 - 1, 0]) l = refListAdd(l, r);
  assert.deepEqual(refs(l), [0, 5, 10, 15, 20, 25, 30, 40, 2 ** 32 - 1]);
});

test("matches a sorted set over random adds and filters, through growth and shrinking", () => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed % n;
  };
  let l: RefList | undefined;
  let ref = new Set<number>();
  for (let round = 0; round < 200; round++) {
    const adds = rnd(60);
    for (let i = 0; i < adds; i++) {
      const r = rnd(10) < 8 ? 1000 + round * 100 + i : rnd(5000);
      l = refListAdd(l, r);
      ref.add(r);
    }
    if (round % 7 === 3 && l !== undefined) {
      const mod = 2 + rnd(5);
      const keep = (r: number) => r % mod !== 0;
      l = refListFilter(l, keep);
      ref = new Set([...ref].filter(keep));
    }
    const want = [...ref].sort((a, b) => a - b);
    assert.deepEqual(refs(l), want);
    if (l !== undefined) assert.equal(refListLength(l), want.length);
  }
});

test("filtering gives back the room of a mostly emptied list, then a number, then nothing", () => {
  let l: RefList | undefined;
  for (let r = 1; r <= 1000; r++) l = refListAdd(l, r);
  assert.ok(l instanceof Uint8Array && l.length >= 1000);
  l = refListFilter(l as RefList, (r) => r <= 10);
  assert.ok(l instanceof Uint8Array && l.length <= 32, "an emptied list is encoded afresh");
  assert.deepEqual(refs(l), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(
    refListFilter(l as RefList, () => true),
    l,
    "a filter that keeps every ref keeps the list",
  );
  l = refListFilter(l as RefList, (r) => r === 4);
  assert.equal(l, 4);
  assert.equal(
    refListFilter(l as RefList, () => false),
    undefined,
  );
});

test("consecutive refs take a byte each; gaps of every varint width decode back", () => {
  let l: RefList | undefined;
  for (let r = 1; r <= 10_000; r++) l = refListAdd(l, r);
  assert.ok((l as Uint8Array).length <= 2 * (10_000 + 12), `bytes ${(l as Uint8Array).length}`);
  const wide = [0, 1, 0x80, 0x80 + 0x4000, 2 ** 21 + 0x4080, 2 ** 28 + 2 ** 22, 2 ** 32 - 2, 2 ** 32 - 1];
  let w: RefList | undefined;
  for (const r of wide) w = refListAdd(w, r);
  assert.deepEqual(refs(w), wide);
  assert.equal(refListLength(w as RefList), wide.length);
});

test("a reader's refs are its own: later adds and filters do not change them", () => {
  let big: RefList | undefined;
  for (let r = 1; r <= 100; r++) big = refListAdd(big, r);
  const v = refListView(big as RefList);
  assert.ok(v instanceof Uint32Array);
  big = refListAdd(big, 101);
  big = refListFilter(big as RefList, (r) => r > 50);
  assert.deepEqual(
    Array.from(v),
    Array.from({ length: 100 }, (_, i) => i + 1),
  );
  let small: RefList | undefined;
  for (let r = 1; r <= 3; r++) small = refListAdd(small, r);
  assert.deepEqual(refListView(small as RefList), [1, 2, 3]);
});
