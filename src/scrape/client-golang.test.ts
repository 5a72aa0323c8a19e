// A protobuf scrape of a real client_golang program (Debian's client_golang 1.14, testdata/native-histogram-go):
// its histogram has native buckets (factor 1.1, schema 3) and classic ones, and promhttp answers our Accept header in
// the protobuf format. The native histogram must arrive as the one our registry computes from the same observations
// (which also checks our bucket indices against client_golang's), and the classic buckets must be kept when asked.
// Skipped when Go or client_golang is not installed.

import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Registry } from "../exposition/registry.ts";
import type { Histogram } from "../model/histogram.ts";
import { ScrapeLoop } from "./loop.ts";
import { resolveScrapeOptions } from "./options.ts";
import { MemoryTenants, seriesSamples } from "./testkit.ts";

const GOPATH = "/usr/share/gocode";
const HAVE_GO =
  spawnSync("go", ["version"], { stdio: "ignore" }).status === 0 &&
  existsSync(join(GOPATH, "src/github.com/prometheus/client_golang/prometheus"));
const SKIP = HAVE_GO ? false : "go or client_golang (golang-github-prometheus-client-golang-dev) is not installed";
/** Building client_golang from source takes a while on a loaded machine. */
const BUILD_TIMEOUT_MS = 240_000;
const SOURCE = fileURLToPath(new URL("./testdata/native-histogram-go/main.go", import.meta.url));
const OBSERVED = [0.003, 0.04, 0.04, 0.7, 2.5, 0, -0.5];

let dir: string;
let child: ChildProcess | null = null;
let port = 0;

before(async () => {
  if (!HAVE_GO) return;
  dir = mkdtempSync(join(tmpdir(), "contrail-client-golang-"));
  const bin = join(dir, "native-histogram");
  const build = spawnSync("go", ["build", "-o", bin, SOURCE], {
    env: { ...process.env, GOPATH, GO111MODULE: "off" },
    timeout: BUILD_TIMEOUT_MS,
    encoding: "utf8",
  });
  assert.equal(build.status, 0, build.stderr);
  const c = spawn(bin, OBSERVED.map(String), { stdio: ["ignore", "pipe", "inherit"] });
  child = c;
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: c.stdout! }).once("line", resolve);
    c.once("exit", (code) => reject(new Error(`the Go program exited with ${code}`)));
  });
  port = Number(first);
});

after(() => {
  child?.kill();
  if (HAVE_GO) rmSync(dir, { recursive: true, force: true });
});

/** The native histogram our registry keeps for `OBSERVED` with client_golang's settings. */
function expected(): Histogram {
  const reg = new Registry();
  const h = reg.histogram({ name: "rt_seconds", help: "", buckets: [0.1, 1], native: { schema: 3 } }).labels();
  for (const v of OBSERVED) h.observe(v);
  let out: Histogram | undefined;
  reg.forEachHistogram((_l, x) => {
    out = x;
  });
  return out!;
}

test("client_golang's native histogram arrives as our registry computes it; classic buckets kept when asked", {
  skip: SKIP,
}, async () => {
  const store = new MemoryTenants({ recordHistograms: true });
  const loop = new ScrapeLoop({
    target: {
      id: "go",
      org: "acme",
      url: `http://127.0.0.1:${port}/metrics`,
      app: "go",
      region: "ord",
      host: "ab12",
      instance: "i1",
    },
    store,
    options: resolveScrapeOptions({ timeoutMs: 5000, classicHistograms: true }),
  });
  const o = await loop.scrapeOnce(1_000_000);
  assert.equal(o.up, true, o.error?.message);
  assert.equal(store.histograms.length, 1);
  assert.deepEqual(store.histograms[0].h, expected());
  assert.deepEqual(
    seriesSamples(store.of("acme"), "rt_seconds_bucket").map((s) => s.v),
    [5, 6, 7],
  );
  assert.deepEqual(seriesSamples(store.of("acme"), "rt_seconds_count"), [{ t: 1_000_000, v: 7 }]);
});
