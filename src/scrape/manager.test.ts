import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { writePrometheusText } from "../exposition/index.ts";
import { Registry } from "../exposition/registry.ts";
import { isStaleNaN } from "../model/sample.ts";
import { ScrapeManager } from "./manager.ts";
import type { ScrapeTarget } from "./target.ts";
import { MemoryTenants, seriesSamples, serveText, startServer, type TestServer } from "./testkit.ts";

const INTERVAL = 200;

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function t(id: string, org: string, app: string, url: string): ScrapeTarget {
  return { id, org, app, region: "ord", host: "ab12", instance: id.padEnd(14, "0").slice(0, 14), url };
}

describe("scrape manager", () => {
  let web: TestServer;
  let shop: TestServer;

  before(async () => {
    web = await startServer(
      serveText(
        '# HELP events_by_type Events by type.\n# TYPE events_by_type counter\nevents_by_type{event_type="a"} 1\n',
      ),
    );
    shop = await startServer(serveText("# TYPE orders gauge\norders 4\n"));
  });
  after(async () => {
    await web.close();
    await shop.close();
  });

  test("runs a loop per target, reports targets and metadata per org, retires removed targets with stale markers", async () => {
    let targets = [
      t("aaaaaaaaaaaaa1", "acme", "web", web.url()),
      t("aaaaaaaaaaaaa2", "acme", "web", web.url("/metrics?second")),
      t("bbbbbbbbbbbbb1", "globex", "shop", shop.url()),
    ];
    const store = new MemoryTenants();
    const m = new ScrapeManager({
      store,
      source: { targets: () => targets },
      scrape: { intervalMs: INTERVAL, timeoutMs: 150 },
      refreshIntervalMs: 60_000,
    });
    try {
      const r = await m.start();
      assert.deepEqual(r, { started: 3, stopped: 0, active: 3 });
      await until(() => m.activeLoops().every((l) => l.status().health === "up"), "every target up");

      const acme = m.targetsFor("acme");
      assert.equal(acme.length, 2);
      assert.deepEqual(
        acme.map((a) => a.scrapeUrl),
        [web.url(), web.url("/metrics?second")],
      );
      const a0 = acme[0];
      assert.deepEqual(a0.labels, { app: "web", host: "ab12", instance: "aaaaaaaaaaaaa1", region: "ord" });
      assert.equal(a0.health, "up");
      assert.equal(a0.lastError, "");
      assert.equal(a0.scrapePool, "web");
      assert.equal(a0.scrapeInterval, "200ms");
      assert.equal(a0.scrapeTimeout, "150ms");
      assert.match(a0.lastScrape, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(a0.lastScrapeDuration >= 0);
      assert.equal(a0.discoveredLabels.__metrics_path__, "/metrics");
      assert.deepEqual(
        m.targetsFor("globex").map((g) => g.labels.app),
        ["shop"],
      );
      assert.deepEqual(m.targetsFor("nobody"), []);

      assert.deepEqual(
        [...m.metadataFor("acme")],
        [["events_by_type", [{ type: "counter", help: "Events by type.", unit: "" }]]],
        "two targets with the same metadata give one entry",
      );
      assert.deepEqual([...m.metadataFor("globex")], [["orders", [{ type: "gauge", help: "", unit: "" }]]]);

      // The second target goes away: its loop stops, and its series get a stale marker a little over two
      // intervals later, stamped with the time its next scrape would have had. Only such end-of-run markers
      // reach `up`: a scrape that times out on a busy machine marks the scraped series stale but sets `up` to 0.
      targets = targets.filter((x) => x.id !== "aaaaaaaaaaaaa2");
      assert.deepEqual(await m.refresh(), { started: 0, stopped: 1, active: 2 });
      assert.equal(m.targetsFor("acme").length, 1);
      const gone = { instance: "aaaaaaaaaaaaa2" };
      await until(
        () => isStaleNaN(seriesSamples(store.of("acme"), "up", gone).at(-1)?.v ?? 0),
        "stale marker of the removed target",
        INTERVAL * 10,
      );
      const goneUp = seriesSamples(store.of("acme"), "up", gone).at(-1)!;
      assert.deepEqual(
        seriesSamples(store.of("acme"), "events_by_type", gone)
          .slice(-1)
          .map((x) => [x.t, isStaleNaN(x.v)]),
        [[goneUp.t, true]],
      );
      const remaining = seriesSamples(store.of("acme"), "up", { instance: "aaaaaaaaaaaaa1" });
      assert.ok(
        remaining.every((s) => !isStaleNaN(s.v)),
        "the other target is untouched",
      );

      // A changed URL replaces the target.
      targets = [{ ...targets[0], url: web.url("/metrics?moved") }, targets[1]];
      assert.deepEqual(await m.refresh(), { started: 1, stopped: 1, active: 2 });
    } finally {
      await m.stop();
    }
    // A scrape aborted by stop() may still reach the server just after (its request was already written): let it
    // land, then count. A loop still running would scrape again within the two intervals after.
    await new Promise((r) => setTimeout(r, INTERVAL / 2));
    const scrapes = web.requests;
    await new Promise((r) => setTimeout(r, INTERVAL * 2));
    assert.equal(web.requests, scrapes, "nothing is scraped after stop()");
  });

  test("shards split the targets between managers without overlap", async () => {
    const targets = Array.from({ length: 40 }, (_, i) =>
      t(`c${String(i).padStart(13, "0")}`, "acme", "web", web.url(`/metrics?${i}`)),
    );
    const store = new MemoryTenants();
    const managers = [0, 1, 2].map(
      (index) =>
        new ScrapeManager({
          store,
          source: { targets: async () => targets },
          scrape: { intervalMs: 60_000 },
          shard: { index, count: 3 },
        }),
    );
    try {
      for (const m of managers) await m.refresh();
      const owned = managers.map((m) => m.activeLoops().map((l) => l.target.id));
      const all = owned.flat().sort();
      assert.deepEqual(all, targets.map((x) => x.id).sort(), "every target in exactly one shard");
      for (const o of owned) assert.ok(o.length > 0, "no shard is empty");
    } finally {
      for (const m of managers) await m.stop();
    }
  });

  test("a failing source keeps the current targets and reports the error", async () => {
    let fail = false;
    const errors: Error[] = [];
    const m = new ScrapeManager({
      store: new MemoryTenants(),
      source: {
        targets: () => {
          if (fail) throw new Error("control plane unreachable");
          return [t("dddddddddddddd", "acme", "web", web.url())];
        },
      },
      onSourceError: (e) => errors.push(e),
    });
    try {
      await m.refresh();
      fail = true;
      assert.deepEqual(await m.refresh(), { started: 0, stopped: 0, active: 1 });
      assert.equal(errors.length, 1);
      assert.equal(m.lastSourceError?.message, "control plane unreachable");
      fail = false;
      await m.refresh();
      assert.equal(m.lastSourceError, null);
    } finally {
      await m.stop();
    }
  });

  test("platform targets are scraped on the interval by the first shard only, samples routed by app", async () => {
    const registry = new Registry();
    const connects = registry.counter({
      name: "fly_edge_tcp_connects_count",
      help: "Connections.",
      labelNames: ["app", "region", "host"],
    });
    connects.labels("web", "ord", "ab12").inc(5);
    connects.labels("nobody", "ord", "ab12").inc(2);
    const edge = await startServer(serveText(() => writePrometheusText(registry.collect())));
    let listed = [{ name: "edge/ord", url: edge.url() }];
    const store = new MemoryTenants();
    // The managers' clock stands still until the first two scrapes are checked: a collection is stamped with its
    // scheduled time unless its timer fires late, which on a busy machine it may; held still, it is never late.
    const held = Date.now();
    let heldAt: number | null = held;
    const common = {
      store,
      source: { targets: () => [] },
      scrape: { intervalMs: INTERVAL },
      platform: { targets: () => listed },
      orgOfApp: (app: string) => (app === "web" ? "acme" : null),
      now: () => heldAt ?? Date.now(),
    };
    assert.throws(
      () => new ScrapeManager({ ...common, orgOfApp: undefined }),
      /platform targets need an orgOfApp lookup/,
    );
    const first = new ScrapeManager({ ...common, shard: { index: 0, count: 2 } });
    const second = new ScrapeManager({ ...common, shard: { index: 1, count: 2 } });
    const samples = () => seriesSamples(store.of("acme"), "fly_edge_tcp_connects_count");
    try {
      await first.start();
      await second.start();
      await until(() => samples().length >= 2, "two scrapes");
      // Stamped on the schedule: one interval apart (a scrape that fails on a busy machine still writes its stale
      // markers at its own time, so no interval is skipped).
      heldAt = null;
      const [s0, s1] = samples();
      assert.ok(s0.t > held, `first stamped ${s0.t - held} ms after the clock's time`);
      assert.equal(s1.t - s0.t, INTERVAL);
      assert.equal(samples()[0].v, 5);
      assert.deepEqual(
        first.platformStatus().map((st) => [st.name, st.url, st.lastBodySamples, st.droppedUnknownApp > 0]),
        [["edge/ord", edge.url(), 2, true]],
      );
      assert.deepEqual(second.platformStatus(), []);
      assert.deepEqual([...first.metadataFor("acme").keys()], ["fly_edge_tcp_connects_count"]);

      // Counts go on; a failed scrape marks the series stale; the next good one continues them.
      connects.labels("web", "ord", "ab12").inc(3);
      await until(() => samples().at(-1)?.v === 8, "the new count");
      edge.handle((_req, res) => {
        res.writeHead(503);
        res.end();
      });
      await until(() => isStaleNaN(samples().at(-1)?.v ?? 0), "a stale marker after a failed scrape");
      assert.match(first.platformStatus()[0].lastError, /HTTP status 503/);
      edge.handle(serveText(() => writePrometheusText(registry.collect())));
      await until(() => samples().at(-1)?.v === 8, "the count after the target is back");

      // A target that goes away gets its stale markers at once.
      listed = [];
      await first.refresh();
      await until(() => isStaleNaN(samples().at(-1)?.v ?? 0), "a stale marker after the target left");
      assert.deepEqual(first.platformStatus(), []);
    } finally {
      await first.stop();
      await second.stop();
      await edge.close();
    }
  });

  test("while no shard 0 runs, the lowest live shard scrapes the platform; it lets go without markers when 0 is back", async () => {
    const registry = new Registry();
    registry
      .counter({ name: "fly_edge_tcp_connects_count", help: "Connections.", labelNames: ["app"] })
      .labels("web")
      .inc(5);
    const edge = await startServer(serveText(() => writePrometheusText(registry.collect())));
    const store = new MemoryTenants();
    let live = [{ index: 1, count: 2 }];
    const second = new ScrapeManager({
      store,
      source: { targets: () => [] },
      scrape: { intervalMs: INTERVAL },
      shard: { index: 1, count: 2 },
      peers: () => live,
      platform: { targets: () => [{ name: "edge/ord", url: edge.url() }] },
      orgOfApp: (app: string) => (app === "web" ? "acme" : null),
    });
    const samples = () => seriesSamples(store.of("acme"), "fly_edge_tcp_connects_count");
    try {
      await second.start();
      assert.deepEqual(
        second.platformStatus().map((st) => st.name),
        ["edge/ord"],
      );
      await until(() => samples().length >= 2, "scrapes by shard 1");
      live = [
        { index: 0, count: 2 },
        { index: 1, count: 2 },
      ];
      await second.refresh();
      assert.deepEqual(second.platformStatus(), [], "shard 0 is back: it scrapes the platform");
      await new Promise((r) => setTimeout(r, INTERVAL * 2));
      assert.ok(!samples().some((x) => isStaleNaN(x.v)), "no stale marker: shard 0 writes the series on");
    } finally {
      await second.stop();
      await edge.close();
    }
  });
});
