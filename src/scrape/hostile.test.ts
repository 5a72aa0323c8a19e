// An app's /metrics answering hostile bodies: garbage, a body over the size limit (declared or streamed without
// end), a body that trickles forever, no answer at all, a line of a million labels, a 16 MB label value. Each
// scrape must end within a liveness bound with `up` 0 and an error naming the limit, keep what earlier scrapes
// stored, and leave the loop able to scrape a good body right after.

import assert from "node:assert/strict";
import type http from "node:http";
import { after, before, describe, test } from "node:test";
import { ScrapeLoop } from "./loop.ts";
import { resolveScrapeOptions, type ScrapeOptionsInput } from "./options.ts";
import { MemoryTenants, seriesSamples, serveText, startServer, type TestServer } from "./testkit.ts";

/** A liveness bound, not a speed assertion: a scrape that takes longer was not bounded. */
const LIVENESS_MS = 5000;
const ORG = "acme";
const GOOD = "good 1\n";

let server: TestServer;
before(async () => {
  server = await startServer(serveText(GOOD));
});
after(() => server.close());

function loopOver(store: MemoryTenants, opts: ScrapeOptionsInput = {}): ScrapeLoop {
  return new ScrapeLoop({
    target: {
      id: "t",
      org: ORG,
      url: server.url(),
      app: "web",
      region: "ord",
      host: "ab12",
      instance: "0123456789abcd",
    },
    store,
    options: resolveScrapeOptions({ timeoutMs: 1000, ...opts }),
  });
}

/** A handler streaming `chunk` every `everyMs` until the client goes away. */
function endless(
  chunk: string | Buffer,
  everyMs: number,
  headers: http.OutgoingHttpHeaders = {},
): http.RequestListener {
  return (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4", ...headers });
    const timer = setInterval(() => res.write(chunk), everyMs);
    res.on("close", () => clearInterval(timer));
  };
}

function garbage(n: number): Buffer {
  let s = 11;
  return Buffer.from(
    new Uint8Array(n).map(() => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      // Never NUL, which would end a Prometheus text body at once.
      return 1 + (s >>> 24) * 0.99;
    }),
  );
}

const LABELS = 1_000_000;
const CASES: { name: string; handler: () => http.RequestListener; opts?: ScrapeOptionsInput; error: RegExp }[] = [
  {
    name: "garbage bytes",
    handler: () => serveText(garbage(1024 * 1024).toString("latin1")),
    error: /expected a valid start token|invalid|unexpected/,
  },
  {
    name: "a body declared over the size limit",
    handler: () => (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": String(17 * 1024 * 1024) });
      res.write("a 1\n");
    },
    error: /body size limit exceeded: Content-Length 17825792 > 16777216 bytes/,
  },
  {
    name: "a body streamed without end",
    handler: () => endless(Buffer.alloc(256 * 1024, "# filler\n"), 1),
    opts: { timeoutMs: 4000 },
    error: /body size limit exceeded: more than 16777216 bytes/,
  },
  {
    name: "a body trickling forever",
    handler: () => endless("#", 20),
    error: /timed out after 1000 ms/,
  },
  {
    name: "headers never sent",
    handler: () => () => {},
    error: /timed out after 1000 ms/,
  },
  {
    name: "a line of a million labels",
    handler: () => {
      const parts: string[] = [];
      for (let i = 0; i < LABELS; i++) parts.push(`l${i}="x"`);
      return serveText(`wide{${parts.join(",")}} 1\n`);
    },
    error: /label limit exceeded: series wide\{l0="x",.*has 1000001 labels, the limit is 64/,
  },
  {
    name: "300,000 labels with the label limit off, one repeated",
    handler: () => {
      const parts: string[] = [];
      for (let i = 0; i < 300_000; i++) parts.push(`l${i}="x"`);
      return serveText(`wide{${parts.join(",")},l7="again"} 1\n`);
    },
    opts: { labelLimits: { maxLabels: 0 } },
    error: /duplicate label name "l7"/,
  },
  {
    name: "a 16 MB label value",
    handler: () => serveText(`big{blob="${"x".repeat(16 * 1024 * 1024 - 64)}"} 1\n`),
    error: /label value length limit exceeded: series big\{blob="x+….*the limit is 4096/,
  },
];

describe("hostile scrape targets", () => {
  for (const c of CASES) {
    test(`${c.name}: up 0 with the reason, earlier samples kept, the next scrape works`, async () => {
      const store = new MemoryTenants();
      server.handle(serveText(GOOD));
      const loop = loopOver(store, c.opts);
      assert.equal((await loop.scrapeOnce(1000)).up, true);
      server.handle(c.handler());
      const t0 = performance.now();
      const o = await loop.scrapeOnce(2000);
      const ms = performance.now() - t0;
      assert.ok(ms < LIVENESS_MS, `the scrape took ${Math.round(ms)} ms`);
      assert.equal(o.up, false);
      assert.match(o.error?.message ?? "", c.error);
      assert.ok((o.error?.message.length ?? 0) < 1000, "the error quotes a bounded part of the body");
      assert.deepEqual(
        seriesSamples(store.of(ORG), "up").map((x) => [x.t, x.v]),
        [
          [1000, 1],
          [2000, 0],
        ],
      );
      assert.deepEqual(seriesSamples(store.of(ORG), "good")[0], { t: 1000, v: 1 });
      server.handle(serveText(GOOD));
      assert.equal((await loop.scrapeOnce(3000)).up, true);
    });
  }

  test("many labels with the limit off are built in one sort, not label by label", async () => {
    const store = new MemoryTenants();
    const parts: string[] = [];
    for (let i = 0; i < 100_000; i++) parts.push(`l${i}="x"`);
    server.handle(serveText(`wide{${parts.join(",")}} 1\n`));
    const loop = loopOver(store, { labelLimits: { maxLabels: 0 } });
    const t0 = performance.now();
    const o = await loop.scrapeOnce(1000);
    assert.ok(performance.now() - t0 < LIVENESS_MS);
    assert.equal(o.error, null);
    assert.equal(seriesSamples(store.of(ORG), "wide").length, 1);
  });
});
