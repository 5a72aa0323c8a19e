import assert from "node:assert/strict";
import { test } from "node:test";
import { ByteArena } from "../encoding/byte-arena.ts";
import { Col, DEAD_SLOT, IntCol, SeriesColumns } from "./columns.ts";
import { newSeriesHistograms } from "./series-histograms.ts";

test("slots are dense, grow past the first arrays and keep their rows", () => {
  const c = new SeriesColumns(new ByteArena());
  const slots: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const s = c.alloc();
    c.xor.times[SeriesColumns.lastTimeAt(s)] = i;
    c.i32[SeriesColumns.intAt(s, IntCol.firstChunkId)] = i + 7;
    slots.push(s);
  }
  // Slot 0 is the dead slot, never handed out.
  assert.deepEqual(
    slots,
    [...Array(1000).keys()].map((i) => i + 1),
  );
  assert.ok(c.capacity >= 1001 && c.capacity < 2002);
  for (let i = 0; i < 1000; i++) {
    assert.equal(c.xor.times[SeriesColumns.lastTimeAt(slots[i])], i);
    assert.equal(c.i32[SeriesColumns.intAt(slots[i], IntCol.firstChunkId)], i + 7);
  }
  assert.equal(c.used, 1000);
  assert.equal(c.xor.times[SeriesColumns.lastTimeAt(DEAD_SLOT)], Number.NEGATIVE_INFINITY);
  assert.equal(c.i32[SeriesColumns.intAt(DEAD_SLOT, IntCol.bits)], 0);
});

test("a released slot is reused, its rows reset to an empty series' and its histogram state forgotten", () => {
  const c = new SeriesColumns(new ByteArena());
  const a = c.alloc();
  const b = c.alloc();
  c.xor.times[SeriesColumns.lastTimeAt(a)] = 5;
  c.f64[SeriesColumns.at(a, Col.nextAt)] = 7;
  c.i32[SeriesColumns.intAt(a, IntCol.bits)] = 9;
  c.i32[SeriesColumns.intAt(a, IntCol.batchEpoch)] = 3;
  c.histograms.set(a, newSeriesHistograms());
  c.release(a);
  assert.equal(c.used, 1);
  assert.equal(c.histograms.has(a), false);
  const again = c.alloc();
  assert.equal(again, a);
  assert.notEqual(again, b);
  assert.equal(c.xor.times[SeriesColumns.lastTimeAt(again)], Number.NEGATIVE_INFINITY);
  assert.equal(c.f64[SeriesColumns.at(again, Col.nextAt)], Number.NEGATIVE_INFINITY);
  assert.equal(c.i32[SeriesColumns.intAt(again, IntCol.bits)], 0);
  assert.equal(c.i32[SeriesColumns.intAt(again, IntCol.batchEpoch)], 0);
  assert.equal(c.alloc(), 3);
});

test("clearEpochs forgets every slot's commit epoch and nothing else", () => {
  const c = new SeriesColumns(new ByteArena());
  const slots = [c.alloc(), c.alloc(), c.alloc()];
  for (const s of slots) {
    c.i32[SeriesColumns.intAt(s, IntCol.batchEpoch)] = 2 ** 31 - 1;
    c.i32[SeriesColumns.intAt(s, IntCol.batchAt)] = 4;
    c.i32[SeriesColumns.intAt(s, IntCol.firstChunkId)] = 6;
  }
  c.clearEpochs();
  for (const s of slots) {
    assert.equal(c.i32[SeriesColumns.intAt(s, IntCol.batchEpoch)], 0);
    assert.equal(c.i32[SeriesColumns.intAt(s, IntCol.batchAt)], 4);
    assert.equal(c.i32[SeriesColumns.intAt(s, IntCol.firstChunkId)], 6);
  }
});
