// `/api/v1/rules` and `/api/v1/alerts` over HTTP from a real RuleManager evaluating against an in-memory store:
// Prometheus's shapes, the filters, the token check, and that an org sees only its own rules.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Engine } from "../promql/engine/index.ts";
import { type AlertStatus, engineQueryFn, parseRuleFile, RuleManager, type RulesStatus } from "../rules/index.ts";
import {
  load,
  MemoryTenants,
  startTestServer,
  type TestControl,
  type TestServer,
  testControl,
} from "./test-support.ts";

const T0 = 1_700_000_000_000;
const RULES = `groups:
- name: api
  interval: 30s
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
  - alert: InstanceDown
    expr: up == 0
    for: 0s
    labels: {severity: page}
    annotations: {summary: "{{ $labels.instance }} is down"}
- name: other
  rules:
  - alert: Never
    expr: up > 5
`;

let control: TestControl;
let server: TestServer;
let manager: RuleManager;
let acme: string;
let beta: string;

before(async () => {
  control = testControl();
  acme = control.org("acme");
  beta = control.org("beta");
  const store = new MemoryTenants();
  const up = [];
  for (let t = T0 - 600_000; t <= T0; t += 15_000) {
    up.push({ labels: { __name__: "up", job: "api", instance: "a" }, t, v: 1 });
    up.push({ labels: { __name__: "up", job: "api", instance: "b" }, t, v: 0 });
  }
  load(store, "acme", up);
  manager = new RuleManager({
    query: engineQueryFn(new Engine(), (org) => store.queryable(org)),
    append: async (org, samples) => {
      const app = store.appender(org);
      for (const s of samples) app.append(s.labels, s.tMs, s.value);
      app.commit();
    },
    alertSink: () => {},
    now: () => T0,
  });
  await manager.sync("acme", [{ namespace: "rules.yml", groups: parseRuleFile(RULES, "rules.yml") }]);
  await manager.evaluateGroup("acme", "rules.yml", "api", T0);
  server = await startTestServer(control, store, { rules: manager, now: () => T0 });
});

after(async () => {
  await manager.stop();
  await server.close();
  control.cleanup();
});

/** The parts of Prometheus's envelope these tests read. */
interface Envelope {
  status: string;
  data: RulesStatus & { alerts: AlertStatus[] };
}

async function get(path: string, token = acme, org = "acme"): Promise<{ status: number; json: Envelope }> {
  const r = await fetch(`${server.url}/prometheus/${org}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, json: (await r.json()) as Envelope };
}

test("rules lists groups with Prometheus's fields", async () => {
  const r = await get("/api/v1/rules");
  assert.equal(r.status, 200);
  assert.equal(r.json.status, "success");
  const [api, other] = r.json.data.groups;
  assert.equal(api.name, "api");
  assert.equal(api.file, "rules.yml");
  assert.equal(api.interval, 30);
  assert.equal(api.limit, 0);
  assert.equal(api.lastEvaluation, new Date(T0).toISOString().replace(".000Z", "Z"));
  assert.deepEqual(api.rules[0], {
    name: "job:up:sum",
    query: "sum by (job) (up)",
    labels: {},
    health: "ok",
    evaluationTime: 0,
    lastEvaluation: "2023-11-14T22:13:20Z",
    type: "recording",
  });
  const alert = api.rules[1];
  assert.equal(alert.type, "alerting");
  assert.equal(alert.state, "firing");
  assert.equal(alert.duration, 0);
  assert.equal(alert.keepFiringFor, 0);
  assert.deepEqual(alert.labels, { severity: "page" });
  assert.deepEqual(alert.alerts, [
    {
      labels: { alertname: "InstanceDown", instance: "b", job: "api", severity: "page" },
      annotations: { summary: "b is down" },
      state: "firing",
      activeAt: "2023-11-14T22:13:20Z",
      value: "0e+00",
    },
  ]);
  assert.equal(other.rules[0].health, "unknown");
  assert.equal(other.rules[0].lastEvaluation, "0001-01-01T00:00:00Z");
});

test("rules filters by type, name, group, file, labels and excludes alerts", async () => {
  const names = (data: RulesStatus) => data.groups.flatMap((g) => g.rules.map((r) => r.name));
  assert.deepEqual(names((await get("/api/v1/rules?type=record")).json.data), ["job:up:sum"]);
  assert.deepEqual(names((await get("/api/v1/rules?type=alert")).json.data), ["InstanceDown", "Never"]);
  assert.deepEqual(names((await get("/api/v1/rules?rule_name[]=Never")).json.data), ["Never"]);
  assert.deepEqual(names((await get("/api/v1/rules?rule_group[]=other")).json.data), ["Never"]);
  assert.deepEqual(names((await get("/api/v1/rules?file[]=nope.yml")).json.data), []);
  assert.deepEqual(names((await get("/api/v1/rules?match[]=%7Bseverity%3D%22page%22%7D")).json.data), ["InstanceDown"]);
  const excluded = (await get("/api/v1/rules?exclude_alerts=true")).json.data;
  assert.ok(!("alerts" in excluded.groups[0].rules[1]));
  assert.equal((await get("/api/v1/rules?type=bogus")).status, 400);
  assert.equal((await get("/api/v1/rules?exclude_alerts=maybe")).status, 400);
});

test("alerts lists the org's active alerts", async () => {
  const r = await get("/api/v1/alerts");
  assert.deepEqual(r.json, {
    status: "success",
    data: {
      alerts: [
        {
          labels: { alertname: "InstanceDown", instance: "b", job: "api", severity: "page" },
          annotations: { summary: "b is down" },
          state: "firing",
          activeAt: "2023-11-14T22:13:20Z",
          value: "0e+00",
        },
      ],
    },
  });
});

test("another org sees no rules; a token of one org cannot read another's", async () => {
  assert.deepEqual((await get("/api/v1/rules", beta, "beta")).json.data, { groups: [] });
  assert.deepEqual((await get("/api/v1/alerts", beta, "beta")).json.data, { alerts: [] });
  assert.equal((await get("/api/v1/rules", beta, "acme")).status, 403);
  const anonymous = await fetch(`${server.url}/prometheus/acme/api/v1/alerts`);
  assert.equal(anonymous.status, 401);
});
