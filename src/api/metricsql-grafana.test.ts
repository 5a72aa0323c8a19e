// Dashboards written for VictoriaMetrics, replayed the way Grafana's Prometheus data source sends them: template
// variables and $__interval, $__rate_interval and $__range substituted by Grafana, POST-form range and instant
// queries. The queries are our own but use the MetricsQL forms such dashboards use; each must answer with data.

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

const ORG = "mql-grafana";
const SCRAPE_S = 15;
const END_S = Math.floor(Date.now() / 1000 / 60) * 60;
const START_S = END_S - 3600;
/** Grafana's step for a one-hour panel with a 1m minimum interval. */
const STEP_S = 60;
/** What Grafana substitutes for a 15 s scrape interval and that step. */
const GRAFANA_VARIABLES: Readonly<Record<string, string>> = {
  $__rate_interval: "1m15s",
  $__interval: "1m",
  $__range: "3600s",
  $app: "web",
  $region: ".*", // "All", whose value is .*
  $instance: "web-ord-1",
};
const INSTANCES = [
  { instance: "web-ams-1", region: "ams", rate: 1 },
  { instance: "web-ord-1", region: "ord", rate: 3 },
  { instance: "web-sin-1", region: "sin", rate: 5 },
];
const BUCKETS = ["0.05", "0.1", "0.5", "1", "+Inf"];

let control: TestControl;
let store: EmbeddedTenantStore;
let server: TestServer;
let token: string;

function dataset(): TestSample[] {
  const out: TestSample[] = [];
  for (let s = START_S - 900, k = 0; s <= END_S; s += SCRAPE_S, k++) {
    const t = s * 1000 + 300;
    for (const { instance, region, rate } of INSTANCES) {
      const base = { app: "web", instance, region };
      const add = (name: string, v: number, extra: Record<string, string> = {}) =>
        out.push({ labels: { __name__: name, ...base, ...extra }, t, v });
      add("fly_instance_up", 1);
      add("fly_instance_net_sent_bytes", k * SCRAPE_S * rate * 1000, { device: "eth0" });
      add("fly_instance_net_recv_bytes", k * SCRAPE_S * rate * 500, { device: "eth0" });
      add("fly_instance_disk_sectors_read", k * SCRAPE_S * rate, { device: "vda" });
      add("fly_instance_memory_mem_total", 1 << 30);
      add("fly_instance_memory_mem_available", (1 << 28) * rate);
      add("fly_instance_memory_mem_free", (1 << 27) * (rate + (k % 3)));
      add("fly_instance_load_average", rate / 2, { minutes: "5" });
      add("fly_app_concurrency", rate * 2);
      add("fly_edge_data_out", k * SCRAPE_S * rate * 100, { region: region.toLowerCase() });
      for (const status of ["200", "404"]) {
        add("fly_edge_http_responses_count", k * SCRAPE_S * (status === "200" ? rate : 1), { status });
      }
      BUCKETS.forEach((le, i) => {
        add("fly_edge_http_response_time_seconds_bucket", k * (i + 1) * rate, { le });
      });
    }
  }
  return out;
}

/** Our dashboard queries, written with Grafana's variables, in the forms VictoriaMetrics dashboards use. */
const PANEL_QUERIES = [
  'sum(rate(fly_instance_net_sent_bytes{app="$app",device="eth0"}))',
  'topk_avg(2, sum(rate(fly_instance_net_recv_bytes{app=~"$app",device="eth0"})) by (instance, region), "region=rest") > 0',
  'label_uppercase(sum(rate(fly_edge_data_out{app="$app"}[$__range])) by (region), "region") > 0',
  'histogram_quantiles("p", 0.5, 0.9, 0.99, sum(increase(fly_edge_http_response_time_seconds_bucket{app=~"$app",region=~"$region"})) by (le))',
  'mode(fly_instance_memory_mem_total{app="$app"})',
  'topk_max(5, fly_instance_memory_mem_total{app="$app"} - fly_instance_memory_mem_available{app="$app"})',
  'sum(increase(fly_edge_http_responses_count{app=~"^$app$",region=~"^$region$"})) by (status) > 0',
  'sum(rate(fly_edge_http_responses_count{app=~"^$app$",region=~"^$region$"})[$__rate_interval]) by (status)',
  'max(0, fly_instance_memory_mem_free{instance="$instance"} - fly_instance_memory_mem_available{instance="$instance"})',
  'rate(fly_instance_disk_sectors_read{instance="$instance"}) * 512',
  'sum(increase(fly_edge_http_response_time_seconds_bucket{app=~"^$app$"}[$__interval])) by (le)',
  'bottomk_last(2, sum(fly_app_concurrency{app="$app"}) by (instance))',
  'topk_median(1, sum(fly_instance_load_average{app="$app",minutes="5"}) by (instance, region), "instance=others")',
  'label_lowercase(sum(increase(fly_edge_http_responses_count{app="$app"})) by (region, status), "region")',
  'max(max_over_time(fly_instance_load_average{app=~"^$app$",region=~"^$region$"}[$__rate_interval]))',
];

/** Grafana's substitution of its own and the dashboard's variables. */
function substitute(query: string): string {
  let out = query;
  // Longest names first: $__rate_interval before $__range and $__interval.
  for (const name of Object.keys(GRAFANA_VARIABLES).sort((a, b) => b.length - a.length)) {
    out = out.replaceAll(name, GRAFANA_VARIABLES[name]);
  }
  return out;
}

before(async () => {
  control = testControl();
  token = control.org(ORG);
  store = new EmbeddedTenantStore({ dataDir: control.dir, db: { autoCompact: false } });
  load(store, ORG, dataset());
  server = await startTestServer(control, store);
});

after(async () => {
  await server.close();
  store.close();
  control.cleanup();
});

interface PromAnswer {
  readonly status: string;
  readonly error?: string;
  readonly data: { readonly resultType: string; readonly result: { metric: Record<string, string> }[] };
}

// A request as Grafana's backend sends it: the data source's Authorization header, POST forms for queries.
async function grafana(path: string, form?: Record<string, string>): Promise<PromAnswer> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, "user-agent": "Grafana/11.3.0" };
  if (form !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
  const body = form === undefined ? undefined : new URLSearchParams(form).toString();
  const r = await fetch(`${server.url}/prometheus/${ORG}/${path}`, { method: form ? "POST" : "GET", headers, body });
  return (await r.json()) as PromAnswer;
}

test("template variables: label_values() of the app and its instances", async () => {
  const range = `start=${START_S}&end=${END_S}`;
  const apps = await grafana(`api/v1/label/app/values?match[]=fly_instance_up&${range}`);
  assert.deepEqual(apps.data, ["web"]);
  const instances = await grafana(
    `api/v1/label/instance/values?match[]=${encodeURIComponent('fly_instance_up{app="web"}')}&${range}`,
  );
  assert.deepEqual(instances.data, INSTANCES.map((i) => i.instance).sort());
});

test("every panel query answers with data, as a range and as an instant query", async () => {
  for (const panel of PANEL_QUERIES) {
    const query = substitute(panel);
    const range = await grafana("api/v1/query_range", {
      end: String(END_S),
      query,
      start: String(START_S),
      step: String(STEP_S),
      timeout: "60s",
    });
    assert.equal(range.status, "success", `${query}: ${range.error}`);
    assert.equal(range.data.resultType, "matrix", query);
    assert.ok(range.data.result.length > 0, `range: no data for ${query}`);
    const instant = await grafana("api/v1/query", { query, time: `${END_S}.5`, timeout: "60s" });
    assert.equal(instant.status, "success", `${query}: ${instant.error}`);
    assert.ok(instant.data.result.length > 0, `instant: no data for ${query}`);
  }
});

test("the answers mean what the dashboards expect", async () => {
  const at = async (panel: string) => {
    const r = await grafana("api/v1/query", { query: substitute(panel), time: String(END_S) });
    return r.data.result as unknown as { metric: Record<string, string>; value: [number, string] }[];
  };
  // Bytes sent per second by all instances: 1000 × (1 + 3 + 5).
  const [sent] = await at(PANEL_QUERIES[0]);
  assert.equal(Number(sent.value[1]), 9000);
  // The two busiest receivers and the rest summed under region="rest".
  const ranked = await at(PANEL_QUERIES[1]);
  const byRegion = Object.fromEntries(ranked.map((s) => [s.metric.region, Number(s.value[1])]));
  assert.deepEqual(byRegion, { sin: 2500, ord: 1500, rest: 500 });
  // Regions upper-cased.
  const upper = await at(PANEL_QUERIES[2]);
  assert.deepEqual(upper.map((s) => s.metric.region).sort(), ["AMS", "ORD", "SIN"]);
  // One series per quantile, labelled p.
  const quantiles = await at(PANEL_QUERIES[3]);
  assert.deepEqual(quantiles.map((s) => s.metric.p).sort(), ["0.5", "0.9", "0.99"]);
});
