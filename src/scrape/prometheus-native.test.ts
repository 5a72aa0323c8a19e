// A real Prometheus (Debian's 2.42, `--enable-feature=native-histograms`) between our two ends of native histograms:
// it scrapes a loopback /metrics that serves a registry's native histogram in the protobuf format (negotiated by its
// Accept header, so this checks our writer against Prometheus's parser), and remote-writes what it stored to our
// receiver with `send_native_histograms: true` (checking our decoder against Prometheus's encoder). The histogram
// that arrives must be the one exposed. Skipped when prometheus is not installed.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  PROMETHEUS_TEXT_CONTENT_TYPE,
  PROTOBUF_CONTENT_TYPE,
  prefersProtobuf,
  writePrometheusText,
  writeProtobuf,
} from "../exposition/index.ts";
import { Registry } from "../exposition/registry.ts";
import type { Histogram } from "../model/histogram.ts";
import { outcomeHeaders, ReceiverState, receiveWrite } from "../storage/remote/receive.ts";
import { type Peer, startPrometheus } from "../testkit/peers.ts";
import { MemoryTenants } from "./testkit.ts";

const HAVE_PROMETHEUS = (() => {
  const r = spawnSync("prometheus", ["--version"], { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
})();
const SKIP = HAVE_PROMETHEUS ? false : "prometheus is not installed";
/** How long Prometheus may take to start, scrape and deliver the first histogram. */
const ARRIVAL_TIMEOUT_MS = 60_000;

let server: http.Server;
let prom: Peer | null = null;
let dir: string;
const store = new MemoryTenants({ recordHistograms: true });
const accepts: string[] = [];
let exposed: Histogram;

before(async () => {
  if (!HAVE_PROMETHEUS) return;
  const registry = new Registry();
  const child = registry
    .histogram({ name: "rt_seconds", help: "Response time.", labelNames: ["app"], buckets: [0.1, 1], native: {} })
    .labels("web");
  for (const v of [0.003, 0.04, 0.04, 0.7, 2.5, 0]) child.observe(v);
  registry.forEachHistogram((_l, h) => {
    exposed = h;
  });
  const state = new ReceiverState();
  server = http.createServer((req, res) => {
    if (req.method === "GET") {
      accepts.push(String(req.headers.accept));
      const proto = prefersProtobuf(req.headers.accept);
      res.writeHead(200, { "Content-Type": proto ? PROTOBUF_CONTENT_TYPE : PROMETHEUS_TEXT_CONTENT_TYPE });
      res.end(proto ? writeProtobuf(registry.collect()) : writePrometheusText(registry.collect()));
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const out = receiveWrite(Buffer.concat(chunks), req.headers, () => store.appender("acme"), {
        org: "acme",
        state,
      });
      res.writeHead(out.status, outcomeHeaders(out));
      res.end(out.kind === "written" ? "" : out.message);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  dir = mkdtempSync(join(tmpdir(), "contrail-native-interop-"));
  prom = await startPrometheus({
    dir,
    flags: ["--enable-feature=native-histograms"],
    config: () =>
      [
        "global:",
        "  scrape_interval: 1s",
        "scrape_configs:",
        "  - job_name: app",
        "    static_configs:",
        `      - targets: ["127.0.0.1:${port}"]`,
        "remote_write:",
        `  - url: http://127.0.0.1:${port}/api/v1/write`,
        "    send_native_histograms: true",
        "    queue_config:",
        "      batch_send_deadline: 500ms",
        "      min_backoff: 100ms",
        "",
      ].join("\n"),
  });
});

after(async () => {
  if (!HAVE_PROMETHEUS) return;
  await prom?.stop(15_000);
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  rmSync(dir, { recursive: true, force: true });
});

test("Prometheus 2.42 scrapes our protobuf native histogram and remote-writes it back unchanged", {
  skip: SKIP,
}, async () => {
  const deadline = Date.now() + ARRIVAL_TIMEOUT_MS;
  while (!store.histograms.some((h) => h.labels.includes('__name__="rt_seconds"')) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(accepts[0] ?? "", /^application\/vnd\.google\.protobuf;proto=io\.prometheus\.client\.MetricFamily/);
  const got = store.histograms.find((h) => h.labels.includes('__name__="rt_seconds"'));
  assert.ok(got !== undefined, "no native histogram arrived");
  assert.equal(
    got.labels,
    '{__name__="rt_seconds", app="web", instance="127.0.0.1:' +
      (server.address() as AddressInfo).port +
      '", job="app"}',
  );
  // Prometheus sets its own reset hint; everything else is what we exposed.
  assert.deepEqual({ ...got.h, counterResetHint: exposed.counterResetHint }, exposed);
  assert.ok(Number.isSafeInteger(got.t) && got.t > 0);
});
