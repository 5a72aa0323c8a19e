import assert from "node:assert/strict";
import { test } from "node:test";
import { NumberList } from "./number-list.ts";

test("number list: holds what was pushed, in order, past its first capacity, and any float64", () => {
  const list = new NumberList();
  const want: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const x = i % 3 === 0 ? i * 1.5 : i % 3 === 1 ? -i : 2 ** 40 + i;
    list.push(x);
    want.push(x);
  }
  assert.equal(list.length, 1000);
  assert.deepEqual([...list.view()], want);
});

test("number list: emptied, it holds only what is pushed after, its storage kept", () => {
  const list = new NumberList();
  for (let i = 0; i < 600; i++) list.push(i);
  const before = list.view().buffer;
  list.clear();
  assert.equal(list.length, 0);
  assert.deepEqual([...list.view()], []);
  list.push(7);
  list.push(9);
  assert.deepEqual([...list.view()], [7, 9]);
  assert.equal(list.view().buffer, before);
});
