// Native histograms through /federate: the protobuf exposition format, negotiated by the Accept header as
// Prometheus's scraper asks for it, carries them (exponential schemas as native histograms, gauge ones in gauge
// histogram families, custom-bucket ones as classic histograms); Prometheus text leaves exponential ones out and
// carries custom-bucket ones as classic histograms. A real Prometheus with native histograms enabled (Debian's 2.42
// when installed; under CI=true its absence fails) scrapes the federation and stores the native histograms.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  PROTOBUF_CONTENT_TYPE,
  ProtobufParser,
  prefersProtobuf,
  SCRAPE_ACCEPT_HEADER,
  SCRAPE_ACCEPT_HEADER_PROTOBUF,
} from "../exposition/index.ts";
import { CounterResetHint, CUSTOM_BUCKETS_SCHEMA, type Histogram } from "../model/histogram.ts";
import { Labels, LabelsBuilder } from "../model/labels.ts";
import { STALE_NAN } from "../model/sample.ts";
import { EmbeddedTenantStore } from "../storage/tenants.ts";
import { federationConfig, type Peer, startPrometheus } from "../testkit/peers.ts";
import { skipUnlessCi } from "../testkit/shared-data.ts";
import { startTestServer, type TestControl, type TestServer, testControl } from "./test-support.ts";

const HAVE_PROMETHEUS = spawnSync("prometheus", ["--version"], { stdio: "ignore" }).status === 0;
/** How long Prometheus may take to start and scrape the federated series, ms. */
const ARRIVAL_TIMEOUT_MS = 60_000;

const EXPONENTIAL: Histogram = {
  integer: true,
  counterResetHint: CounterResetHint.unknown,
  schema: 1,
  zeroThreshold: 0.001,
  zeroCount: 2,
  count: 12,
  sum: 30.5,
  positiveSpans: [
    { offset: 0, length: 2 },
    { offset: 2, length: 1 },
  ],
  negativeSpans: [{ offset: 1, length: 1 }],
  positiveBuckets: [3, 4, 2],
  negativeBuckets: [1],
  customValues: [],
};
const GAUGE: Histogram = {
  ...EXPONENTIAL,
  integer: false,
  counterResetHint: CounterResetHint.gauge,
  count: 5.5,
  zeroCount: 0.5,
  positiveBuckets: [1.5, 2, 1],
  negativeBuckets: [0.5],
};
const CUSTOM: Histogram = {
  integer: true,
  counterResetHint: CounterResetHint.unknown,
  schema: CUSTOM_BUCKETS_SCHEMA,
  zeroThreshold: 0,
  zeroCount: 0,
  count: 9,
  sum: 12,
  positiveSpans: [
    { offset: 0, length: 1 },
    { offset: 1, length: 1 },
  ],
  negativeSpans: [],
  positiveBuckets: [4, 3],
  negativeBuckets: [],
  customValues: [0.5, 1, 2],
};

let control: TestControl;
let store: EmbeddedTenantStore;
let server: TestServer;
let token: string;
let now = Date.now();

function put(labels: Labels, samples: readonly (readonly [number, number | Histogram])[]): void {
  const app = store.appender("acme");
  for (const [t, v] of samples) {
    if (typeof v === "number") app.append(labels, t, v);
    else app.appendHistogram?.(labels, t, v);
  }
  app.commit();
}

async function federate(accept: string | undefined, ...match: string[]): Promise<Response> {
  const params = match.map((m) => `match[]=${encodeURIComponent(m)}`).join("&");
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (accept !== undefined) headers.accept = accept;
  return fetch(`${server.url}/prometheus/acme/federate?${params}`, { headers });
}

/** One entry of a parsed protobuf federation body. */
interface Entry {
  readonly family: string;
  readonly type: string;
  readonly series: string;
  readonly value: number | Histogram;
  readonly t: number | undefined;
}

function parseProtobuf(body: Uint8Array): Entry[] {
  const p = new ProtobufParser(body);
  const b = new LabelsBuilder();
  const out: Entry[] = [];
  let family = "";
  let type = "";
  for (let k = p.next(); k !== "eof"; k = p.next()) {
    if (k === "type") {
      family = p.metricName();
      type = p.type();
    } else if (k === "series" || k === "histogram") {
      const value = k === "histogram" ? structuredClone(p.histogram()) : p.value();
      out.push({ family, type, series: p.labels(b).toString(), value, t: p.timestamp() });
    }
  }
  return out;
}

before(async () => {
  control = testControl();
  token = control.org("acme", ["read"]);
  store = new EmbeddedTenantStore({ dataDir: control.dir, db: { autoCompact: false } });
  server = await startTestServer(control, store, { now: () => now });
  now = Date.now();
  const at = now - 2000;
  put(Labels.fromStrings("__name__", "rpc_seconds", "job", "api"), [
    [at - 1000, EXPONENTIAL],
    [at, { ...EXPONENTIAL, count: 13, zeroCount: 3 }],
  ]);
  put(Labels.fromStrings("__name__", "rpc_seconds", "job", "gauge"), [[at, GAUGE]]);
  put(Labels.fromStrings("__name__", "rpc_seconds", "job", "float"), [[at, 4]]);
  put(Labels.fromStrings("__name__", "rpc_seconds", "job", "stale"), [
    [at - 1000, EXPONENTIAL],
    [at, { ...EXPONENTIAL, sum: STALE_NAN }],
  ]);
  put(Labels.fromStrings("__name__", "size_bytes", "instance", "h1", "job", "nhcb"), [[at, CUSTOM]]);
});

after(async () => {
  await server.close();
  store.close();
  control.cleanup();
});

describe("native histograms in federation", () => {
  test("the scraper's protobuf Accept header is preferred; its text-only header is not", () => {
    assert.equal(prefersProtobuf(SCRAPE_ACCEPT_HEADER_PROTOBUF), true);
    assert.equal(prefersProtobuf(SCRAPE_ACCEPT_HEADER), false);
  });

  test("protobuf: histograms as native histograms, per name and kind one family; stale ones left out", async () => {
    const r = await federate(SCRAPE_ACCEPT_HEADER_PROTOBUF, "rpc_seconds", "size_bytes");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), PROTOBUF_CONTENT_TYPE);
    const entries = parseProtobuf(new Uint8Array(await r.arrayBuffer()));
    const at = now - 2000;
    // The parser drops empty labels, as Prometheus does: the `instance=""` the body carries is not seen here.
    assert.deepEqual(
      entries.map((e) => [e.family, e.type, e.series, e.t]),
      [
        ["rpc_seconds", "unknown", '{__name__="rpc_seconds", job="float"}', at],
        ["rpc_seconds", "histogram", '{__name__="rpc_seconds", job="api"}', at],
        ["rpc_seconds", "gaugehistogram", '{__name__="rpc_seconds", job="gauge"}', at],
        ["size_bytes", "histogram", '{__name__="size_bytes_count", instance="h1", job="nhcb"}', at],
        ["size_bytes", "histogram", '{__name__="size_bytes_sum", instance="h1", job="nhcb"}', at],
        ["size_bytes", "histogram", '{__name__="size_bytes_bucket", instance="h1", job="nhcb", le="0.5"}', at],
        ["size_bytes", "histogram", '{__name__="size_bytes_bucket", instance="h1", job="nhcb", le="1.0"}', at],
        ["size_bytes", "histogram", '{__name__="size_bytes_bucket", instance="h1", job="nhcb", le="2.0"}', at],
        ["size_bytes", "histogram", '{__name__="size_bytes_bucket", instance="h1", job="nhcb", le="+Inf"}', at],
      ],
    );
    assert.equal(entries[0].value, 4);
    const api = entries[1].value as Histogram;
    assert.equal(api.count, 13);
    assert.equal(api.zeroCount, 3);
    assert.equal(api.integer, true);
    assert.deepEqual(api.positiveBuckets, EXPONENTIAL.positiveBuckets);
    assert.deepEqual(api.negativeSpans, EXPONENTIAL.negativeSpans);
    const gauge = entries[2].value as Histogram;
    assert.equal(gauge.count, GAUGE.count);
    assert.deepEqual(gauge.positiveBuckets, GAUGE.positiveBuckets);
    // Custom buckets go as a classic histogram: cumulative counts over the bounds, +Inf the whole count.
    assert.deepEqual(
      entries.slice(3).map((e) => e.value),
      [9, 12, 4, 4, 7, 9],
    );
  });

  test("text: exponential histograms left out, custom-bucket ones as classic histograms", async () => {
    for (const accept of [undefined, SCRAPE_ACCEPT_HEADER]) {
      const r = await federate(accept, "rpc_seconds", "size_bytes");
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      const at = now - 2000;
      assert.equal(
        await r.text(),
        "# TYPE rpc_seconds untyped\n" +
          `rpc_seconds{job="float",instance=""} 4 ${at}\n` +
          "# TYPE size_bytes histogram\n" +
          `size_bytes_bucket{instance="h1",job="nhcb",le="0.5"} 4 ${at}\n` +
          `size_bytes_bucket{instance="h1",job="nhcb",le="1"} 4 ${at}\n` +
          `size_bytes_bucket{instance="h1",job="nhcb",le="2"} 7 ${at}\n` +
          `size_bytes_bucket{instance="h1",job="nhcb",le="+Inf"} 9 ${at}\n` +
          `size_bytes_sum{instance="h1",job="nhcb"} 12 ${at}\n` +
          `size_bytes_count{instance="h1",job="nhcb"} 9 ${at}\n`,
      );
    }
  });
});

describe("a real Prometheus with native histograms federating from Contrail", {
  skip: skipUnlessCi(HAVE_PROMETHEUS ? undefined : "prometheus is not on PATH"),
}, () => {
  let dir: string;
  let prom: Peer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "contrail-federate-nh-"));
    const address = new URL(server.url).host;
    prom = await startPrometheus({
      dir,
      flags: ["--enable-feature=native-histograms"],
      config: () => federationConfig(address, "acme", '{__name__="live_seconds"}', token),
    });
  });

  after(async () => {
    await prom.stop(15_000);
    rmSync(dir, { recursive: true, force: true });
  });

  test("the federated native histogram is stored: histogram_count answers its count", async () => {
    const deadline = Date.now() + ARRIVAL_TIMEOUT_MS;
    type Result = { metric: Record<string, string>; value: [number, string] }[];
    let result: Result = [];
    const labels = Labels.fromStrings("__name__", "live_seconds", "job", "edge");
    while (Date.now() < deadline) {
      now = Date.now();
      put(labels, [[now - 500, { ...EXPONENTIAL, count: 21 }]]);
      await new Promise((r) => setTimeout(r, 1500));
      const q = `${prom.url}/api/v1/query?query=${encodeURIComponent("histogram_count(live_seconds)")}`;
      const body = (await (await fetch(q)).json()) as { data: { result: Result } };
      result = body.data.result;
      if (result.length > 0) break;
    }
    assert.equal(result.length, 1, prom.log());
    assert.deepEqual(result[0].metric, { job: "edge" });
    assert.equal(result[0].value[1], "21");
  });
});
