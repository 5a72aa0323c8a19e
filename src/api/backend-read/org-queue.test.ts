import assert from "node:assert/strict";
import { test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { OrgQueue } from "./org-queue.ts";

const BOUNDS = { maxConcurrent: 2, maxQueued: 1 };
const LONG_MS = 60_000;

test("an org runs its bound at once, waits in order past it, and is refused past the waiting line", async () => {
  const q = new OrgQueue();
  const first = await q.enter("acme", BOUNDS, LONG_MS);
  await q.enter("acme", BOUNDS, LONG_MS);
  assert.equal(q.running("acme"), 2);
  let admitted = false;
  const third = q.enter("acme", BOUNDS, LONG_MS).then((leave) => {
    admitted = true;
    return leave;
  });
  await assert.rejects(
    q.enter("acme", BOUNDS, LONG_MS),
    (err) => isContrailError(err, "unavailable") && /limit 1, max_queued_queries/.test(err.message),
  );
  // Another org is not held up by acme's line.
  const other = await q.enter("other", BOUNDS, LONG_MS);
  other();
  assert.equal(admitted, false);
  first();
  first();
  const leave = await third;
  assert.equal(admitted, true);
  assert.equal(q.running("acme"), 2, "the place passed on; a second leave of the same query changes nothing");
  leave();
});

test("a wait ends at the query's timeout or when its client goes away, and leaves the line", async () => {
  const q = new OrgQueue();
  const bounds = { maxConcurrent: 1, maxQueued: 5 };
  const running = await q.enter("acme", bounds, LONG_MS);
  await assert.rejects(q.enter("acme", bounds, 20), (err) => isContrailError(err, "query_timeout"));
  const controller = new AbortController();
  const waiting = q.enter("acme", bounds, LONG_MS, controller.signal);
  controller.abort();
  await assert.rejects(waiting, (err) => isContrailError(err, "query_canceled"));
  running();
  assert.equal(q.running("acme"), 0);
  const again = await q.enter("acme", bounds, LONG_MS);
  assert.equal(q.running("acme"), 1);
  again();
});
