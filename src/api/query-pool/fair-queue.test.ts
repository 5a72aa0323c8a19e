import assert from "node:assert/strict";
import { test } from "node:test";
import { FairQueue } from "./fair-queue.ts";

interface J {
  readonly org: string;
  readonly maxRunning: number;
  readonly name: string;
}

function job(org: string, name: string, maxRunning = 10): J {
  return { org, name, maxRunning };
}

// Takes jobs while the queue gives them.
function take(q: FairQueue<J>, n = Number.POSITIVE_INFINITY): string[] {
  const out: string[] = [];
  while (out.length < n) {
    const j = q.next();
    if (j === null) break;
    out.push(j.name);
  }
  return out;
}

test("first in, first out within an org; orgs take turns", () => {
  const q = new FairQueue<J>();
  for (const n of ["a1", "a2", "a3", "a4"]) q.enqueue(job("a", n));
  q.enqueue(job("b", "b1"));
  q.enqueue(job("b", "b2"));
  q.enqueue(job("c", "c1"));
  assert.equal(q.waiting(), 7);
  assert.deepEqual(take(q), ["a1", "b1", "c1", "a2", "b2", "a3", "a4"]);
  assert.equal(q.running("a"), 4);
  assert.equal(q.running(), 7);
  assert.equal(q.waiting(), 0);
});

test("an org at its limit is skipped and keeps its turn; a finished job frees a place", () => {
  const q = new FairQueue<J>();
  q.enqueue(job("a", "a1", 1));
  q.enqueue(job("a", "a2", 1));
  q.enqueue(job("b", "b1", 1));
  q.enqueue(job("b", "b2", 1));
  assert.deepEqual(take(q), ["a1", "b1"]);
  assert.equal(q.next(), null, "both orgs run their one job");
  q.finished("b");
  assert.deepEqual(take(q), ["b2"]);
  q.finished("a");
  assert.deepEqual(take(q), ["a2"]);
  for (let i = 0; i < 2; i++) {
    q.finished("a");
    q.finished("b");
  }
  assert.equal(q.running(), 0);
});

test("a job that waits behind a busy org does not hold back another org", () => {
  const q = new FairQueue<J>();
  q.enqueue(job("a", "a1", 2));
  q.enqueue(job("a", "a2", 2));
  assert.deepEqual(take(q), ["a1", "a2"]);
  q.enqueue(job("a", "a3", 2));
  q.enqueue(job("b", "b1", 2));
  assert.deepEqual(take(q), ["b1"]);
  assert.equal(q.waiting("a"), 1);
});

test("remove takes a waiting job out; drain empties every queue", () => {
  const q = new FairQueue<J>();
  const a1 = job("a", "a1");
  const a2 = job("a", "a2");
  const b1 = job("b", "b1");
  q.enqueue(a1);
  q.enqueue(a2);
  q.enqueue(b1);
  assert.equal(q.remove(a1), true);
  assert.equal(q.remove(a1), false);
  assert.equal(q.remove(b1), true);
  assert.equal(q.waiting("b"), 0);
  assert.deepEqual(take(q, 1), ["a2"]);
  q.enqueue(job("b", "b2"));
  q.enqueue(job("c", "c1"));
  assert.deepEqual(
    q.drain().map((j) => j.name),
    ["b2", "c1"],
  );
  assert.equal(q.waiting(), 0);
  assert.equal(q.next(), null);
  assert.equal(q.running("a"), 1);
});
