import assert from "node:assert/strict";
import { test } from "node:test";
import { REF_INDEX_SLACK, type RefEntry, RefIndex } from "./ref-index.ts";

/** A test entry: a ref and the row the index keeps for it (a positive int32 other than the ref). */
interface Entry {
  readonly ref: number;
  readonly row: number;
}

const entry = (ref: number): Entry => ({ ref, row: (ref % 1_000_003) + 7 });

test("consecutive refs are found; refs never added, deleted or out of range are not", () => {
  const idx = new RefIndex();
  const es = Array.from({ length: 100 }, (_, i) => entry(1000 + i));
  for (const e of es) idx.add(e.ref, e.row);
  for (const e of es) assert.equal(idx.get(e.ref), e.row);
  for (const ref of [0, 999, 1100, -1, 1000.5, Number.NaN]) assert.equal(idx.get(ref), undefined, `ref ${ref}`);
  idx.delete(es[10].ref, es[10].row);
  assert.equal(idx.get(1010), undefined);
  idx.delete(1011, es[11].row + 1); // a held ref with another row: not the held entry, nothing happens
  assert.equal(idx.get(1011), es[11].row);
  assert.equal(idx.size, 100);
});

test("gaps within the slack are held; a ref far past the end or below the base is left out", () => {
  const idx = new RefIndex();
  const a = entry(1);
  const b = entry(1 + REF_INDEX_SLACK);
  const far = entry(2 ** 31);
  const below = entry(0);
  for (const e of [a, b, far, below]) idx.add(e.ref, e.row);
  assert.equal(idx.get(1), a.row);
  assert.equal(idx.get(1 + REF_INDEX_SLACK), b.row);
  assert.equal(idx.get(2 ** 31), undefined);
  assert.equal(idx.get(0), undefined);
  assert.equal(idx.size, REF_INDEX_SLACK + 1);
});

test("the array stays within twice the live entries plus the slack as old entries go", () => {
  const idx = new RefIndex();
  const n = 20 * REF_INDEX_SLACK;
  const es: Entry[] = [];
  for (let ref = 1; ref <= n; ref++) {
    const e = entry(ref);
    es.push(e);
    idx.add(e.ref, e.row);
  }
  // The oldest three quarters go (a head truncation): the leading empty slots are dropped.
  for (let i = 0; i < (3 * n) / 4; i++) idx.delete(es[i].ref, es[i].row);
  assert.ok(idx.size <= 2 * (n / 4) + REF_INDEX_SLACK, `size ${idx.size}`);
  for (let i = (3 * n) / 4; i < n; i++) assert.equal(idx.get(es[i].ref), es[i].row);
  // New series keep extending it.
  const next = entry(n + 1);
  idx.add(next.ref, next.row);
  assert.equal(idx.get(n + 1), next.row);
});

test("an array left sparse in the middle is given up, and starts again at the next added ref", () => {
  const idx = new RefIndex();
  const n = 8 * REF_INDEX_SLACK;
  const es = Array.from({ length: n }, (_, i) => entry(i + 1));
  for (const e of es) idx.add(e.ref, e.row);
  // Every series but the first and the last goes: half empty even without its leading slots.
  for (let i = 1; i < n - 1; i++) idx.delete(es[i].ref, es[i].row);
  assert.equal(idx.size, 0);
  assert.equal(idx.get(1), undefined, "left to the caller's map");
  const later = entry(n + 50);
  idx.add(later.ref, later.row);
  assert.equal(idx.get(n + 50), later.row);
  assert.equal(idx.size, 1);
});

test("a deletion that gives the array up returns its other entries; without leave to give up, it keeps them", () => {
  const fill = () => {
    const idx = new RefIndex();
    const es = Array.from({ length: 4 * REF_INDEX_SLACK }, (_, i) => entry(i + 1));
    for (const e of es) assert.equal(idx.add(e.ref, e.row), true);
    assert.equal(
      idx.add(100 * REF_INDEX_SLACK, entry(100 * REF_INDEX_SLACK).row),
      false,
      "far past the end: left to the caller",
    );
    return { idx, es };
  };
  const { idx, es } = fill();
  // Half of it goes from the middle: the array is given up, handing back the first entry and the rest from there.
  let released: readonly RefEntry[] = [];
  let i = 1;
  while (released.length === 0) {
    released = idx.delete(es[i].ref, es[i].row);
    i++;
  }
  assert.deepEqual(
    released,
    [es[0], ...es.slice(i)].map((e) => [e.ref, e.row]),
  );
  assert.equal(idx.count, 0);
  assert.equal(idx.get(1), undefined);

  const kept = fill();
  for (let i = 1; i < kept.es.length - 1; i++)
    assert.deepEqual(kept.idx.delete(kept.es[i].ref, kept.es[i].row, false), []);
  assert.equal(kept.idx.count, 2);
  assert.equal(kept.idx.get(kept.es.length), kept.es[kept.es.length - 1].row);
  const ends = [kept.es[0], kept.es[kept.es.length - 1]];
  assert.deepEqual(
    kept.idx.shrink(),
    ends.map((e) => [e.ref, e.row]),
  );
  assert.equal(kept.idx.size, 0);
});

test("the rows survive the array's growth and its shrinking to the live run", () => {
  const idx = new RefIndex();
  const n = 10 * REF_INDEX_SLACK;
  for (let ref = 1; ref <= n; ref++) idx.add(ref, ref + 1);
  for (let ref = 1; ref <= n; ref++) assert.equal(idx.get(ref), ref + 1, `ref ${ref}`);
  // The first three quarters go with leave to give up: the array keeps the rest, moved to a later base.
  for (let ref = 1; ref <= (3 * n) / 4; ref++) assert.deepEqual(idx.delete(ref, ref + 1), []);
  assert.ok(idx.startRef > 1 && idx.startRef <= (3 * n) / 4 + 1, `start ${idx.startRef}`);
  for (let ref = (3 * n) / 4 + 1; ref <= n; ref++) assert.equal(idx.get(ref), ref + 1, `ref ${ref}`);
  // Growing again past the shrunk array's room.
  for (let ref = n + 1; ref <= 2 * n; ref++) assert.equal(idx.add(ref, ref + 1), true);
  for (let ref = (3 * n) / 4 + 1; ref <= 2 * n; ref++) assert.equal(idx.get(ref), ref + 1, `ref ${ref}`);
  assert.equal(idx.get(2 * n + 1), undefined);
});
