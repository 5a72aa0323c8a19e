// The signal that tells a query its client went away (server.ts, `connectionSignal`): one per connection, shared by
// the queries asked over it whichever way they came (the lean routes or Fastify's), left with no listener once they
// are answered, and aborted when the client closes the connection with a query still running.

import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { QueryPool } from "./query-pool/pool.ts";
import { API_ENGINE_OPTIONS } from "./server.ts";
import * as support from "./test-support.ts";

/** A query the wrapped pool holds until its signal aborts, instead of evaluating it. */
const HELD = "held_until_the_client_leaves";
const T0 = 1_700_000_000_000;

let control: support.TestControl;
let pool: QueryPool;
let server: support.TestServer;
let token: string;
/** The signal of every query the pool was asked, in order. */
const signals: (AbortSignal | undefined)[] = [];
/** Resolves with whether the held query's signal aborted. */
let heldAborted: Promise<boolean> | null = null;

before(async () => {
  control = support.testControl();
  token = control.org("acme");
  const store = new support.MemoryTenants();
  support.load(store, "acme", [{ labels: { __name__: "up", job: "a" }, t: T0 - 10_000, v: 1 }]);
  pool = new QueryPool({ workers: 1, engine: API_ENGINE_OPTIONS });
  const run = pool.run.bind(pool);
  pool.run = (spec, sub) => {
    signals.push(sub.signal);
    if (!spec.query.includes(HELD)) return run(spec, sub);
    heldAborted = new Promise((resolve) => {
      sub.signal?.addEventListener("abort", () => resolve(true), { once: true });
      setTimeout(() => resolve(false), 5_000).unref();
    });
    return heldAborted.then(() => []);
  };
  server = await support.startTestServer(control, store, { now: () => T0, queryPool: pool });
});

after(async () => {
  await server.close();
  await pool.close();
  control.cleanup();
});

/** Status and body of a GET of `path` through `agent`. */
function get(agent: Agent, path: string): Promise<[number, string]> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve([res.statusCode ?? 0, body]));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("a query's client-gone signal", () => {
  test("is shared by the queries of one connection, both ways, and left without listeners", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const from = signals.length;
    try {
      // The lean way, Fastify's (a percent-encoded org), then the lean way again, over one kept-alive connection.
      for (const org of ["acme", "%61cme", "acme"]) {
        const [status, body] = await get(agent, `/prometheus/${org}/api/v1/query?query=up&time=${T0 / 1000}`);
        assert.equal(status, 200, body);
      }
      const seen = signals.slice(from);
      assert.equal(seen.length, 3);
      const shared = seen[0];
      assert.ok(shared !== undefined);
      assert.ok(seen.every((s) => s === shared));
      assert.equal(shared.aborted, false);
      assert.equal(getEventListeners(shared, "abort").length, 0);
    } finally {
      agent.destroy();
    }
    const other = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await get(other, `/prometheus/acme/api/v1/query?query=up&time=${T0 / 1000}`);
      assert.notEqual(signals.at(-1), signals[from]);
    } finally {
      other.destroy();
    }
  });

  test("aborts a query still running when its client closes the connection", async () => {
    const socket = connect(server.port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    const form = `query=${HELD}&time=${T0 / 1000}`;
    socket.write(
      [
        "POST /prometheus/acme/api/v1/query HTTP/1.1",
        "Host: test",
        `Authorization: Bearer ${token}`,
        "Content-Type: application/x-www-form-urlencoded",
        `Content-Length: ${form.length}`,
        "",
        form,
      ].join("\r\n"),
    );
    while (heldAborted === null) await new Promise((resolve) => setTimeout(resolve, 10));
    socket.destroy();
    assert.equal(await heldAborted, true);
  });
});
