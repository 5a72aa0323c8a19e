// The rule manager's scheduling (aligned, staggered rounds; missed rounds), its time limit per round, syncs that
// keep or reset alert state, its limits, and stop() waiting for evaluations in flight.

import assert from "node:assert/strict";
import { test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { DEFAULT_RULE_LIMITS } from "./manager.ts";
import { parseRuleFile } from "./rule-file.ts";
import { NAMESPACE, ORG, RuleHarness } from "./testkit.ts";
import type { InstantVector } from "./types.ts";

const MIN = 60_000;
const T0 = 28_333_334 * MIN;
const SCRAPE = 15_000;
const ONE_GROUP = "groups:\n- name: g\n  rules:\n  - record: r\n    expr: up\n";

function loadUp(h: RuleHarness, value = 0): void {
  h.load({ __name__: "up", instance: "a" }, T0 - 10 * MIN, T0 + 60 * MIN, SCRAPE, () => value);
}

test("rounds are aligned to the interval, staggered by the group, and late rounds count as missed", async () => {
  const h = new RuleHarness(T0 + 7_000);
  loadUp(h, 1);
  await h.rules(ONE_GROUP);
  h.manager.start();
  assert.equal(h.timers.length, 1);
  const first = h.timers[0].dueMs;
  const offset = first % MIN;
  assert.ok(first > h.nowMs && first <= h.nowMs + 2 * MIN, "the first round is within the next two intervals");
  const twin = new RuleHarness(T0 + 7_000);
  await twin.rules(ONE_GROUP);
  twin.manager.start();
  assert.equal(twin.timers[0].dueMs, first, "the offset is a stable function of the group");
  const other = new RuleHarness(T0 + 7_000);
  await other.manager.sync(ORG, [{ namespace: "other.yml", groups: parseRuleFile(ONE_GROUP, "other.yml") }]);
  other.manager.start();
  assert.notEqual(other.timers[0].dueMs % MIN, offset, "another group gets another offset");

  await h.advanceTo(first);
  assert.deepEqual(h.manager.groupCounters(ORG), [{ namespace: NAMESPACE, group: "g", evaluations: 1, missed: 0 }]);
  assert.deepEqual(await h.at("timestamp(r)", first), [`{instance="a"} => ${first / 1000}`]);
  const next = h.timers.filter((t) => !t.cancelled);
  assert.deepEqual(
    next.map((t) => t.dueMs),
    [first + MIN],
  );

  // The process stalls for three and a half intervals: the next round runs at once, at the latest aligned time.
  await h.advanceTo(first + 4 * MIN + 30_000);
  assert.deepEqual(h.manager.groupCounters(ORG), [{ namespace: NAMESPACE, group: "g", evaluations: 2, missed: 3 }]);
  assert.deepEqual(await h.at("timestamp(r)", first + 4 * MIN + 30_000), [
    `{instance="a"} => ${(first + 4 * MIN) / 1000}`,
  ]);
  const group = h.manager.rulesStatus(ORG).groups[0];
  assert.equal(group.lastEvaluation, new Date(first + 4 * MIN + 30_000).toISOString().replace(".000Z", "Z"));
  assert.deepEqual(
    h.timers.filter((t) => !t.cancelled).map((t) => t.dueMs),
    [first + 5 * MIN],
  );
  await h.manager.stop();
  await twin.manager.stop();
  await other.manager.stop();
});

test("a round longer than the time limit cancels its queries and reports the error on the rules", async () => {
  const signals: AbortSignal[] = [];
  const hang = (_org: string, _expr: string, _t: number, signal: AbortSignal): Promise<InstantVector> =>
    new Promise((_resolve, reject) => {
      signals.push(signal);
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  const h = new RuleHarness(T0, {
    query: hang,
    limits: { ...DEFAULT_RULE_LIMITS, maxEvalTimeMs: 50 },
    schedule: (fn, ms) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    },
  });
  await h.rules("groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n  - alert: B\n    expr: up == 0\n");
  await h.evalAt(T0);
  assert.ok(signals.length >= 1 && signals.every((s) => s.aborted));
  for (const rule of h.manager.rulesStatus(ORG).groups[0].rules) {
    assert.equal(rule.health, "err");
    assert.equal(rule.lastError, "group evaluation exceeded its time limit of 50 ms");
  }
});

test("a sync keeps the alerts of unchanged alerting rules and resets changed ones", async () => {
  const h = new RuleHarness(T0);
  loadUp(h, 0);
  const alert = "  - alert: Down\n    expr: up == 0\n    for: 5m\n";
  await h.rules(`groups:\n- name: g\n  rules:\n${alert}`);
  await h.evalAt(T0);
  await h.evalAt(T0 + MIN);
  const activeAt = () => h.manager.alerts(ORG).alerts.map((a) => a.activeAt);
  const t0 = new Date(T0).toISOString().replace(".000Z", "Z");
  assert.deepEqual(activeAt(), [t0]);

  await h.rules(`groups:\n- name: g\n  interval: 30s\n  rules:\n${alert}  - record: extra\n    expr: up\n`);
  assert.deepEqual(activeAt(), [t0], "a changed group keeps the alert of an unchanged rule");
  await h.evalAt(T0 + 2 * MIN);
  assert.deepEqual(activeAt(), [t0]);
  assert.equal(h.manager.rulesStatus(ORG).groups[0].interval, 30);

  await h.rules(
    `groups:\n- name: g\n  interval: 30s\n  rules:\n  - alert: Down\n    expr: up == 0 or up > 5\n    for: 5m\n`,
  );
  assert.deepEqual(activeAt(), [], "a changed expression starts over");
  await h.evalAt(T0 + 3 * MIN);
  assert.deepEqual(activeAt(), [new Date(T0 + 3 * MIN).toISOString().replace(".000Z", "Z")]);
});

test("an unchanged sync leaves the group running as it is", async () => {
  const h = new RuleHarness(T0);
  loadUp(h);
  await h.rules(ONE_GROUP);
  await h.evalAt(T0);
  await h.rules(ONE_GROUP);
  assert.equal(h.manager.groupCounters(ORG)[0].evaluations, 1);
});

test("removing a group marks its series stale", async () => {
  const h = new RuleHarness(T0);
  loadUp(h, 1);
  await h.rules(ONE_GROUP);
  await h.evalAt(T0);
  assert.equal((await h.at("r", T0 + 30_000)).length, 1);
  h.nowMs = T0 + 10_000;
  await h.manager.sync(ORG, []);
  assert.deepEqual(await h.at("r", T0 + 30_000), []);
  assert.deepEqual(h.manager.rulesStatus(ORG), { groups: [] });
});

test("a rule removed from a changed group has its series marked stale at the next round", async () => {
  const h = new RuleHarness(T0);
  loadUp(h, 1);
  await h.rules("groups:\n- name: g\n  rules:\n  - record: r\n    expr: up\n  - record: gone\n    expr: up\n");
  await h.evalAt(T0);
  await h.rules(ONE_GROUP);
  await h.evalAt(T0 + MIN);
  assert.deepEqual(await h.at("gone", T0 + MIN + 1000), []);
  assert.equal((await h.at("r", T0 + MIN + 1000)).length, 1);
});

test("syncs beyond the org's limits are refused and change nothing", async () => {
  const h = new RuleHarness(T0, { limits: { ...DEFAULT_RULE_LIMITS, maxGroups: 1, maxRulesPerGroup: 1 } });
  await h.rules(ONE_GROUP);
  const reject = async (text: string, pattern: RegExp) => {
    await assert.rejects(h.rules(text), (err) => isContrailError(err, "limit_exceeded") && pattern.test(err.message));
  };
  await reject(`${ONE_GROUP}- name: h\n  rules: []\n`, /2 rule groups, more than the limit of 1/);
  await reject(`${ONE_GROUP}  - record: s\n    expr: up\n`, /group "g": 2 rules, more than the limit of 1/);
  await reject(
    "groups:\n- name: g\n  interval: 1s\n  rules: []\n",
    /interval 1000 ms, less than the minimum of 10000 ms/,
  );
  assert.deepEqual(
    h.manager.rulesStatus(ORG).groups.map((g) => g.rules.map((r) => r.name)),
    [["r"]],
  );
  const twice = [...parseRuleFile(ONE_GROUP, "n"), ...parseRuleFile(ONE_GROUP, "n")];
  const roomy = new RuleHarness(T0);
  await roomy.rules(ONE_GROUP);
  await assert.rejects(
    roomy.manager.sync(ORG, [{ namespace: "n", groups: twice }]),
    (err) => isContrailError(err, "bad_data") && /namespace "n": group "g" is repeated/.test(err.message),
  );
  assert.equal(roomy.manager.rulesStatus(ORG).groups[0].file, "rules.yml", "a refused sync changes nothing");
});

test("orgs are separate: one org's rules query and write only its own data", async () => {
  const orgsSeen: string[] = [];
  const h: RuleHarness = new RuleHarness(T0, {
    query: async (org, expr, t, signal) => {
      orgsSeen.push(org);
      return h.engineQuery()(org, expr, t, signal);
    },
  });
  await h.manager.sync("beta", [{ namespace: "b", groups: parseRuleFile(ONE_GROUP, "b") }]);
  await h.rules(ONE_GROUP);
  await h.manager.evaluateGroup("beta", "b", "g", T0);
  assert.deepEqual(orgsSeen, ["beta"]);
  assert.equal(h.manager.rulesStatus(ORG).groups[0].rules[0].health, "unknown");
  assert.equal(h.manager.rulesStatus("beta").groups[0].rules[0].health, "ok");
  await assert.rejects(h.manager.evaluateGroup("nobody", "b", "g", T0), (err) => isContrailError(err, "not_found"));
});

test("stop() resolves only when the evaluations in flight have ended", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const h = new RuleHarness(T0, {
    query: async () => {
      await gate;
      return [];
    },
  });
  await h.rules(ONE_GROUP);
  h.manager.start();
  const evaluation = h.evalAt(T0);
  let stopped = false;
  const stopping = h.manager.stop().then(() => {
    stopped = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(stopped, false);
  release();
  await stopping;
  await evaluation;
  assert.equal(stopped, true);
  assert.deepEqual(
    h.timers.filter((t) => !t.cancelled),
    [],
  );
});
