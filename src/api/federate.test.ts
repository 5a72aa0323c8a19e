// Federation end to end over the embedded store: samples arrive by remote write, `/federate` returns them exactly
// as Prometheus's /federate would (newest sample within the lookback, staleness markers respected, one untyped
// family per name, sorted, own labels kept, `instance=""` added), and a real Prometheus (when installed) scrapes
// it with `honor_labels: true` and stores the series under their own labels.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Labels } from "../model/labels.ts";
import { STALE_NAN } from "../model/sample.ts";
import { encodeWriteRequestV1 } from "../storage/remote/codec-v1-encode.ts";
import { MetadataStore } from "../storage/remote/metadata.ts";
import type { WriteSeries } from "../storage/remote/types.ts";
import { EmbeddedTenantStore } from "../storage/tenants.ts";
import { federationConfig, type Peer, startPrometheus } from "../testkit/peers.ts";
import { SnappyEncoder } from "../tsdb/encoding/snappy.ts";
import { FEDERATE_LOOKBACK_MS } from "./federate.ts";
import { startTestServer, type TestControl, type TestServer, testControl, withRemoteWrite } from "./test-support.ts";

const HAVE_PROMETHEUS = spawnSync("prometheus", ["--version"], { stdio: "ignore" }).status === 0;
/** How long Prometheus may take to start and scrape the federated series. */
const ARRIVAL_TIMEOUT_MS = 60_000;

let control: TestControl;
let store: EmbeddedTenantStore;
let server: TestServer;
let base: string;
let address: string;
let token: string;
const tokens: Record<string, string> = {};
let now = Date.now();
const snappy = new SnappyEncoder();

before(async () => {
  control = testControl();
  token = control.org("acme", ["read", "write"]);
  tokens.acme = token;
  tokens.small = control.org("small", ["read", "write"]);
  store = new EmbeddedTenantStore({ dataDir: control.dir, db: { autoCompact: false } });
  const limitsFor = (org: string) => (org === "small" ? { maxSeries: 2 } : undefined);
  const setup = withRemoteWrite(control, { tenants: store, metadata: new MetadataStore() });
  server = await startTestServer(control, store, { now: () => now, limitsFor }, setup);
  address = `127.0.0.1:${server.port}`;
  base = `http://${address}/prometheus`;
});

after(async () => {
  await server.close();
  store.close();
  control.cleanup();
});

function series(labels: string[], samples: [number, number][]): WriteSeries {
  return { labels: Labels.fromStrings(...labels), samples: samples.map(([t, v]) => ({ t, v })) };
}

async function write(org: string, list: WriteSeries[]): Promise<void> {
  const r = await fetch(`${base}/${org}/api/v1/write`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${tokens[org]}`,
      "content-type": "application/x-protobuf",
      "content-encoding": "snappy",
    },
    body: snappy.encodeCopy(encodeWriteRequestV1({ series: list })),
  });
  assert.equal(r.status, 204, await r.text());
}

async function federate(org: string, ...match: string[]): Promise<{ status: number; type: string; text: string }> {
  const params = match.map((m) => `match[]=${encodeURIComponent(m)}`).join("&");
  const r = await fetch(`${base}/${org}/federate?${params}`, { headers: { authorization: `Bearer ${tokens[org]}` } });
  return { status: r.status, type: r.headers.get("content-type") ?? "", text: await r.text() };
}

describe("federation of remote-written samples", () => {
  test('a fresh sample is federated with its timestamp; instance="" is added where there is none', async () => {
    now = Date.now();
    await write("acme", [series(["__name__", "fresh", "job", "app"], [[now - 1000, 7]])]);
    const r = await federate("acme", "fresh");
    assert.equal(r.status, 200);
    assert.equal(r.type, "text/plain; version=0.0.4; charset=utf-8");
    assert.equal(r.text, `# TYPE fresh untyped\nfresh{job="app",instance=""} 7 ${now - 1000}\n`);
  });

  test("the newest sample within the lookback; older series and staleness markers are left out", async () => {
    now = Date.now();
    await write("acme", [
      series(
        ["__name__", "temp", "instance", "h1:9100", "job", "node"],
        [
          [now - 60_000, 20],
          [now - 30_000, 21.5],
        ],
      ),
      series(
        ["__name__", "temp", "instance", "h2:9100", "job", "node"],
        [
          [now - 60_000, 30],
          [now - 30_000, STALE_NAN],
        ],
      ),
      series(["__name__", "temp", "instance", "h3:9100", "job", "node"], [[now - FEDERATE_LOOKBACK_MS - 1000, 40]]),
      series(["__name__", "special", "job", "x"], [[now - 5000, Number.POSITIVE_INFINITY]]),
      series(["__name__", "special", "job", "y"], [[now - 5000, Number.NaN]]),
    ]);
    const r = await federate("acme", '{__name__=~"temp|special"}', 'temp{instance="h1:9100"}');
    assert.equal(r.status, 200);
    assert.equal(
      r.text,
      "# TYPE special untyped\n" +
        `special{job="x",instance=""} +Inf ${now - 5000}\n` +
        `special{job="y",instance=""} NaN ${now - 5000}\n` +
        "# TYPE temp untyped\n" +
        `temp{instance="h1:9100",job="node"} 21.5 ${now - 30_000}\n`,
    );
  });

  test("no match[] gives an empty answer; a bad one is 400; more matched series than the limit is 422", async () => {
    assert.deepEqual(await federate("acme"), {
      status: 200,
      type: "text/plain; version=0.0.4; charset=utf-8",
      text: "",
    });
    const bad = await federate("acme", "rate(x[5m])");
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.text).error, /invalid parameter "match\[\]".*not a series selector/);
    now = Date.now();
    await write(
      "small",
      [1, 2, 3].map((i) => series(["__name__", "s", "i", String(i)], [[now - 1000, i]])),
    );
    const over = await federate("small", "s");
    assert.equal(over.status, 422);
    assert.match(JSON.parse(over.text).error, /more than 2 series, the limit of this org \(max_series\)/);
  });
});

describe("a real Prometheus scraping /federate", {
  skip: HAVE_PROMETHEUS ? false : "prometheus is not installed",
}, () => {
  let dir: string;
  let prom: Peer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "contrail-federate-"));
    prom = await startPrometheus({
      dir,
      config: () => federationConfig(address, "acme", '{__name__="exported"}', token),
    });
  });

  after(async () => {
    await prom.stop(15_000);
    rmSync(dir, { recursive: true, force: true });
  });

  test("the federated series arrive under their own labels, with their own timestamps", async () => {
    const deadline = Date.now() + ARRIVAL_TIMEOUT_MS;
    type Result = { metric: Record<string, string>; value: [number, string] }[];
    let result: Result = [];
    let written = 0;
    while (Date.now() < deadline) {
      now = Date.now();
      written = now - 500;
      await write("acme", [series(["__name__", "exported", "job", "app", "region", "ams"], [[written, 42]])]);
      await new Promise((r) => setTimeout(r, 1500));
      const u = `${prom.url}/api/v1/query?query=${encodeURIComponent("exported")}`;
      const body = (await (await fetch(u)).json()) as { data: { result: Result } };
      result = body.data.result;
      if (result.length > 0) break;
    }
    assert.equal(result.length, 1, prom.log());
    // honor_labels keeps the series' own job; instance="" means the scraper added none of its own.
    assert.deepEqual(result[0].metric, { __name__: "exported", job: "app", region: "ams" });
    assert.equal(result[0].value[1], "42");
    const up = `${prom.url}/api/v1/query?query=${encodeURIComponent('up{job="contrail-federation"}')}`;
    const upBody = (await (await fetch(up)).json()) as { data: { result: Result } };
    assert.equal(upBody.data.result[0]?.value[1], "1");
  });
});
