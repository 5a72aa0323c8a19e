// Scrape throughput: one scrape loop over a 10,000-series body (request histograms shaped like prom-client's
// output, with the platform's 13 buckets) served from a loopback HTTP server, into an in-memory store. A scrape is
// the whole path: HTTP fetch, decompression, parse, cache lookups, append by ref, stale tracking, commit.
//   cold:   the first scrape of a fresh loop (every series builds its label set and is created)
//   steady: later scrapes of the same body (cache hits only), plain and gzip-compressed; and plain into the
//           embedded TSDB (WAL writes included) instead of memory
// Median of 5 runs, in samples/s. No peer ran on this data: there is no ratio to another scraper.
// Run: npm run bench -- scrape

import { rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { ScrapeLoop } from "../src/scrape/loop.ts";
import { resolveScrapeOptions } from "../src/scrape/options.ts";
import { MemoryTenants } from "../src/scrape/testkit.ts";
import type { TenantStore } from "../src/storage/interface.ts";
import { EmbeddedTenantStore } from "../src/storage/tenants.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { type Figure, printFigures, timeRuns } from "./harness.ts";

const SERIES = 10_000;
const BUCKETS = ["0.005", "0.025", "0.05", "0.1", "0.2", "0.5", "1", "5", "15", "30", "60", "120", "+Inf"];
const METHODS = ["GET", "POST", "PUT", "DELETE"];
const CODES = ["200", "201", "204", "301", "400", "404", "500", "503"];

function makeBody(): string {
  const lines = [
    "# HELP http_request_duration_seconds Duration of HTTP requests in seconds.",
    "# TYPE http_request_duration_seconds histogram",
  ];
  let n = 0;
  for (let route = 0; n < SERIES; route++) {
    for (const method of METHODS) {
      for (const code of CODES) {
        if (n >= SERIES) break;
        const base = `method="${method}",route="/api/v1/resource_${route}/items",status_code="${code}"`;
        let count = 0;
        for (const le of BUCKETS) {
          count += (route * 7 + le.length) % 13;
          lines.push(`http_request_duration_seconds_bucket{${base},le="${le}"} ${count}`);
        }
        lines.push(`http_request_duration_seconds_sum{${base}} ${(count * 0.123).toFixed(3)}`);
        lines.push(`http_request_duration_seconds_count{${base}} ${count}`);
        n += BUCKETS.length + 2;
      }
    }
  }
  return `${lines.slice(0, SERIES + 2).join("\n")}\n`;
}

async function main(): Promise<void> {
  const body = Buffer.from(makeBody());
  const gzipped = gzipSync(body);
  const server = http.createServer((req, res) => {
    const gz = req.url === "/gzip";
    res.writeHead(200, {
      "Content-Type": "text/plain; version=0.0.4",
      ...(gz ? { "Content-Encoding": "gzip" } : {}),
    });
    res.end(gz ? gzipped : body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const options = resolveScrapeOptions();
  const platform = { org: "acme", app: "bench", region: "ord", host: "ab12", instance: "0123456789abcd" };
  const loopFor = (path: string, store: TenantStore = new MemoryTenants()) =>
    new ScrapeLoop({
      target: { id: path, url: `http://127.0.0.1:${port}${path}`, ...platform },
      store,
      options,
    });

  let t = Date.now() - 3_600_000;
  const scrape = async (loop: ScrapeLoop) => {
    t += 15_000;
    const o = await loop.scrapeOnce(t);
    if (o.error !== null) throw o.error;
    if (o.added !== SERIES) throw new Error(`expected ${SERIES} samples, got ${o.added}`);
  };
  const rate = (ms: readonly number[]) => ms.map((x) => SERIES / (x / 1000));

  const cold = await timeRuns(() => scrape(loopFor("/metrics")), { runs: 5, warmup: 1 });
  const plain = loopFor("/metrics");
  const steady = await timeRuns(() => scrape(plain), { runs: 5, warmup: 2 });
  const gz = loopFor("/gzip");
  const steadyGz = await timeRuns(() => scrape(gz), { runs: 5, warmup: 2 });
  const dir = scratchDir("contrail-bench-scrape-");
  const tsdb = new EmbeddedTenantStore({ dataDir: dir, idleCloseMs: 0 });
  const embedded = loopFor("/metrics", tsdb);
  const steadyDb = await timeRuns(() => scrape(embedded), { runs: 5, warmup: 2 });
  tsdb.close();
  rmSync(dir, { recursive: true, force: true });
  server.close();

  const figures: Figure[] = [
    { name: "cold first scrape", unit: "samples/s", runs: rate(cold), higherIsBetter: true },
    { name: "steady scrape", unit: "samples/s", runs: rate(steady), higherIsBetter: true },
    { name: "steady scrape, gzip", unit: "samples/s", runs: rate(steadyGz), higherIsBetter: true },
    { name: "steady scrape, embedded TSDB", unit: "samples/s", runs: rate(steadyDb), higherIsBetter: true },
  ];
  printFigures(
    `scrape: ${SERIES} series, ${(body.length / 1e6).toFixed(2)} MB (${(gzipped.length / 1e3).toFixed(0)} kB gzip), loopback`,
    figures,
  );
  console.log("(no peer: no other scraper ran on this body, so there is no ratio)");
}

await main();
