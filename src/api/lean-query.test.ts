// The query routes' lean way (lean-query.ts) against Fastify's: the same raw requests to a server with it and to one
// without give the same response bytes (the Date header aside), whichever way each request takes (lean-front.test.ts
// tests the way's connection handling on its own); the metrics count
// both alike; a revoked token is refused on the very next request.

import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { revokeToken } from "../control/index.ts";
import { QueryPool } from "./query-pool/pool.ts";
import { API_ENGINE_OPTIONS } from "./server.ts";
import * as support from "./test-support.ts";

type TestServer = support.TestServer;

const T0 = 1_700_000_000_000;
const STEP = 15_000;
const HOUR = 3_600_000;
const BODY_LIMIT = 4096;

/** Two counters over the hour before T0, one point a step. */
function dataset(): support.TestSample[] {
  return Array.from({ length: HOUR / STEP + 1 }, (_, k) => T0 - HOUR + k * STEP).flatMap((t, k) =>
    ["a", "b"].map((instance, i) => ({
      labels: { __name__: "http_requests_total", job: "api", instance },
      t,
      v: k * 30 * (i + 1),
    })),
  );
}

let control: support.TestControl;
let pool: QueryPool;
let lean: TestServer;
let plain: TestServer;
let token: string;
let otherToken: string;
/** Requests Fastify's onRequest hooks saw, per server. */
const hooked = { lean: 0, plain: 0 };

before(async () => {
  control = support.testControl();
  token = control.org("acme");
  otherToken = control.org("other");
  const store = new support.MemoryTenants();
  support.load(store, "acme", dataset());
  pool = new QueryPool({ workers: 1, engine: API_ENGINE_OPTIONS });
  const opts = { now: () => T0, bodyLimit: BODY_LIMIT, queryPool: pool };
  lean = await support.startTestServer(control, store, opts, async (app) =>
    app.addHook("onRequest", async () => {
      hooked.lean++;
    }),
  );
  plain = await support.startTestServer(control, store, { ...opts, leanQueries: false }, async (app) =>
    app.addHook("onRequest", async () => {
      hooked.plain++;
    }),
  );
});

after(async () => {
  await lean.close();
  await plain.close();
  await pool.close();
  control.cleanup();
});

/** One raw HTTP/1.1 request closing its connection: request line, headers, body. */
function rawRequest(method: string, path: string, headers: readonly string[], body = ""): string {
  const length = body === "" ? [] : [`Content-Length: ${Buffer.byteLength(body)}`];
  return [`${method} ${path} HTTP/1.1`, "Host: test", "Connection: close", ...headers, ...length, "", body].join(
    "\r\n",
  );
}

/** The whole response to `request` as latin1 text, its Date header taken out. */
function exchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("end", () =>
      resolve(
        Buffer.concat(chunks)
          .toString("latin1")
          .replace(/\r\nDate: [^\r]*/i, ""),
      ),
    );
    socket.on("error", reject);
    socket.write(request);
  });
}

const FORM = "application/x-www-form-urlencoded";
const RANGE = `query=rate(http_requests_total[5m])&start=${(T0 - HOUR) / 1000}&end=${T0 / 1000}&step=15`;

/** The table of requests: every way in and out of the query routes. */
function requests(): [string, string][] {
  const bearer = `Authorization: Bearer ${token}`;
  const basic = `Authorization: Basic ${Buffer.from(`me:${token}`).toString("base64")}`;
  const q = "/prometheus/acme/api/v1/query";
  const r = "/prometheus/acme/api/v1/query_range";
  return [
    ["instant GET", rawRequest("GET", `${q}?query=http_requests_total`, [bearer])],
    ["instant GET at a time, Basic auth", rawRequest("GET", `${q}?query=up&time=1700000000`, [basic])],
    ["range GET, gzip accepted", rawRequest("GET", `${r}?${RANGE}`, [bearer, "Accept-Encoding: gzip"])],
    ["range POST form", rawRequest("POST", r, [bearer, `Content-Type: ${FORM}`], RANGE)],
    [
      "range POST form, charset, gzip",
      rawRequest("POST", r, [bearer, `Content-Type: ${FORM}; charset=utf-8`, "Accept-Encoding: gzip"], RANGE),
    ],
    [
      "POST form and URL parameters",
      rawRequest("POST", `${q}?time=1700000000`, [bearer, `Content-Type: ${FORM}`], "query=1%2B1"),
    ],
    ["bad query", rawRequest("GET", `${q}?query=rate(`, [bearer])],
    ["range without step", rawRequest("POST", r, [bearer, `Content-Type: ${FORM}`], "query=up&start=1&end=2")],
    ["no token", rawRequest("GET", `${q}?query=up`, [])],
    ["unknown token", rawRequest("GET", `${q}?query=up`, ["Authorization: Bearer ct_nope"])],
    ["another org's token", rawRequest("GET", `${q}?query=up`, [`Authorization: Bearer ${otherToken}`])],
    ["refused POST with a body", rawRequest("POST", r, [`Content-Type: ${FORM}`], RANGE)],
    ["PUT is 405", rawRequest("PUT", `${q}?query=up`, [bearer])],
    ["HEAD", rawRequest("HEAD", `${q}?query=up`, [bearer])],
    ["JSON body is 415", rawRequest("POST", q, [bearer, "Content-Type: application/json"], '{"query":"up"}')],
    [
      "body over the limit is 413",
      rawRequest("POST", q, [bearer, `Content-Type: ${FORM}`], `query=${"1".repeat(BODY_LIMIT)}`),
    ],
    [
      "chunked POST",
      [`POST ${q} HTTP/1.1`, "Host: test", "Connection: close", bearer, `Content-Type: ${FORM}`]
        .concat(["Transfer-Encoding: chunked", "", "8", "query=up", "0", "", ""])
        .join("\r\n"),
    ],
    ["GET with a form body", rawRequest("GET", `${q}?query=up`, [bearer, `Content-Type: ${FORM}`], "query=1")],
    ["percent-encoded org", rawRequest("GET", `/prometheus/acm%65/api/v1/query?query=up`, [bearer])],
    ["trailing slash", rawRequest("GET", `${q}/?query=up`, [bearer])],
    ["query exemplars (not lean)", rawRequest("GET", "/prometheus/acme/api/v1/query_exemplars?query=up", [bearer])],
    ["Authorization twice", rawRequest("GET", `${q}?query=up`, [bearer, "Authorization: Bearer ct_nope"])],
    ["HTTP/1.0", rawRequest("GET", `${q}?query=up`, [bearer]).replace("HTTP/1.1", "HTTP/1.0")],
    [
      "Expect: 100-continue",
      rawRequest("POST", q, [bearer, `Content-Type: ${FORM}`, "Expect: 100-continue"], "query=1"),
    ],
    ["head over node's limit", rawRequest("GET", `${q}?query=up`, [bearer, `X-Big: ${"a".repeat(20_000)}`])],
    ["malformed header line", rawRequest("GET", `${q}?query=up`, [bearer, "no colon here"])],
  ];
}

describe("lean query routes", () => {
  test("give the same bytes as Fastify for every request of the table", async () => {
    const statuses = new Set<string>();
    for (const [name, request] of requests()) {
      const a = await exchange(lean.port, request);
      const b = await exchange(plain.port, request);
      assert.equal(a, b, name);
      statuses.add(/^HTTP\/1\.1 ([0-9]{3}) /.exec(a)?.[1] ?? name);
    }
    assert.deepEqual([...statuses].sort(), ["100", "200", "400", "401", "403", "404", "405", "413", "415", "431"]);
  });

  test("count the table's requests and refusals as Fastify's hooks do", async () => {
    const counted = async (s: TestServer) => {
      const text = await (await fetch(`${s.url}/metrics`)).text();
      return text
        .split("\n")
        .filter((l) => /^contrail_api_(requests_total|auth_failures_total|request_duration_seconds_count)\{/.test(l))
        .filter((l) => !l.includes('"/metrics"'))
        .sort();
    };
    const a = await counted(lean);
    assert.deepEqual(a, await counted(plain));
    for (const want of ['code="401",handler="/prometheus/:org/api/v1/query"', 'reason="forbidden"', "query_range"]) {
      assert.ok(
        a.some((l) => l.includes(want)),
        a.join("\n"),
      );
    }
  });

  test("take the plain query requests away from Fastify's hooks, and leave it the rest", async () => {
    const before = { ...hooked };
    const bearer = `Authorization: Bearer ${token}`;
    await exchange(lean.port, rawRequest("GET", `/prometheus/acme/api/v1/query?query=up`, [bearer]));
    await exchange(plain.port, rawRequest("GET", `/prometheus/acme/api/v1/query?query=up`, [bearer]));
    assert.deepEqual([hooked.lean - before.lean, hooked.plain - before.plain], [0, 1]);
    await exchange(lean.port, rawRequest("HEAD", `/prometheus/acme/api/v1/query?query=up`, [bearer]));
    assert.equal(hooked.lean - before.lean, 1);
  });

  test("answer kept-alive connections, gzip as the client asks", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${lean.url}/prometheus/acme/api/v1/query_range`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": FORM, "accept-encoding": "gzip" },
        body: RANGE,
      });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-encoding"), "gzip");
      assert.equal(((await r.json()) as { data: { result: unknown[] } }).data.result.length, 2);
    }
  });

  test("refuse a revoked token on the very next request", async () => {
    const fresh = control.token("acme");
    const ask = () =>
      fetch(`${lean.url}/prometheus/acme/api/v1/query?query=1`, { headers: { authorization: `Bearer ${fresh}` } });
    assert.equal((await ask()).status, 200);
    revokeToken(control.db, fresh);
    const refused = await ask();
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { errorType: string }).errorType, "unauthorized");
  });
});
