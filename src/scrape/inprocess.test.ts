import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Registry } from "../exposition/registry.ts";
import { Labels } from "../model/labels.ts";
import { isStaleNaN } from "../model/sample.ts";
import { RegistryCollector } from "./inprocess.ts";
import { MemoryTenants, seriesSamples, storedSamples } from "./testkit.ts";

const OWNERS: Record<string, string> = { web: "acme", api: "acme", shop: "globex" };
const orgOfApp = (app: string) => OWNERS[app] ?? null;

function edgeRegistry() {
  const registry = new Registry();
  const responses = registry.counter({
    name: "fly_edge_http_responses_count",
    help: "HTTP responses served by the edge.",
    labelNames: ["app", "region", "host", "status"],
  });
  const time = registry.histogram({
    name: "fly_edge_http_response_time_seconds",
    help: "Response time.",
    labelNames: ["app", "region", "host", "status"],
    buckets: [0.1, 1],
  });
  return { registry, responses, time };
}

describe("in-process registry collection", () => {
  test("refs kept from an org's database opened again are forgotten; the other org keeps its refs", () => {
    const { registry, responses } = edgeRegistry();
    responses.labels("web", "ord", "ab12", "200").inc(3);
    responses.labels("shop", "ams", "cd34", "500").inc();
    const store = new MemoryTenants();
    const c = new RegistryCollector({ source: { name: "edge", registry }, store, orgOfApp });
    c.collectOnce(1000);
    // acme's database comes back without its series; another writer takes ref 0, the edge series' old ref.
    store.reopen("acme");
    const other = store.appender("acme");
    other.append(Labels.fromRecord({ __name__: "other" }), 1500, 99);
    other.commit();
    store.resetCounts();
    c.collectOnce(2000);
    assert.equal(store.counts.append, 1, "acme's series found by labels again");
    assert.equal(store.counts.appendRef, 1, "globex's series still by ref");
    assert.deepEqual(seriesSamples(store.of("acme"), "other"), [{ t: 1500, v: 99 }]);
    assert.deepEqual(seriesSamples(store.of("acme"), "fly_edge_http_responses_count"), [{ t: 2000, v: 3 }]);
  });

  test("samples go to the org of their app, unknown apps are dropped and counted", () => {
    const { registry, responses, time } = edgeRegistry();
    responses.labels("web", "ord", "ab12", "200").inc(3);
    responses.labels("shop", "ams", "cd34", "500").inc();
    responses.labels("ghost", "ord", "ab12", "200").inc(9);
    time.labels("web", "ord", "ab12", "200").observe(0.05);
    const store = new MemoryTenants();
    const c = new RegistryCollector({ source: { name: "edge", registry }, store, orgOfApp });
    const o = c.collectOnce(1000);
    assert.equal(o.samples, 3 + 5, "3 counters, 3 buckets, sum and count");
    assert.equal(o.appended, 2 + 5);
    assert.equal(o.droppedUnknownApp, 1);
    assert.deepEqual(o.orgs, ["acme", "globex"]);
    assert.deepEqual(seriesSamples(store.of("acme"), "fly_edge_http_responses_count"), [{ t: 1000, v: 3 }]);
    assert.deepEqual(
      storedSamples(store.of("acme"), "fly_edge_http_responses_count")[0].labels,
      { __name__: "fly_edge_http_responses_count", app: "web", region: "ord", host: "ab12", status: "200" },
      "labels are kept as the registry made them",
    );
    assert.deepEqual(seriesSamples(store.of("globex"), "fly_edge_http_responses_count"), [{ t: 1000, v: 1 }]);
    assert.deepEqual(seriesSamples(store.of("acme"), "fly_edge_http_response_time_seconds_bucket", { le: "0.1" }), [
      { t: 1000, v: 1 },
    ]);
    assert.equal(
      storedSamples(store.of("globex")).some((s) => s.labels.app === "web"),
      false,
      "no org sees another org's app",
    );
    assert.equal(c.status().droppedUnknownApp, 1);
    c.collectOnce(2000);
    assert.equal(c.status().droppedUnknownApp, 2, "dropped samples are counted on every collection");
  });

  test("a steady collection appends every sample by ref and looks each app up once per collection", () => {
    const { registry, responses } = edgeRegistry();
    for (const status of ["200", "404", "500"]) responses.labels("web", "ord", "ab12", status).inc();
    let lookups = 0;
    const store = new MemoryTenants();
    const c = new RegistryCollector({
      source: { name: "edge", registry },
      store,
      orgOfApp: (app) => {
        lookups++;
        return orgOfApp(app);
      },
    });
    c.collectOnce(1000);
    assert.equal(store.counts.append, 3);
    assert.equal(lookups, 1);
    store.resetCounts();
    c.collectOnce(2000);
    assert.deepEqual(store.counts, { append: 0, appendRef: 3, commits: 1, rollbacks: 0 });
    assert.equal(lookups, 2);
  });

  test("a removed child gets a stale marker; an app that changes org ends in the old one", () => {
    const { registry, responses } = edgeRegistry();
    responses.labels("web", "ord", "ab12", "200").inc();
    responses.labels("api", "ord", "ab12", "200").inc();
    const owners = { ...OWNERS };
    const store = new MemoryTenants();
    const c = new RegistryCollector({
      source: { name: "edge", registry },
      store,
      orgOfApp: (app) => owners[app] ?? null,
    });
    c.collectOnce(1000);
    responses.remove("web", "ord", "ab12", "200");
    owners.api = "globex";
    const o = c.collectOnce(2000);
    assert.equal(o.staleMarkers, 2);
    const web = seriesSamples(store.of("acme"), "fly_edge_http_responses_count", { app: "web" });
    assert.equal(web.length, 2);
    assert.ok(isStaleNaN(web[1].v));
    const apiOld = seriesSamples(store.of("acme"), "fly_edge_http_responses_count", { app: "api" });
    assert.ok(isStaleNaN(apiOld.at(-1)!.v), "the old org's series is marked stale");
    assert.deepEqual(seriesSamples(store.of("globex"), "fly_edge_http_responses_count", { app: "api" }), [
      { t: 2000, v: 1 },
    ]);
    assert.equal(c.trackedSeries, 1);
  });

  test("collector samples with fresh label objects are matched by value, not duplicated", () => {
    const registry = new Registry();
    let up = 1;
    registry.addCollector(() => [
      {
        name: "fly_instance_up",
        type: "gauge",
        help: "Instance is running.",
        samples: [
          {
            labels: Labels.fromStrings("__name__", "fly_instance_up", "app", "web", "instance", "0123456789abcd"),
            value: up,
          },
        ],
      },
    ]);
    const store = new MemoryTenants();
    const c = new RegistryCollector({ source: { name: "agent", registry }, store, orgOfApp });
    c.collectOnce(1000);
    up = 0;
    c.collectOnce(2000);
    assert.equal(c.trackedSeries, 1);
    assert.deepEqual(seriesSamples(store.of("acme"), "fly_instance_up"), [
      { t: 1000, v: 1 },
      { t: 2000, v: 0 },
    ]);
    assert.equal(store.of("acme").numSeries, 1);
    assert.deepEqual(
      [...c.metadataFor("acme")],
      [["fly_instance_up", { type: "gauge", help: "Instance is running.", unit: "" }]],
    );
    assert.deepEqual([...c.metadataFor("globex")], []);
  });

  test("an org whose storage fails loses only its own samples", () => {
    const { registry, responses } = edgeRegistry();
    responses.labels("web", "ord", "ab12", "200").inc();
    responses.labels("shop", "ord", "ab12", "200").inc();
    const store = new MemoryTenants();
    store.failing.add("acme");
    const c = new RegistryCollector({ source: { name: "edge", registry }, store, orgOfApp });
    const o = c.collectOnce(1000);
    assert.equal(o.failed, 1);
    assert.deepEqual(o.orgs, ["globex"]);
    assert.match(c.status().lastError, /storage of acme is unavailable/);
    assert.deepEqual(seriesSamples(store.of("globex"), "fly_edge_http_responses_count"), [{ t: 1000, v: 1 }]);
  });
});
