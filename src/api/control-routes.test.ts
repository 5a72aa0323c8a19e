// The control API for external instances: scopes, refusals that do not reveal app names, registration, listing
// and removal.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { authenticate, createApp, getInstance, registerInstance } from "../control/index.ts";
import { registerControlRoutes } from "./control-routes.ts";
import { createApiServer } from "./server.ts";
import { MemoryTenants, type TestControl, testControl } from "./test-support.ts";

let control: TestControl;
let url: string;
let close: () => Promise<void>;
const tokens: Record<string, string> = {};

before(async () => {
  control = testControl();
  tokens.write = control.org("acme", ["write"]);
  tokens.read = control.token("acme", ["read"]);
  tokens.other = control.org("other", ["read", "write"]);
  createApp(control.db, { name: "web", org: "acme", flyToml: "[http_service]\ninternal_port = 8080\n" });
  const auth = (t: string) => authenticate(control.db, t);
  const { app } = createApiServer({ store: new MemoryTenants(), authenticate: auth });
  registerControlRoutes(app, { control: control.db, authenticate: auth });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  url = `http://127.0.0.1:${address.port}/control/v1/apps`;
  close = () => app.close();
});

after(async () => {
  await close();
  control.cleanup();
});

function call(
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> | null }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  return fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }).then(
    async (r) => {
      const text = await r.text();
      return { status: r.status, json: text === "" ? null : (JSON.parse(text) as Record<string, unknown>) };
    },
  );
}

test("refusals: no token 401, wrong scope, other org and unknown app all 403", async () => {
  const add = { region: "ord", address: "10.0.0.5:8080" };
  const cases: [string, string, string | null, number][] = [
    ["POST", "/web/instances", null, 401],
    ["POST", "/web/instances", tokens.read, 403],
    ["POST", "/web/instances", tokens.other, 403],
    ["POST", "/nope/instances", tokens.write, 403],
    ["GET", "/web/instances", tokens.write, 403],
    ["GET", "/nope/instances", tokens.read, 403],
    ["DELETE", "/web/instances/0123456789abcd", tokens.read, 403],
  ];
  for (const [method, path, token, status] of cases) {
    assert.equal((await call(method, path, token, method === "POST" ? add : undefined)).status, status, path);
  }
});

test("register, list and remove an external instance", async () => {
  const created = await call("POST", "/web/instances", tokens.write, { region: "ams", address: "10.0.0.7:8080" });
  assert.equal(created.status, 201);
  const inst = created.json?.instance as Record<string, unknown>;
  assert.equal(inst.kind, "external");
  assert.equal(inst.state, "starting");
  assert.equal(inst.region, "ams");
  const listed = await call("GET", "/web/instances", tokens.read);
  assert.deepEqual(
    ((listed.json?.instances ?? []) as { id: string }[]).map((i) => i.id),
    [inst.id],
  );
  assert.equal((await call("POST", "/web/instances", tokens.write, { region: "ams" })).status, 400);
  assert.equal(
    (await call("POST", "/web/instances", tokens.write, { region: "ams", address: "10.0.0.7:8080" })).status,
    409,
  );
  assert.equal((await call("DELETE", `/web/instances/${inst.id}`, tokens.write)).status, 204);
  assert.equal(getInstance(control.db, inst.id as string), undefined);
  assert.equal((await call("DELETE", `/web/instances/${inst.id}`, tokens.write)).status, 404);
  const local = registerInstance(control.db, { app: "web", kind: "local", region: "ord", address: "127.0.0.1:4000" });
  assert.equal((await call("DELETE", `/web/instances/${local.id}`, tokens.write)).status, 409);
});
