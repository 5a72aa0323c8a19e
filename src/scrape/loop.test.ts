import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { OPENMETRICS_CONTENT_TYPE } from "../exposition/index.ts";
import { Labels } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import { isStaleNaN } from "../model/sample.ts";
import { EmbeddedTenantStore } from "../storage/tenants.ts";
import { TargetLabelsBuilder } from "./append.ts";
import { REPORT_SERIES, ScrapeLoop } from "./loop.ts";
import { resolveScrapeOptions, type ScrapeOptionsInput } from "./options.ts";
import { activeTarget } from "./status.ts";
import type { ScrapeTarget } from "./target.ts";
import {
  closedPort,
  MemoryTenants,
  seriesSamples,
  serveText,
  startServer,
  storedSamples,
  type TestServer,
} from "./testkit.ts";

const ORG = "acme";
const PLATFORM = { app: "node-express-demo", region: "ord", host: "ab12", instance: "0123456789abcd" };

function target(url: string, id = "t1"): ScrapeTarget {
  return { id, org: ORG, url, ...PLATFORM };
}

function newLoop(store: MemoryTenants, url: string, opts: ScrapeOptionsInput = {}): ScrapeLoop {
  return new ScrapeLoop({ target: target(url), store, options: resolveScrapeOptions({ timeoutMs: 2000, ...opts }) });
}

describe("scrape loop over loopback HTTP", () => {
  let server: TestServer;

  before(async () => {
    server = await startServer(serveText(""));
  });
  after(() => server.close());

  test("platform labels override the app's own labels; report series carry them and no job", async () => {
    server.handle(
      serveText(
        [
          "# TYPE requests_total counter",
          'requests_total{app="spoofed",region="xxx",path="/"} 5',
          'requests_total{instance="fake",path="/a"} 7',
          "temperature 21.5",
          "",
        ].join("\n"),
      ),
    );
    const store = new MemoryTenants();
    const loop = newLoop(store, server.url());
    const o = await loop.scrapeOnce(1_000_000);
    assert.equal(o.error, null);
    assert.equal(o.up, true);
    assert.equal(o.total, 3);
    assert.equal(o.added, 3);
    assert.equal(o.seriesAdded, 3);
    const s = store.of(ORG);
    const req = storedSamples(s, "requests_total");
    assert.deepEqual(
      req.map((x) => x.labels),
      [
        { __name__: "requests_total", path: "/", ...PLATFORM },
        { __name__: "requests_total", path: "/a", ...PLATFORM },
      ],
    );
    assert.deepEqual(
      req.map((x) => [x.t, x.v]),
      [
        [1_000_000, 5],
        [1_000_000, 7],
      ],
    );
    for (const name of REPORT_SERIES) {
      const r = storedSamples(s, name);
      assert.equal(r.length, 1, name);
      assert.deepEqual(r[0].labels, { __name__: name, ...PLATFORM });
      assert.equal(r[0].t, 1_000_000);
    }
    assert.equal(seriesSamples(s, "up")[0].v, 1);
    assert.equal(seriesSamples(s, "scrape_samples_scraped")[0].v, 3);
    assert.equal(seriesSamples(s, "scrape_samples_post_metric_relabeling")[0].v, 3);
    assert.equal(seriesSamples(s, "scrape_series_added")[0].v, 3);
    assert.ok(seriesSamples(s, "scrape_duration_seconds")[0].v > 0);
    assert.equal(loop.status().health, "up");
    assert.equal(loop.status().lastScrape, 1_000_000);
    assert.equal(store.orgs().join(), ORG, "samples go to the target's org only");
  });

  test("a steady scrape hits the cache: no label sets built, every sample appended by ref", async (t) => {
    server.handle(serveText('a 1\nb{x="1"} 2\nb{x="2"} 3\nc_total 4\n'));
    const store = new MemoryTenants();
    const loop = newLoop(store, server.url());
    const built = t.mock.method(TargetLabelsBuilder.prototype, "labels");
    const first = await loop.scrapeOnce(1000);
    assert.equal(first.labelsBuilt, 4);
    assert.equal(built.mock.callCount(), 4);
    const seriesAfterFirst = store.of(ORG).numSeries;
    store.resetCounts();
    built.mock.resetCalls();
    const second = await loop.scrapeOnce(16_000);
    assert.equal(second.labelsBuilt, 0);
    assert.equal(built.mock.callCount(), 0, "no label set built on a steady scrape");
    assert.equal(second.seriesAdded, 0);
    assert.deepEqual(store.counts, { append: 0, appendRef: 4 + REPORT_SERIES.length, commits: 1, rollbacks: 0 });
    assert.equal(store.of(ORG).numSeries, seriesAfterFirst);
    assert.equal(loop.cachedSeries, 4);
  });

  test("refs kept from a database opened again are forgotten: no sample lands in a series that took an old ref", async () => {
    server.handle(serveText('a 1\nb{x="1"} 2\n'));
    const store = new MemoryTenants();
    const loop = newLoop(store, server.url());
    await loop.scrapeOnce(1000);
    // The org's database comes back without its series, and another writer creates one first: it takes ref 0,
    // the ref the loop had kept for `a`.
    store.reopen(ORG);
    const other = store.appender(ORG);
    other.append(Labels.fromRecord({ __name__: "other" }), 15_000, 99);
    other.commit();
    store.resetCounts();
    const o = await loop.scrapeOnce(16_000);
    assert.equal(o.error, null);
    assert.equal(store.counts.appendRef, 0, "no kept ref is used with the new database");
    assert.deepEqual(
      storedSamples(store.of(ORG), "other").map((x) => [x.t, x.v]),
      [[15_000, 99]],
    );
    assert.deepEqual(
      storedSamples(store.of(ORG), "a").map((x) => [x.t, x.v]),
      [[16_000, 1]],
    );
    // The next scrape uses the refs of the new database again.
    store.resetCounts();
    await loop.scrapeOnce(31_000);
    assert.equal(store.counts.append, 0);
    assert.equal(store.counts.appendRef, 2 + REPORT_SERIES.length);
  });

  test("series that vanish get a stale marker at the next scrape, and only once", async () => {
    let body = "a 1\nb 2\nc 3\n";
    server.handle(serveText(() => body));
    const store = new MemoryTenants();
    const loop = newLoop(store, server.url());
    await loop.scrapeOnce(1000);
    body = "a 1\nc 3\n";
    const o = await loop.scrapeOnce(2000);
    assert.equal(o.up, true);
    await loop.scrapeOnce(3000);
    const s = store.of(ORG);
    const b = seriesSamples(s, "b");
    assert.equal(b.length, 2);
    assert.deepEqual(b[0], { t: 1000, v: 2 });
    assert.equal(b[1].t, 2000);
    assert.ok(isStaleNaN(b[1].v));
    assert.deepEqual(
      seriesSamples(s, "a").map((x) => x.t),
      [1000, 2000, 3000],
    );
    assert.equal(loop.cachedSeries, 2, "vanished series leave the cache");
    // It comes back: a fresh series entry, appended again.
    body = "a 1\nb 5\nc 3\n";
    const back = await loop.scrapeOnce(4000);
    assert.equal(back.seriesAdded, 1);
    assert.deepEqual(seriesSamples(s, "b").at(-1), { t: 4000, v: 5 });
  });

  test("samples with their own timestamp keep it and get no stale marker", async () => {
    let body = "a 1 500\nb 2\n";
    server.handle(serveText(() => body));
    const store = new MemoryTenants();
    const loop = newLoop(store, server.url());
    await loop.scrapeOnce(1000);
    body = "b 3\n";
    await loop.scrapeOnce(2000);
    const s = store.of(ORG);
    assert.deepEqual(seriesSamples(s, "a"), [{ t: 500, v: 1 }]);
    assert.deepEqual(seriesSamples(s, "b"), [
      { t: 1000, v: 2 },
      { t: 2000, v: 3 },
    ]);
  });

  const failures: { name: string; setup: () => Promise<{ url: string; opts?: ScrapeOptionsInput }>; error: RegExp }[] =
    [
      {
        name: "connection refused",
        setup: async () => ({ url: `http://127.0.0.1:${await closedPort()}/metrics` }),
        error: /ECONNREFUSED/,
      },
      {
        name: "HTTP 500",
        setup: async () => {
          server.handle((_req, res) => {
            res.writeHead(500);
            res.end("boom");
          });
          return { url: server.url() };
        },
        error: /server returned HTTP status 500 Internal Server Error/,
      },
      {
        name: "truncated body",
        setup: async () => {
          server.handle((_req, res) => {
            res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": "100" });
            res.write("a 1\n");
            setTimeout(() => res.socket?.destroy(), 20);
          });
          return { url: server.url() };
        },
        error: /connection closed before the body was complete/,
      },
      {
        name: "timeout",
        setup: async () => {
          server.handle((_req, res) => {
            const timer = setTimeout(() => res.end("late 1\n"), 2000);
            res.on("close", () => clearTimeout(timer));
          });
          return { url: server.url(), opts: { timeoutMs: 150 } };
        },
        error: /timed out after 150 ms/,
      },
    ];

  for (const f of failures) {
    test(`a failing scrape (${f.name}): up 0, the error recorded, only the report series written`, async () => {
      server.handle(serveText("a 1\nb 2\n"));
      const store = new MemoryTenants();
      const ok = await startServer(serveText("a 1\nb 2\n"));
      const good = newLoop(store, ok.url());
      await good.scrapeOnce(1000);
      await ok.close();
      const { url, opts } = await f.setup();
      const loop = newLoop(store, url, opts);
      const first = await loop.scrapeOnce(2000);
      assert.equal(first.up, false);
      assert.match(first.error?.message ?? "", f.error);
      assert.match(loop.status().lastError, f.error);
      assert.equal(loop.status().health, "down");
      const s = store.of(ORG);
      const up = seriesSamples(s, "up");
      assert.deepEqual(
        up.map((x) => [x.t, x.v]),
        [
          [1000, 1],
          [2000, 0],
        ],
      );
      assert.deepEqual(seriesSamples(s, "scrape_samples_scraped").at(-1), { t: 2000, v: 0 });
      // Nothing but report series was written at 2000 by the failing loop.
      const at2000 = storedSamples(s).filter((x) => x.t === 2000);
      assert.deepEqual(at2000.map((x) => x.labels.__name__).sort(), [...REPORT_SERIES].sort());
    });
  }

  test("after a success, a failed scrape marks every series of the last success stale", async () => {
    let fail = false;
    server.handle((_req, res) => {
      if (fail) {
        res.writeHead(503);
        res.end();
      } else {
        res.writeHead(200, { "Content-Type": "text/plain" });
        res.end("a 1\nb 2\n");
      }
    });
    const store = new MemoryTenants();
    const loop = newLoop(store, server.url());
    await loop.scrapeOnce(1000);
    fail = true;
    const o = await loop.scrapeOnce(2000);
    assert.equal(o.up, false);
    const s = store.of(ORG);
    for (const name of ["a", "b"]) {
      const xs = seriesSamples(s, name);
      assert.equal(xs.length, 2, name);
      assert.equal(xs[1].t, 2000);
      assert.ok(isStaleNaN(xs[1].v), `${name} is stale`);
    }
    // A second failure writes no second marker.
    await loop.scrapeOnce(3000);
    assert.equal(seriesSamples(s, "a").length, 2);
    fail = false;
    const back = await loop.scrapeOnce(4000);
    assert.equal(back.up, true);
    assert.equal(back.labelsBuilt, 0, "the cache kept the label sets across the failure");
    assert.deepEqual(seriesSamples(s, "a").at(-1), { t: 4000, v: 1 });
  });

  test("a body over 16 MiB (one byte over) fails the scrape; exactly the limit passes", async () => {
    const limit = 16 * 1024 * 1024;
    const line = "x 1\n";
    const big = Buffer.alloc(limit + 1, "#");
    big.write(line, 0);
    big[limit] = 0x0a;
    server.handle((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end(big);
    });
    const store = new MemoryTenants();
    const loop = newLoop(store, server.url(), { timeoutMs: 10_000 });
    const o = await loop.scrapeOnce(1000);
    assert.equal(o.up, false);
    assert.equal(o.error?.code, "too_large");
    assert.match(o.error?.message ?? "", /body size limit exceeded: more than 16777216 bytes/);
    assert.deepEqual(seriesSamples(store.of(ORG), "x"), []);

    // With a small limit: a body of exactly the limit is read, one byte more is refused.
    const body = "a 1\nb 2\n";
    server.handle(serveText(body));
    const exact = newLoop(store, server.url(), { bodyLimitBytes: body.length });
    assert.equal((await exact.scrapeOnce(2000)).up, true);
    const over = newLoop(store, server.url(), { bodyLimitBytes: body.length - 1 });
    assert.equal((await over.scrapeOnce(3000)).error?.code, "too_large");
  });

  test("a gzip body is decompressed; a gzip bomb over the limit fails", async () => {
    const text = '# TYPE g gauge\ng{k="v"} 42\nh 7\n';
    server.handle((req, res) => {
      assert.match(String(req.headers["accept-encoding"]), /gzip/);
      assert.match(String(req.headers.accept), /application\/openmetrics-text/);
      res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4", "Content-Encoding": "gzip" });
      res.end(gzipSync(text));
    });
    const store = new MemoryTenants();
    const loop = newLoop(store, server.url());
    const o = await loop.scrapeOnce(1000);
    assert.equal(o.error, null);
    assert.deepEqual(seriesSamples(store.of(ORG), "g", { k: "v" }), [{ t: 1000, v: 42 }]);

    const bomb = gzipSync(Buffer.alloc(1024 * 1024, "#"));
    server.handle((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/plain", "Content-Encoding": "gzip" });
      res.end(bomb);
    });
    const small = newLoop(store, server.url(), { bodyLimitBytes: 64 * 1024 });
    const b = await small.scrapeOnce(2000);
    assert.equal(b.error?.code, "too_large");
    assert.match(b.error?.message ?? "", /decompressed/);
  });

  test("over the sample limit: up 0, nothing of the body appended, the counts reported", async () => {
    server.handle(serveText("a 1\nb 2\nc 3\nd 4\ne 5\n"));
    const store = new MemoryTenants();
    const loop = newLoop(store, server.url(), { sampleLimit: 3 });
    const o = await loop.scrapeOnce(1000);
    assert.equal(o.up, false);
    assert.equal(o.error?.code, "limit_exceeded");
    assert.equal(o.error?.message, "sample limit exceeded: the scrape exposed 5 samples, the limit is 3");
    const s = store.of(ORG);
    for (const name of ["a", "b", "c", "d", "e"]) assert.deepEqual(seriesSamples(s, name), [], name);
    assert.deepEqual(seriesSamples(s, "up"), [{ t: 1000, v: 0 }]);
    assert.deepEqual(seriesSamples(s, "scrape_samples_scraped"), [{ t: 1000, v: 5 }]);
    assert.equal(loop.cachedSeries, 0, "a failed scrape leaves no new cache entries");
    // Exactly at the limit passes.
    const at = newLoop(store, server.url(), { sampleLimit: 5 });
    assert.equal((await at.scrapeOnce(2000)).up, true);
  });

  test("the extra report series: timeout, sample limit and body size of every scrape", async () => {
    const body = "a 1\nb 2\n";
    server.handle(serveText(body));
    const store = new MemoryTenants();
    await newLoop(store, server.url()).scrapeOnce(1000);
    const s = store.of(ORG);
    assert.deepEqual(seriesSamples(s, "scrape_timeout_seconds"), [{ t: 1000, v: 2 }]);
    assert.deepEqual(seriesSamples(s, "scrape_sample_limit"), [{ t: 1000, v: 100_000 }]);
    assert.deepEqual(seriesSamples(s, "scrape_body_size_bytes"), [{ t: 1000, v: body.length }]);
    // Any other failure reports a body of 0 bytes.
    const closed = new MemoryTenants();
    await newLoop(closed, `http://127.0.0.1:${await closedPort()}/metrics`).scrapeOnce(1000);
    assert.deepEqual(seriesSamples(closed.of(ORG), "scrape_body_size_bytes"), [{ t: 1000, v: 0 }]);
  });

  describe("an app's own limits on its target", () => {
    const body = "a 1\nb 2\nc 3\nd 4\ne 5\n";
    const limited = (store: MemoryTenants, limits: ScrapeTarget["limits"], opts: ScrapeOptionsInput = {}) =>
      new ScrapeLoop({
        target: { ...target(server.url()), limits },
        store,
        options: resolveScrapeOptions({ timeoutMs: 2000, ...opts }),
      });

    test("a lower sample_limit fails the scrape; up, scrape_* and the targets API say why", async () => {
      server.handle(serveText(body));
      const store = new MemoryTenants();
      const loop = limited(store, { sampleLimit: 3 });
      const o = await loop.scrapeOnce(1000);
      const why =
        "sample limit exceeded: the scrape exposed 5 samples, the limit is 3 (sample_limit of the app's [metrics])";
      assert.equal(o.error?.message, why);
      const s = store.of(ORG);
      assert.deepEqual(seriesSamples(s, "up"), [{ t: 1000, v: 0 }]);
      assert.deepEqual(seriesSamples(s, "scrape_samples_scraped"), [{ t: 1000, v: 5 }]);
      assert.deepEqual(seriesSamples(s, "scrape_sample_limit"), [{ t: 1000, v: 3 }]);
      assert.deepEqual(seriesSamples(s, "scrape_body_size_bytes"), [{ t: 1000, v: body.length }]);
      assert.deepEqual(seriesSamples(s, "a"), []);
      const api = activeTarget(loop.target, loop.status(), resolveScrapeOptions());
      assert.equal(api.health, "down");
      assert.equal(api.lastError, why);
    });

    test("a lower body_size_limit fails the scrape with scrape_body_size_bytes -1", async () => {
      server.handle(serveText(body));
      const store = new MemoryTenants();
      const loop = limited(store, { bodyLimitBytes: 8 });
      const o = await loop.scrapeOnce(1000);
      assert.equal(o.error?.code, "too_large");
      assert.match(
        o.error?.message ?? "",
        /body size limit exceeded: .*8 bytes \(body_size_limit of the app's \[metrics\]\)$/,
      );
      assert.equal(loop.status().lastError, o.error?.message);
      const s = store.of(ORG);
      assert.deepEqual(seriesSamples(s, "up"), [{ t: 1000, v: 0 }]);
      assert.deepEqual(seriesSamples(s, "scrape_body_size_bytes"), [{ t: 1000, v: -1 }]);
    });

    test("the platform's limit wins when it is lower, and is named as the platform's", async () => {
      server.handle(serveText(body));
      const store = new MemoryTenants();
      const o = await limited(store, { sampleLimit: 10, bodyLimitBytes: 1 << 20 }, { sampleLimit: 4 }).scrapeOnce(1000);
      assert.equal(o.error?.message, "sample limit exceeded: the scrape exposed 5 samples, the limit is 4");
      assert.deepEqual(seriesSamples(store.of(ORG), "scrape_sample_limit"), [{ t: 1000, v: 4 }]);
      const none = await limited(new MemoryTenants(), { sampleLimit: 5 }, { sampleLimit: 0 }).scrapeOnce(1000);
      assert.equal(none.up, true, "exactly at the app's limit, with no platform limit");
    });
  });

  const labelCases: { name: string; body: string; limits: ScrapeOptionsInput["labelLimits"]; error: RegExp }[] = [
    {
      name: "label count",
      body: 'm{a="1",b="2"} 1\n',
      limits: { maxLabels: 6 },
      error: /label limit exceeded: series m\{a="1",b="2"\} has 7 labels \(platform labels included\), the limit is 6/,
    },
    {
      name: "label name length",
      body: 'm{abcdefghijk="1"} 1\n',
      limits: { maxLabelNameLength: 10 },
      error: /label name length limit exceeded: series m\{abcdefghijk="1"\} has a label name of 11 characters/,
    },
    {
      name: "label value length",
      body: 'm{a="0123456789012345678901"} 1\n',
      limits: { maxLabelValueLength: 20 },
      error: /label value length limit exceeded: .* has a value of 22 characters for label a, the limit is 20/,
    },
  ];
  for (const c of labelCases) {
    test(`a series over the ${c.name} limit fails the scrape`, async () => {
      server.handle(serveText(`ok 1\n${c.body}`));
      const store = new MemoryTenants();
      const loop = newLoop(store, server.url(), { labelLimits: c.limits });
      const o = await loop.scrapeOnce(1000);
      assert.equal(o.up, false);
      assert.equal(o.error?.code, "limit_exceeded");
      assert.match(o.error?.message ?? "", c.error);
      assert.deepEqual(seriesSamples(store.of(ORG), "ok"), [], "the whole body is rolled back");
    });
  }

  test("a malformed line fails the scrape with an error naming the line; nothing of the body is kept", async () => {
    server.handle(serveText('good 1\nbad{x="1" 2\nafter 3\n'));
    const store = new MemoryTenants();
    const loop = newLoop(store, server.url());
    const o = await loop.scrapeOnce(1000);
    assert.equal(o.up, false);
    assert.equal(o.error?.code, "bad_data");
    assert.match(o.error?.message ?? "", /^line 2: .*bad\{x=/);
    assert.deepEqual(seriesSamples(store.of(ORG), "good"), []);
    assert.equal(loop.status().lastError, o.error?.message);
  });

  test("OpenMetrics bodies are parsed as such and their metadata kept", async () => {
    server.handle(
      serveText(
        [
          "# TYPE http_request_duration_seconds histogram",
          "# UNIT http_request_duration_seconds seconds",
          "# HELP http_request_duration_seconds Request time.",
          'http_request_duration_seconds_bucket{le="0.1"} 3',
          'http_request_duration_seconds_bucket{le="+Inf"} 4',
          "http_request_duration_seconds_sum 0.5",
          "http_request_duration_seconds_count 4",
          "# EOF",
          "",
        ].join("\n"),
        OPENMETRICS_CONTENT_TYPE,
      ),
    );
    const store = new MemoryTenants();
    const loop = newLoop(store, server.url());
    const o = await loop.scrapeOnce(1000);
    assert.equal(o.error, null);
    assert.deepEqual(seriesSamples(store.of(ORG), "http_request_duration_seconds_bucket", { le: "0.1" }), [
      { t: 1000, v: 3 },
    ]);
    const md: Record<string, unknown> = {};
    loop.forEachMetadata((name, m) => {
      md[name] = m;
    });
    assert.deepEqual(md, {
      http_request_duration_seconds: { type: "histogram", help: "Request time.", unit: "seconds" },
    });
  });

  test("end-of-run stale markers cover the last scrape's series and the report series", async () => {
    server.handle(serveText("a 1\nb 2 500\n"));
    const store = new MemoryTenants();
    const loop = newLoop(store, server.url());
    await loop.scrapeOnce(1000);
    await loop.stop();
    const r = loop.writeStaleMarkers(16_000);
    assert.equal(r?.appended, 1 + REPORT_SERIES.length);
    const s = store.of(ORG);
    assert.ok(isStaleNaN(seriesSamples(s, "a").at(-1)!.v));
    assert.ok(isStaleNaN(seriesSamples(s, "up").at(-1)!.v));
    assert.equal(seriesSamples(s, "b").length, 1, "a series with its own timestamps gets no marker");
  });

  test("unavailable storage: the scrape is reported down and nothing is written", async () => {
    server.handle(serveText("a 1\n"));
    const store = new MemoryTenants();
    store.failing.add(ORG);
    const loop = newLoop(store, server.url());
    const o = await loop.scrapeOnce(1000);
    assert.equal(o.up, false);
    assert.match(o.error?.message ?? "", /storage of acme is unavailable/);
    assert.equal(o.commit, null);
  });

  test("scrapes into an embedded tenant store, queryable afterwards", async () => {
    const dir = mkdtempSync(join(tmpdir(), "contrail-scrape-"));
    const store = new EmbeddedTenantStore({ dataDir: dir, idleCloseMs: 0 });
    try {
      let body = 'events_by_type{event_type="a"} 1\nevents_by_type{event_type="b"} 2\n';
      server.handle(serveText(() => body));
      const loop = new ScrapeLoop({ target: target(server.url()), store, options: resolveScrapeOptions() });
      const t0 = Date.now() - 60_000;
      assert.equal((await loop.scrapeOnce(t0)).up, true);
      body = 'events_by_type{event_type="a"} 3\n';
      assert.equal((await loop.scrapeOnce(t0 + 15_000)).up, true);
      const q = store.querier(ORG, t0 - 1, t0 + 20_000);
      try {
        const set = [
          ...q.select([newMatcher("=", "__name__", "events_by_type")], {
            start: t0 - 1,
            end: t0 + 20_000,
            sorted: true,
          }),
        ];
        const got = set.map((series) => {
          const it = series.iterator();
          const vs: number[] = [];
          while (it.next() !== "none") vs.push(it.atV());
          return [
            series.labels.get("event_type"),
            series.labels.get("app"),
            vs.map((v) => (isStaleNaN(v) ? "stale" : v)),
          ];
        });
        assert.deepEqual(got, [
          ["a", PLATFORM.app, [1, 3]],
          ["b", PLATFORM.app, [2, "stale"]],
        ]);
      } finally {
        q.close();
      }
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("labels of a cached series are the stored ones (platform labels applied once)", () => {
    const b = new TargetLabelsBuilder([
      ["app", "x"],
      ["region", "ord"],
    ]);
    b.reset(Labels.EMPTY);
    b.set("__name__", "m");
    b.set("app", "mine");
    assert.equal(b.labels().toString(), '{__name__="m", app="x", region="ord"}');
  });
});
