// Alerting and recording rules evaluated by a RuleManager against a real in-memory store and engine, round by
// round with a controlled clock: pending → firing → resolved, resends, keep_firing_for, limit, query_offset,
// ALERTS series and the stale markers of recording rules.

import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_TEMPLATE_QUERIES_PER_RULE } from "./group.ts";
import { ORG, RuleHarness } from "./testkit.ts";

const MIN = 60_000;
/** A minute boundary, so rounds at T0 + n minutes are where Prometheus would put them. */
const T0 = 28_333_334 * MIN;
const SCRAPE = 15_000;

function downUntil(h: RuleHarness, instance: string, untilMs: number, endMs = T0 + 60 * MIN): void {
  h.load({ __name__: "up", job: "api", instance }, T0 - 10 * MIN, endMs, SCRAPE, (t) => (t < untilMs ? 0 : 1));
}

test("an alert goes pending, fires after `for`, is resent, resolves, and is dropped 15 minutes later", async () => {
  const h = new RuleHarness(T0, { externalLabels: { region: "eu" }, externalUrl: "https://console.example/" });
  downUntil(h, "a", T0 + 5 * MIN);
  await h.rules(`groups:
- name: g
  rules:
  - alert: Down
    expr: up == 0
    for: 2m
    labels: {severity: page}
    annotations: {summary: "{{ $labels.instance }} down ({{ $value }})"}
`);
  const state = () => h.manager.rulesStatus(ORG).groups[0].rules[0] as { state: string; alerts?: unknown[] };

  await h.evalAt(T0);
  assert.equal(state().state, "pending");
  assert.deepEqual(h.manager.alerts(ORG).alerts, [
    {
      labels: { alertname: "Down", instance: "a", job: "api", severity: "page" },
      annotations: { summary: "a down (0)" },
      state: "pending",
      activeAt: new Date(T0).toISOString().replace(".000Z", "Z"),
      value: "0e+00",
    },
  ]);
  await h.evalAt(T0 + MIN);
  assert.equal(state().state, "pending");
  assert.deepEqual(h.sent, [], "pending alerts are not sent");

  await h.evalAt(T0 + 2 * MIN);
  assert.equal(state().state, "firing");
  const labels = { alertname: "Down", instance: "a", job: "api", region: "eu", severity: "page" };
  const firing = {
    labels,
    annotations: { summary: "a down (0)" },
    startsAtMs: T0 + 2 * MIN,
    endsAtMs: T0 + 6 * MIN,
    generatorURL: "https://console.example/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
  };
  assert.deepEqual(h.sent, [[firing]]);
  assert.deepEqual(await h.at("ALERTS", T0 + 2 * MIN), [
    '{__name__="ALERTS", alertname="Down", alertstate="firing", instance="a", job="api", severity="page"} => 1',
  ]);
  assert.deepEqual(await h.at("ALERTS_FOR_STATE", T0 + 2 * MIN), [
    `{__name__="ALERTS_FOR_STATE", alertname="Down", instance="a", job="api", severity="page"} => ${T0 / 1000}`,
  ]);

  await h.evalAt(T0 + 3 * MIN);
  assert.equal(h.sent.length, 1, "not resent within the resend delay");
  await h.evalAt(T0 + 4 * MIN);
  assert.deepEqual(h.sent[1], [{ ...firing, endsAtMs: T0 + 8 * MIN }]);

  await h.evalAt(T0 + 5 * MIN);
  assert.equal(state().state, "inactive");
  assert.deepEqual(state().alerts, []);
  assert.deepEqual(h.manager.alerts(ORG).alerts, []);
  assert.deepEqual(h.sent[2], [{ ...firing, endsAtMs: T0 + 5 * MIN }], "resolved: endsAt is the resolution time");
  assert.deepEqual(await h.at("ALERTS", T0 + 5 * MIN + 1000), [], "a stale marker ends the ALERTS series");

  await h.evalAt(T0 + 6 * MIN);
  assert.equal(h.sent.length, 3);
  await h.evalAt(T0 + 7 * MIN);
  assert.deepEqual(h.sent[3], [{ ...firing, endsAtMs: T0 + 5 * MIN }], "resolved alerts are resent too");
  await h.evalAt(T0 + 21 * MIN);
  const sends = h.sent.length;
  await h.evalAt(T0 + 23 * MIN);
  assert.equal(h.sent.length, sends, "a resolved alert is forgotten after 15 minutes");
});

test("keep_firing_for keeps a resolved condition firing, then resolves", async () => {
  const h = new RuleHarness(T0);
  downUntil(h, "a", T0 + 3 * MIN);
  await h.rules("groups:\n- name: g\n  rules:\n  - alert: Flap\n    expr: up == 0\n    keep_firing_for: 3m\n");
  const rule = () =>
    h.manager.rulesStatus(ORG).groups[0].rules[0] as {
      state: string;
      keepFiringFor: number;
      alerts: { keepFiringSince?: string }[];
    };
  await h.evalAt(T0);
  assert.equal(rule().state, "firing", "for: 0 fires at once");
  assert.equal(rule().keepFiringFor, 180);
  for (const m of [3, 4, 5]) {
    await h.evalAt(T0 + m * MIN);
    assert.equal(rule().state, "firing", `still firing at +${m}m`);
    assert.equal(rule().alerts[0].keepFiringSince, new Date(T0 + 3 * MIN).toISOString().replace(".000Z", "Z"));
  }
  await h.evalAt(T0 + 6 * MIN);
  assert.equal(rule().state, "inactive");
});

test("a condition returning during keep_firing_for resets it", async () => {
  const h = new RuleHarness(T0);
  h.load({ __name__: "up", instance: "a" }, T0 - 10 * MIN, T0 + 30 * MIN, SCRAPE, (t) =>
    t >= T0 + 2 * MIN && t < T0 + 4 * MIN ? 1 : 0,
  );
  await h.rules("groups:\n- name: g\n  rules:\n  - alert: Flap\n    expr: up == 0\n    keep_firing_for: 3m\n");
  const rule = () =>
    h.manager.rulesStatus(ORG).groups[0].rules[0] as { state: string; alerts: { keepFiringSince?: string }[] };
  await h.evalAt(T0);
  await h.evalAt(T0 + 2 * MIN);
  assert.ok(rule().alerts[0].keepFiringSince !== undefined);
  await h.evalAt(T0 + 4 * MIN);
  assert.equal(rule().state, "firing");
  assert.equal(rule().alerts[0].keepFiringSince, undefined);
});

test("limit: too many alerts or series fail the rule and write nothing", async () => {
  const h = new RuleHarness(T0);
  downUntil(h, "a", T0 + 30 * MIN);
  downUntil(h, "b", T0 + 30 * MIN);
  await h.rules(`groups:
- name: g
  limit: 1
  rules:
  - record: instance:up
    expr: up
  - alert: Down
    expr: up == 0
`);
  await h.evalAt(T0);
  const [record, alert] = h.manager.rulesStatus(ORG).groups[0].rules;
  assert.equal(record.health, "err");
  assert.equal(record.lastError, "exceeded limit of 1 with 2 series");
  assert.equal(alert.health, "err");
  assert.equal(alert.lastError, "exceeded limit of 1 with 2 alerts");
  assert.deepEqual(h.manager.alerts(ORG).alerts, []);
  assert.deepEqual(await h.at("instance:up", T0), []);
});

test("a label clash after applying the rule's labels fails the rule", async () => {
  const h = new RuleHarness(T0);
  downUntil(h, "a", T0 + 30 * MIN);
  downUntil(h, "b", T0 + 30 * MIN);
  await h.rules("groups:\n- name: g\n  rules:\n  - record: x\n    expr: up\n    labels: {instance: same}\n");
  await h.evalAt(T0);
  const [rule] = h.manager.rulesStatus(ORG).groups[0].rules;
  assert.equal(rule.lastError, "vector contains metrics with the same labelset after applying rule labels");
});

test("query_offset evaluates and writes that far back", async () => {
  const h = new RuleHarness(T0);
  h.load({ __name__: "load", host: "h" }, T0 - 10 * MIN, T0 + 10 * MIN, SCRAPE, (t) => (t < T0 ? 1 : 2));
  await h.rules("groups:\n- name: g\n  query_offset: 1m\n  rules:\n  - record: host:load\n    expr: load\n");
  await h.evalAt(T0 + 30_000);
  assert.deepEqual(await h.at("host:load", T0 - 30_000), ['{__name__="host:load", host="h"} => 1']);
  assert.deepEqual(await h.at("timestamp(host:load)", T0 + 30_000), [`{host="h"} => ${(T0 - 30_000) / 1000}`]);
});

test("recording rules write results under `record` with their labels, and stale markers for vanished series", async () => {
  const h = new RuleHarness(T0);
  h.load({ __name__: "up", instance: "a" }, T0 - 10 * MIN, T0 + 10 * MIN, SCRAPE, () => 1);
  h.load({ __name__: "up", instance: "b" }, T0 - 10 * MIN, T0 + 10 * MIN, SCRAPE, (t) => (t < T0 + MIN ? 1 : 0));
  await h.rules(
    "groups:\n- name: g\n  labels: {team: t}\n  rules:\n  - record: instance:up\n    expr: up > 0\n    labels: {env: prod}\n",
  );
  await h.evalAt(T0);
  assert.deepEqual(await h.at("instance:up", T0), [
    '{__name__="instance:up", env="prod", instance="a", team="t"} => 1',
    '{__name__="instance:up", env="prod", instance="b", team="t"} => 1',
  ]);
  await h.evalAt(T0 + MIN);
  // Without the stale marker, b's sample at T0 would still be seen here (within the 5m lookback).
  assert.deepEqual(await h.at("instance:up", T0 + MIN + 30_000), [
    '{__name__="instance:up", env="prod", instance="a", team="t"} => 1',
  ]);
});

test("a failing query makes the rule unhealthy until it succeeds again", async () => {
  let fail = true;
  const h: RuleHarness = new RuleHarness(T0, {
    query: async (org, expr, t, signal) => {
      if (fail) throw new Error("query pool unavailable");
      return h.engineQuery()(org, expr, t, signal);
    },
  });
  h.load({ __name__: "up" }, T0 - MIN, T0 + 10 * MIN, SCRAPE, () => 1);
  await h.rules("groups:\n- name: g\n  rules:\n  - record: r\n    expr: up\n");
  await h.evalAt(T0);
  let [rule] = h.manager.rulesStatus(ORG).groups[0].rules;
  assert.equal(rule.health, "err");
  assert.equal(rule.lastError, "query pool unavailable");
  fail = false;
  await h.evalAt(T0 + MIN);
  [rule] = h.manager.rulesStatus(ORG).groups[0].rules;
  assert.equal(rule.health, "ok");
  assert.equal(rule.lastError, undefined);
});

test("templates can query through the seam at the evaluation's time", async () => {
  const h = new RuleHarness(T0);
  downUntil(h, "a", T0 + 30 * MIN);
  h.load({ __name__: "capacity" }, T0 - MIN, T0 + MIN, SCRAPE, () => 42);
  await h.rules(`groups:
- name: g
  rules:
  - alert: Down
    expr: up == 0
    annotations:
      capacity: '{{ with query "capacity" }}{{ . | first | value }}{{ end }}'
`);
  await h.evalAt(T0);
  assert.deepEqual(h.manager.alerts(ORG).alerts[0].annotations, { capacity: "42" });
});

test("template queries are bounded per rule and round, across its alerts", async () => {
  let queries = 0;
  const h: RuleHarness = new RuleHarness(T0, {
    query: async (org, expr, t, signal) => {
      queries++;
      return h.engineQuery()(org, expr, t, signal);
    },
  });
  for (let i = 0; i < 30; i++) downUntil(h, `i${i}`, T0 + 30 * MIN);
  await h.rules(`groups:
- name: g
  rules:
  - alert: Down
    expr: up == 0
    annotations:
      q: '{{ query "up" | len }}{{ query "up" | len }}{{ query "up" | len }}{{ query "up" | len }}'
`);
  await h.evalAt(T0);
  assert.equal(queries, 1 + MAX_TEMPLATE_QUERIES_PER_RULE);
  const annotations = h.manager.alerts(ORG).alerts.map((a) => a.annotations.q);
  assert.equal(annotations.filter((q) => q === "30303030").length, MAX_TEMPLATE_QUERIES_PER_RULE / 4);
  assert.match(annotations.at(-1) ?? "", /more than 100 template queries in one evaluation of the rule/);
});
