import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import {
  addInterval,
  decodeTombstonesFile,
  encodeTombstonesFile,
  type Interval,
  inBounds,
  isSubrange,
  MemTombstones,
  readTombstonesFile,
  TOMBSTONES_FILENAME,
  writeTombstonesFile,
} from "./tombstones.ts";

const root = mkdtempSync(join(tmpdir(), "tombstones-"));
after(() => rmSync(root, { recursive: true, force: true }));
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const iv = (mint: number, maxt: number): Interval => ({ mint, maxt });

test("addInterval keeps intervals sorted, merging overlapping and adjacent ones", () => {
  const cases: { name: string; list: Interval[]; add: Interval; want: Interval[] }[] = [
    { name: "into empty", list: [], add: iv(1, 2), want: [iv(1, 2)] },
    { name: "after", list: [iv(1, 2)], add: iv(5, 6), want: [iv(1, 2), iv(5, 6)] },
    { name: "before", list: [iv(5, 6)], add: iv(1, 2), want: [iv(1, 2), iv(5, 6)] },
    { name: "between", list: [iv(1, 2), iv(10, 12)], add: iv(5, 6), want: [iv(1, 2), iv(5, 6), iv(10, 12)] },
    { name: "adjacent on the left", list: [iv(1, 2)], add: iv(3, 4), want: [iv(1, 4)] },
    { name: "adjacent on the right", list: [iv(5, 6)], add: iv(3, 4), want: [iv(3, 6)] },
    {
      name: "overlapping several",
      list: [iv(1, 2), iv(4, 5), iv(8, 9), iv(20, 21)],
      add: iv(2, 8),
      want: [iv(1, 9), iv(20, 21)],
    },
    { name: "inside one", list: [iv(1, 10)], add: iv(3, 4), want: [iv(1, 10)] },
    { name: "covering all", list: [iv(1, 2), iv(5, 6)], add: iv(-(2 ** 63), 2 ** 63), want: [iv(-(2 ** 63), 2 ** 63)] },
    {
      name: "open start",
      list: [iv(10, 20), iv(30, 40)],
      add: iv(-(2 ** 63), 12),
      want: [iv(-(2 ** 63), 20), iv(30, 40)],
    },
  ];
  for (const c of cases) {
    const before = JSON.stringify(c.list);
    assert.deepEqual(addInterval(c.list, c.add), c.want, c.name);
    assert.equal(JSON.stringify(c.list), before, `${c.name}: input untouched`);
  }
  assert.equal(inBounds(iv(1, 3), 3), true);
  assert.equal(inBounds(iv(1, 3), 4), false);
  assert.equal(isSubrange(iv(2, 3), [iv(0, 1), iv(2, 5)]), true);
  assert.equal(isSubrange(iv(2, 6), [iv(0, 1), iv(2, 5)]), false);
});

test("MemTombstones: add, iterate in ref order, truncate, delete", () => {
  const t = new MemTombstones();
  t.addInterval(9, iv(100, 200));
  t.addInterval(2, iv(0, 10), iv(11, 20), iv(50, 60));
  const seen: [number, readonly Interval[]][] = [];
  t.iter((ref, ivs) => {
    seen.push([ref, ivs]);
  });
  assert.deepEqual(seen, [
    [2, [iv(0, 20), iv(50, 60)]],
    [9, [iv(100, 200)]],
  ]);
  assert.equal(t.total(), 3);
  assert.equal(t.numSeries, 2);
  t.truncateBefore(55);
  assert.deepEqual(t.get(2), [iv(50, 60)]);
  t.truncateBefore(61);
  assert.deepEqual(t.get(2), []);
  assert.equal(t.numSeries, 1);
  t.deleteTombstones([9]);
  assert.equal(t.total(), 0);
});

test("the tombstones file is byte-identical to Prometheus's and reads back", () => {
  const t = new MemTombstones();
  t.addInterval(5, iv(1000, Number.POSITIVE_INFINITY), iv(Number.NEGATIVE_INFINITY, -500));
  t.addInterval(1, iv(0, 100));
  const bytes = encodeTombstonesFile(t);
  assert.equal(
    hex(bytes),
    "0130ba30" + // magic
      "01" + // version
      "01" +
      "00" +
      "c801" + // ref 1: [0, 100]
      "05" +
      "ffffffffffffffffff01" +
      "e707" + // ref 5: [MinInt64, -500]
      "05" +
      "d00f" +
      "feffffffffffffffff01" + // ref 5: [1000, MaxInt64]
      "7a71b48c", // crc32c of the records
  );
  const back = decodeTombstonesFile(bytes);
  assert.deepEqual(back.get(1), [iv(0, 100)]);
  assert.deepEqual(back.get(5), [iv(-(2 ** 63), -500), iv(1000, 2 ** 63)]);
  assert.equal(hex(encodeTombstonesFile(back)), hex(bytes));

  const empty = encodeTombstonesFile(new MemTombstones());
  assert.equal(hex(empty), "0130ba300100000000");
  assert.equal(decodeTombstonesFile(empty).total(), 0);
});

test("file write is atomic and reads back; a missing file is empty", () => {
  const dir = mkdtempSync(join(root, "block-"));
  assert.deepEqual(readTombstonesFile(dir).size, 0);
  const t = new MemTombstones();
  for (let ref = 1; ref <= 1000; ref++) t.addInterval(ref * 7, iv(ref * 1000, ref * 1000 + 500), iv(-ref, -1));
  const size = writeTombstonesFile(dir, t);
  assert.equal(existsSync(join(dir, `${TOMBSTONES_FILENAME}.tmp`)), false);
  const { tombstones, size: readSize } = readTombstonesFile(dir);
  assert.equal(readSize, size);
  assert.equal(tombstones.total(), 2000);
  assert.deepEqual(tombstones.get(700), [iv(-100, -1), iv(100_000, 100_500)]);
});

test("damaged files are rejected as corruption", () => {
  const t = new MemTombstones();
  t.addInterval(3, iv(1, 2));
  const good = encodeTombstonesFile(t);
  const damage: { name: string; bytes: Uint8Array; msg: RegExp }[] = [
    { name: "too short", bytes: good.subarray(0, 6), msg: /short/ },
    { name: "bad magic", bytes: Uint8Array.from(good, (b, i) => (i === 0 ? 9 : b)), msg: /magic/ },
    { name: "bad version", bytes: Uint8Array.from(good, (b, i) => (i === 4 ? 2 : b)), msg: /format/ },
    { name: "bad checksum", bytes: Uint8Array.from(good, (b, i) => (i === 6 ? b ^ 1 : b)), msg: /checksum/ },
  ];
  for (const d of damage) {
    assert.throws(
      () => decodeTombstonesFile(d.bytes),
      (e) => isContrailError(e, "corruption") && d.msg.test(e.message),
      d.name,
    );
  }
  const dir = mkdtempSync(join(root, "bad-"));
  writeFileSync(join(dir, TOMBSTONES_FILENAME), damage[3].bytes);
  assert.throws(
    () => readTombstonesFile(dir),
    (e) => isContrailError(e, "corruption"),
  );
  assert.equal(readFileSync(join(dir, TOMBSTONES_FILENAME)).length, good.length);
});
