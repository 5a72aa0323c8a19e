// `for` state restored after a restart from ALERTS_FOR_STATE, as Prometheus's RestoreForState does: a second
// manager over the same store continues the pending time of the first (shifted by the downtime), leaves at least
// the grace period, and ignores alerts that had resolved before the restart.

import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryStore } from "../storage/memory.ts";
import { ORG, RuleHarness } from "./testkit.ts";

const MIN = 60_000;
const T0 = 28_333_334 * MIN;
const SCRAPE = 15_000;
const RULES = "groups:\n- name: g\n  rules:\n  - alert: Slow\n    expr: up == 0\n    for: 30m\n";

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

/** Runs a first manager from T0 to `lastMs` (every minute) and a second one from `restartMs`; returns the second. */
async function restart(store: MemoryStore, lastMs: number, restartMs: number): Promise<RuleHarness> {
  const before = new RuleHarness(T0, {}, store);
  await before.rules(RULES);
  for (let t = T0; t <= lastMs; t += MIN) await before.evalAt(t);
  await before.manager.stop();
  const after = new RuleHarness(restartMs, {}, store);
  await after.rules(RULES);
  await after.evalAt(restartMs);
  await after.evalAt(restartMs + MIN);
  return after;
}

function stateOf(h: RuleHarness): { state: string; activeAt: string }[] {
  return h.manager.alerts(ORG).alerts.map((a) => ({ state: a.state, activeAt: a.activeAt }));
}

function downFrom(store: MemoryStore, value: (t: number) => number): void {
  const h = new RuleHarness(T0, {}, store);
  h.load({ __name__: "up", instance: "a" }, T0 - 10 * MIN, T0 + 90 * MIN, SCRAPE, value);
}

test("a pending alert keeps its pending time across a restart, shifted by the downtime", async () => {
  const store = new MemoryStore();
  downFrom(store, () => 0);
  // Pending for 10 minutes, down for 5, back at +15m: restored at +16m with activeAt = T0 + 6m.
  const h = await restart(store, T0 + 10 * MIN, T0 + 15 * MIN);
  assert.deepEqual(stateOf(h), [{ state: "pending", activeAt: iso(T0 + 6 * MIN) }]);
  await h.evalAt(T0 + 35 * MIN);
  assert.equal(stateOf(h)[0].state, "pending");
  await h.evalAt(T0 + 36 * MIN);
  assert.equal(stateOf(h)[0].state, "firing", "fires after 30m of pending time in all, not 30m after the restart");
  assert.deepEqual(await h.at("ALERTS_FOR_STATE", T0 + 36 * MIN), [
    `{__name__="ALERTS_FOR_STATE", alertname="Slow", instance="a"} => ${(T0 + 6 * MIN) / 1000}`,
  ]);
});

test("an alert about to fire at the restart gets the grace period (10m) before it fires", async () => {
  const store = new MemoryStore();
  downFrom(store, () => 0);
  // Pending for 25 minutes before the restart: 5 left, less than the grace period, so it fires at restore + 10m.
  const h = await restart(store, T0 + 25 * MIN, T0 + 30 * MIN);
  assert.deepEqual(stateOf(h), [{ state: "pending", activeAt: iso(T0 + 31 * MIN + 10 * MIN - 30 * MIN) }]);
  await h.evalAt(T0 + 40 * MIN);
  assert.equal(stateOf(h)[0].state, "pending");
  await h.evalAt(T0 + 41 * MIN);
  assert.equal(stateOf(h)[0].state, "firing");
});

test("an alert that had resolved before the restart starts over", async () => {
  const store = new MemoryStore();
  downFrom(store, (t) => (t >= T0 + 5 * MIN && t < T0 + 12 * MIN ? 1 : 0));
  const h = await restart(store, T0 + 8 * MIN, T0 + 13 * MIN);
  assert.deepEqual(stateOf(h), [{ state: "pending", activeAt: iso(T0 + 13 * MIN) }]);
});

test("an outage longer than the tolerance (1h) starts over", async () => {
  const store = new MemoryStore();
  downFrom(store, () => 0);
  const h = await restart(store, T0 + 10 * MIN, T0 + 75 * MIN);
  assert.deepEqual(stateOf(h), [{ state: "pending", activeAt: iso(T0 + 75 * MIN) }]);
});

test("ALERTS series are written only once state is restored", async () => {
  const store = new MemoryStore();
  downFrom(store, () => 0);
  const h = new RuleHarness(T0, {}, store);
  await h.rules(RULES);
  await h.evalAt(T0);
  assert.deepEqual(await h.at("ALERTS", T0), []);
  await h.evalAt(T0 + MIN);
  await h.evalAt(T0 + 2 * MIN);
  assert.equal((await h.at("ALERTS", T0 + 2 * MIN)).length, 1);
});
