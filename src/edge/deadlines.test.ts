import assert from "node:assert/strict";
import { test } from "node:test";
import { DeadlineList, DeadlineNode } from "./deadlines.ts";

class Entry extends DeadlineNode {
  constructor(readonly name: string) {
    super();
  }
}

test("DeadlineList expires entries in push order once their time has come", () => {
  const list = new DeadlineList<Entry>(100);
  const [a, b, c] = [new Entry("a"), new Entry("b"), new Entry("c")];
  list.push(a, 0);
  list.push(b, 10);
  list.push(c, 20);
  const expired: string[] = [];
  list.expire(105, (e) => expired.push(e.name));
  assert.deepEqual(expired, ["a"]);
  list.remove(b);
  assert.equal(list.size, 1);
  list.expire(1000, (e) => expired.push(e.name));
  assert.deepEqual(expired, ["a", "c"]);
  assert.equal(list.size, 0);
  assert.equal(list.first(), null);
});

test("DeadlineList: pushing moves an entry from its old list; removing from another list is a no-op", () => {
  const one = new DeadlineList<Entry>(10);
  const two = new DeadlineList<Entry>(1000);
  const e = new Entry("e");
  one.push(e, 0);
  two.push(e, 0);
  assert.equal(one.size, 0);
  assert.equal(two.size, 1);
  one.remove(e);
  assert.equal(two.size, 1);
  const out: string[] = [];
  one.expire(500, (x) => out.push(x.name));
  two.expire(500, (x) => out.push(x.name));
  assert.equal(out.length, 0);
  two.expire(1000, (x) => out.push(x.name));
  assert.deepEqual(out, ["e"]);
  assert.equal(e.list, null);
});

test("DeadlineList keeps links consistent when removing from the middle and the ends", () => {
  const list = new DeadlineList<Entry>(1);
  const entries = ["a", "b", "c", "d", "e"].map((n) => new Entry(n));
  for (const e of entries) list.push(e, 0);
  list.remove(entries[2]);
  list.remove(entries[0]);
  list.remove(entries[4]);
  const out: string[] = [];
  list.expire(10, (x) => out.push(x.name));
  assert.deepEqual(out, ["b", "d"]);
});
