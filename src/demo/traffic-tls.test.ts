import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { LocalCa, startEdge } from "../edge/index.ts";
import { Registry } from "../exposition/registry.ts";
import { startTraffic } from "./traffic.ts";

/** The label records of the samples of `name` whose `app` label is `app`. */
function seriesOf(registry: Registry, name: string, app: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  registry.forEachSample((labels, _value) => {
    const l = labels.withoutMetricName().toRecord();
    if (labels.metricName() === name && l.app === app) out.push(l);
  });
  return out;
}

function totalOf(registry: Registry, name: string, app: string): number {
  let sum = 0;
  registry.forEachSample((labels, value) => {
    if (labels.metricName() === name && labels.withoutMetricName().toRecord().app === app) sum += value;
  });
  return sum;
}

test("demo traffic over HTTPS gives the app series of every TLS and limit family", async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "contrail-demo-tls-"));
  const ca = LocalCa.openOrCreate(dataDir);
  const sockets = new Set<Socket>();
  // Answers like the demo app: `/slow?ms=` is held (long requests), everything else at once.
  const app = http.createServer((req, res) => {
    if ((req.url ?? "").startsWith("/slow?ms=")) return;
    res.end("ok");
  });
  app.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  const address = `127.0.0.1:${(app.address() as AddressInfo).port}`;
  const registry = new Registry();
  // The demo app's fly.toml limits: a soft limit of 3 requests that held requests soon reach.
  const routes = new Map([
    [
      "demo",
      {
        org: "personal",
        concurrency: { type: "requests" as const, softLimit: 3, hardLimit: 25 },
        instances: [{ id: "d1".padStart(14, "0"), region: "ord", host: "b100", address, healthy: true }],
        tcpServices: [],
      },
    ],
  ]);
  const edge = await startEdge({
    listeners: [{ region: "ord", host: "e0a0", address: "127.0.0.1:0", tlsAddress: "127.0.0.1:0" }],
    routes,
    registry,
    ca,
  });
  const ac = new AbortController();
  try {
    const l = edge.listeners[0];
    const traffic = startTraffic({
      targets: [{ region: "ord", url: `http://${l.address}`, tlsUrl: `https://${l.tlsAddress}` }],
      app: "demo",
      ca: ca.certPem,
      ratePerSecond: 300,
      concurrency: 64,
      signal: ac.signal,
    });
    const deadline = Date.now() + 10_000;
    // Runs until the untrusting client has failed a few handshakes (2% of HTTPS requests) and held requests filled
    // the soft limit, within a generous bound.
    while (
      Date.now() < deadline &&
      (traffic.stats().untrusted < 3 || totalOf(registry, "fly_app_soft_limit_reached_count", "demo") === 0)
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    ac.abort();
    await traffic.done;
    const st = traffic.stats();
    assert.ok(st.tls > 0 && st.tls < st.sent, `${st.tls} of ${st.sent} over TLS`);
    assert.equal(st.failed, 0);
    for (const name of [
      "fly_edge_tls_handshake_time_seconds_count",
      "fly_edge_tls_handshake_errors",
      "fly_edge_tls_queue_time_seconds_count",
      "fly_edge_tls_sni_limit_reached_count",
      "fly_edge_tls_ip_limit_reached_count",
      "fly_app_soft_limit_reached_count",
      "fly_app_hard_limit_reached_count",
      "fly_app_connect_time_seconds_count",
      "fly_edge_data_in",
      "fly_edge_data_out",
    ]) {
      assert.ok(seriesOf(registry, name, "demo").length > 0, `${name} has a series for the demo app`);
    }
    assert.ok(totalOf(registry, "fly_edge_tls_handshake_time_seconds_count", "demo") > 0);
    assert.ok(totalOf(registry, "fly_edge_tls_handshake_errors", "demo") >= 1);
    assert.ok(totalOf(registry, "fly_app_soft_limit_reached_count", "demo") > 0);
  } finally {
    ac.abort();
    await edge.close();
    await new Promise<void>((resolve) => {
      app.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  }
});
