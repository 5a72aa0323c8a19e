// The query API under hostile input, over HTTP against the embedded store: the requests of the hardening issue,
// tables of extreme parameter values for every query-side endpoint, invalid UTF-8 and percent-encodings, long
// strings and deep nesting, and a seeded property-based generator of whole requests. Every request must be
// answered within a liveness bound, with a 4xx or, where the input is valid, a 200; the server must answer `1+1`
// right after each; and no sample stored before is lost. More seeds: `CONTRAIL_FUZZ_SEEDS=1..20`.

import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { EmbeddedTenantStore } from "../storage/tenants.ts";
import { fuzzSeeds } from "../testkit/random.ts";
import {
  type AttackRequest,
  DURATIONS,
  HARDENING_CASES,
  HOSTILE_QUERIES,
  hostileRemoteReads,
  LIMITS,
  RAW_VALUES,
  RequestGen,
  randomRequest,
  TIMES,
} from "./attack-set.ts";
import {
  load,
  orgRequest,
  type Reply,
  startTestServer,
  type TestControl,
  type TestSample,
  type TestServer,
  testControl,
} from "./test-support.ts";

const NOW = 1_700_000_000_000;
const STEP = 15_000;
const LOADED_FROM = NOW - 2 * 3_600_000;
/** Samples of each stored series. */
const PER_SERIES = (NOW - LOADED_FROM) / STEP + 1;
/** Every request must be answered within this (a liveness bound, not a speed figure: see bench/hostile.ts). */
const LIVENESS_MS = 5_000;
const PROPERTY_CASES_PER_SEED = 250;

let control: TestControl;
let store: EmbeddedTenantStore;
let server: TestServer;
let token: string;
let otherToken: string;
/** Hostile requests sent so far (the `1+1` checks after them not counted). */
let hostileRequests = 0;

function samples(job: string): TestSample[] {
  const out: TestSample[] = [];
  for (let t = LOADED_FROM; t <= NOW; t += STEP) {
    for (const instance of ["a", "b", "c"]) out.push({ labels: { __name__: "up", job, instance }, t, v: 1 });
    out.push({ labels: { __name__: "requests_total", job }, t, v: (t - LOADED_FROM) / 1000 });
  }
  return out;
}

before(async () => {
  control = testControl();
  token = control.org("acme");
  otherToken = control.org("other");
  store = new EmbeddedTenantStore({ dataDir: control.dir, db: { autoCompact: false } });
  load(store, "acme", samples("api"));
  load(store, "other", samples("web"));
  server = await startTestServer(control, store, { now: () => NOW });
});

after(async () => {
  await server.close();
  store.close();
  control.cleanup();
});

/** A request of the attack set to one org's API (acme's unless said otherwise). */
interface HostileRequest extends AttackRequest {
  readonly org?: "acme" | "other";
}

/** Sends `req`; `hostile` (default) counts it among the hostile requests. */
async function send(req: HostileRequest, hostile = true): Promise<Reply> {
  if (hostile) hostileRequests++;
  const org = req.org ?? "acme";
  return orgRequest(server.url, org, org === "acme" ? token : otherToken, req.path, {
    body: req.body,
    timeoutMs: LIVENESS_MS,
  });
}

/** Sends raw bytes as one HTTP/1.1 request (what fetch would escape) and returns the status of the answer. */
function sendRaw(head: Buffer, body: Buffer = Buffer.alloc(0)): Promise<number> {
  hostileRequests++;
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.setTimeout(LIVENESS_MS, () => socket.destroy(new Error("no answer within the liveness bound")));
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(Buffer.concat(chunks).toString("latin1"));
      if (m === null) reject(new Error("no HTTP status in the answer"));
      else resolve(Number(m[1]));
    });
    socket.end(Buffer.concat([head, body]));
  });
}

function rawHead(method: string, target: Buffer, extra: string[] = []): Buffer {
  const lines = [`Host: 127.0.0.1`, `Authorization: Bearer ${token}`, "Connection: close", ...extra];
  return Buffer.concat([Buffer.from(`${method} `), target, Buffer.from(` HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`)]);
}

/** The server answers `1+1` (as Grafana's health check asks it). */
async function assertAlive(after: string): Promise<void> {
  const r = await send({ path: "/api/v1/query?query=1%2B1&time=4" }, false);
  assert.deepEqual(r.json, { status: "success", data: { resultType: "scalar", result: [4, "2"] } }, after);
}

function enc(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

/** Refused with `status` (any 4xx when absent) and an error text matching `error`; then the server is alive. */
async function expectRefused(req: HostileRequest, expected: { status?: number; error?: RegExp } = {}): Promise<void> {
  const r = await send(req);
  const what = `${req.path} ${req.body ?? ""}`.slice(0, 300);
  if (expected.status !== undefined) assert.equal(r.status, expected.status, `${what}: ${r.text.slice(0, 300)}`);
  else assert.ok(r.status >= 400 && r.status < 500, `${what}: ${r.status} ${r.text.slice(0, 300)}`);
  if (expected.error !== undefined) assert.match(r.json?.error ?? r.text, expected.error, what);
  await assertAlive(what);
}

describe("the requests of the hardening issue", () => {
  const cases = HARDENING_CASES;
  for (const [name, params, status, error] of cases) {
    test(`${name} is refused with ${status}`, () =>
      expectRefused({ path: `/api/v1/query?${enc(params)}` }, { status, error }));
  }

  test("range queries with times past 2^53 ms, zero steps or NaN steps are refused", async () => {
    const range = (p: Record<string, string>) => ({ path: `/api/v1/query_range?${enc({ query: "up", ...p })}` });
    await expectRefused(range({ start: "1e20", end: "1e20", step: "1" }), { status: 400, error: /"start"/ });
    await expectRefused(range({ start: "0", end: "1e14", step: "1e10" }), {
      status: 400,
      error: /"end".*out of range/,
    });
    await expectRefused(range({ start: "0", end: "1", step: "0.0001" }), { status: 400, error: /zero or negative/ });
    await expectRefused(range({ start: "0", end: "1", step: "NaN" }), { status: 400, error: /"step"/ });
    await expectRefused(range({ start: "0", end: "1e12", step: "1" }), { status: 400, error: /11,000 points/ });
  });

  test("nested [5m:1ms] subqueries, within the sample limit but 9e10 window reads, end at the query timeout", async () => {
    const query = "max_over_time(max_over_time(up[5m:1ms])[5m:1ms])";
    const r = await send({ path: `/api/v1/query?${enc({ query, timeout: "0.2" })}` });
    assert.equal(r.status, 503, r.text);
    assert.deepEqual(r.json, {
      status: "error",
      errorType: "timeout",
      error: "query timed out in expression evaluation",
    });
    await assertAlive(query);
  });

  test("hostile requests of one org do not stall another org's requests", async () => {
    const hostile = cases.map(([, params]) => send({ path: `/api/v1/query?${enc(params)}` }));
    const others = Array.from({ length: 5 }, () =>
      send({ org: "other", path: "/api/v1/query?query=count(up)" }, false),
    );
    for (const r of await Promise.all(hostile)) assert.ok(r.status >= 400 && r.status < 500, r.text);
    for (const r of await Promise.all(others)) assert.equal(r.json?.data?.result?.[0]?.value?.[1], "3", r.text);
  });
});

describe("property-based requests", () => {
  test("every generated request is answered within the bound with a 4xx or a 200", async (t) => {
    const seeds = fuzzSeeds([1]);
    const statuses = new Map<number, number>();
    for (const seed of seeds) {
      const g = new RequestGen(seed, NOW);
      for (let i = 0; i < PROPERTY_CASES_PER_SEED; i++) {
        const { req, timeoutGiven } = randomRequest(g);
        const what =
          `seed ${seed} case ${i}: ${req.body === undefined ? "GET" : "POST"} ${req.path} ${req.body ?? ""}`.slice(
            0,
            400,
          );
        const status = await checkAnswer(req, timeoutGiven, what);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }
    t.diagnostic(
      `${seeds.length * PROPERTY_CASES_PER_SEED} requests; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    assert.ok((statuses.get(200) ?? 0) > 0 && [...statuses.keys()].some((s) => s >= 400), "both answers occur");
  });
});

describe("parameter tables", () => {
  test("every hostile time on every endpoint that takes one", async () => {
    for (const time of TIMES) {
      await checkAnswer({ path: `/api/v1/query?${enc({ query: "1+1", time })}` });
      await checkAnswer({ path: `/api/v1/query_range?${enc({ query: "up", start: time, end: time, step: "15" })}` });
      for (const path of ["/api/v1/series", "/api/v1/labels", "/api/v1/label/job/values", "/api/v1/query_exemplars"]) {
        await checkAnswer({ path: `${path}?${enc({ "match[]": "up", query: "up", start: time, end: time })}` });
      }
    }
  });

  test("every hostile duration as step, timeout and lookback_delta", async () => {
    const range = { query: "sum(up)", start: String((NOW - 600_000) / 1000), end: String(NOW / 1000) };
    for (const d of DURATIONS) {
      await checkAnswer({ path: `/api/v1/query_range?${enc({ ...range, step: d })}` });
      for (const name of ["timeout", "lookback_delta"]) {
        await checkAnswer({ path: `/api/v1/query?${enc({ query: "up", [name]: d })}` }, name === "timeout");
        await checkAnswer(
          { path: `/api/v1/query_range?${enc({ ...range, step: "60", [name]: d })}` },
          name === "timeout",
        );
      }
    }
  });

  test("every hostile limit on every endpoint that takes one", async () => {
    for (const limit of LIMITS) {
      for (const path of [
        "/api/v1/query?query=up",
        "/api/v1/series?match[]=up",
        "/api/v1/labels?",
        "/api/v1/status/tsdb?",
      ]) {
        await checkAnswer({ path: `${path}&${enc({ limit })}` });
      }
      await checkAnswer({ path: `/api/v1/metadata?${enc({ limit, limit_per_metric: limit })}` });
    }
    await expectRefused(
      { path: "/api/v1/query?query=up&limit=9223372036854775808" },
      { status: 400, error: /out of range/ },
    );
  });

  test("hostile query texts, as GET and as POST forms", async () => {
    for (const query of HOSTILE_QUERIES) {
      for (const path of ["/api/v1/query", "/api/v1/format_query", "/api/v1/parse_query"]) {
        await checkAnswer({ path, body: enc({ query }) });
        if (query.length < 4_000) await checkAnswer({ path: `${path}?${enc({ query })}` });
      }
    }
    await expectRefused({ path: "/api/v1/query", body: enc({ query: `"${"x".repeat(200_000)}"` }) }, { status: 400 });
  });

  test("invalid percent-encodings and raw invalid UTF-8 bytes", async () => {
    for (const raw of RAW_VALUES) {
      for (const path of [
        "/api/v1/query?query=",
        "/api/v1/series?match[]=",
        "/api/v1/labels?match[]=",
        "/api/v1/query?query=up&time=",
      ]) {
        await checkAnswer({ path: `${path}${raw}` });
      }
      await checkAnswer({ path: `/api/v1/label/${raw}/values` });
      await checkAnswer({ path: "/api/v1/query", body: `query=${raw}` });
    }
    const bad = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]);
    for (const target of [
      Buffer.concat([Buffer.from("/prometheus/acme/api/v1/query?query="), bad]),
      Buffer.concat([Buffer.from("/prometheus/acme/api/v1/label/"), bad, Buffer.from("/values")]),
    ]) {
      const status = await sendRaw(rawHead("GET", target));
      assert.ok(status >= 400 && status < 500, `raw bytes in the URL: ${status}`);
      await assertAlive("raw bytes in the URL");
    }
    const body = Buffer.concat([Buffer.from("query=up%7Bjob%3D%22"), bad, Buffer.from("%22%7D")]);
    const target = Buffer.from("/prometheus/acme/api/v1/query");
    const head = rawHead("POST", target, [
      "Content-Type: application/x-www-form-urlencoded",
      `Content-Length: ${body.length}`,
    ]);
    const status = await sendRaw(head, body);
    assert.ok(status === 200 || (status >= 400 && status < 500), `raw bytes in a form: ${status}`);
    await assertAlive("raw bytes in a form");
  });
});

/** Answered within the bound with a 4xx or a successful 200 (or, when the client set a timeout, 503 timeout: a
 * valid query it ended, as Prometheus answers); then the server is alive. Returns the status. */
async function checkAnswer(
  req: HostileRequest,
  timeoutGiven = false,
  what = `${req.path} ${req.body ?? ""}`,
): Promise<number> {
  what = what.slice(0, 400);
  const r = await send(req);
  const timedOut = timeoutGiven && r.status === 503 && r.json?.errorType === "timeout";
  assert.ok(
    r.status === 200 || (r.status >= 400 && r.status < 500) || timedOut,
    `${what}: ${r.status} ${r.text.slice(0, 300)}`,
  );
  if (r.status === 200) assert.equal(r.json?.status, "success", what);
  await assertAlive(what);
  return r.status;
}

describe("remote read", () => {
  test("hostile bodies are answered with their status within the bound, the server alive after each", async () => {
    for (const [name, body, status] of hostileRemoteReads()) {
      hostileRequests++;
      const r = await fetch(`${server.url}/prometheus/acme/api/v1/read`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/x-protobuf",
          "content-encoding": "snappy",
        },
        body,
        signal: AbortSignal.timeout(LIVENESS_MS),
      });
      const text = Buffer.from(await r.arrayBuffer()).toString("latin1");
      assert.equal(r.status, status, `${name}: ${text.slice(0, 300)}`);
      await assertAlive(name);
    }
  });
});

describe("after every hostile request", () => {
  test("no sample stored before is lost, in either org", async (t) => {
    t.diagnostic(`${hostileRequests} hostile requests sent`);
    for (const org of ["acme", "other"] as const) {
      const query = 'count_over_time({__name__=~"up|requests_total"}[3h])';
      const r = await send({ org, path: `/api/v1/query?${enc({ query })}` }, false);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.data.result.length, 4);
      for (const s of r.json.data.result) assert.equal(s.value[1], String(PER_SERIES), JSON.stringify(s.metric));
    }
  });
});
