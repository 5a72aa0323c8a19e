// Rules over native histograms, as Prometheus 3 evaluates them, against a real in-memory store and engine round by
// round: a recording rule writes the histograms its expression gives (appendHistogram) and a float stale marker for
// a histogram series that vanished; a store without appendHistogram refuses them by series; an alerting rule over a
// histogram expression raises alerts whose value is 0 (a histogram sample's float) while its templates see the
// histogram as `$value`, and writes float ALERTS series.

import assert from "node:assert/strict";
import { test } from "node:test";
import { CounterResetHint, type Histogram } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import { isStaleNaN } from "../model/sample.ts";
import type { Appender } from "../storage/interface.ts";
import { MemoryStore } from "../storage/memory.ts";
import { appendRuleSample } from "./append.ts";
import { histogramText } from "./template/histogram.ts";
import { ORG, RuleHarness } from "./testkit.ts";

const MIN = 60_000;
/** A minute boundary, so rounds at T0 + n minutes are where Prometheus would put them. */
const T0 = 28_333_334 * MIN;
const SCRAPE = 15_000;
/** Observations per scrape interval for a rate of 1/s. */
const PER_SCRAPE = SCRAPE / 1000;

/**
 * The `n`-th scrape of a counter histogram of schema 0 growing, per second, by 1 in the zero bucket, 1 in (0.5,1]
 * and 2 in (1,2], with a sum growing by 3.5.
 */
function counter(n: number): Histogram {
  return {
    integer: true,
    counterResetHint: CounterResetHint.unknown,
    schema: 0,
    zeroThreshold: 0.001,
    zeroCount: PER_SCRAPE * n,
    count: 4 * PER_SCRAPE * n,
    sum: 3.5 * PER_SCRAPE * n,
    positiveSpans: [{ offset: 0, length: 2 }],
    positiveBuckets: [PER_SCRAPE * n, 2 * PER_SCRAPE * n],
    negativeSpans: [],
    negativeBuckets: [],
    customValues: [],
  };
}

/** Writes the counter histogram of `job` every scrape over [fromMs, toMs]. */
function loadHistograms(store: MemoryStore, job: string, fromMs: number, toMs: number): void {
  const app = store.appender();
  const labels = Labels.fromStrings("__name__", "h", "job", job);
  for (let t = fromMs, n = 1; t <= toMs; t += SCRAPE, n++) app.appendHistogram?.(labels, t, counter(n));
  app.commit();
}

/** The instant vector of `expr` at `tMs` straight from the harness's engine. */
async function vector(h: RuleHarness, expr: string, tMs: number) {
  const { value } = await h.engine.instantQuery(h.store, expr, tMs);
  assert.equal(value.type, "vector");
  return value.type === "vector" ? value.samples : [];
}

const RECORD = `groups:
- name: g
  rules:
  - record: job:h:rate1m
    expr: sum by (job) (rate(h[1m]))
  - record: job:up
    expr: vector(1)
`;

test("a recording rule writes the histograms its expression gives, and a float stale marker when one vanishes", async () => {
  const h = new RuleHarness(T0);
  loadHistograms(h.store, "a", T0 - 10 * MIN, T0 + 10 * MIN);
  loadHistograms(h.store, "b", T0 - 10 * MIN, T0 + MIN);
  await h.rules(RECORD);
  for (const t of [T0, T0 + MIN]) {
    await h.evalAt(t);
    const recorded = await vector(h, "job:h:rate1m", t);
    const direct = await vector(h, "sum by (job) (rate(h[1m]))", t);
    assert.equal(recorded.length, 2);
    assert.deepEqual(
      recorded.map((s) => [s.labels.get("job"), s.h]),
      direct.map((s) => [s.labels.get("job"), s.h]),
    );
    assert.equal(recorded[0].h?.counterResetHint, CounterResetHint.gauge, "rate gives gauge histograms");
  }
  assert.equal(h.manager.rulesStatus(ORG).groups[0].rules[0].health, "ok");

  // Job b's scrapes stopped at T0 + 1m: two minutes later its rate is gone, and its recorded series ends at once.
  const t = T0 + 3 * MIN;
  await h.evalAt(t);
  assert.deepEqual(
    (await vector(h, "job:h:rate1m", t + 1000)).map((s) => s.labels.get("job")),
    ["a"],
  );
  const matchers = [newMatcher("=", "__name__", "job:h:rate1m"), newMatcher("=", "job", "b")];
  const set = h.store.querier(t, t).select(matchers, { start: t, end: t });
  const it = [...set][0].iterator();
  assert.equal(it.next(), "float", "the stale marker of a histogram series is a float, as Prometheus writes it");
  assert.ok(isStaleNaN(it.atV()));
});

test("a store that keeps no histograms refuses the rule's results by series; float rules still record", async () => {
  const store = new MemoryStore();
  // The store's own appender without its histogram methods: a store of float samples only.
  const floatsOnly = (): Appender => {
    const inner = store.appender();
    return {
      append: (l, t, v) => inner.append(l, t, v),
      appendRef: (r, t, v) => inner.appendRef(r, t, v),
      commit: () => inner.commit(),
      rollback: () => inner.rollback(),
    };
  };
  const h = new RuleHarness(
    T0,
    {
      append: async (_org, samples) => {
        const app = floatsOnly();
        try {
          for (const s of samples) appendRuleSample(app, s);
        } catch (err) {
          app.rollback();
          throw err;
        }
        app.commit();
      },
    },
    store,
  );
  loadHistograms(store, "a", T0 - 10 * MIN, T0 + 10 * MIN);
  await h.rules(RECORD);
  await h.evalAt(T0);
  const [histRule, floatRule] = h.manager.rulesStatus(ORG).groups[0].rules;
  assert.equal(histRule.health, "err");
  assert.equal(
    histRule.lastError,
    'cannot record the native histogram of {__name__="job:h:rate1m", job="a"}: this store keeps float samples only',
  );
  assert.equal(floatRule.health, "ok");
  assert.deepEqual(await h.at("job:h:rate1m or job:up", T0), ['{__name__="job:up"} => 1']);
});

test("an alerting rule over a histogram expression: value 0, the histogram as $value, float ALERTS series", async () => {
  const h = new RuleHarness(T0);
  loadHistograms(h.store, "a", T0 - 10 * MIN, T0 + 10 * MIN);
  await h.rules(`groups:
- name: g
  rules:
  - alert: Observed
    expr: sum by (job) (h)
    for: 1m
    labels: {severity: info}
    annotations:
      value: "{{ $value }}"
      count: "{{ $value.Count }} observations"
      humanized: "{{ humanize $value }}"
      queried: '{{ query "sum(h)" | first | value }}'
`);
  await h.evalAt(T0);
  await h.evalAt(T0 + MIN);
  const [alert] = h.manager.alerts(ORG).alerts;
  assert.equal(alert.state, "firing");
  assert.equal(alert.value, "0e+00", "an alert's value is the sample's float, 0 for a histogram");
  assert.deepEqual(alert.labels, { alertname: "Observed", job: "a", severity: "info" });
  // The 45th scrape: 675 observations a bucket (1,350 in (1,2]), as FloatHistogram's String prints them.
  const text = "{count:2700, sum:2362.5, [-0.001,0.001]:675, (0.5,1]:675, (1,2]:1350}";
  assert.deepEqual(
    { ...alert.annotations },
    {
      value: text,
      count: "2700 observations",
      humanized: alert.annotations.humanized,
      queried: text,
    },
  );
  assert.match(
    alert.annotations.humanized,
    /^<error expanding template: .*error calling humanize: can't convert \*histogram\.FloatHistogram to float>$/,
  );
  const [sum] = await vector(h, "sum by (job) (h)", T0 + MIN);
  assert.ok(sum.h !== undefined);
  assert.equal(histogramText(sum.h), text);
  // ALERTS are written from the round after `for` state was restored (the second), as floats.
  await h.evalAt(T0 + 2 * MIN);
  assert.deepEqual(await h.at("ALERTS", T0 + 2 * MIN), [
    '{__name__="ALERTS", alertname="Observed", alertstate="firing", job="a", severity="info"} => 1',
  ]);
});
