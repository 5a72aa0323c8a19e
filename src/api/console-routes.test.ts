// The web console's session routes and org routes: sign-in by link and by token, the cookie's attributes and
// reach (one org, its scopes, same-origin changes only), sign-out, apps, tokens, and the page and its assets.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { checkSession, createApp, createSignInLink, TokenCache } from "../control/index.ts";
import { CONSOLE_CSP, registerConsoleAssets } from "./console-assets.ts";
import { registerConsoleRoutes } from "./console-routes.ts";
import { registerControlRoutes } from "./control-routes.ts";
import { MemoryTenants, startTestServer, type TestControl, type TestServer, testControl } from "./test-support.ts";

let control: TestControl;
let server: TestServer;
let host: string;
let origin: string;
let cookieName: string;
const uiDir = mkdtempSync(join(tmpdir(), "contrail-console-ui-"));
const tokens: Record<string, string> = {};

before(async () => {
  control = testControl();
  tokens.readWrite = control.org("acme", ["read", "write"]);
  tokens.read = control.token("acme", ["read"]);
  tokens.write = control.token("acme", ["write"]);
  tokens.other = control.org("other", ["read", "write"]);
  createApp(control.db, { name: "web", org: "acme", flyToml: "[http_service]\ninternal_port = 8080\n" });
  createApp(control.db, { name: "theirs", org: "other", flyToml: "[http_service]\ninternal_port = 8080\n" });
  mkdirSync(join(uiDir, "assets"));
  writeFileSync(join(uiDir, "index.html"), '<!doctype html><script src="/assets/main-ABC123.js"></script>');
  writeFileSync(join(uiDir, "assets", "main-ABC123.js"), `console.log(${JSON.stringify("x".repeat(4000))});`);
  const tokenCache = new TokenCache(control.db);
  const authenticate = (t: string) => tokenCache.authenticate(t);
  const session = (s: string) => checkSession(control.db, s);
  server = await startTestServer(control, new MemoryTenants(), { session }, async (app) => {
    registerControlRoutes(app, { control: control.db, authenticate, session });
    registerConsoleRoutes(app, { control: control.db, authenticate });
    registerConsoleAssets(app, uiDir);
  });
  host = `127.0.0.1:${server.port}`;
  origin = `http://${host}`;
  cookieName = `contrail_session_${server.port}`;
});

after(async () => {
  await server.close();
  control.cleanup();
  rmSync(uiDir, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, unknown> | null;
}

async function call(
  method: string,
  path: string,
  opts: { cookie?: string; origin?: string | null; body?: unknown; bearer?: string; form?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.cookie !== undefined) headers.cookie = `${cookieName}=${opts.cookie}`;
  const o = opts.origin === undefined ? origin : opts.origin;
  if (o !== null) headers.origin = o;
  if (opts.bearer !== undefined) headers.authorization = `Bearer ${opts.bearer}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(opts.body);
  } else if (opts.form !== undefined) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = opts.form;
  }
  const r = await fetch(`${server.url}${path}`, { method, headers, body });
  const text = await r.text();
  return {
    status: r.status,
    headers: r.headers,
    json: text === "" ? null : (JSON.parse(text) as Record<string, unknown>),
  };
}

/** Signs in with a new link for `org` with `scopes` and returns the session secret from the Set-Cookie header. */
async function signIn(org = "acme", scopes: ("read" | "write")[] = ["read", "write"]): Promise<string> {
  const { link } = createSignInLink(control.db, { org, scopes });
  const r = await call("POST", "/console/v1/session", { body: { link } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const set = r.headers.get("set-cookie") ?? "";
  const m = new RegExp(`^${cookieName}=(cs_[A-Za-z0-9_-]{43}); `).exec(set);
  assert.ok(m !== null, set);
  return m[1];
}

describe("console sign-in", () => {
  test("a link sets an HttpOnly, SameSite=Strict cookie bound to its org and scopes", async () => {
    const { link } = createSignInLink(control.db, { org: "acme", scopes: ["read"] });
    const r = await call("POST", "/console/v1/session", { body: { link } });
    assert.equal(r.status, 200);
    assert.deepEqual({ org: r.json?.org, scopes: r.json?.scopes }, { org: "acme", scopes: ["read"] });
    const set = r.headers.get("set-cookie")!;
    assert.match(set, /; Path=\/; HttpOnly; SameSite=Strict; Max-Age=60(4799|4800)$/);
    const session = /=([^;]+);/.exec(set)![1];
    const who = await call("GET", "/console/v1/session", { cookie: session, origin: null });
    assert.equal(who.status, 200);
    assert.deepEqual([who.json?.signedIn, who.json?.org], [true, "acme"]);
    const nobody = await call("GET", "/console/v1/session", { origin: null });
    assert.deepEqual(nobody.json, { signedIn: false });
  });

  test("a used, expired-looking or unknown link is refused and says why", async () => {
    const { link } = createSignInLink(control.db, { org: "acme" });
    assert.equal((await call("POST", "/console/v1/session", { body: { link } })).status, 200);
    const again = await call("POST", "/console/v1/session", { body: { link } });
    assert.equal(again.status, 401);
    assert.equal(again.headers.get("set-cookie"), null);
    assert.match(String(again.json?.error), /already used/);
    const bad = await call("POST", "/console/v1/session", { body: { link: "cl_nope" } });
    assert.equal(bad.status, 401);
    assert.match(String(bad.json?.error), /not valid/);
    const neither = await call("POST", "/console/v1/session", { body: {} });
    assert.equal(neither.status, 400);
    const huge = await call("POST", "/console/v1/session", { body: { link: "x".repeat(10_000) } });
    assert.equal(huge.status, 413);
  });

  test("a pasted token signs in with its own grant; a bad one is refused", async () => {
    const r = await call("POST", "/console/v1/session", { body: { token: tokens.read } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json?.scopes, ["read"]);
    const bad = await call("POST", "/console/v1/session", { body: { token: "ct_wrong" } });
    assert.equal(bad.status, 401);
    assert.equal(bad.json?.errorType, "unauthorized");
  });

  test("signing in needs this server's Origin", async () => {
    const { link } = createSignInLink(control.db, { org: "acme" });
    for (const o of [null, "http://evil.example", "null", `http://127.0.0.1:${server.port + 1}`]) {
      const r = await call("POST", "/console/v1/session", { body: { link }, origin: o });
      assert.equal(r.status, 403, String(o));
    }
    assert.equal((await call("POST", "/console/v1/session", { body: { link } })).status, 200, "the link is unused");
  });

  test("sign-out ends the session server-side and clears the cookie", async () => {
    const session = await signIn();
    assert.equal((await call("GET", "/prometheus/acme/api/v1/labels", { cookie: session })).status, 200);
    const out = await call("DELETE", "/console/v1/session", { cookie: session });
    assert.equal(out.status, 204);
    assert.match(out.headers.get("set-cookie")!, /^contrail_session_\d+=; .*Max-Age=0$/);
    assert.equal((await call("GET", "/prometheus/acme/api/v1/labels", { cookie: session })).status, 401);
    assert.deepEqual((await call("GET", "/console/v1/session", { cookie: session })).json, { signedIn: false });
  });
});

describe("what a session cookie grants", () => {
  test("its own org's Prometheus API, never another org's", async () => {
    const session = await signIn("acme", ["read"]);
    assert.equal((await call("GET", "/prometheus/acme/api/v1/labels", { cookie: session })).status, 200);
    assert.equal((await call("GET", "/prometheus/other/api/v1/labels", { cookie: session })).status, 403);
    assert.equal((await call("GET", "/control/v1/orgs/other/apps", { cookie: session })).status, 403);
    assert.equal((await call("GET", "/control/v1/apps/theirs/instances", { cookie: session })).status, 403);
    assert.equal((await call("GET", "/prometheus/acme/api/v1/labels", { cookie: "cs_forged" })).status, 401);
    // A cookie under another port's name is not this server's.
    const r = await fetch(`${server.url}/prometheus/acme/api/v1/labels`, {
      headers: { cookie: `contrail_session_1=${session}` },
    });
    assert.equal(r.status, 401);
  });

  test("a POST with the cookie needs this server's Origin; GETs do not", async () => {
    const session = await signIn("acme", ["read"]);
    const form = "query=1%2B1";
    assert.equal((await call("POST", "/prometheus/acme/api/v1/query", { cookie: session, form })).status, 200);
    const cross = await call("POST", "/prometheus/acme/api/v1/query", {
      cookie: session,
      form,
      origin: "http://x.test",
    });
    assert.equal(cross.status, 403);
    assert.match(String(cross.json?.error), /cross-site/);
    const none = await call("POST", "/prometheus/acme/api/v1/query", { cookie: session, form, origin: null });
    assert.equal(none.status, 403);
    const get = await call("GET", "/prometheus/acme/api/v1/query?query=1", { cookie: session, origin: null });
    assert.equal(get.status, 200);
  });

  test("an Authorization header is judged alone, whatever cookie comes with it", async () => {
    const session = await signIn("acme");
    const r = await call("GET", "/prometheus/acme/api/v1/labels", { cookie: session, bearer: "ct_wrong" });
    assert.equal(r.status, 401);
  });

  test("apps of the org with their instances", async () => {
    const session = await signIn("acme", ["read"]);
    const r = await call("GET", "/control/v1/orgs/acme/apps", { cookie: session });
    assert.equal(r.status, 200);
    const apps = r.json?.apps as { name: string; instances: unknown[]; deployment: unknown }[];
    assert.deepEqual(
      apps.map((a) => [a.name, a.instances.length, a.deployment]),
      [["web", 0, null]],
    );
    const bearer = await call("GET", "/control/v1/orgs/acme/apps", { bearer: tokens.read });
    assert.deepEqual(bearer.json, r.json);
  });
});

describe("tokens from the console", () => {
  test("create (shown once), list and revoke with a read,write session", async () => {
    const session = await signIn("acme", ["read", "write"]);
    const made = await call("POST", "/control/v1/orgs/acme/tokens", { cookie: session, body: { note: "grafana" } });
    assert.equal(made.status, 201);
    const token = made.json?.token as string;
    const info = made.json?.info as { id: string; scopes: string[]; note: string };
    assert.match(token, /^ct_/);
    assert.deepEqual([info.scopes, info.note], [["read"], "grafana"]);
    const labels = await call("GET", "/prometheus/acme/api/v1/labels", { bearer: token });
    assert.equal(labels.status, 200, "the new token reads the org");

    const list = await call("GET", "/control/v1/orgs/acme/tokens", { cookie: session });
    const listed = (list.json!.tokens as { id: string }[]).find((t) => t.id === info.id);
    assert.ok(listed !== undefined);
    assert.equal(JSON.stringify(list.json).includes(token), false, "the secret is never listed");

    const revoked = await call("DELETE", `/control/v1/orgs/acme/tokens/${info.id}`, { cookie: session });
    assert.equal(revoked.status, 200);
    assert.equal(typeof (revoked.json!.token as { revokedAt: unknown }).revokedAt, "number");
    assert.equal((await call("GET", "/prometheus/acme/api/v1/labels", { bearer: token })).status, 401);
  });

  test("refused: a read session, a write-only token, another org, no Origin, bad input", async () => {
    const read = await signIn("acme", ["read"]);
    const rw = await signIn("acme", ["read", "write"]);
    assert.equal((await call("GET", "/control/v1/orgs/acme/tokens", { cookie: read })).status, 403);
    assert.equal((await call("POST", "/control/v1/orgs/acme/tokens", { cookie: read, body: {} })).status, 403);
    assert.equal((await call("GET", "/control/v1/orgs/acme/tokens", { bearer: tokens.write })).status, 403);
    assert.equal((await call("GET", "/control/v1/orgs/other/tokens", { cookie: rw })).status, 403);
    const noOrigin = await call("POST", "/control/v1/orgs/acme/tokens", { cookie: rw, body: {}, origin: null });
    assert.equal(noOrigin.status, 403);
    const badTtl = await call("POST", "/control/v1/orgs/acme/tokens", { cookie: rw, body: { expires: "soon" } });
    assert.equal(badTtl.status, 400);
    assert.match(String(badTtl.json?.error), /expires/);
    const { info } = (await call("POST", "/control/v1/orgs/other/tokens", { bearer: tokens.other, body: {} })).json as {
      info: { id: string };
    };
    const theirs = await call("DELETE", `/control/v1/orgs/acme/tokens/${info.id}`, { cookie: rw });
    assert.equal(theirs.status, 404, "another org's token is not found from acme");
  });
});

describe("the console's page and assets", () => {
  test("every console URL answers the page with the CSP, not cached; assets are immutable and gzipped", async () => {
    for (const path of ["/", "/sign-in", "/apps", "/apps/web", "/explore?query=up", "/status"]) {
      const r = await fetch(`${server.url}${path}`);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
      assert.equal(r.headers.get("cache-control"), "no-cache");
      assert.equal(r.headers.get("content-security-policy"), CONSOLE_CSP);
      assert.match(await r.text(), /^<!doctype html>/);
    }
    const js = await fetch(`${server.url}/assets/main-ABC123.js`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(js.status, 200);
    assert.equal(js.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal(js.headers.get("content-encoding"), "gzip");
    assert.match(await js.text(), /^console\.log/);
    const missing = await fetch(`${server.url}/assets/nope.js`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { status: string }).status, "error");
  });

  test("Prometheus's graph links (alerts' generatorURL) redirect to the explorer with their expression", async () => {
    const expr = 'sum(rate(x{a="b c"}[5m])) > 1';
    const r = await fetch(`${server.url}/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=1`, { redirect: "manual" });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("location"), `/explore?query=${encodeURIComponent(expr)}`);
    const bare = await fetch(`${server.url}/graph`, { redirect: "manual" });
    assert.equal(bare.headers.get("location"), "/explore");
  });

  test("without a build the pages say how to make one; the API is unaffected", async () => {
    const bare = await startTestServer(control, new MemoryTenants(), {}, async (app) => {
      registerConsoleAssets(app, join(uiDir, "missing"));
    });
    try {
      const r = await fetch(`${bare.url}/`);
      assert.equal(r.status, 503);
      assert.match(((await r.json()) as { error: string }).error, /npm run build/);
      const api = await fetch(`${bare.url}/prometheus/acme/api/v1/labels`, {
        headers: { authorization: `Bearer ${tokens.read}` },
      });
      assert.equal(api.status, 200);
    } finally {
      await bare.close();
    }
  });
});
