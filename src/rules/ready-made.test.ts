import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import { isContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import { Engine } from "../promql/engine/index.ts";
import { EmbeddedTenantStore } from "../storage/tenants.ts";
import { READY_MADE_RULES, type ReadyMadeRule, readyMadeGroup } from "./ready-made.ts";

// Each ready-made rule's expression, evaluated by the engine over a real TSDB: every case is one org holding
// 20 minutes of samples every 15 s up to T, and the rule must fire (a non-empty result) exactly when it should.

const T = 1_700_000_000_000;
const STEP = 15_000;
const SPAN = 20 * 60_000;
const MIN = 60_000;

type Series = readonly [labels: Record<string, string>, value: (t: number) => number];

const inst = (app: string, instance = "a1") => ({ app, region: "iad", host: "0a1b", instance });

// A counter growing by `perSecond` every second.
const counter = (perSecond: number) => (t: number) => ((t - (T - SPAN)) / 1000) * perSecond;
// A gauge that is `a` until `at` ms before T and `b` from then on.
const stepFrom = (a: number, b: number, at: number) => (t: number) => (t < T - at ? a : b);

function responses(app: string, ok: number, errors: number): Series[] {
  return [
    [{ __name__: "fly_edge_http_responses_count", app, region: "iad", host: "0a1b", status: "200" }, counter(ok)],
    [{ __name__: "fly_edge_http_responses_count", app, region: "iad", host: "0a1b", status: "503" }, counter(errors)],
  ];
}

// A latency histogram: `fast` requests per second under 0.5 s, `slow` between 1 and 2.5 s.
function latency(app: string, fast: number, slow: number): Series[] {
  const bucket = (le: string, perSecond: number): Series => [
    { __name__: "fly_edge_http_response_time_seconds_bucket", app, region: "iad", host: "0a1b", status: "200", le },
    counter(perSecond),
  ];
  return [bucket("0.5", fast), bucket("1", fast), bucket("2.5", fast + slow), bucket("+Inf", fast + slow)];
}

const up = (app: string, value: (t: number) => number): Series => [
  { __name__: "fly_instance_up", ...inst(app) },
  value,
];
const oom = (app: string, value: number): Series => [{ __name__: "fly_instance_exit_oom", ...inst(app) }, () => value];
const hardLimit = (app: string, perSecond: number): Series => [
  { __name__: "fly_app_hard_limit_reached_count", ...inst(app) },
  counter(perSecond),
];

interface Case {
  readonly rule: ReadyMadeRule;
  readonly what: string;
  readonly series: readonly Series[];
  readonly fires: boolean;
}

const CASES: readonly Case[] = [
  { rule: "HighErrorRatio", what: "9% of responses fail", series: responses("web", 10, 1), fires: true },
  { rule: "HighErrorRatio", what: "1% of responses fail", series: responses("web", 10, 0.1), fires: false },
  { rule: "HighErrorRatio", what: "another app fails", series: responses("api", 10, 5), fires: false },
  { rule: "HighLatencyP95", what: "a third of requests take over 1 s", series: latency("web", 2, 1), fires: true },
  { rule: "HighLatencyP95", what: "1% of requests are slow", series: latency("web", 99, 1), fires: false },
  {
    rule: "InstanceRestarting",
    what: "up fell and came back 2 minutes ago",
    series: [up("web", (t) => (t > T - 3 * MIN && t < T - 2 * MIN ? 0 : 1))],
    fires: true,
  },
  { rule: "InstanceRestarting", what: "up stayed 1", series: [up("web", () => 1)], fires: false },
  {
    rule: "InstanceRestarting",
    what: "a restart 15 minutes ago",
    series: [up("web", (t) => (t > T - 16 * MIN && t < T - 15 * MIN ? 0 : 1))],
    fires: false,
  },
  {
    rule: "InstanceOutOfMemory",
    what: "killed out of memory 2 minutes ago",
    series: [oom("web", 1), up("web", (t) => (t > T - 3 * MIN && t < T - 2 * MIN ? 0 : 1))],
    fires: true,
  },
  {
    rule: "InstanceOutOfMemory",
    what: "the last exit was an OOM kill long ago",
    series: [oom("web", 1), up("web", () => 1)],
    fires: false,
  },
  {
    rule: "InstanceOutOfMemory",
    what: "a restart that was no OOM kill",
    series: [oom("web", 0), up("web", (t) => (t > T - 3 * MIN && t < T - 2 * MIN ? 0 : 1))],
    fires: false,
  },
  { rule: "InstanceDown", what: "up is 0", series: [up("web", stepFrom(1, 0, 10 * MIN))], fires: true },
  { rule: "InstanceDown", what: "up is 1", series: [up("web", stepFrom(0, 1, 10 * MIN))], fires: false },
  { rule: "InstanceDown", what: "another app is down", series: [up("api", () => 0)], fires: false },
  { rule: "ConcurrencyHardLimit", what: "requests wait", series: [hardLimit("web", 0.5)], fires: true },
  { rule: "ConcurrencyHardLimit", what: "no request waits", series: [hardLimit("web", 0)], fires: false },
];

let dir: string;
let store: EmbeddedTenantStore;
const engine = new Engine();

before(() => {
  dir = mkdtempSync(join(tmpdir(), "contrail-ready-made-"));
  store = new EmbeddedTenantStore({ dataDir: dir, db: { autoCompact: false } });
  CASES.forEach((c, i) => {
    const app = store.appender(`case-${i}`);
    for (let t = T - SPAN; t <= T; t += STEP) {
      for (const [labels, value] of c.series) app.append(Labels.fromRecord(labels), t, value(t));
    }
    app.commit();
  });
});

after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

interface GroupDoc {
  name: string;
  rules: { alert: string; expr: string; for?: string; labels: object; annotations: object }[];
}

describe("ready-made rules", () => {
  const group = parse(readyMadeGroup("web")) as GroupDoc;
  const exprOf = (rule: ReadyMadeRule) => group.rules.find((r) => r.alert === rule)!.expr;

  CASES.forEach((c, i) => {
    test(`${c.rule} ${c.fires ? "fires" : "stays quiet"}: ${c.what}`, async () => {
      const r = await engine.instantQuery(store.queryable(`case-${i}`), exprOf(c.rule), T);
      assert.equal(r.value.type, "vector");
      const samples = r.value.type === "vector" ? r.value.samples : [];
      assert.equal(samples.length > 0, c.fires, `${exprOf(c.rule)} gave ${samples.length} samples`);
      for (const s of samples) assert.equal(s.labels.get("app"), "web");
    });
  });

  test("every rule is covered by a firing and a quiet case", () => {
    for (const rule of READY_MADE_RULES) {
      assert.ok(
        CASES.some((c) => c.rule === rule && c.fires),
        `${rule} fires somewhere`,
      );
      assert.ok(
        CASES.some((c) => c.rule === rule && !c.fires),
        `${rule} stays quiet somewhere`,
      );
    }
  });

  test("the group is named after the app; --only and thresholds shape it", () => {
    assert.equal(group.name, "web");
    assert.deepEqual(
      group.rules.map((r) => r.alert),
      [...READY_MADE_RULES],
    );
    const some = parse(
      readyMadeGroup("web", {
        only: ["InstanceDown", "HighErrorRatio"],
        thresholds: { errorRatio: 0.2, forMs: 120_000, windowMs: 600_000 },
      }),
    ) as GroupDoc;
    assert.deepEqual(
      some.rules.map((r) => [r.alert, r.for]),
      [
        ["HighErrorRatio", "2m"],
        ["InstanceDown", "2m"],
      ],
    );
    assert.match(some.rules[0].expr, /\[10m\]\)\) > 0\.2$/);
  });

  const refusals: [string, () => unknown, RegExp][] = [
    ["an unknown rule", () => readyMadeGroup("web", { only: ["Nope"] }), /unknown ready-made rule "Nope"/],
    [
      "an error ratio of 1",
      () => readyMadeGroup("web", { thresholds: { errorRatio: 1 } }),
      /error ratio must be between 0 and 1/,
    ],
    ["a zero latency", () => readyMadeGroup("web", { thresholds: { p95Seconds: 0 } }), /p95 latency must be above 0/],
    ["a tiny window", () => readyMadeGroup("web", { thresholds: { windowMs: 1000 } }), /window must be from 1m/],
  ];
  for (const [name, run, message] of refusals) {
    test(`refuses ${name}`, () => {
      assert.throws(run, (e) => isContrailError(e, "bad_data") && message.test(e.message));
    });
  }
});
