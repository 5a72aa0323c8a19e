// Scrapes into an org at its series limit (max_active_series, enforced by the tenant store): a new series of the
// body is refused and named in the target's last error, the target stays up and its existing series (the report
// series included) keep their samples, and the refused series is written once the limit has room again. The
// platform's in-process metrics (the edge's registry) are collected the same way.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Registry } from "../exposition/registry.ts";
import { newMatcher } from "../model/matcher.ts";
import { EmbeddedTenantStore } from "../storage/tenants.ts";
import { RegistryCollector } from "./inprocess.ts";
import { REPORT_SERIES, ScrapeLoop } from "./loop.ts";
import { resolveScrapeOptions } from "./options.ts";
import { serveText, startServer, type TestServer } from "./testkit.ts";

const ORG = "acme";
let dir: string;
let server: TestServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "scrape-series-limit-"));
  server = await startServer(serveText(""));
});

after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The samples of `name` in `store`'s org, as "labelvalue@t=v" of its `kind` label, sorted. */
function samplesOf(store: EmbeddedTenantStore, name: string): string[] {
  const q = store.querier(ORG, 0, Number.MAX_SAFE_INTEGER);
  try {
    const out: string[] = [];
    for (const s of q.select([newMatcher("=", "__name__", name)], { start: 0, end: Number.MAX_SAFE_INTEGER })) {
      const it = s.iterator();
      while (it.next() !== "none") out.push(`${s.labels.get("kind")}@${it.atT()}=${it.atV()}`);
    }
    return out.sort();
  } finally {
    q.close();
  }
}

test("a new series over the limit is refused, the scrape stays up and its other series are written", async () => {
  // The report series and the two series of the first body fill the limit exactly.
  let limit = REPORT_SERIES.length + 2;
  const store = new EmbeddedTenantStore({ dataDir: dir, idleCloseMs: 0, maxActiveSeries: () => limit });
  try {
    let body = 'jobs_total{kind="a"} 1\njobs_total{kind="b"} 2\n';
    server.handle(serveText(() => body));
    const loop = new ScrapeLoop({
      target: { id: "t1", org: ORG, url: server.url(), app: "demo", region: "ord", host: "h1", instance: "i1" },
      store,
      options: resolveScrapeOptions({ timeoutMs: 2000 }),
    });
    const t0 = Date.now() - 60_000;
    const first = await loop.scrapeOnce(t0);
    assert.equal(first.error, null);
    assert.equal(first.seriesLimited, 0);

    body = 'jobs_total{kind="a"} 3\njobs_total{kind="b"} 4\njobs_total{kind="c"} 5\n';
    const second = await loop.scrapeOnce(t0 + 15_000);
    assert.equal(second.up, true);
    assert.equal(second.error, null);
    assert.equal(second.seriesLimited, 1);
    assert.match(second.limitError?.message ?? "", /10 active series \(max_active_series\); new series .*kind="c"/);
    assert.match(loop.status().lastError, /max_active_series/);
    assert.equal(loop.status().health, "up");
    assert.deepEqual(samplesOf(store, "jobs_total"), [
      `a@${t0}=1`,
      `a@${t0 + 15_000}=3`,
      `b@${t0}=2`,
      `b@${t0 + 15_000}=4`,
    ]);
    // `up` of both scrapes: the report series are existing series.
    assert.equal(samplesOf(store, "up").length, 2);
    assert.equal(store.seriesLimited().get(ORG), 1);

    // Room again (the limit raised, as series leaving the head would make it): the series is written.
    limit += 1;
    const third = await loop.scrapeOnce(t0 + 30_000);
    assert.equal(third.seriesLimited, 0);
    assert.equal(loop.status().lastError, "");
    assert.ok(samplesOf(store, "jobs_total").includes(`c@${t0 + 30_000}=5`));
  } finally {
    store.close();
  }
});

test("the platform's in-process metrics: a new series over the limit is left out, the org's others written", () => {
  const store = new EmbeddedTenantStore({ dataDir: join(dir, "inprocess"), idleCloseMs: 0, maxActiveSeries: () => 1 });
  try {
    const registry = new Registry();
    const kinds = registry.counter({ name: "jobs_total", help: "Jobs.", labelNames: ["app", "kind"] });
    kinds.labels("web", "a").inc(1);
    const collector = new RegistryCollector({ source: { name: "edge", registry }, store, orgOfApp: () => ORG });
    const t0 = Date.now() - 60_000;
    assert.equal(collector.collectOnce(t0).appended, 1);
    kinds.labels("web", "a").inc(2);
    kinds.labels("web", "b").inc(5);
    const o = collector.collectOnce(t0 + 15_000);
    assert.equal(o.appended, 1);
    assert.equal(o.failed, 1);
    assert.deepEqual(o.orgs, [ORG], "the org's batch was committed");
    assert.match(o.errors.get(ORG)?.message ?? "", /1 active series \(max_active_series\); new series .*kind="b"/);
    assert.match(collector.status().lastError, /max_active_series/);
    assert.deepEqual(samplesOf(store, "jobs_total"), [`a@${t0}=1`, `a@${t0 + 15_000}=3`]);
  } finally {
    store.close();
  }
});
