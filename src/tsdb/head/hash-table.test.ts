import assert from "node:assert/strict";
import { test } from "node:test";
import { Labels } from "../../model/labels.ts";
import { HashTable, NO_REF } from "./hash-table.ts";

interface Series {
  readonly ref: number;
  readonly labelHashKey: number;
  readonly labels: Labels;
}

/** A series of `ref` with a one-label set, its hash key chosen by the test (to stage collisions). */
function series(ref: number, key: number): Series {
  return { ref, labelHashKey: key, labels: Labels.fromStrings("id", String(ref)) };
}

function table(all: Map<number, Series>): HashTable {
  return new HashTable({
    keyOf: (ref) => (all.get(ref) as Series).labelHashKey,
    matches: (ref, labels) => (all.get(ref) as Series).labels.equals(labels),
  });
}

test("series of one hash key are told apart; removal in any order keeps the rest of the run found", () => {
  const all = new Map<number, Series>();
  const t = table(all);
  // Keys 5 and 5 + 1024 share a home slot; 6 is the next slot, so runs overlap.
  const keys = [5, 5, 5 + 1024, 6, 5, 6, 1023, 1023, 0];
  keys.forEach((k, i) => {
    const s = series(i + 1, k);
    all.set(s.ref, s);
    t.add(s.ref);
  });
  assert.equal(t.size, keys.length);
  for (const order of [
    [1, 3, 5, 7, 9],
    [2, 4, 6, 8],
  ]) {
    for (const ref of order) {
      const s = all.get(ref)!;
      t.delete(s.ref);
      assert.equal(t.get(s.labels, s.labelHashKey), NO_REF, `ref ${ref} gone`);
      all.delete(ref);
      for (const other of all.values())
        assert.equal(t.get(other.labels, other.labelHashKey), other.ref, `ref ${other.ref}`);
    }
  }
  assert.equal(t.size, 0);
});

test("grows past half full, shrinks back when emptied, and keeps a series of ref 0 beside its slots", () => {
  const all = new Map<number, Series>();
  const t = table(all);
  const start = t.capacity;
  const zero = series(0, 77);
  all.set(0, zero);
  t.add(zero.ref);
  for (let ref = 1; ref <= 5000; ref++) {
    const s = series(ref, Math.imul(ref, 0x9e3779b1));
    all.set(ref, s);
    t.add(s.ref);
  }
  assert.equal(t.size, 5001);
  assert.ok(t.capacity >= 2 * 5000 && t.capacity <= 4 * 5000, `capacity ${t.capacity}`);
  for (const s of all.values()) assert.equal(t.get(s.labels, s.labelHashKey), s.ref);
  assert.equal(t.get(Labels.fromStrings("id", "x"), 77), NO_REF);
  for (let ref = 1; ref <= 5000; ref++) {
    t.delete(ref);
    all.delete(ref);
  }
  assert.equal(t.capacity, start);
  assert.equal(t.get(zero.labels, 77), 0);
  t.delete(zero.ref);
  assert.equal(t.size, 0);
  assert.equal(t.get(zero.labels, 77), NO_REF);
});
