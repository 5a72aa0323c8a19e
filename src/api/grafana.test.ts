// Replays the requests Grafana's Prometheus data source sends (reference/grafana-client.md): the "Save & test"
// health check, POST-form range and instant queries with Go-style durations, template-variable lookups, buildinfo,
// rules, metadata and exemplar probes; and checks each answer is what Grafana's parser needs.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { EmbeddedTenantStore } from "../storage/tenants.ts";
import {
  load,
  startTestServer,
  type TestControl,
  type TestSample,
  type TestServer,
  testControl,
} from "./test-support.ts";

const STEP_S = 15;
const END_S = Math.floor(Date.now() / 1000 / 60) * 60; // a whole minute near now
const START_S = END_S - 3600;
const BUCKETS = ["0.005", "0.025", "0.05", "0.1", "0.2", "0.5", "1", "5", "15", "30", "60", "120", "+Inf"];

let control: TestControl;
let store: EmbeddedTenantStore;
let server: TestServer;
let token: string;

function dataset(): TestSample[] {
  const out: TestSample[] = [];
  for (let s = START_S - 600; s <= END_S; s += STEP_S) {
    const k = (s - (START_S - 600)) / STEP_S;
    const t = s * 1000 + 250; // scrapes land a little after the step grid, as real ones do
    for (const [app, region, rate] of [
      ["web", "ams", 2],
      ["web", "ord", 4],
      ["api", "ams", 1],
    ] as const) {
      out.push({
        labels: { __name__: "fly_edge_http_responses_count", app, region, status: "200" },
        t,
        v: k * rate * STEP_S,
      });
      out.push({ labels: { __name__: "fly_app_concurrency", app, region, instance: `${app}-1` }, t, v: 3 });
      BUCKETS.forEach((le, i) => {
        out.push({
          labels: { __name__: "fly_edge_http_response_time_seconds_bucket", app, region, le },
          t,
          v: k * (i + 1) * STEP_S,
        });
      });
    }
  }
  return out;
}

before(async () => {
  control = testControl();
  token = control.org("personal-grafana");
  store = new EmbeddedTenantStore({ dataDir: control.dir, db: { autoCompact: false } });
  load(store, "personal-grafana", dataset());
  server = await startTestServer(control, store);
});

after(async () => {
  await server.close();
  store.close();
  control.cleanup();
});

// biome-ignore lint/suspicious/noExplicitAny: Grafana's answers are arbitrary JSON, checked field by field
type AnyJson = any;

// Headers Grafana's backend puts on every request (§0), plus the data source's custom Authorization header.
function grafanaHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return {
    authorization: `Bearer ${token}`,
    "user-agent": "Grafana/11.3.0",
    "accept-encoding": "gzip",
    "x-grafana-org-id": "1",
    "x-dashboard-uid": "fly-metrics",
    "x-panel-id": "4",
    "x-datasource-uid": "contrail",
    "x-query-group-id": "9b1e",
    "x-grafana-from-expr": "now-1h",
    ...extra,
  };
}

async function send(
  method: "GET" | "POST",
  path: string,
  body?: string,
  headers?: Record<string, string>,
): Promise<{ status: number; contentType: string; json: AnyJson }> {
  const h = grafanaHeaders(headers);
  if (body !== undefined) h["content-type"] = "application/x-www-form-urlencoded";
  const r = await fetch(`${server.url}/prometheus/personal-grafana/${path}`, { method, headers: h, body });
  return { status: r.status, contentType: r.headers.get("content-type") ?? "", json: await r.json() };
}

// What Grafana's converter requires of a query answer (pkg/promlib/converter): success, a known resultType, and
// [number, "string"] samples whose strings parse as floats.
function assertGrafanaReadable(json: { status: string; data: { resultType: string; result: unknown } }): void {
  assert.equal(json.status, "success");
  const { resultType, result } = json.data;
  assert.ok(["matrix", "vector", "scalar", "string"].includes(resultType), resultType);
  const checkPoint = (p: unknown) => {
    assert.ok(
      Array.isArray(p) && p.length === 2 && typeof p[0] === "number" && typeof p[1] === "string",
      JSON.stringify(p),
    );
    assert.ok(!Number.isNaN(Number.parseFloat(p[1])) || p[1] === "NaN", p[1]);
  };
  if (resultType === "scalar" || resultType === "string") checkPoint(result);
  for (const s of resultType === "matrix" || resultType === "vector"
    ? (result as { value?: unknown; values?: unknown[] }[])
    : []) {
    if (resultType === "vector") checkPoint(s.value);
    else for (const p of s.values ?? []) checkPoint(p);
  }
}

test("Save & test: POST query=1%2B1&time=4 (with and without timeout), then buildinfo", async () => {
  for (const body of ["query=1%2B1&time=4", "query=1%2B1&time=4&timeout=60s", "query=1%2B1&time=4&timeout=2m"]) {
    const r = await send("POST", "api/v1/query", body);
    assert.equal(r.status, 200);
    assert.match(r.contentType, /^application\/json/);
    assert.deepEqual(r.json, { status: "success", data: { resultType: "scalar", result: [4, "2"] } });
  }
  const get = await send("GET", "api/v1/query?query=1%2B1&time=4");
  assert.deepEqual(get.json.data.result, [4, "2"]);
  const info = await send("GET", "api/v1/status/buildinfo");
  assert.equal(info.status, 200);
  assert.equal(info.json.status, "success");
  // Grafana's alerting reads these two to offer rule editing through <data source>/config/v1/rules.
  assert.equal(info.json.data.application, "Grafana Mimir");
  assert.equal(info.json.data.features.ruler_config_api, "true");
  assert.equal(typeof info.json.data.version, "string");
});

test("panel range queries: POST form with sorted keys, Go durations, aligned start/end", async () => {
  const queries = [
    'sum(rate(fly_edge_http_responses_count{app=~"^web$"}[1m15s])) by (region)',
    'sum(rate(fly_edge_http_responses_count{app=~"^web$"}[1m0s])) by (region)',
    'sum(increase(fly_edge_http_response_time_seconds_bucket{app=~"^web$"}[1m0s])) by (le)',
    "sum(rate(fly_edge_http_responses_count[3600s]))",
  ];
  for (const query of queries) {
    const body = `end=${END_S}&query=${encodeURIComponent(query).replace(/%20/g, "+")}&start=${START_S}&step=${STEP_S}&timeout=60s`;
    const r = await send("POST", "api/v1/query_range", body);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assertGrafanaReadable(r.json);
    assert.equal(r.json.data.resultType, "matrix");
    for (const s of r.json.data.result) {
      assert.equal(s.values.length, 241, query);
      assert.equal(s.values[0][0], START_S);
      assert.equal(s.values[240][0], END_S);
    }
  }
  const byRegion = await send(
    "POST",
    "api/v1/query_range",
    `end=${END_S}&query=${encodeURIComponent('sum(rate(fly_edge_http_responses_count{app=~"^web$"}[1m15s])) by (region)')}&start=${START_S}&step=${STEP_S}`,
  );
  const rates = Object.fromEntries(
    byRegion.json.data.result.map((s: { metric: { region: string }; values: [number, string][] }) => [
      s.metric.region,
      Number(s.values[100][1]),
    ]),
  );
  assert.ok(Math.abs(rates.ams - 2) < 1e-9 && Math.abs(rates.ord - 4) < 1e-9, JSON.stringify(rates));
});

test("heatmap: one series per le with identical timestamps", async () => {
  const query = 'sum(increase(fly_edge_http_response_time_seconds_bucket{app=~"^web$"}[1m0s])) by (le)';
  const r = await send(
    "POST",
    "api/v1/query_range",
    `end=${END_S}&query=${encodeURIComponent(query)}&start=${START_S}&step=60`,
  );
  const series = r.json.data.result as { metric: { le: string }; values: [number, string][] }[];
  assert.deepEqual(series.map((s) => s.metric.le).sort(), [...BUCKETS].sort());
  const stamps = JSON.stringify(series[0].values.map((v) => v[0]));
  for (const s of series) assert.equal(JSON.stringify(s.values.map((v) => v[0])), stamps);
});

test("instant queries at ms precision; query_result() variables get a vector", async () => {
  const r = await send(
    "POST",
    "api/v1/query",
    `query=${encodeURIComponent("sum by (app) (fly_app_concurrency)")}&time=${END_S}.123`,
  );
  assertGrafanaReadable(r.json);
  assert.equal(r.json.data.resultType, "vector");
  const byApp = Object.fromEntries(
    r.json.data.result.map((s: { metric: { app: string }; value: [number, string] }) => [s.metric.app, s.value]),
  );
  assert.deepEqual(byApp, { web: [END_S + 0.123, "6"], api: [END_S + 0.123, "3"] });
});

test("template variables and the query editor: label values with match[], names, labels, series, metadata", async () => {
  const apps = await send(
    "GET",
    `api/v1/label/app/values?limit=40000&start=${START_S}&end=${END_S}&match%5B%5D=fly_app_concurrency`,
  );
  assert.deepEqual(apps.json, { status: "success", data: ["api", "web"] });
  const regions = await send(
    "GET",
    `api/v1/label/region/values?match[]=${encodeURIComponent('fly_app_concurrency{app="web"}')}&start=${START_S}&end=${END_S}`,
  );
  assert.deepEqual(regions.json.data, ["ams", "ord"]);
  const metrics = await send(
    "GET",
    `api/v1/label/__name__/values?end=${END_S + 60}&limit=40000&start=${START_S - 3600}`,
  );
  assert.deepEqual(metrics.json.data, [
    "fly_app_concurrency",
    "fly_edge_http_response_time_seconds_bucket",
    "fly_edge_http_responses_count",
  ]);
  const filtered = await send(
    "GET",
    `api/v1/label/__name__/values?match[]=${encodeURIComponent('{__name__=~"fly_app.*"}')}`,
  );
  assert.deepEqual(filtered.json.data, ["fly_app_concurrency"]);
  const labels = await send(
    "POST",
    "api/v1/labels",
    `end=${END_S}&limit=40000&start=${START_S}&match%5B%5D=fly_app_concurrency`,
  );
  assert.deepEqual(labels.json.data, ["__name__", "app", "instance", "region"]);
  const series = await send(
    "POST",
    "api/v1/series",
    `start=${START_S}&end=${END_S}&match%5B%5D=${encodeURIComponent('{__name__!=""}')}&limit=40000`,
  );
  assert.equal(series.json.status, "success");
  assert.equal(series.json.data.length, 3 * 2 + 3 * BUCKETS.length);
  const meta = await send("GET", "api/v1/metadata?limit=40000");
  assert.deepEqual(meta.json, { status: "success", data: {} });
});

test("rules at start-up, and the exemplar probe with times in milliseconds", async () => {
  const rules = await send("GET", "api/v1/rules");
  assert.deepEqual(rules.json, { status: "success", data: { groups: [] } });
  const probe = await send(
    "POST",
    "api/v1/query_exemplars",
    `end=${END_S * 1000}&query=test&start=${(END_S - 1800) * 1000}`,
  );
  assert.deepEqual(probe.json, { status: "success", data: [] });
  const real = await send(
    "POST",
    "api/v1/query_exemplars",
    `end=${END_S}&query=${encodeURIComponent("fly_edge_http_response_time_seconds_bucket")}&start=${START_S}`,
  );
  assert.deepEqual(real.json, { status: "success", data: [] });
});

test("custom query parameters, duplicated keys and unknown headers are ignored", async () => {
  const r = await send(
    "POST",
    `api/v1/query_range?a=b&c=d&a=b`,
    `end=${END_S}&query=${encodeURIComponent("sum(fly_app_concurrency)")}&start=${START_S}&step=60`,
    { fromalert: "true", "x-grafana-cache": "true", "x-id-token": "abc" },
  );
  assert.equal(r.status, 200);
  assert.equal(r.json.data.result[0].values[0][1], "9");
});

test("errors arrive as JSON Grafana turns into '<errorType>: <error>'", async () => {
  const r = await send("POST", "api/v1/query_range", `end=${END_S}&query=sum%28&start=${START_S}&step=15`);
  assert.equal(r.status, 400);
  assert.match(r.contentType, /^application\/json/);
  assert.equal(r.json.status, "error");
  assert.equal(r.json.errorType, "bad_data");
  assert.match(`${r.json.errorType}: ${r.json.error}`, /^bad_data: invalid parameter "query": 1:5: parse error/);
});

test("worldmap: regions.json keys match the region legend of the by-region panel", async () => {
  const regions = (await (await fetch(`${server.url}/meta/regions.json`)).json()) as { key: string }[];
  const r = await send(
    "POST",
    "api/v1/query",
    `query=${encodeURIComponent("sum(fly_app_concurrency) by (region)")}&time=${END_S}`,
  );
  const keys = new Set(regions.map((x) => x.key.toUpperCase()));
  for (const s of r.json.data.result as { metric: { region: string } }[])
    assert.ok(keys.has(s.metric.region.toUpperCase()));
});
