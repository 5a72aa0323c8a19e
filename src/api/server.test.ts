// The API over HTTP against an in-memory store: envelopes, parameters, status codes, limits and the public
// endpoints. Isolation, Grafana's requests and promtool have their own files.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { MIN_GZIP_BYTES } from "./respond.ts";
import {
  load,
  MemoryTenants,
  startTestServer,
  type TestControl,
  type TestSample,
  type TestServer,
  testControl,
} from "./test-support.ts";

const T0 = 1_700_000_000_000; // the server's "now"
const STEP = 15_000;

function dataset(): TestSample[] {
  const out: TestSample[] = [];
  for (let t = T0 - 3_600_000; t <= T0; t += STEP) {
    const k = (t - (T0 - 3_600_000)) / STEP;
    out.push({ labels: { __name__: "http_requests_total", job: "api", instance: "a", code: "200" }, t, v: k * 30 });
    out.push({ labels: { __name__: "http_requests_total", job: "api", instance: "b", code: "200" }, t, v: k * 60 });
    out.push({ labels: { __name__: "up", job: "api", instance: "a" }, t, v: 1 });
  }
  // A series that stopped two minutes before T0, and one with a label that is not a legacy name.
  for (let t = T0 - 600_000; t <= T0 - 120_000; t += STEP)
    out.push({ labels: { __name__: "stopped", job: "x" }, t, v: 7 });
  out.push({ labels: { __name__: "weird", "my.label": "v1" }, t: T0, v: 1 });
  for (let i = 0; i < 30; i++) out.push({ labels: { __name__: "many", i: String(i).padStart(2, "0") }, t: T0, v: i });
  return out;
}

let control: TestControl;
let server: TestServer;
let token: string;
let tinyToken: string;

before(async () => {
  control = testControl();
  token = control.org("acme");
  tinyToken = control.org("tiny");
  const store = new MemoryTenants();
  load(store, "acme", dataset());
  load(store, "tiny", dataset());
  server = await startTestServer(control, store, {
    now: () => T0,
    bodyLimit: 4096,
    limitsFor: (org) =>
      org === "tiny" ? { maxSamples: 50, maxSeries: 5, maxMatchers: 2, maxQueryLength: 64 } : undefined,
  });
});

after(async () => {
  await server.close();
  control.cleanup();
});

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test helper over arbitrary JSON
  readonly json: any;
}

async function call(
  path: string,
  init: {
    method?: string;
    form?: Record<string, string | string[]>;
    org?: "acme" | "tiny";
    headers?: Record<string, string>;
  } = {},
): Promise<Reply> {
  const org = init.org ?? "acme";
  const headers: Record<string, string> = {
    authorization: `Bearer ${org === "tiny" ? tinyToken : token}`,
    ...init.headers,
  };
  let body: string | undefined;
  if (init.form !== undefined) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(init.form)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
    body = p.toString();
    headers["content-type"] = "application/x-www-form-urlencoded";
  }
  const url = path.startsWith("/prometheus/") ? path : `/prometheus/${org}${path}`;
  const r = await fetch(server.url + url, { method: init.method ?? (body ? "POST" : "GET"), headers, body });
  const text = await r.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: r.status, headers: r.headers, text, json };
}

function q(params: Record<string, string | number>): string {
  return new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
}

describe("query", () => {
  test("instant vector at the server's now, GET and POST form", async () => {
    for (const r of [
      await call(`/api/v1/query?${q({ query: 'up{instance="a"}' })}`),
      await call("/api/v1/query", { form: { query: 'up{instance="a"}' } }),
    ]) {
      assert.equal(r.status, 200);
      assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
      assert.deepEqual(r.json, {
        status: "success",
        data: {
          resultType: "vector",
          result: [{ metric: { __name__: "up", instance: "a", job: "api" }, value: [T0 / 1000, "1"] }],
        },
      });
    }
  });

  test("Grafana's health check: 1+1 at time=4 is a scalar", async () => {
    const r = await call("/api/v1/query", { form: { query: "1+1", time: "4" } });
    assert.deepEqual(r.json, { status: "success", data: { resultType: "scalar", result: [4, "2"] } });
  });

  test("string results, RFC 3339 times and ms precision", async () => {
    const r = await call(`/api/v1/query?${q({ query: '"hello"', time: "2023-11-14T22:13:20.5Z" })}`);
    assert.deepEqual(r.json.data, { resultType: "string", result: [1700000000.5, "hello"] });
  });

  test("rate over a range with a 1m15s step, as POST form", async () => {
    const r = await call("/api/v1/query_range", {
      form: {
        query: "sum(rate(http_requests_total[1m]))",
        start: String((T0 - 300_000) / 1000),
        end: String(T0 / 1000),
        step: "1m15s",
      },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.data.resultType, "matrix");
    const values = r.json.data.result[0].values as [number, string][];
    assert.deepEqual(
      values.map((v) => v[0]),
      [T0 - 300_000, T0 - 225_000, T0 - 150_000, T0 - 75_000, T0].map((t) => t / 1000),
    );
    for (const [, v] of values) assert.ok(Math.abs(Number(v) - 6) < 1e-9, v); // 30/15 + 60/15 per second
  });

  test("lookback_delta narrows the staleness window", async () => {
    const normal = await call(`/api/v1/query?${q({ query: "stopped" })}`);
    assert.equal(normal.json.data.result.length, 1);
    const narrow = await call(`/api/v1/query?${q({ query: "stopped", lookback_delta: "1m" })}`);
    assert.equal(narrow.json.data.result.length, 0);
    const bad = await call(`/api/v1/query?${q({ query: "stopped", lookback_delta: "x" })}`);
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /^error parsing lookback delta duration: /);
  });

  test("limit truncates with a warning; stats are included when asked", async () => {
    const r = await call(`/api/v1/query?${q({ query: "many", limit: 3, stats: "all" })}`);
    assert.equal(r.json.data.result.length, 3);
    assert.deepEqual(r.json.warnings, ["results truncated due to limit"]);
    assert.equal(r.json.data.stats.samples.totalQueryableSamples, 30);
    assert.equal(typeof r.json.data.stats.timings.evalTotalTime, "number");
    const odd = await call(`/api/v1/query?${q({ query: "1", stats: "yes" })}`);
    assert.match(odd.json.warnings[0], /"stats" is deprecated/);
  });

  test("errors: 400 bad_data with Prometheus's texts", async () => {
    const cases: [string, RegExp][] = [
      [`/api/v1/query?${q({ query: "sum(" })}`, /^invalid parameter "query": 1:5: parse error: /],
      [
        `/api/v1/query?${q({ query: "up", time: "yesterday" })}`,
        /^invalid parameter "time": invalid time value for 'time': cannot parse "yesterday"/,
      ],
      [
        `/api/v1/query?${q({ query: "up", timeout: "soon" })}`,
        /^invalid parameter "timeout": cannot parse "soon" to a valid duration/,
      ],
      [
        `/api/v1/query_range?${q({ query: "up", end: 10, step: 1 })}`,
        /^invalid parameter "start": cannot parse "" to a valid timestamp/,
      ],
      [
        `/api/v1/query_range?${q({ query: "up", start: 10, end: 5, step: 1 })}`,
        /^invalid parameter "end": end timestamp must not be before start time/,
      ],
      [
        `/api/v1/query_range?${q({ query: "up", start: 0, end: 10, step: 0 })}`,
        /^invalid parameter "step": zero or negative query resolution step widths are not accepted/,
      ],
      [
        `/api/v1/query_range?${q({ query: "up", start: 0, end: 100000, step: 1 })}`,
        /^exceeded maximum resolution of 11,000 points per timeseries/,
      ],
      [
        `/api/v1/query_range?${q({ query: "up[5m]", start: 0, end: 10, step: 1 })}`,
        /^invalid parameter "query": invalid expression type "range vector" for range query/,
      ],
      [`/api/v1/query?${q({ query: "up", limit: -2 })}`, /^invalid parameter "limit": limit must be non-negative/],
    ];
    for (const [path, message] of cases) {
      const r = await call(path);
      assert.equal(r.status, 400, path);
      assert.equal(r.json.status, "error");
      assert.equal(r.json.errorType, "bad_data", path);
      assert.match(r.json.error, message, path);
    }
  });

  test("too many samples is 422 execution; a query timeout is 503 timeout", async () => {
    const big = await call(
      `/api/v1/query_range?${q({ query: "http_requests_total", start: (T0 - 3_600_000) / 1000, end: T0 / 1000, step: 15 })}`,
      { org: "tiny" },
    );
    assert.equal(big.status, 422, big.text);
    assert.deepEqual(
      { errorType: big.json.errorType, error: big.json.error },
      { errorType: "execution", error: "query processing would load too many samples into memory in query execution" },
    );
    const slow = await call(
      `/api/v1/query_range?${q({ query: "sum(rate(http_requests_total[1h:1s]))", start: (T0 - 3_600_000) / 1000, end: T0 / 1000, step: 15, timeout: "1ms" })}`,
    );
    assert.equal(slow.status, 503, slow.text);
    assert.equal(slow.json.errorType, "timeout");
  });

  test("format_query and parse_query", async () => {
    const f = await call(`/api/v1/format_query?${q({ query: "sum(rate(x{a='b'}[5m]))by(job)" })}`);
    assert.deepEqual(f.json, { status: "success", data: 'sum by (job) (rate(x{a="b"}[5m]))' });
    // Past 100 characters the answer is Prometheus's prettified, multi-line form.
    const long = await call("/api/v1/format_query", {
      form: {
        query:
          'sum by (job) (rate(http_requests_total{job="api-server"}[5m])) / sum by (job) (rate(x_total{a="b"}[5m]))',
      },
    });
    assert.deepEqual(long.json, {
      status: "success",
      data: [
        '  sum by (job) (rate(http_requests_total{job="api-server"}[5m]))',
        "/",
        '  sum by (job) (rate(x_total{a="b"}[5m]))',
      ].join("\n"),
    });
    // Deep nesting indents quadratically: an answer of more than 8 MiB is refused.
    const deep = `${"(".repeat(900)}label_join(up, "d", ",", ${Array(20_000).fill('"a"').join(", ")})${")".repeat(900)}`;
    const huge = await call("/api/v1/format_query", { form: { query: deep } });
    assert.equal(huge.status, 413, huge.text.slice(0, 200));
    const p = await call("/api/v1/parse_query", { form: { query: "up offset 5m" } });
    assert.equal(p.json.data.type, "vectorSelector");
    assert.equal(p.json.data.offset, 300_000);
    assert.deepEqual(p.json.data.matchers, [{ name: "__name__", value: "up", type: "=" }]);
    const bad = await call(`/api/v1/format_query?${q({ query: "(" })}`);
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /^invalid parameter "query": /);
  });

  test("exemplars: none stored, ms times accepted, bad queries refused", async () => {
    const r = await call("/api/v1/query_exemplars", {
      form: { query: "test", start: String(T0 - 1_800_000), end: String(T0) },
    });
    assert.deepEqual(r.json, { status: "success", data: [] });
    const bad = await call(`/api/v1/query_exemplars?${q({ query: "sum(" })}`);
    assert.equal(bad.status, 400);
  });
});

describe("series and labels", () => {
  test("series: union of several match[], sorted and deduplicated", async () => {
    const r = await call("/api/v1/series", {
      form: { "match[]": ['http_requests_total{instance="a"}', "up", 'http_requests_total{job="api"}'] },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.data, [
      { __name__: "http_requests_total", code: "200", instance: "a", job: "api" },
      { __name__: "http_requests_total", code: "200", instance: "b", job: "api" },
      { __name__: "up", instance: "a", job: "api" },
    ]);
  });

  test("series: match[] is required; limit truncates with a warning; the time range filters", async () => {
    const none = await call("/api/v1/series");
    assert.equal(none.status, 400);
    assert.equal(none.json.error, "no match[] parameter provided");
    const limited = await call(`/api/v1/series?${q({ "match[]": "many", limit: 4 })}`);
    assert.equal(limited.json.data.length, 4);
    assert.deepEqual(limited.json.warnings, ["results truncated due to limit"]);
    const early = await call(
      `/api/v1/series?${q({ "match[]": "stopped", start: (T0 - 60_000) / 1000, end: T0 / 1000 })}`,
    );
    assert.deepEqual(early.json.data, []);
    const empty = await call(`/api/v1/series?${q({ "match[]": '{job=~".*"}' })}`);
    assert.equal(empty.status, 400);
    assert.match(empty.json.error, /invalid parameter "match\[\]"/);
  });

  test("labels and label values, GET and POST, with match[] and limit", async () => {
    const all = await call("/api/v1/labels");
    assert.deepEqual(all.json.data, ["__name__", "code", "i", "instance", "job", "my.label"]);
    const matched = await call("/api/v1/labels", { form: { "match[]": "up", start: "0", end: String(T0 / 1000) } });
    assert.deepEqual(matched.json.data, ["__name__", "instance", "job"]);
    const values = await call(`/api/v1/label/instance/values?${q({ "match[]": "http_requests_total" })}`);
    assert.deepEqual(values.json.data, ["a", "b"]);
    const names = await call(`/api/v1/label/__name__/values?${q({ limit: 2 })}`);
    assert.deepEqual(names.json.data, ["http_requests_total", "many"]);
    assert.deepEqual(names.json.warnings, ["results truncated due to limit"]);
    const escaped = await call("/api/v1/label/U__my_2e_label/values");
    assert.deepEqual(escaped.json.data, ["v1"]);
    const invalid = await call("/api/v1/label/%ED%A0%80/values");
    assert.equal(invalid.status, 400);
  });

  test("metadata is an empty map; its limit must be a number", async () => {
    assert.deepEqual((await call("/api/v1/metadata?limit=40000")).json, { status: "success", data: {} });
    const bad = await call("/api/v1/metadata?limit=x");
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error, "limit must be a number");
  });
});

describe("status and federation", () => {
  test("buildinfo has Prometheus's fields, and Mimir's ruler feature for Grafana's alerting", async () => {
    const r = await call("/api/v1/status/buildinfo");
    assert.deepEqual(Object.keys(r.json.data).sort(), [
      "application",
      "branch",
      "buildDate",
      "buildUser",
      "features",
      "goVersion",
      "revision",
      "version",
    ]);
    assert.equal(r.json.data.application, "Grafana Mimir");
    assert.equal(r.json.data.features.ruler_config_api, "true");
    assert.equal(r.json.data.features.alertmanager_config_api, "false");
  });

  test("status/tsdb counts the org's series", async () => {
    const r = await call("/api/v1/status/tsdb?limit=2");
    assert.equal(r.json.data.headStats.numSeries, 35);
    assert.deepEqual(r.json.data.seriesCountByMetricName, [
      { name: "many", value: 30 },
      { name: "http_requests_total", value: 2 },
    ]);
    assert.equal(r.json.data.seriesCountByLabelValuePair.length, 2);
    assert.equal((await call("/api/v1/status/tsdb?limit=0")).status, 400);
  });

  test("targets, rules and alerts are empty lists", async () => {
    assert.deepEqual((await call("/api/v1/targets")).json.data, {
      activeTargets: [],
      droppedTargets: [],
      droppedTargetCounts: {},
    });
    assert.deepEqual((await call("/api/v1/rules")).json.data, { groups: [] });
    assert.deepEqual((await call("/api/v1/alerts")).json.data, { alerts: [] });
    assert.equal((await call("/api/v1/rules?type=bogus")).status, 400);
  });

  test("federate writes the newest sample of each matching series with its timestamp", async () => {
    const r = await call(`/federate?${q({ "match[]": '{__name__=~"up|stopped"}' })}`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    assert.equal(
      r.text,
      `# TYPE stopped untyped\nstopped{job="x",instance=""} 7 ${T0 - 120_000}\n` +
        `# TYPE up untyped\nup{instance="a",job="api"} 1 ${T0}\n`,
    );
  });
});

describe("routing and limits", () => {
  test("a method an endpoint does not take is 405 with Allow", async () => {
    const r = await call("/api/v1/query", { method: "DELETE" });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "GET, POST");
    const v = await call("/api/v1/label/job/values", { method: "POST", form: {} });
    assert.equal(v.status, 405);
    assert.equal(v.headers.get("allow"), "GET");
  });

  test("unknown endpoints: 404 with a token, the same 401 as known ones without", async () => {
    const found = await call("/api/v1/nope");
    assert.equal(found.status, 404);
    assert.equal(found.json.errorType, "not_found");
    const anon = await fetch(`${server.url}/prometheus/acme/api/v1/nope`);
    const known = await fetch(`${server.url}/prometheus/acme/api/v1/query`);
    assert.equal(anon.status, 401);
    assert.equal(await anon.text(), await known.text());
  });

  test("per-org limits: body size 413, query length, match[] count, series count", async () => {
    const huge = await call("/api/v1/query", { form: { query: "x".repeat(5000) } });
    assert.equal(huge.status, 413);
    assert.equal(huge.json.errorType, "bad_data");
    const long = await call(`/api/v1/query?${q({ query: `up{job="${"a".repeat(80)}"}` })}`, { org: "tiny" });
    assert.equal(long.status, 400);
    assert.match(long.json.error, /more than the limit of 64/);
    const matchers = await call(`/api/v1/series?match[]=up&match[]=up&match[]=up`, { org: "tiny" });
    assert.equal(matchers.status, 400);
    assert.match(matchers.json.error, /3 match\[\] selectors given, more than the limit of 2/);
    const series = await call(`/api/v1/series?${q({ "match[]": "many" })}`, { org: "tiny" });
    assert.equal(series.status, 422);
    assert.match(series.json.error, /more than 5 series/);
    const query = await call(`/api/v1/query?${q({ query: "many" })}`, { org: "tiny" });
    assert.equal(query.status, 422);
    const limited = await call(`/api/v1/series?${q({ "match[]": "many", limit: 5 })}`, { org: "tiny" });
    assert.equal(limited.status, 200);
    assert.equal(limited.json.data.length, 5);
  });

  test("answers past the first round trip's size are gzip-compressed when the client accepts it", async () => {
    const range = (step: number) =>
      `${server.url}/prometheus/acme/api/v1/query_range?${q({ query: "http_requests_total", start: (T0 - 3_600_000) / 1000, end: T0 / 1000, step })}`;
    const gz = { headers: { authorization: `Bearer ${token}`, "accept-encoding": "gzip" } };
    const small = await fetch(range(15), gz);
    assert.equal(small.headers.get("content-encoding"), null);
    assert.equal(small.headers.get("vary"), "Accept-Encoding");
    const smallText = await small.text();
    assert.ok(Buffer.byteLength(smallText) < MIN_GZIP_BYTES);
    assert.equal(JSON.parse(smallText).data.result[0].values.length, 241);
    const large = await fetch(range(5), gz);
    assert.equal(large.headers.get("content-encoding"), "gzip");
    assert.equal(JSON.parse(await large.text()).data.result[0].values.length, 721);
    const raw = await import("node:http").then(
      (http) =>
        new Promise<Buffer>((resolve, reject) => {
          const req = http.get(range(5), gz, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c) => chunks.push(c));
            res.on("end", () => resolve(Buffer.concat(chunks)));
          });
          req.on("error", reject);
        }),
    );
    const text = gunzipSync(raw).toString();
    assert.ok(text.length >= MIN_GZIP_BYTES && raw.length < text.length);
    assert.equal(JSON.parse(text).data.result.length, 2);
  });
});

describe("public endpoints", () => {
  test("healthz", async () => {
    const r = await fetch(`${server.url}/healthz`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "ok\n");
  });

  test("/metrics exposes process and API metrics without naming orgs", async () => {
    await call("/api/v1/query?query=up");
    const r = await fetch(`${server.url}/metrics`);
    const text = await r.text();
    assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    assert.match(text, /^process_resident_memory_bytes \d+/m);
    assert.match(text, /^contrail_api_requests_total\{code="200",handler="\/prometheus\/:org\/api\/v1\/query"\} \d+/m);
    assert.match(
      text,
      /^contrail_api_request_duration_seconds_bucket\{handler="\/prometheus\/:org\/api\/v1\/query",le="\+Inf"\} \d+/m,
    );
    assert.match(text, /^contrail_build_info\{version="[^"]+"\} 1$/m);
    assert.doesNotMatch(text, /acme|tiny/);
  });

  test("/meta/regions.json lists regions with key and coordinates, open to any origin", async () => {
    const r = await fetch(`${server.url}/meta/regions.json`, { headers: { origin: "https://grafana.example" } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("access-control-allow-origin"), "*");
    const regions = (await r.json()) as {
      code: string;
      key: string;
      name: string;
      latitude: number;
      longitude: number;
    }[];
    const ams = regions.find((x) => x.code === "ams");
    assert.deepEqual(ams, {
      code: "ams",
      name: "Amsterdam, Netherlands",
      latitude: 52.374342,
      longitude: 4.895439,
      key: "ams",
    });
    assert.ok(regions.length >= 30);
    const pre = await fetch(`${server.url}/meta/regions.json`, { method: "OPTIONS" });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), "*");
  });
});
