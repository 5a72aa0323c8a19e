// The receivers API: scopes and org isolation, create/replace/list/delete, secrets never returned, bad input.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { authenticate, listReceivers } from "../control/index.ts";
import { registerReceiverRoutes } from "./receiver-routes.ts";
import { MemoryTenants, startTestServer, type TestControl, type TestServer, testControl } from "./test-support.ts";

let control: TestControl;
let server: TestServer;
let base: string;
const tokens: Record<string, string> = {};

before(async () => {
  control = testControl();
  tokens.write = control.org("acme", ["write"]);
  tokens.read = control.token("acme", ["read"]);
  tokens.other = control.org("other", ["read", "write"]);
  const auth = (t: string) => authenticate(control.db, t);
  server = await startTestServer(control, new MemoryTenants(), {}, async (app) =>
    registerReceiverRoutes(app, { control: control.db, authenticate: auth }),
  );
  base = `${server.url}/prometheus`;
});

after(async () => {
  await server.close();
  control.cleanup();
});

interface Answer {
  status: number;
  json: { status?: string; error?: string; data?: Record<string, unknown> } | null;
}

async function call(method: string, path: string, token: string | null, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, json: text === "" ? null : JSON.parse(text) };
}

/** The receiver in an answer's data (`{}` when there is none). */
interface ReceiverJson {
  name: string;
  url: string;
  has_secret: boolean;
  group_by: string[];
  created_at: number;
  updated_at: number;
}
const receiverOf = (a: Answer) => (a.json?.data?.receiver ?? {}) as ReceiverJson;
const receiversOf = (a: Answer) => (a.json?.data?.receivers ?? []) as ReceiverJson[];

const hook = { kind: "webhook", url: "https://hooks.example.com/alerts", secret: "s3cret" };

test("refusals: no token 401; wrong scope and another org's token 403", async () => {
  const cases: [string, string, string | null, number][] = [
    ["GET", "/acme/config/v1/receivers", null, 401],
    ["PUT", "/acme/config/v1/receivers/ops", null, 401],
    ["PUT", "/acme/config/v1/receivers/ops", tokens.read, 403],
    ["DELETE", "/acme/config/v1/receivers/ops", tokens.read, 403],
    ["GET", "/acme/config/v1/receivers", tokens.write, 403],
    ["GET", "/acme/config/v1/receivers", tokens.other, 403],
    ["GET", "/acme/config/v1/receivers/ops", tokens.other, 403],
    ["PUT", "/acme/config/v1/receivers/ops", tokens.other, 403],
    ["DELETE", "/acme/config/v1/receivers/ops", tokens.other, 403],
  ];
  for (const [method, path, token, status] of cases) {
    const r = await call(method, path, token, method === "PUT" ? hook : undefined);
    assert.equal(r.status, status, `${method} ${path}`);
  }
  assert.deepEqual(listReceivers(control.db, "acme"), [], "nothing was written");
});

test("create, replace, read, list and delete; the secret is never returned", async () => {
  const created = await call("PUT", "/acme/config/v1/receivers/ops", tokens.write, {
    ...hook,
    group_by: ["alertname", "service"],
    group_wait: "10s",
    repeat_interval: "1h",
  });
  assert.equal(created.status, 201);
  assert.deepEqual(created.json?.data?.receiver, {
    name: "ops",
    kind: "webhook",
    url: "https://hooks.example.com/alerts",
    has_secret: true,
    group_by: ["alertname", "service"],
    group_wait: "10s",
    group_interval: "5m",
    repeat_interval: "1h",
    send_resolved: true,
    created_at: receiverOf(created).created_at,
    updated_at: receiverOf(created).updated_at,
  });
  const slack = { kind: "slack", url: "https://hooks.slack.com/services/T0/B0/XYZ", send_resolved: false };
  assert.equal((await call("PUT", "/acme/config/v1/receivers/chat", tokens.write, slack)).status, 201);
  const replaced = await call("PUT", "/acme/config/v1/receivers/ops", tokens.write, { kind: "webhook", url: hook.url });
  assert.equal(replaced.status, 200);
  assert.equal(receiverOf(replaced).has_secret, true, "secret kept");
  assert.deepEqual(receiverOf(replaced).group_by, ["alertname"]);

  const listed = await call("GET", "/acme/config/v1/receivers", tokens.read);
  assert.equal(listed.status, 200);
  const text = JSON.stringify(listed.json);
  assert.ok(!text.includes("s3cret"), "no secret in answers");
  assert.ok(!text.includes("XYZ"), "a Slack URL is a credential: only its origin is shown");
  const names = receiversOf(listed).map((r) => [r.name, r.url]);
  assert.deepEqual(names, [
    ["chat", "https://hooks.slack.com/…"],
    ["ops", "https://hooks.example.com/alerts"],
  ]);
  assert.equal((await call("GET", "/acme/config/v1/receivers/ops", tokens.read)).status, 200);
  assert.deepEqual((await call("GET", "/other/config/v1/receivers", tokens.other)).json?.data, { receivers: [] });

  const removed = await call("PUT", "/acme/config/v1/receivers/ops", tokens.write, { ...hook, secret: null });
  assert.equal(receiverOf(removed).has_secret, false);
  assert.equal((await call("DELETE", "/acme/config/v1/receivers/ops", tokens.write)).status, 204);
  assert.equal((await call("DELETE", "/acme/config/v1/receivers/chat", tokens.write)).status, 204);
  const gone = await call("GET", "/acme/config/v1/receivers/ops", tokens.read);
  assert.equal(gone.status, 404);
  assert.match(String(gone.json?.error), /org "acme" has no receiver "ops"/);
  assert.equal((await call("DELETE", "/acme/config/v1/receivers/ops", tokens.write)).status, 404);
});

test("bad input: a clear 4xx naming the problem, and nothing written", async () => {
  const put = (name: string, body: unknown) => call("PUT", `/acme/config/v1/receivers/${name}`, tokens.write, body);
  const cases: [string, unknown, number, RegExp][] = [
    ["a", { ...hook, url: "file:///etc/passwd" }, 400, /only http and https/],
    ["a", { ...hook, url: `https://e.com/${"x".repeat(2100)}` }, 400, /url: \d+ characters, the limit is 2048/],
    ["a", { ...hook, kind: "pager" }, 400, /kind: expected one of webhook, slack/],
    ["a", { url: hook.url }, 400, /kind: expected a string/],
    ["a", { ...hook, colour: "red" }, 400, /unknown field "colour"/],
    ["a", { ...hook, group_wait: 30 }, 400, /group_wait: expected a duration string/],
    ["a", { ...hook, group_interval: "soon" }, 400, /group_interval: not a valid duration/],
    ["a", { ...hook, group_interval: "100ms" }, 400, /group_interval: 100 ms is outside/],
    ["a", { ...hook, group_by: "alertname" }, 400, /group_by: expected an array/],
    ["a", { ...hook, group_by: ["bad label"] }, 400, /group_by: "bad label" is not a label name/],
    ["a", { ...hook, send_resolved: "yes" }, 400, /send_resolved: expected true or false/],
    ["a", { ...hook, secret: 42 }, 400, /secret: expected a string/],
    ["a", [hook], 400, /expected a JSON object/],
    ["a", "{not json", 400, /not valid JSON/],
    ["-a", hook, 400, /receiver name/],
    ["a", { ...hook, secret: "x".repeat(20_000) }, 413, /too large/],
  ];
  for (const [name, body, status, pattern] of cases) {
    const r = await put(name, body);
    assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 80)}`);
    assert.equal(r.json?.status, "error");
    assert.match(String(r.json?.error), pattern);
  }
  assert.deepEqual(listReceivers(control.db, "acme"), []);
});

test("an org has at most 20 receivers: the 21st is refused with 422", async () => {
  for (let i = 0; i < 20; i++) {
    assert.equal((await call("PUT", `/other/config/v1/receivers/r${i}`, tokens.other, hook)).status, 201);
  }
  const r = await call("PUT", "/other/config/v1/receivers/r20", tokens.other, hook);
  assert.equal(r.status, 422);
  assert.match(String(r.json?.error), /has 20 receivers, the limit is 20/);
});
