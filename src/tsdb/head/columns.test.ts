import assert from "node:assert/strict";
import { test } from "node:test";
import { ByteArena } from "../encoding/byte-arena.ts";
import { Col, SeriesColumns } from "./columns.ts";

test("slots are dense, grow past the first array and keep their rows", () => {
  const c = new SeriesColumns(new ByteArena());
  const slots: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const s = c.alloc();
    c.f64[SeriesColumns.at(s, Col.lastT)] = i;
    slots.push(s);
  }
  assert.deepEqual(slots, [...Array(1000).keys()]);
  assert.ok(c.capacity >= 1000 && c.capacity < 2000);
  for (let i = 0; i < 1000; i++) assert.equal(c.f64[SeriesColumns.at(slots[i], Col.lastT)], i);
  assert.equal(c.used, 1000);
});

test("a released slot is reused, its row reset to an empty series'", () => {
  const c = new SeriesColumns(new ByteArena());
  const a = c.alloc();
  const b = c.alloc();
  c.f64[SeriesColumns.at(a, Col.lastT)] = 5;
  c.f64[SeriesColumns.at(a, Col.chunkMaxt)] = 7;
  c.release(a);
  assert.equal(c.used, 1);
  const again = c.alloc();
  assert.equal(again, a);
  assert.notEqual(again, b);
  assert.equal(c.f64[SeriesColumns.at(again, Col.lastT)], Number.NEGATIVE_INFINITY);
  assert.equal(c.f64[SeriesColumns.at(again, Col.chunkMaxt)], Number.NEGATIVE_INFINITY);
  assert.equal(c.alloc(), 2);
});
