// The real OpenTelemetry JS SDK sending to the OTLP route: a MeterProvider with the OTLP/HTTP exporter (JSON, gzip)
// and one with the OTLP protobuf exporter, each pushing a counter, an up-down counter, an observable gauge, an
// explicit-bucket histogram and an exponential histogram into an API server with the embedded store. The values are
// then read back through the Prometheus API under the names Prometheus 3 would give them.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { OTLPMetricExporter as OtlpJsonExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as OtlpProtoExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AggregationType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from "@opentelemetry/sdk-metrics";
import type { FastifyInstance } from "fastify";
import { TokenCache } from "../control/index.ts";
import type { OtlpOutcome } from "../storage/otlp/receive.ts";
import { MetadataStore } from "../storage/remote/metadata.ts";
import { EmbeddedTenantStore } from "../storage/tenants.ts";
import { checkAccess } from "./auth.ts";
import { registerOtlp } from "./otlp.ts";
import { startTestServer, type TestControl, type TestServer, testControl } from "./test-support.ts";

/** The reader exports only when flushed: the test decides when. */
const NEVER_MS = 3_600_000;

let control: TestControl;
let store: EmbeddedTenantStore;
let server: TestServer;
let token: string;
const outcomes: OtlpOutcome[] = [];
/** Content-Type and Content-Encoding of every OTLP request received. */
const received: [string, string][] = [];
/** The exporter's compression option, typed as the SDK's enum (which this package does not export). */
const GZIP = "gzip" as NonNullable<NonNullable<ConstructorParameters<typeof OtlpJsonExporter>[0]>["compression"]>;

before(async () => {
  control = testControl();
  token = control.org("acme", ["read", "write"]);
  store = new EmbeddedTenantStore({ dataDir: control.dir, db: { autoCompact: false } });
  const cache = new TokenCache(control.db);
  const setup = (app: FastifyInstance) => {
    app.addHook("onRequest", async (request) => {
      const h = request.headers;
      if (request.url.includes("/otlp/")) received.push([h["content-type"] ?? "", h["content-encoding"] ?? ""]);
    });
    return registerOtlp(app, {
      authorize: (request, org, scope) =>
        checkAccess((t) => cache.authenticate(t), { header: request.headers.authorization, org, scope }),
      tenants: store,
      metadata: new MetadataStore(),
      onOtlp: (_org, outcome) => outcomes.push(outcome),
    });
  };
  server = await startTestServer(control, store, {}, setup);
});

after(async () => {
  await server.close();
  store.close();
  control.cleanup();
});

type Sample = { metric: Record<string, string>; value: [number, string] };

async function query(q: string): Promise<Sample[]> {
  const r = await fetch(`${server.url}/prometheus/acme/api/v1/query?query=${encodeURIComponent(q)}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await r.json()) as { status: string; data: { result: Sample[] } };
  assert.equal(body.status, "success", JSON.stringify(body));
  return body.data.result;
}

async function value(q: string): Promise<string> {
  const r = await query(q);
  assert.equal(r.length, 1, `${q}: ${JSON.stringify(r)}`);
  return r[0].value[1];
}

/** Records with one MeterProvider exporting through `exporter` as service `service`, then shuts it down. */
async function record(service: string, exporter: PushMetricExporter): Promise<void> {
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      "service.name": service,
      "service.instance.id": "pod-1",
      "host.arch": "amd64",
    }),
    views: [{ instrumentName: "payload.size", aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: NEVER_MS })],
  });
  const meter = provider.getMeter("checkout", "1.0.0");
  const requests = meter.createCounter("http.server.requests", { unit: "{request}", description: "requests served" });
  requests.add(3, { "http.route": "/cart" });
  requests.add(2, { "http.route": "/pay" });
  const inflight = meter.createUpDownCounter("http.server.active_requests", { unit: "{request}" });
  inflight.add(5);
  inflight.add(-2);
  meter.createObservableGauge("process.cpu.utilization", { unit: "1" }).addCallback((r) => r.observe(0.25));
  const duration = meter.createHistogram("http.server.duration", {
    unit: "s",
    advice: { explicitBucketBoundaries: [0.1, 1, 10] },
  });
  for (const v of [0.05, 0.5, 0.7, 3, 30]) duration.record(v);
  const size = meter.createHistogram("payload.size", { unit: "By" });
  for (const v of [100, 200, 4000]) size.record(v);
  // Shutting down collects and exports once more: the one export of this provider.
  await provider.shutdown();
}

function storeKeepsHistograms(): boolean {
  const a = store.appender("acme");
  const has = typeof a.appendHistogram === "function";
  a.rollback();
  return has;
}

async function checkService(service: string): Promise<void> {
  const sel = `job="${service}",instance="pod-1"`;
  assert.equal(await value(`http_server_requests_total{${sel},http_route="/cart"}`), "3");
  assert.equal(await value(`http_server_requests_total{${sel},http_route="/pay"}`), "2");
  assert.equal(await value(`http_server_active_requests{${sel}}`), "3");
  assert.equal(await value(`process_cpu_utilization_ratio{${sel}}`), "0.25");
  assert.equal(await value(`http_server_duration_seconds_count{${sel}}`), "5");
  assert.equal(await value(`http_server_duration_seconds_sum{${sel}}`), "34.25");
  assert.equal(await value(`http_server_duration_seconds_bucket{${sel},le="1"}`), "3");
  assert.equal(await value(`http_server_duration_seconds_bucket{${sel},le="+Inf"}`), "5");
  assert.equal(await value(`histogram_quantile(0.5, http_server_duration_seconds_bucket{${sel}})`), "0.775");
  assert.equal(await value(`target_info{${sel},host_arch="amd64"}`), "1");
  if (storeKeepsHistograms()) {
    assert.equal(await value(`histogram_count(payload_size_bytes{${sel}})`), "3");
    assert.equal(await value(`histogram_sum(payload_size_bytes{${sel}})`), "4300");
  } else {
    assert.deepEqual(await query(`payload_size_bytes{${sel}}`), []);
  }
}

describe("the OpenTelemetry JS SDK", () => {
  test("OTLP/HTTP JSON with gzip: every instrument read back under Prometheus 3's names", async () => {
    outcomes.length = 0;
    received.length = 0;
    await record(
      "web-json",
      new OtlpJsonExporter({
        url: `${server.url}/prometheus/acme/otlp/v1/metrics`,
        headers: { authorization: `Bearer ${token}` },
        compression: GZIP,
      }),
    );
    assert.equal(outcomes.length, 1);
    const o = outcomes[0];
    assert.equal(o.kind, "accepted", JSON.stringify(o));
    assert.ok(o.kind === "accepted");
    assert.equal(o.format, "json");
    assert.deepEqual(received, [["application/json", "gzip"]]);
    assert.equal(o.stats.rejected, storeKeepsHistograms() ? 0 : 1, o.message);
    await checkService("web-json");
  });

  test("OTLP/HTTP protobuf: the same series", async () => {
    outcomes.length = 0;
    received.length = 0;
    await record(
      "web-proto",
      new OtlpProtoExporter({
        url: `${server.url}/prometheus/acme/otlp/v1/metrics`,
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    assert.equal(outcomes.length, 1);
    const o = outcomes[0];
    assert.ok(o.kind === "accepted", JSON.stringify(o));
    assert.equal(o.format, "protobuf");
    assert.deepEqual(received, [["application/x-protobuf", ""]]);
    await checkService("web-proto");
  });
});
