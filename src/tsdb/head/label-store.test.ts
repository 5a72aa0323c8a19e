import assert from "node:assert/strict";
import { test } from "node:test";
import { Labels } from "../../model/labels.ts";
import { LabelStore, labelHashKey } from "./label-store.ts";

const sets = [
  Labels.fromStrings("__name__", "up", "job", "api", "instance", "a:9090"),
  Labels.fromStrings("__name__", "up", "job", "api", "instance", "b:9090"),
  Labels.fromStrings("__name__", "up", "job", "db"),
  Labels.fromStrings("__name__", "up", "job", "api"),
  Labels.fromStrings("__name__", "x", "a", "a", "b", "\u{1F600}", "c", "\uFFFD"),
  Labels.fromStrings("__name__", "x", "a", "a", "b", "\uFFFD", "c", "\u{1F600}"),
];

test("records give back equal sets, their hash keys, and compare as the sets do", () => {
  const store = new LabelStore();
  const at = sets.map((l) => store.add(l, labelHashKey(l.hash())));
  for (let i = 0; i < sets.length; i++) {
    const built = store.labels(at[i]);
    assert.ok(built.equals(sets[i]) && built.interned);
    assert.equal(store.hashKey(at[i]), labelHashKey(sets[i].hash()));
    for (let j = 0; j < sets.length; j++) {
      assert.equal(store.equals(at[i], sets[j]), i === j);
      assert.equal(Math.sign(store.compare(at[i], at[j])), Math.sign(sets[i].compare(sets[j])), `${i} vs ${j}`);
    }
  }
  // Equal strings are one symbol: __name__ up job api instance a:9090 b:9090 db x a b c and the two odd values.
  assert.equal(store.symbols, 14);
});

test("released records and unused symbols are reused, the rest stay intact", () => {
  const store = new LabelStore();
  const at = sets.map((l) => store.add(l, 0));
  store.release(at[0]);
  store.release(at[2]);
  // "a:9090" and "db" have no user left.
  assert.equal(store.symbols, 12);
  const again = Labels.fromStrings("__name__", "down", "job", "web", "instance", "c:1");
  const reused = store.add(again, 7);
  assert.equal(reused, at[0]);
  assert.ok(store.labels(reused).equals(again));
  assert.equal(store.hashKey(reused), 7);
  for (const i of [1, 3, 4, 5]) assert.ok(store.labels(at[i]).equals(sets[i]));
  for (const i of [1, 3, 4, 5]) store.release(at[i]);
  store.release(reused);
  assert.equal(store.symbols, 0);
});

test("the store grows past its first arrays", () => {
  const store = new LabelStore();
  const n = 5000;
  const at: number[] = [];
  for (let i = 0; i < n; i++) at.push(store.add(Labels.fromStrings("__name__", "m", "i", String(i)), i));
  for (let i = 0; i < n; i += 997) assert.equal(store.labels(at[i]).toString(), `{__name__="m", i="${i}"}`);
  assert.equal(store.symbols, n + 3);
});

test("records take 2 bytes an id while the ids fit 16 bits, 4 once a set has a larger one; both read back", () => {
  const store = new LabelStore();
  const fleet = Labels.fromStrings("__name__", "m", "app", "a", "region", "ams", "host", "h1");
  const first = store.add(fleet, 1);
  // A header of 8 bytes and 8 ids of 2 bytes.
  assert.equal(store.recordBytes, 8 + 16);
  const n = 70_000;
  const at: number[] = [];
  for (let i = 0; i < n; i++) at.push(store.add(Labels.fromStrings("__name__", "m", "i", String(i)), i));
  assert.ok(store.symbols > 0xffff);
  // The first sets' ids are small (4 units each: 8 bytes and a header), the last ones' are wide (16 bytes and one).
  const last = Labels.fromStrings("__name__", "m", "i", String(n - 1));
  assert.ok(store.labels(at[n - 1]).equals(last));
  assert.ok(store.equals(at[n - 1], last));
  assert.ok(!store.equals(at[n - 2], last));
  assert.equal(store.hashKey(at[n - 1]), n - 1);
  assert.ok(store.labels(first).equals(fleet));
  const wideFrom = at.findIndex((_, i) => i > 0 && at[i] - at[i - 1] === 12);
  assert.ok(wideFrom > 65_000, `wide records from set ${wideFrom}`);
  // Narrow and wide records compare as their sets do.
  for (const [x, y] of [
    [0, n - 1],
    [n - 1, 0],
    [n - 2, n - 1],
    [5, 6],
  ]) {
    const sx = Labels.fromStrings("__name__", "m", "i", String(x));
    const sy = Labels.fromStrings("__name__", "m", "i", String(y));
    assert.equal(Math.sign(store.compare(at[x], at[y])), Math.sign(sx.compare(sy)), `${x} vs ${y}`);
  }
  // A freed wide record is reused by a wide set of its size, which reads back whole.
  store.release(at[n - 1]);
  const again = Labels.fromStrings("__name__", "m", "i", "again");
  assert.equal(store.add(again, 3), at[n - 1]);
  assert.ok(store.labels(at[n - 1]).equals(again));
});
