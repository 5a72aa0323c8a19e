import assert from "node:assert/strict";
import { test } from "node:test";
import { Labels } from "../../model/labels.ts";
import type { HeadChunkRef } from "../chunks/head-chunks.ts";
import { ByteArena } from "../encoding/byte-arena.ts";
import { SeriesColumns } from "./columns.ts";
import { MemPostings } from "./mem-postings.ts";
import { REF_INDEX_SLACK } from "./ref-index.ts";
import { MemSeries } from "./series.ts";
import { SeriesMap } from "./series-map.ts";

const columns = new SeriesColumns(new ByteArena());

/** Labels whose hash is forced to `h`, to stage a collision. */
function colliding(h: string, ...nv: string[]): Labels {
  const l = Labels.fromStrings(...nv);
  Object.defineProperty(l, "hash", { value: () => h });
  return l;
}

test("series with colliding label hashes are told apart by their labels", () => {
  const m = new SeriesMap(columns);
  const a = MemSeries.create(1, colliding("x", "n", "a"), columns);
  const b = MemSeries.create(2, colliding("x", "n", "b"), columns);
  const c = MemSeries.create(3, colliding("x", "n", "c"), columns);
  for (const s of [a, b, c]) m.add(s);
  assert.equal(m.size, 3);
  assert.equal(m.getByLabels(colliding("x", "n", "b"))?.ref, b.ref);
  assert.equal(m.getByLabels(colliding("x", "n", "d")), undefined);
  m.delete(a);
  assert.equal(m.getByLabels(colliding("x", "n", "a")), undefined);
  assert.equal(m.getByLabels(colliding("x", "n", "c"))?.ref, c.ref);
  m.delete(c);
  assert.equal(m.getByLabels(colliding("x", "n", "b"))?.ref, b.ref);
  assert.equal(m.getByRef(2)?.ref, b.ref);
  m.delete(b);
  assert.equal(m.size, 0);
  assert.equal(m.getByLabels(colliding("x", "n", "b")), undefined);
});

test("mem postings keep lists sorted, values in byte order, and forget emptied entries", () => {
  const p = new MemPostings();
  const ls = (job: string, inst: string) => Labels.fromStrings("job", job, "instance", inst);
  p.add(5, ls("b", "1"));
  p.add(2, ls("a", "1"));
  p.add(9, ls("b", "2"));
  p.add(7, Labels.fromStrings("job", "é", "zone", "z"));
  p.add(3, ls("Z", "1"));
  assert.deepEqual(Array.from(p.allPostings()), [2, 3, 5, 7, 9]);
  assert.deepEqual(p.labelValues("job"), ["Z", "a", "b", "é"]);
  assert.deepEqual(p.labelNames(), ["instance", "job", "zone"]);
  assert.deepEqual(Array.from(p.postings("instance", ["1"])), [2, 3, 5]);
  assert.deepEqual(Array.from(p.postings("job", ["b", "a", "nope"])), [2, 5, 9]);
  assert.deepEqual(Array.from(p.postings("nope", ["x"])), []);
  p.delete(
    new Map([
      [7, Labels.fromStrings("job", "é", "zone", "z")],
      [5, ls("b", "1")],
    ]),
  );
  assert.deepEqual(Array.from(p.allPostings()), [2, 3, 9]);
  assert.deepEqual(p.labelValues("job"), ["Z", "a", "b"]);
  assert.deepEqual(p.labelNames(), ["instance", "job"]);
  assert.deepEqual(Array.from(p.postings("job", ["b"])), [9]);
  assert.equal(p.numSeries, 3);
});

test("series by ref: the dense array's and the map's, through the array being given up, each iterated once", () => {
  const m = new SeriesMap(columns);
  const n = 8 * REF_INDEX_SLACK;
  const all = Array.from({ length: n }, (_, i) =>
    MemSeries.create(i + 1, Labels.fromStrings("i", String(i + 1)), columns),
  );
  const far = MemSeries.create(10 * n, Labels.fromStrings("i", "far"), columns);
  for (const s of [...all, far]) m.add(s);
  assert.equal(m.size, n + 1);
  assert.equal(m.getByRef(10 * n)?.ref, far.ref, "a ref far past the array is kept in the map");
  assert.deepEqual(
    [...m.values()].map((s) => s.ref),
    [...all.map((s) => s.ref), 10 * n],
  );
  // Removals during an iteration keep the array; the iteration sees every series left once.
  const it = m.values();
  const seen: number[] = [];
  for (let i = 0; i < 10; i++) seen.push((it.next().value as MemSeries).ref);
  for (let i = 1; i < n - 1; i++) if (i !== 5000) m.delete(all[i]);
  const added = MemSeries.create(n + 1, Labels.fromStrings("i", "new"), columns);
  m.add(added);
  for (let r = it.next(); r.done !== true; r = it.next()) seen.push(r.value.ref);
  // The new series is past what the sparse array takes: the map keeps it, after `far`.
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 5001, n, 10 * n, n + 1]);
  // Once it is done, the sparse array is given up: its series are found in the map.
  assert.equal(m.size, 5);
  for (const s of [all[0], all[5000], all[n - 1], added, far]) {
    assert.equal(m.getByRef(s.ref)?.slot, s.slot);
    assert.equal(m.getByLabels(s.labels)?.ref, s.ref);
  }
  assert.deepEqual(
    [...m.values()].map((s) => s.ref).sort((a, b) => a - b),
    [1, 5001, n, n + 1, 10 * n],
  );
  // A later series starts a new array; removing the map's series forgets them.
  const later = MemSeries.create(n + 2, Labels.fromStrings("i", "later"), columns);
  m.add(later);
  assert.equal(m.getByRef(n + 2)?.ref, later.ref);
  for (const s of [all[0], all[5000], far]) m.delete(s);
  assert.equal(m.getByRef(1), undefined);
  assert.equal(m.size, 3);
  assert.deepEqual(
    [...m.values()].map((s) => s.ref).sort((a, b) => a - b),
    [n, n + 1, n + 2],
  );
});

test("the map keeps rows, not series objects: each lookup is a view of the row, and views share its state", () => {
  const m = new SeriesMap(columns);
  const labels = Labels.fromStrings("i", "views");
  m.add(MemSeries.create(7, labels, columns));
  const a = m.getByRef(7) as MemSeries;
  const b = m.getByLabels(labels) as MemSeries;
  assert.notEqual(a, b);
  assert.equal(a.slot, b.slot);
  a.logged = true;
  a.firstChunkId = 3;
  a.setMmapped([{ ref: 11 as HeadChunkRef, mint: 1000, maxt: 2000 }]);
  assert.deepEqual([b.logged, b.firstChunkId, b.numMmapped, b.mmappedMaxt(0), b.lastT], [true, 3, 1, 2000, 2000]);
  assert.ok(b.labels.equals(labels));
  m.delete(b);
  b.drop();
  assert.equal(m.getByRef(7), undefined);
  assert.equal(m.getByLabels(labels), undefined);
  assert.deepEqual([b.numMmapped, b.isEmpty()], [0, true]);
  assert.ok(b.labels.equals(labels), "the view that removed the series keeps its labels");
});
