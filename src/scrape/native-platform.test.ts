// The edge's response-time histogram kept as a native histogram (`--native-histograms`) on its way to the orgs'
// stores: collected in process from the registry, and scraped from a platform process's /metrics in the protobuf
// format (classic buckets kept beside it, as the dashboards read those). Stores that keep no histograms refuse them
// with a reported error while the org's other samples are written; the recording store stands for one that keeps
// them (the refusal tests switch to asserting storage once the in-memory store keeps histograms).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PROTOBUF_CONTENT_TYPE, writeProtobuf } from "../exposition/index.ts";
import { Registry } from "../exposition/registry.ts";
import { RegistryCollector } from "./inprocess.ts";
import { ScrapedSamples } from "./platform.ts";
import { MemoryTenants, seriesSamples, storedHistograms } from "./testkit.ts";

const orgOfApp = (app: string) => (app === "web" ? "acme" : null);

/** A registry like the edge's with `--native-histograms` (schema 3, 12 classic bounds), after two responses. */
function edge(native: boolean): Registry {
  const registry = new Registry();
  const family = registry.histogram({
    name: "fly_edge_http_response_time_seconds",
    help: "Response time.",
    labelNames: ["app", "region", "host", "status"],
    buckets: [0.005, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 5, 15, 30, 60, 120],
    ...(native ? { native: { schema: 3 } } : {}),
  });
  const h = family.labels("web", "ord", "ab12", "200");
  h.observe(0.012);
  h.observe(0.7);
  return registry;
}

const SERIES = '{__name__="fly_edge_http_response_time_seconds", app="web", host="ab12", region="ord", status="200"}';

describe("native response-time histograms of the edge", () => {
  test("without the flag the registry has no native histogram", () => {
    let n = 0;
    edge(false).forEachHistogram(() => n++);
    assert.equal(n, 0);
  });

  test("collected in process: the native histogram and the classic buckets both reach the store", () => {
    const store = new MemoryTenants({ recordHistograms: true });
    const c = new RegistryCollector({ source: { name: "edge", registry: edge(true) }, store, orgOfApp });
    const o = c.collectOnce(5000);
    assert.deepEqual([...o.errors.values()], []);
    assert.equal(store.histograms.length, 1);
    const { labels, t, h } = store.histograms[0];
    assert.equal(labels, SERIES);
    assert.equal(t, 5000);
    assert.equal(h.schema, 3);
    assert.equal(h.count, 2);
    assert.equal(h.sum, 0.712);
    // 0.012 and 0.7 in their schema-3 buckets: ceil(8 * log2(v)).
    assert.deepEqual(h.positiveSpans, [
      { offset: Math.ceil(8 * Math.log2(0.012)), length: 1 },
      { offset: Math.ceil(8 * Math.log2(0.7)) - Math.ceil(8 * Math.log2(0.012)) - 1, length: 1 },
    ]);
    assert.deepEqual(h.positiveBuckets, [1, 1]);
    const buckets = seriesSamples(store.of("acme"), "fly_edge_http_response_time_seconds_bucket");
    assert.equal(buckets.length, 13, "the classic buckets stay");
  });

  test("scraped from /metrics in protobuf: both forms kept, native histograms routed like floats", () => {
    const samples = new ScrapedSamples();
    samples.load(writeProtobuf(edge(true).collect()), PROTOBUF_CONTENT_TYPE);
    let natives = 0;
    samples.forEachHistogram(() => natives++);
    assert.equal(natives, 1);
    const store = new MemoryTenants({ recordHistograms: true });
    const c = new RegistryCollector({ source: { name: "edge/ord", registry: samples }, store, orgOfApp });
    c.collectOnce(7000);
    assert.equal(store.histograms.length, 1);
    assert.equal(store.histograms[0].labels, SERIES);
    assert.deepEqual(seriesSamples(store.of("acme"), "fly_edge_http_response_time_seconds_count"), [{ t: 7000, v: 2 }]);
  });

  test("a store without histograms: refused and reported, the org's other samples written", () => {
    const store = new MemoryTenants();
    const c = new RegistryCollector({ source: { name: "edge", registry: edge(true) }, store, orgOfApp });
    const o = c.collectOnce(5000);
    const buckets = seriesSamples(store.of("acme"), "fly_edge_http_response_time_seconds_bucket");
    assert.equal(buckets.length, 13);
    if (store.of("acme").appender().appendHistogram !== undefined) {
      assert.deepEqual([...o.errors.values()], []);
      const stored = storedHistograms(store.of("acme"), "fly_edge_http_response_time_seconds");
      assert.deepEqual(
        stored.map(({ t, h }) => [t, h.schema, h.count]),
        [[5000, 3, 2]],
      );
      return;
    }
    assert.equal(o.failed, 1);
    assert.match(
      o.errors.get("acme")?.message ?? "",
      /native histogram samples cannot be stored \(series \{__name__="fly_edge_http_response_time_seconds"/,
    );
  });
});
