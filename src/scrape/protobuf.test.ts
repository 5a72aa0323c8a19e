// Scrapes of a target answering in the protobuf exposition format: the Accept header asks for it first, native
// histograms reach `appendHistogram` with the values exposed, classic buckets are kept only when configured, and a
// store without histograms refuses them with a clear last error while the rest of the body is written.

import assert from "node:assert/strict";
import type http from "node:http";
import { after, before, describe, test } from "node:test";
import { PROTOBUF_CONTENT_TYPE, SCRAPE_ACCEPT_HEADER, writeProtobuf } from "../exposition/index.ts";
import { Registry } from "../exposition/registry.ts";
import { CounterResetHint } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import { ScrapeLoop } from "./loop.ts";
import { resolveScrapeOptions, type ScrapeOptionsInput } from "./options.ts";
import { MemoryTenants, seriesSamples, startServer, storedHistograms, type TestServer } from "./testkit.ts";

const ORG = "acme";
const PLATFORM = { app: "web", region: "ord", host: "ab12", instance: "0123456789abcd" };

/** A registry with a counter and a histogram keeping native buckets (schema 0), observed a few times. */
function exposed(): Registry {
  const reg = new Registry();
  reg.counter({ name: "jobs_total", help: "Jobs." }).labels().inc(3);
  const h = reg.histogram({ name: "rt_seconds", help: "RT.", buckets: [1], native: { schema: 0 } }).labels();
  for (const v of [0.3, 3]) h.observe(v);
  return reg;
}

/** Answers in protobuf when the Accept header offers it, in Prometheus text otherwise; remembers the Accept. */
function negotiating(reg: Registry, seen: string[]): http.RequestListener {
  return (req, res) => {
    const accept = String(req.headers.accept ?? "");
    seen.push(accept);
    if (accept.startsWith("application/vnd.google.protobuf")) {
      res.writeHead(200, { "Content-Type": PROTOBUF_CONTENT_TYPE });
      res.end(writeProtobuf(reg.collect()));
    } else {
      res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
      res.end("jobs_total 3\n");
    }
  };
}

function loop(store: MemoryTenants, url: string, opts: ScrapeOptionsInput = {}): ScrapeLoop {
  return new ScrapeLoop({
    target: { id: "t1", org: ORG, url, ...PLATFORM },
    store,
    options: resolveScrapeOptions({ timeoutMs: 2000, ...opts }),
  });
}

describe("protobuf scrapes", () => {
  let server: TestServer;
  const accepts: string[] = [];
  before(async () => {
    server = await startServer(negotiating(exposed(), accepts));
  });
  after(() => server.close());

  test("native histograms reach appendHistogram with the exposed values; classic buckets are not kept", async () => {
    const store = new MemoryTenants({ recordHistograms: true });
    const o = await loop(store, server.url()).scrapeOnce(1_000_000);
    assert.equal(o.up, true, o.error?.message);
    assert.match(
      accepts.at(-1) ?? "",
      /^application\/vnd\.google\.protobuf;proto=io\.prometheus\.client\.MetricFamily;encoding=delimited;q=0\.6,/,
    );
    assert.equal(store.histograms.length, 1);
    const got = store.histograms[0];
    assert.equal(got.t, 1_000_000);
    assert.match(got.labels, /^\{__name__="rt_seconds", app="web", .*instance="0123456789abcd"/);
    assert.deepEqual(got.h, {
      integer: true,
      counterResetHint: CounterResetHint.unknown,
      schema: 0,
      zeroThreshold: 2 ** -128,
      zeroCount: 0,
      count: 2,
      sum: 3.3,
      positiveSpans: [
        { offset: -1, length: 1 },
        { offset: 2, length: 1 },
      ],
      negativeSpans: [],
      positiveBuckets: [1, 1],
      negativeBuckets: [],
      customValues: [],
    });
    const mem = store.of(ORG);
    assert.deepEqual(seriesSamples(mem, "jobs_total"), [{ t: 1_000_000, v: 3 }]);
    assert.deepEqual(seriesSamples(mem, "rt_seconds_bucket"), []);
    assert.equal(o.added, 2);
  });

  test("with classicHistograms the classic series are kept beside the native histogram", async () => {
    const store = new MemoryTenants({ recordHistograms: true });
    const o = await loop(store, server.url(), { classicHistograms: true }).scrapeOnce(1_000_000);
    assert.equal(o.up, true, o.error?.message);
    assert.equal(store.histograms.length, 1);
    const mem = store.of(ORG);
    assert.deepEqual(
      seriesSamples(mem, "rt_seconds_bucket").map((s) => s.v),
      [1, 2],
    );
    assert.deepEqual(seriesSamples(mem, "rt_seconds_count"), [{ t: 1_000_000, v: 2 }]);
  });

  test("a store without histograms: they are refused with a clear last error, the target stays up", async () => {
    const store = new MemoryTenants();
    const l = loop(store, server.url());
    const o = await l.scrapeOnce(1_000_000);
    if (store.of(ORG).appender().appendHistogram !== undefined) {
      // The in-memory store keeps histograms: nothing is refused, and the histogram is there.
      assert.equal(o.histogramsRefused, 0);
      assert.deepEqual(
        storedHistograms(store.of(ORG), "rt_seconds").map(({ t, h }) => [t, h.count, h.sum, h.positiveBuckets]),
        [[1_000_000, 2, 3.3, [1, 1]]],
      );
      return;
    }
    assert.equal(o.up, true);
    assert.equal(o.histogramsRefused, 1);
    assert.match(l.status().lastError, /native histogram samples cannot be stored \(series \{__name__="rt_seconds"/);
    assert.equal(l.status().health, "up");
    assert.deepEqual(seriesSamples(store.of(ORG), "jobs_total"), [{ t: 1_000_000, v: 3 }]);
  });

  test("series that vanish from a protobuf body get stale markers, as with text", async () => {
    const store = new MemoryTenants({ recordHistograms: true });
    const l = loop(store, server.url());
    await l.scrapeOnce(1_000_000);
    server.handle((_req, res) => {
      res.writeHead(200, { "Content-Type": PROTOBUF_CONTENT_TYPE });
      res.end(writeProtobuf([]));
    });
    try {
      const o = await l.scrapeOnce(1_015_000);
      assert.equal(o.up, true, o.error?.message);
      const jobs = seriesSamples(store.of(ORG), "jobs_total");
      assert.equal(jobs.length, 2);
      assert.ok(Number.isNaN(jobs[1].v));
    } finally {
      server.handle(negotiating(exposed(), accepts));
    }
  });

  test("with nativeHistograms off only the text formats are asked for", async () => {
    const store = new MemoryTenants();
    const o = await loop(store, server.url(), { nativeHistograms: false }).scrapeOnce(1_000_000);
    assert.equal(o.up, true);
    assert.equal(accepts.at(-1), SCRAPE_ACCEPT_HEADER);
    assert.deepEqual(seriesSamples(store.of(ORG), "jobs_total"), [{ t: 1_000_000, v: 3 }]);
  });

  test("a family of 100,000 metrics is read one metric at a time and stopped by the sample limit", async () => {
    const store = new MemoryTenants();
    const metrics = 100_000;
    const body = writeProtobuf([
      {
        name: "g",
        type: "gauge",
        samples: Array.from({ length: metrics }, (_, i) => ({ labels: Labels.fromStrings("i", String(i)), value: 1 })),
      },
    ]);
    server.handle((_req, res) => {
      res.writeHead(200, { "Content-Type": PROTOBUF_CONTENT_TYPE });
      res.end(body);
    });
    try {
      const l = loop(store, server.url(), { sampleLimit: 1000 });
      const o = await l.scrapeOnce(1_000_000);
      assert.equal(o.up, false);
      assert.equal(o.total, metrics);
      assert.match(l.status().lastError, /sample limit exceeded: the scrape exposed 100000 samples, the limit is 1000/);
    } finally {
      server.handle(negotiating(exposed(), accepts));
    }
  });

  test("a hostile protobuf body fails the scrape with bad_data and the server answers on", async () => {
    const store = new MemoryTenants();
    server.handle((_req, res) => {
      res.writeHead(200, { "Content-Type": PROTOBUF_CONTENT_TYPE });
      res.end(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]));
    });
    try {
      const l = loop(store, server.url());
      const o = await l.scrapeOnce(1_000_000);
      assert.equal(o.up, false);
      assert.match(l.status().lastError, /invalid protobuf/);
    } finally {
      server.handle(negotiating(exposed(), accepts));
    }
  });
});
