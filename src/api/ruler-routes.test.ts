import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import { OrgLimitsCache, TokenCache, updateOrgLimits } from "../control/index.ts";
import { Engine } from "../promql/engine/index.ts";
import { engineQueryFn, RuleManager } from "../rules/index.ts";
import { registerRulerRoutes } from "./ruler-routes.ts";
import { MemoryTenants, startTestServer, type TestControl, type TestServer, testControl } from "./test-support.ts";

// The Cortex/Mimir ruler API over a real control database and a listening server: paths, content types, status
// codes and error bodies as those clients expect them, scopes, isolation between orgs, limits and the re-sync hook.

let control: TestControl;
let server: TestServer;
let acmeWrite: string;
let acmeRead: string;
let otherWrite: string;
const changes: string[] = [];

const GROUP = `# a comment that is not kept
name: api
interval: 30s
rules:
  - record: job:up:sum
    expr: sum by (job) (up)
  - alert: Down
    expr: up == 0
    for: 1m
    labels: { severity: page }
`;

const base = (org: string) => `${server.url}/prometheus/${org}/config/v1/rules`;

async function call(
  token: string,
  method: string,
  path: string,
  body?: string,
  contentType = "application/yaml",
): Promise<{ status: number; type: string; text: string }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = contentType;
  const r = await fetch(path, { method, headers, body });
  return { status: r.status, type: r.headers.get("content-type") ?? "", text: await r.text() };
}

before(async () => {
  control = testControl();
  acmeWrite = control.org("acme", ["read", "write"]);
  acmeRead = control.token("acme", ["read"]);
  otherWrite = control.org("other", ["read", "write"]);
  const tokens = new TokenCache(control.db);
  const limits = new OrgLimitsCache(control.db);
  // A rule manager's own checks (its shortest interval is 10 s); it never runs here.
  const store = new MemoryTenants();
  const manager = new RuleManager({
    query: engineQueryFn(new Engine(), (org) => store.queryable(org)),
    append: async () => {},
    alertSink: () => {},
  });
  server = await startTestServer(control, store, {}, (app) =>
    registerRulerRoutes(app, {
      control: control.db,
      authenticate: (t) => tokens.authenticate(t),
      limitsFor: (org) => limits.limitsOf(org),
      checkGroup: (org, namespace, group) => manager.checkLimits(org, [{ namespace, groups: [group] }]),
      onChange: (org) => {
        changes.push(org);
      },
    }),
  );
});

after(async () => {
  await server.close();
  control.cleanup();
});

describe("ruler API", () => {
  test("an org without groups answers 404 'no rule groups found', as Cortex does", async () => {
    const r = await call(acmeRead, "GET", base("acme"));
    assert.equal(r.status, 404);
    assert.match(r.text, /"error":"no rule groups found"/);
  });

  test("POST stores a group (202), re-syncs the org, and every GET shape returns it canonically", async () => {
    const posted = await call(acmeWrite, "POST", `${base("acme")}/app-ns`, GROUP);
    assert.equal(posted.status, 202);
    assert.equal(posted.text, '{"status":"success"}');
    assert.deepEqual(changes, ["acme"]);

    const all = await call(acmeRead, "GET", base("acme"));
    assert.equal(all.status, 200);
    assert.equal(all.type, "application/yaml");
    assert.doesNotMatch(all.text, /a comment/);
    const listing = parse(all.text) as Record<string, { name: string; rules: { alert?: string }[] }[]>;
    assert.deepEqual(Object.keys(listing), ["app-ns"]);
    assert.equal(listing["app-ns"][0].name, "api");
    assert.equal(listing["app-ns"][0].rules[1].alert, "Down");

    const ns = await call(acmeRead, "GET", `${base("acme")}/app-ns`);
    assert.deepEqual(parse(ns.text), listing);
    const one = await call(acmeRead, "GET", `${base("acme")}/app-ns/api`);
    assert.equal(one.type, "application/yaml");
    assert.deepEqual(parse(one.text), listing["app-ns"][0]);
    assert.deepEqual(parse(one.text), parse(GROUP));
  });

  test("posting the same group again changes nothing and does not re-sync", async () => {
    const before = changes.length;
    assert.equal((await call(acmeWrite, "POST", `${base("acme")}/app-ns`, GROUP)).status, 202);
    assert.equal(changes.length, before);
  });

  test("an invalid group is 400 with the line-numbered message, and nothing is stored", async () => {
    const bad = "name: broken\nrules:\n  - record: x\n    expr: sum(\n";
    const r = await call(acmeWrite, "POST", `${base("acme")}/bad-ns`, bad);
    assert.equal(r.status, 400);
    assert.match(r.text, /"errorType":"bad_data"/);
    assert.match(r.text, /bad-ns:4:/);
    assert.equal((await call(acmeRead, "GET", `${base("acme")}/bad-ns`)).status, 404);
  });

  test("an empty body and a body past the size limit are refused", async () => {
    assert.equal((await call(acmeWrite, "POST", `${base("acme")}/x`, "")).status, 400);
    const huge = `name: big\nrules: []\n#${"x".repeat(600 * 1024)}\n`;
    const r = await call(acmeWrite, "POST", `${base("acme")}/x`, huge);
    assert.equal(r.status, 413);
    assert.match(r.text, /largest rule group accepted/);
  });

  test("any content type is read as YAML (a JSON body is YAML too)", async () => {
    const json = JSON.stringify({ name: "json-group", rules: [{ record: "a:b", expr: "vector(1)" }] });
    assert.equal((await call(acmeWrite, "POST", `${base("acme")}/other-ns`, json, "application/json")).status, 202);
    assert.equal((await call(acmeWrite, "POST", `${base("acme")}/other-ns`, json, "text/plain")).status, 202);
    const r = await call(acmeRead, "GET", `${base("acme")}/other-ns/json-group`);
    assert.equal((parse(r.text) as { name: string }).name, "json-group");
  });

  test("a read token lists but cannot change; no token is 401", async () => {
    assert.equal((await call(acmeRead, "POST", `${base("acme")}/app-ns`, GROUP)).status, 403);
    assert.equal((await call(acmeRead, "DELETE", `${base("acme")}/app-ns/api`)).status, 403);
    const anonymous = await fetch(base("acme"));
    assert.equal(anonymous.status, 401);
  });

  test("another org's token is refused on the first org's paths and sees only its own groups", async () => {
    for (const [method, path] of [
      ["GET", base("acme")],
      ["GET", `${base("acme")}/app-ns/api`],
      ["POST", `${base("acme")}/app-ns`],
      ["DELETE", `${base("acme")}/app-ns`],
    ] as const) {
      const r = await call(otherWrite, method, path, method === "POST" ? GROUP : undefined);
      assert.equal(r.status, 403, `${method} ${path}`);
    }
    assert.equal((await call(otherWrite, "GET", base("other"))).status, 404);
    assert.equal((await call(otherWrite, "POST", `${base("other")}/app-ns`, GROUP)).status, 202);
    const mine = parse((await call(otherWrite, "GET", base("other"))).text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(mine), ["app-ns"]);
  });

  test("the org's group limits answer 400 naming the limit", async () => {
    updateOrgLimits(control.db, "other", { set: { max_rule_groups: 1, max_rules_per_group: 1 } });
    const r1 = await call(otherWrite, "POST", `${base("other")}/second`, GROUP.replace("name: api", "name: b"));
    assert.equal(r1.status, 400);
    assert.match(r1.text, /has 2 rules, more than the org's limit of 1 \(max_rules_per_group\)/);
    const single = "name: c\nrules:\n  - record: a:b\n    expr: vector(1)\n";
    const r2 = await call(otherWrite, "POST", `${base("other")}/second`, single);
    assert.equal(r2.status, 400);
    assert.match(r2.text, /would have 2 rule groups, more than its limit of 1 \(max_rule_groups\)/);
  });

  test("a group the evaluator would refuse (an interval under its minimum) is 400, not stored", async () => {
    const fast = GROUP.replace("interval: 30s", "interval: 1s").replace("name: api", "name: fast");
    const r = await call(acmeWrite, "POST", `${base("acme")}/app-ns`, fast);
    assert.equal(r.status, 400);
    assert.match(r.text, /interval 1000 ms, less than the minimum of 10000 ms/);
    assert.equal((await call(acmeRead, "GET", `${base("acme")}/app-ns/fast`)).status, 404);
  });

  test("DELETE of a group and of a namespace answer 202, then 404 once gone", async () => {
    const before = changes.length;
    assert.equal((await call(acmeWrite, "DELETE", `${base("acme")}/other-ns/json-group`)).status, 202);
    const again = await call(acmeWrite, "DELETE", `${base("acme")}/other-ns/json-group`);
    assert.equal(again.status, 404);
    assert.match(again.text, /group does not exist/);
    assert.equal((await call(acmeWrite, "DELETE", `${base("acme")}/app-ns`)).status, 202);
    const gone = await call(acmeWrite, "DELETE", `${base("acme")}/app-ns`);
    assert.equal(gone.status, 404);
    assert.match(gone.text, /group namespace does not exist/);
    assert.equal(changes.length, before + 2);
    assert.equal((await call(acmeRead, "GET", `${base("acme")}/app-ns/api`)).status, 404);
  });

  test("mimirtool's path (its own prefix after the org's URL) serves the same groups", async () => {
    const tool = `${server.url}/prometheus/acme/prometheus/config/v1/rules`;
    assert.equal((await call(acmeWrite, "POST", `${tool}/via-tool`, GROUP)).status, 202);
    const r = await call(acmeRead, "GET", tool);
    assert.equal(r.status, 200);
    assert.equal(r.text, (await call(acmeRead, "GET", base("acme"))).text);
    assert.equal((await call(acmeRead, "GET", `${base("acme")}/via-tool/api`)).status, 200);
    assert.equal((await call(otherWrite, "GET", tool)).status, 403);
    assert.equal((await call(acmeWrite, "DELETE", `${tool}/via-tool`)).status, 202);
  });

  test("namespaces and group names travel percent-encoded", async () => {
    const ns = "team a/prod";
    const path = `${base("acme")}/${encodeURIComponent(ns)}`;
    assert.equal((await call(acmeWrite, "POST", path, GROUP.replace("name: api", "name: 'x y'"))).status, 202);
    const r = await call(acmeRead, "GET", `${path}/${encodeURIComponent("x y")}`);
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(parse((await call(acmeRead, "GET", base("acme"))).text) as object), [ns]);
  });
});
