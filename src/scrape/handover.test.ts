// Scrapers changing shards over real targets on loopback: no target goes unscraped while the count changes, targets
// handed to another shard get no stale markers, and two scrapers of one target leave one sample per timestamp in
// the TSDB.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { newMatcher } from "../model/matcher.ts";
import { isStaleNaN } from "../model/sample.ts";
import { EmbeddedTenantStore } from "../storage/tenants.ts";
import { ScrapeManager } from "./manager.ts";
import type { ScrapeTarget, ShardSpec } from "./target.ts";
import { MemoryTenants, startServer, storedSamples } from "./testkit.ts";

const INTERVAL = 300;
/** Generous, so that a loaded machine does not fail a scrape (which writes stale markers of its own). */
const TIMEOUT = INTERVAL - 10;
const TARGETS = 24;
const ORG = "acme";

const dir = mkdtempSync(join(tmpdir(), "contrail-handover-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A target server counting requests per path; each answers a counter of its own requests. */
async function counterServer() {
  const hits = new Map<string, number>();
  const server = await startServer((req, res) => {
    const n = (hits.get(req.url ?? "") ?? 0) + 1;
    hits.set(req.url ?? "", n);
    res.setHeader("content-type", "text/plain; version=0.0.4");
    res.end(`# TYPE served_total counter\nserved_total ${n}\n`);
  });
  return { server, hits };
}

function targetAt(url: string, i: number): ScrapeTarget {
  const id = `t${String(i).padStart(13, "0")}`;
  return { id, org: ORG, app: "web", region: "ord", host: "ab12", instance: id, url: `${url}?${i}` };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("shard handover", () => {
  test("a rollout from 2 to 3 scrapers, one at a time: every target scraped at every step, none marked stale", async () => {
    const { server, hits } = await counterServer();
    const targets = Array.from({ length: TARGETS }, (_, i) => targetAt(server.url("/metrics"), i));
    const store = new MemoryTenants();
    // The heartbeats every scraper reads: the shards of the live ones.
    const live = new Map<string, { shard: ShardSpec; m: ScrapeManager }>();
    const start = async (name: string, shard: ShardSpec) => {
      const m = new ScrapeManager({
        store,
        source: { targets: () => targets },
        scrape: { intervalMs: INTERVAL, timeoutMs: TIMEOUT },
        refreshIntervalMs: 60_000,
        shard,
        peers: () => [...live.values()].map((l) => l.shard),
      });
      live.set(name, { shard, m });
      await m.start();
    };
    const stop = async (name: string) => {
      const l = live.get(name);
      live.delete(name);
      await l?.m.stop();
    };
    /** Every live scraper rereads the heartbeats (as each does within a second), then the scrapes are checked. */
    const settle = async (step: string) => {
      for (const l of live.values()) await l.m.refresh();
      const scrapers = targets.map(
        (t) => [...live.values()].filter((l) => l.m.activeLoops().some((loop) => loop.target.id === t.id)).length,
      );
      assert.ok(
        scrapers.every((n) => n >= 1),
        `${step}: targets without a scraper: ${scrapers.filter((n) => n === 0).length}`,
      );
      const before = targets.map((_, i) => hits.get(`/metrics?${i}`) ?? 0);
      await sleep(INTERVAL * 3);
      const missed = targets.filter((_, i) => (hits.get(`/metrics?${i}`) ?? 0) === before[i]);
      assert.deepEqual(
        missed.map((t) => t.id),
        [],
        `${step}: targets not scraped for three intervals`,
      );
      return scrapers;
    };
    try {
      await start("a", { index: 0, count: 2 });
      await start("b", { index: 1, count: 2 });
      assert.ok(
        (await settle("2 shards")).every((n) => n === 1),
        "2 shards: each target once",
      );
      await start("c", { index: 2, count: 3 });
      await settle("the new shard 2/3 started");
      await stop("a");
      await settle("a stopped");
      await start("a", { index: 0, count: 3 });
      await settle("a back as 0/3");
      await stop("b");
      await settle("b stopped");
      await start("b", { index: 1, count: 3 });
      assert.ok(
        (await settle("3 shards")).every((n) => n === 1),
        "3 shards: each target once",
      );
      // A retired target would get its markers a little over two intervals after it left; none left, none marked.
      await sleep(INTERVAL * 3);
      const stale = storedSamples(store.of(ORG), "served_total").filter((s) => isStaleNaN(s.v));
      assert.deepEqual(stale, [], "no target was marked stale: each one handed over kept being scraped");
    } finally {
      for (const name of [...live.keys()]) await stop(name);
      await server.close();
    }
  });

  test("two scrapers of one target write the same timestamps; the TSDB keeps one sample for each", async () => {
    const { server, hits } = await counterServer();
    const target = targetAt(server.url("/metrics"), 0);
    const store = new EmbeddedTenantStore({ dataDir: join(dir, "twice"), idleCloseMs: 0 });
    // Both claim the target: the overlap while a new scraper has taken it and its old one has not yet let it go.
    const managers = [0, 1].map(
      () =>
        new ScrapeManager({
          store,
          source: { targets: () => [target] },
          scrape: { intervalMs: INTERVAL, timeoutMs: TIMEOUT },
          refreshIntervalMs: 60_000,
        }),
    );
    try {
      const from = Date.now();
      for (const m of managers) await m.start();
      await sleep(INTERVAL * 8);
      for (const m of managers) await m.stop();
      const intervals = (Date.now() - from) / INTERVAL;
      const q = store.querier(ORG, 0, Number.MAX_SAFE_INTEGER);
      const times: number[] = [];
      try {
        for (const s of q.select([newMatcher("=", "__name__", "served_total")], { start: 0, end: Date.now() })) {
          const it = s.iterator();
          while (it.next() !== "none") times.push(it.atT());
        }
      } finally {
        q.close();
      }
      const served = hits.get("/metrics?0") ?? 0;
      assert.ok(served >= 8, `both scraped: ${served} requests`);
      assert.ok(times.length >= 3, `samples stored: ${times.length}`);
      assert.ok(
        times.length <= Math.ceil(intervals) + 1,
        `one sample per scrape time, not two: ${times.length} samples over ${intervals.toFixed(1)} intervals`,
      );
      for (let i = 1; i < times.length; i++) assert.ok(times[i]! > times[i - 1]!, "timestamps strictly increase");
    } finally {
      await store.close();
      await server.close();
    }
  });
});
