// Scrapers changing shards over real targets on loopback: no target goes unscraped while the count changes, targets
// handed to another shard get no stale markers, and two scrapers of one target leave one sample per timestamp in
// the TSDB (the first one's), while a scrape stamped at another time is kept when newer, refused when older.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { newMatcher } from "../model/matcher.ts";
import { isStaleNaN } from "../model/sample.ts";
import { EmbeddedTenantStore } from "../storage/tenants.ts";
import { ScrapeLoop } from "./loop.ts";
import { ScrapeManager } from "./manager.ts";
import { resolveScrapeOptions } from "./options.ts";
import type { ScrapeTarget, ShardSpec } from "./target.ts";
import { MemoryTenants, startServer, storedSamples } from "./testkit.ts";

const INTERVAL = 300;
/** Generous, so that a loaded machine does not fail a scrape (which writes stale markers of its own). */
const TIMEOUT = INTERVAL - 10;
const TARGETS = 24;
/** Liveness bound for every target to be scraped once after a step, ms (it is due within one interval). */
const SCRAPED_WITHIN_MS = 10_000;
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
    // A failed scrape (a timeout on a loaded machine) writes stale markers of its own: those are not handovers.
    const failedAt = new Set<string>();
    const start = async (name: string, shard: ShardSpec) => {
      const m = new ScrapeManager({
        store,
        source: { targets: () => targets },
        scrape: { intervalMs: INTERVAL, timeoutMs: TIMEOUT },
        refreshIntervalMs: 60_000,
        shard,
        peers: () => [...live.values()].map((l) => l.shard),
        onScrape: (target, outcome) => {
          if (!outcome.up) failedAt.add(target.instance);
        },
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
      const missed = () => targets.filter((_, i) => (hits.get(`/metrics?${i}`) ?? 0) === before[i]).map((t) => t.id);
      // Each is due within an interval; the bound is generous for a loaded machine.
      const end = Date.now() + SCRAPED_WITHIN_MS;
      while (missed().length > 0 && Date.now() < end) await sleep(INTERVAL / 3);
      assert.deepEqual(missed(), [], `${step}: targets not scraped within ${SCRAPED_WITHIN_MS} ms`);
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
      const stale = storedSamples(store.of(ORG), "served_total").filter(
        (s) => isStaleNaN(s.v) && !failedAt.has(s.labels.instance ?? ""),
      );
      assert.deepEqual(stale, [], "no target was marked stale: each one handed over kept being scraped");
    } finally {
      for (const name of [...live.keys()]) await stop(name);
      await server.close();
    }
  });

  test("two scrapers of one target at the same timestamps: the TSDB keeps the first sample of each", async () => {
    const { server, hits } = await counterServer();
    const target = targetAt(server.url("/metrics"), 0);
    const store = new EmbeddedTenantStore({ dataDir: join(dir, "twice"), idleCloseMs: 0 });
    // The loops of two scrapers that both hold the target (the overlap of a handover), stamping as scheduled.
    const options = resolveScrapeOptions({ intervalMs: INTERVAL, timeoutMs: TIMEOUT });
    const [a, b] = [0, 1].map(() => new ScrapeLoop({ target, store, options }));
    const samples = () => {
      const q = store.querier(ORG, 0, Number.MAX_SAFE_INTEGER);
      const out: [number, number][] = [];
      try {
        for (const s of q.select([newMatcher("=", "__name__", "served_total")], { start: 0, end: Date.now() + 1e6 })) {
          const it = s.iterator();
          while (it.next() !== "none") out.push([it.atT(), it.atV()]);
        }
      } finally {
        q.close();
      }
      return out;
    };
    try {
      const base = Math.floor(Date.now() / INTERVAL) * INTERVAL;
      const duplicates: number[] = [];
      for (let k = 0; k < 4; k++) {
        await a!.scrapeOnce(base + k * INTERVAL);
        const second = await b!.scrapeOnce(base + k * INTERVAL);
        duplicates.push(second.commit?.duplicate ?? -1);
      }
      assert.equal(hits.get("/metrics?0"), 8, "each scraper fetched every time");
      // Each fetch counted one more request, so the second scraper's value differs: refused as a duplicate (and so is
      // its scrape_duration_seconds; equal values, such as up, are accepted and ignored).
      assert.ok(
        duplicates.every((n) => n >= 1),
        `duplicates refused per second scrape: ${duplicates}`,
      );
      assert.deepEqual(
        samples(),
        [0, 1, 2, 3].map((k) => [base + k * INTERVAL, 2 * k + 1]),
        "one sample per timestamp, the first scraper's",
      );
      // A scrape that started late is stamped with its own time: kept if newer, refused as out of order if older.
      const late = await b!.scrapeOnce(base + 3 * INTERVAL + 40);
      const older = await a!.scrapeOnce(base + 3 * INTERVAL + 20);
      assert.equal(late.commit?.appended !== undefined && late.commit.appended > 0, true);
      assert.ok((older.commit?.outOfOrder ?? 0) >= 1, "the older scrape's samples are refused as out of order");
      assert.deepEqual(samples().at(-1), [base + 3 * INTERVAL + 40, 9]);
      assert.equal(samples().length, 5);
    } finally {
      await a!.stop();
      await b!.stop();
      await store.close();
      await server.close();
    }
  });
});
