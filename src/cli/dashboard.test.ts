// The seed's Grafana dashboard against a real API: its JSON has the shape Grafana 10+ imports, and every expression
// in it (and the seed's queries, verbatim) returns data once Grafana's variables are substituted the way Grafana
// does. The data comes from the platform's own metric path: demo traffic through a real edge, the instance agent
// and the in-process collector, into the store behind the API server.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { MemoryTenants, startTestServer, type TestControl, type TestServer, testControl } from "../api/test-support.ts";
import { runDemoPlatform } from "../demo/testkit.ts";
import { mulberry32 } from "../testkit/random.ts";
import { allPanels, type DashboardJson, DS_PLACEHOLDER, exportDashboard, loadDashboard } from "./dashboard.ts";
import { goDuration } from "./tsdb.ts";

const APP = "node-express-demo";
const OTHER = "other-app";
const ORG = "acme";
const SCRAPE_MS = 15_000;
/** A whole hour, so Grafana's step alignment leaves the range as it is. */
const T0 = Date.UTC(2025, 0, 6, 12);
const COLLECTIONS = 60;
/** Grafana's interval for the panels (their "Min interval" is 1m). */
const INTERVAL_MS = 60_000;
const BIN = new URL("../../bin/contrail.js", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

let control: TestControl;
let server: TestServer;
let token: string;
let end: number;

before(async () => {
  control = testControl();
  token = control.org(ORG);
  const store = new MemoryTenants();
  const run = await runDemoPlatform({
    store,
    org: ORG,
    apps: [
      { name: APP, instances: { ord: 2, ams: 1, syd: 1 }, ratePerSecond: 250 },
      { name: OTHER, instances: { fra: 1 }, ratePerSecond: 30 },
    ],
    regions: ["ord", "ams", "syd"],
    t0: T0,
    collections: COLLECTIONS,
    random: mulberry32(11),
  });
  end = run.lastT;
  assert.ok(run.sent[APP] > 300, `demo traffic sent ${run.sent[APP]} requests`);
  server = await startTestServer(control, store);
});

after(async () => {
  await server?.close();
  control?.cleanup();
});

/** Grafana's `gtime.FormatInterval`: the largest whole unit, truncated (90 s is `1m`). */
function formatInterval(ms: number): string {
  const units: [string, number][] = [
    ["y", 365 * 86_400_000],
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1],
  ];
  for (const [u, size] of units) if (ms >= size) return `${Math.floor(ms / size)}${u}`;
  return "1ms";
}

/**
 * Substitutes dashboard and interval variables as Grafana does: a single-value variable gets only the regular
 * escape (backslash and single quote; regex escaping is for multi-value and "All" variables), `$__interval` is
 * one truncated unit, `$__rate_interval` is max(interval + scrape, 4 × scrape) as a Go duration, `$__range` whole
 * seconds. Both `$x` and `${x}` forms.
 */
function interpolate(expr: string, v: { app: string; intervalMs: number; rangeMs: number }): string {
  const rate = Math.max(v.intervalMs + SCRAPE_MS, 4 * SCRAPE_MS);
  const values: Record<string, string> = {
    app: v.app.replace(/\\/g, "\\\\").replace(/'/g, "\\'"),
    __interval: formatInterval(v.intervalMs),
    __interval_ms: String(v.intervalMs),
    __rate_interval: goDuration(rate),
    __rate_interval_ms: String(rate),
    __range: `${Math.round(v.rangeMs / 1000)}s`,
    __range_s: String(Math.round(v.rangeMs / 1000)),
    __range_ms: String(v.rangeMs),
  };
  return expr.replace(/\$(?:\{(\w+)\}|(\w+))/g, (m, braced?: string, bare?: string) => values[braced ?? bare!] ?? m);
}

interface Series {
  readonly metric: Record<string, string>;
  readonly values?: [number, string][];
  readonly value?: [number, string];
}

/** POSTs a form to the org's API as Grafana does; returns the decoded answer. */
async function api(path: string, form: Record<string, string>): Promise<{ status: string; data: unknown }> {
  const res = await fetch(`${server.url}/prometheus/${ORG}/api/v1/${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
  });
  const body = (await res.json()) as { status: string; data: unknown; error?: string };
  assert.equal(res.status, 200, `${path} ${form.query}: ${body.error}`);
  return body;
}

/** A range query over the whole run with Grafana's step of 1m; start and end aligned to the step. */
async function rangeQuery(expr: string): Promise<Series[]> {
  const step = INTERVAL_MS / 1000;
  const start = Math.floor(T0 / 1000 / step) * step;
  const stop = Math.floor(end / 1000 / step) * step;
  const body = await api("query_range", { query: expr, start: String(start), end: String(stop), step: String(step) });
  const data = body.data as { resultType: string; result: Series[] };
  assert.equal(data.resultType, "matrix", expr);
  return data.result;
}

/** Asserts the answer has series, and that together they have points at most steps of the range. */
function assertHasData(expr: string, series: readonly Series[]): void {
  assert.ok(series.length > 0, `no series for ${expr}`);
  const points = series.reduce((n, s) => n + (s.values?.length ?? 0), 0);
  assert.ok(points >= 10, `${points} points for ${expr}`);
}

/** The numeric bound of an `le` label ("+Inf" included). */
function leValue(le: string): number {
  return le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
}

/** Every target expression of the dashboard with its panel. */
function dashboardTargets(d: DashboardJson): { panel: string; refId: string; expr: string; instant: boolean }[] {
  return allPanels(d).flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      panel: String(p.title),
      refId: t.refId,
      expr: t.expr ?? "",
      instant: t.instant === true,
    })),
  );
}

/** The seed's queries: the two it prints verbatim, and the network and connection queries it describes. */
const SEED_QUERIES = [
  'sum(rate(fly_edge_http_responses_count{app=~"^$app$"}[$__interval])) by (region)',
  'sum(increase(fly_edge_http_response_time_seconds_bucket{app=~"^$app$"}[$__interval])) by (le)',
  'sum(irate(fly_instance_net_recv_bytes{app="$app"}[5m]))*8',
  'sum(irate(fly_instance_net_sent_bytes{app="$app"}[5m]))*8',
  'sum(increase(fly_app_tcp_connects_count{app="$app"}[$__interval]))',
  'sum(increase(fly_app_tcp_disconnects_count{app="$app"}[$__interval]))',
];

describe("dashboards/contrail-app.json", () => {
  const d = loadDashboard();

  test("has the shape Grafana 10 to 12 imports", () => {
    assert.equal(typeof d.schemaVersion, "number");
    assert.ok((d.schemaVersion as number) >= 36 && (d.schemaVersion as number) <= 41);
    assert.equal(d.uid, "contrail-app");
    assert.equal(d.id, null);
    assert.deepEqual(d.__inputs, [
      {
        name: "DS",
        label: "Contrail",
        description: "The Prometheus data source pointing at Contrail's /prometheus/<org> API",
        type: "datasource",
        pluginId: "prometheus",
        pluginName: "Prometheus",
      },
    ]);
    assert.deepEqual(d.time, { from: "now-15m", to: "now" });
    const [ds, app] = d.templating.list as unknown as Record<string, unknown>[];
    assert.equal(ds.type, "datasource");
    assert.equal(ds.name, "DS");
    assert.equal(ds.query, "prometheus");
    assert.equal(app.name, "app");
    assert.equal(app.type, "query");
    assert.equal(app.definition, "label_values(fly_app_concurrency, app)");
    assert.deepEqual(app.datasource, { type: "prometheus", uid: DS_PLACEHOLDER });
    assert.equal((app.query as { query: string }).query, "label_values(fly_app_concurrency, app)");
    assert.equal(app.multi, false);
    assert.equal(app.includeAll, false);
  });

  test("panels: known types, unique ids, a 24-column grid without overlaps, targets bound to the DS input", () => {
    const panels = allPanels(d);
    assert.deepEqual(panels.map((p) => p.type).sort(), ["geomap", "heatmap", "timeseries", "timeseries", "timeseries"]);
    assert.equal(new Set(panels.map((p) => p.id)).size, panels.length);
    const cells = new Set<string>();
    for (const p of panels) {
      const g = p.gridPos as { x: number; y: number; w: number; h: number };
      assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, String(p.title));
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          assert.ok(!cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`);
          cells.add(`${x},${y}`);
        }
      }
      assert.deepEqual(p.datasource, { type: "prometheus", uid: DS_PLACEHOLDER }, String(p.title));
      const refIds = (p.targets ?? []).map((t) => t.refId);
      assert.ok(refIds.length > 0 && new Set(refIds).size === refIds.length, String(p.title));
      for (const t of p.targets ?? []) {
        assert.deepEqual(t.datasource, { type: "prometheus", uid: DS_PLACEHOLDER });
        assert.ok(typeof t.expr === "string" && t.expr.length > 0);
      }
    }
    // No data source uid other than the input (and Grafana's built-in annotations).
    const uids = [...JSON.stringify(d).matchAll(/"uid":\s*"([^"]*)"/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(uids)].sort(), [DS_PLACEHOLDER, "-- Grafana --", "contrail-app"]);
  });

  test("the seed's panels and their settings", () => {
    const byTitle = new Map(allPanels(d).map((p) => [p.title as string, p]));
    const exprs = (title: string) => (byTitle.get(title)?.targets ?? []).map((t) => t.expr);
    assert.deepEqual(exprs("Responses per second by status code"), [
      'sum(rate(fly_edge_http_responses_count{app="$app"}[$__rate_interval])) by (status)',
    ]);
    assert.deepEqual(exprs("Network traffic"), SEED_QUERIES.slice(2, 4));
    assert.deepEqual(exprs("TCP connections"), SEED_QUERIES.slice(4, 6));
    assert.deepEqual(exprs("Requests by region"), [SEED_QUERIES[0]]);
    assert.deepEqual(exprs("Response times"), [SEED_QUERIES[1]]);

    const tcp = byTitle.get("TCP connections")!;
    const custom = (tcp.fieldConfig as { defaults: { custom: { drawStyle: string } } }).defaults.custom;
    assert.equal(custom.drawStyle, "bars");
    const heat = byTitle.get("Response times")!;
    assert.equal(heat.targets?.[0].format, "heatmap");
    assert.equal((heat.options as { calculate: boolean }).calculate, false);
    const map = byTitle.get("Requests by region")!;
    const layer = map.options?.layers?.[0] as { type: string; location: Record<string, string> };
    assert.equal(layer.type, "markers");
    assert.equal(layer.location.mode, "lookup");
    assert.equal(layer.location.lookup, "region");
    assert.match(layer.location.gazetteer, /^http:\/\/127\.0\.0\.1:9300\/meta\/regions\.json$/);
    assert.equal(map.targets?.[0].legendFormat, "{{region}}");
  });
});

describe("every expression against the API", () => {
  const d = loadDashboard();
  const rangeMs = () => end - T0;

  for (const t of dashboardTargets(d)) {
    test(`${t.panel} ${t.refId}: ${t.expr}`, async () => {
      const expr = interpolate(t.expr, { app: APP, intervalMs: INTERVAL_MS, rangeMs: rangeMs() });
      assert.doesNotMatch(expr, /\$[\w{]/, "a variable left unsubstituted");
      const series = await rangeQuery(expr);
      assertHasData(expr, series);
      if (t.instant) {
        const body = await api("query", { query: expr, time: String(end / 1000) });
        assert.ok((body.data as { result: Series[] }).result.length > 0, `instant ${expr}`);
      }
    });
  }

  for (const q of SEED_QUERIES) {
    test(`the seed's ${q}`, async () => {
      const expr = q.replaceAll("$__interval", "1m").replaceAll("$app", APP);
      assertHasData(expr, await rangeQuery(expr));
    });
  }

  test("$__rate_interval reaches the API as a Go duration (1m15s)", () => {
    assert.equal(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's braced variable syntax, not a template.
      interpolate("rate(x{app=~'^${app}$'}[$__rate_interval])", { app: APP, intervalMs: 60_000, rangeMs: 3_600_000 }),
      `rate(x{app=~'^${APP}$'}[1m15s])`,
    );
    assert.equal(
      interpolate("[$__interval] [$__range]", { app: APP, intervalMs: 90_000, rangeMs: 3_600_000 }),
      "[1m] [3600s]",
    );
  });

  test("responses by status: 200, 404 and 500 of the demo traffic", async () => {
    const q = d.panels[0].targets![0].expr!;
    const series = await rangeQuery(interpolate(q, { app: APP, intervalMs: INTERVAL_MS, rangeMs: rangeMs() }));
    assert.deepEqual(series.map((s) => s.metric.status).sort(), ["200", "404", "500"]);
  });

  test("the app picker's label_values(fly_app_concurrency, app) lists both apps", async () => {
    const q = new URLSearchParams({
      "match[]": "fly_app_concurrency",
      start: String(T0 / 1000),
      end: String(end / 1000),
    });
    const res = await fetch(`${server.url}/prometheus/${ORG}/api/v1/label/app/values?${q}&limit=40000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as { data: string[] }).data, [APP, OTHER]);
  });

  test("the heatmap gets one series per bucket, all on the same timestamps", async () => {
    const expr = interpolate(SEED_QUERIES[1], { app: APP, intervalMs: INTERVAL_MS, rangeMs: rangeMs() });
    const series = await rangeQuery(expr);
    assert.deepEqual(
      series.map((s) => s.metric.le).sort((a, b) => leValue(a) - leValue(b)),
      ["0.005", "0.025", "0.05", "0.1", "0.2", "0.5", "1", "5", "15", "30", "60", "120", "+Inf"],
    );
    const stamps = JSON.stringify(series[0].values?.map((v) => v[0]));
    for (const s of series) assert.equal(JSON.stringify(s.values?.map((v) => v[0])), stamps, s.metric.le);
  });

  test("the map's regions are keys of /meta/regions.json", async () => {
    const res = await fetch(`${server.url}/meta/regions.json`);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    const keys = new Set(((await res.json()) as { key: string }[]).map((r) => r.key));
    const expr = interpolate(SEED_QUERIES[0], { app: APP, intervalMs: INTERVAL_MS, rangeMs: rangeMs() });
    const regions = (await rangeQuery(expr)).map((s) => s.metric.region).sort();
    assert.deepEqual(regions, ["ams", "ord", "syd"]);
    for (const r of regions) assert.ok(keys.has(r), r);
  });
});

/** Runs `contrail args…` without blocking the event loop. */
function contrail(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
    });
  });
}

describe("contrail dashboard export", () => {
  test("prints the dashboard as shipped", async () => {
    const r = await contrail(["dashboard", "export"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), loadDashboard());
  });

  test("--ds-uid binds every panel and drops the input; --regions-url moves the map's lookup", async () => {
    const r = await contrail([
      "dashboard",
      "export",
      "--ds-uid",
      "contrail",
      "--regions-url",
      "http://grafana.example:9300/meta/regions.json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(DS_PLACEHOLDER));
    const d = JSON.parse(r.stdout) as DashboardJson;
    assert.deepEqual(
      d,
      exportDashboard({ dsUid: "contrail", regionsUrl: "http://grafana.example:9300/meta/regions.json" }),
    );
    assert.equal(d.__inputs, undefined);
    assert.deepEqual(
      d.templating.list.map((v) => v.name),
      ["app"],
    );
    for (const p of allPanels(d)) assert.deepEqual(p.datasource, { type: "prometheus", uid: "contrail" });
    assert.match(r.stdout, /"gazetteer": "http:\/\/grafana\.example:9300\/meta\/regions\.json"/);
  });

  test("rejects a malformed uid or URL", async () => {
    for (const args of [
      ["--ds-uid", "no spaces"],
      ["--regions-url", "regions.json"],
    ]) {
      const r = await contrail(["dashboard", "export", ...args]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: --(ds-uid|regions-url): /);
      assert.equal(r.stdout, "");
    }
  });

  test("the provisioning files point Grafana at the personal org with a bearer token from the environment", () => {
    const ds = readFileSync(`${ROOT}deploy/grafana/provisioning/datasources/contrail.yaml`, "utf8");
    assert.match(ds, /^\s+type: prometheus$/m);
    assert.match(ds, /^\s+uid: contrail$/m);
    assert.match(ds, /^\s+url: http:\/\/127\.0\.0\.1:9300\/prometheus\/personal$/m);
    assert.match(ds, /^\s+httpHeaderName1: Authorization$/m);
    assert.match(ds, /^\s+httpHeaderValue1: Bearer \$CONTRAIL_TOKEN$/m);
    const boards = readFileSync(`${ROOT}deploy/grafana/provisioning/dashboards/contrail.yaml`, "utf8");
    assert.match(boards, /^\s+type: file$/m);
    assert.match(boards, /^\s+path: \S+$/m);
    // The DS variable prefers the provisioned data source.
    const dsVar = loadDashboard().templating.list[0] as unknown as { current: { value: string } };
    assert.equal(dsVar.current.value, "contrail");
  });
});
