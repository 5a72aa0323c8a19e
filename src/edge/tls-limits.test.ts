import assert from "node:assert/strict";
import { test } from "node:test";
import { HandshakeGate, RateLimiter } from "./tls-limits.ts";

test("RateLimiter: a full bucket per key, refilled at the rate, never above it", () => {
  const r = new RateLimiter(2);
  const takes = (key: string, at: number, n: number) => Array.from({ length: n }, () => r.take(key, at));
  assert.deepEqual(takes("a", 0, 3), [true, true, false]);
  // Another key has a bucket of its own.
  assert.deepEqual(takes("b", 0, 2), [true, true]);
  // Half a second at 2 a second: one token back.
  assert.deepEqual(takes("a", 500, 2), [true, false]);
  // A long pause refills only up to the burst.
  assert.deepEqual(takes("a", 60_000, 3), [true, true, false]);
});

test("HandshakeGate: starts up to the limit, queues the next, refuses when the queue is full", () => {
  const gate = new HandshakeGate({ concurrent: 1, queue: 1, queueTimeoutMs: 60_000 });
  const log: string[] = [];
  const entry = (name: string) =>
    gate.enter(
      () => log.push(`start ${name}`),
      () => log.push(`refuse ${name}`),
    ).kind;
  assert.equal(entry("a"), "started");
  assert.equal(entry("b"), "queued");
  assert.equal(entry("c"), "refused");
  assert.equal(gate.inProgress, 1);
  gate.leave(); // a ends: b takes its slot
  assert.equal(gate.inProgress, 1);
  gate.leave(); // b ends
  assert.equal(gate.inProgress, 0);
  assert.deepEqual(log, ["start a", "refuse c", "start b"]);
});

test("HandshakeGate: a cancelled waiter neither starts nor is refused; a timed-out one is refused", async () => {
  const gate = new HandshakeGate({ concurrent: 1, queue: 2, queueTimeoutMs: 30 });
  const log: string[] = [];
  gate.enter(
    () => log.push("start a"),
    () => log.push("refuse a"),
  );
  const b = gate.enter(
    () => log.push("start b"),
    () => log.push("refuse b"),
  );
  gate.enter(
    () => log.push("start c"),
    () => log.push("refuse c"),
  );
  assert.equal(b.kind, "queued");
  if (b.kind === "queued") b.cancel();
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(log, ["start a", "refuse c"]);
  gate.leave();
  assert.equal(gate.inProgress, 0);
});

test("HandshakeGate: closing refuses every waiter", () => {
  const gate = new HandshakeGate({ concurrent: 1, queue: 5, queueTimeoutMs: 60_000 });
  const log: string[] = [];
  for (const name of ["a", "b", "c"]) {
    gate.enter(
      () => log.push(`start ${name}`),
      () => log.push(`refuse ${name}`),
    );
  }
  gate.close();
  assert.deepEqual(log, ["start a", "refuse b", "refuse c"]);
});
