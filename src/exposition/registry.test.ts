import assert from "node:assert/strict";
import { test } from "node:test";
import { Labels } from "../model/labels.ts";
import { Registry } from "./registry.ts";
import { writePrometheusText } from "./writer.ts";

test("counter children are pre-bound, stable and never decrease", () => {
  const r = new Registry();
  const f = r.counter({ name: "reqs_count", help: "requests", labelNames: ["app", "status"] });
  const ok = f.labels("web", "200");
  ok.inc();
  ok.inc(2);
  ok.inc(-5);
  assert.equal(f.labels("web", "200"), ok);
  assert.equal(ok.value, 3);
  const seen: [string, number][] = [];
  r.forEachSample((l, v) => seen.push([l.toString(), v]));
  assert.deepEqual(seen, [['{__name__="reqs_count", app="web", status="200"}', 3]]);
  const first: Labels[] = [];
  const second: Labels[] = [];
  r.forEachSample((l) => first.push(l));
  r.forEachSample((l) => second.push(l));
  assert.equal(first[0], second[0], "the same Labels object on every read");
  assert.throws(() => f.labels("web"), /expected 2 label values, got 1/);
});

test("histogram buckets are cumulative with inclusive upper bounds", () => {
  const r = new Registry();
  const h = r.histogram({ name: "rt_seconds", help: "t", labelNames: ["app"], buckets: [0.005, 0.1, 1] });
  const c = h.labels("web");
  for (const v of [0.001, 0.005, 0.05, 0.1, 3]) c.observe(v);
  const got = new Map<string, number>();
  r.forEachSample((l, v) => got.set(`${l.metricName()}${l.get("le") ? `/${l.get("le")}` : ""}`, v));
  assert.deepEqual(Object.fromEntries(got), {
    "rt_seconds_bucket/0.005": 2,
    "rt_seconds_bucket/0.1": 4,
    "rt_seconds_bucket/1": 4,
    "rt_seconds_bucket/+Inf": 5,
    rt_seconds_sum: 3.156,
    rt_seconds_count: 5,
  });
  assert.throws(() => r.histogram({ name: "bad", help: "", buckets: [1, 0.5] }), /ascending/);
});

test("gauges, removal, collectors and name conflicts", () => {
  const r = new Registry();
  const g = r.gauge({ name: "conc", help: "in flight", labelNames: ["app"] });
  g.labels("a").inc();
  g.labels("a").inc();
  g.labels("a").dec();
  g.labels("b").set(7);
  g.remove("b");
  assert.equal(g.size, 1);
  r.addCollector(() => [
    { name: "up", type: "gauge", help: "", samples: [{ labels: Labels.fromRecord({ __name__: "up" }), value: 1 }] },
  ]);
  const values: number[] = [];
  r.forEachSample((_l, v) => values.push(v));
  assert.deepEqual(values, [1, 1]);
  assert.throws(() => r.gauge({ name: "conc", help: "" }), /already registered/);
  const text = writePrometheusText(r.collect());
  assert.match(text, /# TYPE conc gauge\nconc\{app="a"\} 1\n/);
});
