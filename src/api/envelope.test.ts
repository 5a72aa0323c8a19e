// Every error the server gives, whoever produces it (our handlers, fastify's router and body parsers, Node's HTTP
// parser), is Prometheus's JSON error envelope with a message saying what to fix and the right status; and the
// server answers the next request as before.

import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { authenticate } from "../control/index.ts";
import { registerControlRoutes } from "./control-routes.ts";
import { createApiServer } from "./server.ts";
import { MemoryTenants, type TestControl, testControl } from "./test-support.ts";

let control: TestControl;
let close: () => Promise<void>;
let port: number;
let token: string;

before(async () => {
  control = testControl();
  token = control.org("acme");
  const auth = (t: string) => authenticate(control.db, t);
  const { app } = createApiServer({ store: new MemoryTenants(), authenticate: auth, bodyLimit: 64 * 1024 });
  registerControlRoutes(app, { control: control.db, authenticate: auth });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  port = address.port;
  close = () => app.close();
});

after(async () => {
  await close();
  control.cleanup();
});

/** Sends `head` (request line and headers, without the blank line) and `body` over a raw socket; the reply. */
function raw(head: string, body = ""): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.end(`${head}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n${body}`);
    });
    let data = "";
    socket.setEncoding("utf8");
    socket.on("data", (c) => {
      data += c;
    });
    socket.on("error", reject);
    socket.on("close", () => {
      const split = data.indexOf("\r\n\r\n");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, headers: data.slice(0, split), body: data.slice(split + 4) });
    });
  });
}

const AUTH = () => ({ authorization: `Bearer ${token}` });

async function assertEnvelope(
  r: { status: number; contentType: string; body: string },
  status: number,
  message: RegExp,
): Promise<void> {
  assert.equal(r.status, status, r.body);
  assert.match(r.contentType, /^application\/json/);
  const env = JSON.parse(r.body) as Record<string, unknown>;
  assert.deepEqual(Object.keys(env).sort(), ["error", "errorType", "status"]);
  assert.equal(env.status, "error");
  assert.equal(env.errorType, "bad_data");
  assert.match(String(env.error), message);
  // The server goes on answering.
  const ok = await fetch(`http://127.0.0.1:${port}/prometheus/acme/api/v1/query?query=1%2B1&time=1`, {
    headers: AUTH(),
  });
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { status: "success", data: { resultType: "scalar", result: [1, "2"] } });
}

async function call(path: string, init: RequestInit = {}) {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers: { ...AUTH(), ...init.headers } });
  return { status: r.status, contentType: r.headers.get("content-type") ?? "", body: await r.text() };
}

describe("the router's refusals", () => {
  test("400: invalid percent-encoding in a label name", async () => {
    await assertEnvelope(
      await call("/prometheus/acme/api/v1/label/U__%ff/values"),
      400,
      /^invalid URL: \/prometheus\/acme\/api\/v1\/label\/U__%ff\/values is not validly percent-encoded$/,
    );
  });

  test("414: a 2,000-character label name", async () => {
    const r = await call(`/prometheus/acme/api/v1/label/${"a".repeat(2000)}/values`);
    await assertEnvelope(r, 414, /URL path segment too long .*a label name or org may be at most 1024 characters/);
    assert.ok(r.body.length < 600, "the message quotes a bounded piece of the URL");
  });

  test("414: a 2,000-character org", async () => {
    await assertEnvelope(await call(`/prometheus/${"o".repeat(2000)}/api/v1/labels`), 414, /path segment too long/);
  });
});

describe("bodies the endpoints do not take", () => {
  const cases: [string, string, string, number, RegExp][] = [
    [
      "multipart form",
      "multipart/form-data; boundary=x",
      '--x\r\nContent-Disposition: form-data; name="query"\r\n\r\nup\r\n--x--\r\n',
      415,
      /unsupported Content-Type "multipart\/form-data; boundary=x": send parameters in the URL or as an application\/x-www-form-urlencoded body/,
    ],
    ["JSON", "application/json", '{"query":"up"}', 415, /unsupported Content-Type "application\/json"/],
    ["malformed JSON", "application/json", '{"query":', 415, /unsupported Content-Type "application\/json"/],
    ["plain text", "text/plain", "query=up", 415, /unsupported Content-Type "text\/plain"/],
    ["no content type", "", "query=up", 415, /unsupported Content-Type ""/],
  ];
  for (const [name, type, body, status, re] of cases) {
    test(`${status}: ${name} on a form endpoint`, async () => {
      const headers: Record<string, string> = type === "" ? {} : { "content-type": type };
      const init = { method: "POST", headers, body: type === "" ? new TextEncoder().encode(body) : body };
      await assertEnvelope(await call("/prometheus/acme/api/v1/query", init), status, re);
    });
  }

  test("413: a form over the body limit names the limit", async () => {
    const r = await call("/prometheus/acme/api/v1/query", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `query=${"1".repeat(70 * 1024)}`,
    });
    await assertEnvelope(r, 413, /^request body too large: more than 65536 bytes$/);
  });

  test("400: malformed JSON on a JSON endpoint", async () => {
    const r = await call("/control/v1/apps/web/instances", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"region":',
    });
    assert.ok(r.status === 400 || r.status === 403, `${r.status}`);
    assert.equal(JSON.parse(r.body).status, "error");
  });
});

describe("the HTTP parser's refusals", () => {
  test("431: a URL longer than the header limit", async () => {
    const r = await raw(`GET /prometheus/acme/api/v1/query?query=${"x".repeat(20_000)} HTTP/1.1`);
    assert.match(r.headers, /content-type: application\/json/i);
    await assertEnvelope(
      { status: r.status, contentType: "application/json", body: r.body },
      431,
      /the request line and headers are longer than \d+ bytes; send long queries as a POST form/,
    );
  });

  test("400: a malformed request line", async () => {
    const r = await raw("GET /prometheus/acme/api/v1/query HTTP/1.1 extra");
    await assertEnvelope({ status: r.status, contentType: "application/json", body: r.body }, 400, /malformed HTTP/);
  });

  test("400: an invalid header", async () => {
    const r = await raw("GET / HTTP/1.1\r\nBad Header: x");
    await assertEnvelope({ status: r.status, contentType: "application/json", body: r.body }, 400, /malformed HTTP/);
  });
});
