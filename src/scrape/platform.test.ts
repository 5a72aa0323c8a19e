import assert from "node:assert/strict";
import { test } from "node:test";
import { writePrometheusText } from "../exposition/index.ts";
import { Registry } from "../exposition/registry.ts";
import type { Labels } from "../model/labels.ts";
import { ScrapedSamples } from "./platform.ts";

const encoder = new TextEncoder();

function edgeRegistry(): Registry {
  const r = new Registry();
  r.counter({ name: "fly_edge_tcp_connects_count", help: "Connections.", labelNames: ["app", "region"] })
    .labels("web", "ord")
    .inc(3);
  r.histogram({ name: "fly_edge_http_response_time_seconds", help: "Time.", labelNames: ["app"], buckets: [0.1, 1] })
    .labels("web")
    .observe(0.5);
  return r;
}

function load(s: ScrapedSamples, r: Registry): Map<string, number> {
  s.load(encoder.encode(writePrometheusText(r.collect())), "text/plain; version=0.0.4");
  const out = new Map<string, number>();
  s.forEachSample((labels, v) => out.set(labels.toString(), v));
  return out;
}

test("a registry's text reads back as the same samples, with bucket bounds in OpenMetrics form", () => {
  const s = new ScrapedSamples();
  const got = load(s, edgeRegistry());
  assert.equal(s.size, 6);
  assert.equal(got.get('{__name__="fly_edge_tcp_connects_count", app="web", region="ord"}'), 3);
  assert.equal(got.get('{__name__="fly_edge_http_response_time_seconds_bucket", app="web", le="1.0"}'), 1);
  assert.equal(got.get('{__name__="fly_edge_http_response_time_seconds_bucket", app="web", le="0.1"}'), 0);
  assert.equal(got.get('{__name__="fly_edge_http_response_time_seconds_count", app="web"}'), 1);
});

test("label sets are reused across bodies while their series stay; families carry the metadata", () => {
  const r = edgeRegistry();
  const s = new ScrapedSamples();
  const first: Labels[] = [];
  load(s, r);
  s.forEachSample((l) => first.push(l));
  r.counter({ name: "fresh_total", help: "New.", labelNames: [] }).labels().inc();
  load(s, r);
  const second: Labels[] = [];
  s.forEachSample((l) => second.push(l));
  for (const l of first) assert.ok(second.includes(l), `${l} is the same object`);
  const families = s.collect().map((f) => [f.name, f.type, f.help, f.samples.length]);
  assert.deepEqual(
    families.sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    [
      ["fly_edge_http_response_time_seconds", "histogram", "Time.", 5],
      ["fly_edge_tcp_connects_count", "counter", "Connections.", 1],
      ["fresh_total", "counter", "New.", 1],
    ],
  );
});

test("a malformed body throws and leaves no samples; clear empties", () => {
  const s = new ScrapedSamples();
  load(s, edgeRegistry());
  assert.throws(() => s.load(encoder.encode("metric{ 1\n"), undefined), /bad_data|expected/i);
  assert.equal(s.size, 0);
  load(s, edgeRegistry());
  s.clear();
  assert.equal(s.size, 0);
});
