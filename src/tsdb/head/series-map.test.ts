import assert from "node:assert/strict";
import { test } from "node:test";
import { Labels } from "../../model/labels.ts";
import { ByteArena } from "../encoding/byte-arena.ts";
import { SeriesColumns } from "./columns.ts";
import { MemPostings } from "./mem-postings.ts";
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
  const m = new SeriesMap();
  const a = new MemSeries(1, colliding("x", "n", "a"), columns);
  const b = new MemSeries(2, colliding("x", "n", "b"), columns);
  const c = new MemSeries(3, colliding("x", "n", "c"), columns);
  for (const s of [a, b, c]) m.add(s);
  assert.equal(m.size, 3);
  assert.equal(m.getByLabels(colliding("x", "n", "b")), b);
  assert.equal(m.getByLabels(colliding("x", "n", "d")), undefined);
  m.delete(a);
  assert.equal(m.getByLabels(colliding("x", "n", "a")), undefined);
  assert.equal(m.getByLabels(colliding("x", "n", "c")), c);
  m.delete(c);
  assert.equal(m.getByLabels(colliding("x", "n", "b")), b);
  assert.equal(m.getByRef(2), b);
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
