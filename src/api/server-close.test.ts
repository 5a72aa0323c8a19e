// Stopping the API: connections that carry no request (opened and never used, as browsers open them ahead, or a head
// still arriving) do not hold the stop back, while a query already being answered is answered whole and its
// connection then closed.

import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, test } from "node:test";
import { QueryPool } from "./query-pool/pool.ts";
import { poolReaches } from "./query-pool/pool-testkit.ts";
import { load, MemoryTenants, startTestServer, type TestControl, testControl } from "./test-support.ts";

/** How long the stop may take to end the connections without a request: they held it for good before. */
const STOP_MS = 5000;
/** How long the query may take to reach its worker, ms: generous, for a loaded machine. */
const SETTLE_MS = 20_000;
// Most of a second of work on a worker (3.6 million subquery steps), still under way when the stop begins.
const SLOW = "count_over_time(vector(1)[1h:1ms])";

let control: TestControl;

after(() => control.cleanup());

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

test("idle and half-sent connections do not hold the stop; a query in progress is answered", {
  timeout: 120_000,
}, async () => {
  control = testControl();
  const token = control.org("acme");
  const store = new MemoryTenants();
  load(store, "acme", [{ labels: { __name__: "up" }, t: 0, v: 1 }]);
  // Every query on the worker, so the test can see the slow one under way before it stops the server.
  const pool = new QueryPool({ workers: 1, inline: false });
  const server = await startTestServer(control, store, { queryPool: pool });
  const unused = await open(server.port);
  const halfHead = await open(server.port);
  halfHead.write("GET /prometheus/acme/api/v1/query?query=1 HTTP/1.1\r\nHost: x\r\n");
  const closed = [unused, halfHead].map((s) => new Promise((resolve) => s.once("close", resolve)));
  const params = new URLSearchParams({ query: SLOW, time: "3600" });
  const answer = fetch(`${server.url}/prometheus/acme/api/v1/query?${params}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await poolReaches(pool, "the slow query running", (f) => f.busy === 1, SETTLE_MS);
  const started = performance.now();
  const stopped = server.close();
  await Promise.all(closed);
  const ms = performance.now() - started;
  assert.ok(ms < STOP_MS, `the connections without a request were ended after ${ms.toFixed(0)} ms`);
  const r = await answer;
  const answered = performance.now();
  assert.equal(r.status, 200);
  const json = (await r.json()) as { data: { result: unknown } };
  assert.deepEqual(json.data.result, [{ metric: {}, value: [3600, "3600000"] }]);
  await stopped;
  const after = performance.now() - answered;
  assert.ok(after < STOP_MS, `the stop ended ${after.toFixed(0)} ms after the last answer`);
  await pool.close();
});
