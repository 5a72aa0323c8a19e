// Recording and alerting rules over native histograms on a real metrics node (startServe): histograms pushed by
// remote write, a group posted through the ruler API, evaluated on the node's query pool and recorded in the org's
// TSDB. Every recorded point, queried through the API, is the JSON the expression itself gives at that time, for
// the histogram rule and for a float rule alike; /api/v1/rules and /api/v1/alerts answer with the histogram rules in
// them, an alert over a histogram with Prometheus 3's value 0 and the histogram in its annotation.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CounterResetHint, type Histogram } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import { encodeWriteRequestV1 } from "../storage/remote/codec-v1-encode.ts";
import { SnappyEncoder } from "../tsdb/encoding/snappy.ts";
import { type Serve, startServe } from "./serve.ts";
import { seedOrgs } from "./testkit.ts";

/** Time between pushed samples, ms. */
const STEP_MS = 5000;
/** Pushed history before the test's start, ms: the rules' one-minute rates find samples from their first round. */
const HISTORY_MS = 5 * 60_000;
/** Liveness bound of every wait, ms. */
const WAIT_MS = 30_000;
/** Recorded points compared with the expression, at least. */
const POINTS = 3;

const GROUP = `name: hist
interval: 1s
rules:
  - record: job:h:rate1m
    expr: sum by (job) (rate(h[1m]))
  - record: job:f:rate1m
    expr: sum by (job) (rate(f[1m]))
  - alert: Observed
    expr: sum by (job) (rate(h[1m]))
    annotations: { summary: "{{ $value.Count }} per second" }
`;

let dir: string;
let serve: Serve | null = null;
let token: string;
const start = Math.floor(Date.now() / STEP_MS) * STEP_MS;

/** The `n`-th sample of a counter histogram of schema 1 with a negative bucket and a zero bucket. */
function counter(n: number): Histogram {
  return {
    integer: true,
    counterResetHint: CounterResetHint.unknown,
    schema: 1,
    zeroThreshold: 0.001,
    zeroCount: n,
    count: 8 * n,
    sum: 0.3 * n,
    positiveSpans: [
      { offset: 0, length: 2 },
      { offset: 2, length: 1 },
    ],
    positiveBuckets: [n, 2 * n, 3 * n],
    negativeSpans: [{ offset: 1, length: 1 }],
    negativeBuckets: [n],
    customValues: [],
  };
}

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${serve!.apiUrl}/prometheus/acme${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
  });
}

interface Point {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
  histogram?: [number, unknown];
  histograms?: [number, unknown][];
}

async function query(params: Record<string, string>): Promise<Point[]> {
  const r = await api(`/api/v1/query?${new URLSearchParams(params)}`);
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return (JSON.parse(text) as { data: { result: Point[] } }).data.result;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`not within ${WAIT_MS} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "contrail-rules-histograms-"));
  ({ acme: token } = seedOrgs(join(dir, "data"), ["acme"]));
  serve = await startServe({
    dataDir: join(dir, "data"),
    api: "127.0.0.1:0",
    scrapeIntervalMs: 60_000,
    rules: { minIntervalMs: 1000, resendDelayMs: 1000 },
    warn: () => {},
  });
  const times: number[] = [];
  for (let t = start - HISTORY_MS; t <= start; t += STEP_MS) times.push(t);
  const series = ["a", "b"].flatMap((job) => [
    {
      labels: Labels.fromStrings("__name__", "h", "job", job),
      samples: [],
      histograms: times.map((t, i) => ({ t, h: counter(i + 1) })),
    },
    { labels: Labels.fromStrings("__name__", "f", "job", job), samples: times.map((t, i) => ({ t, v: i / 3 })) },
  ]);
  const pushed = await api("/api/v1/write", {
    method: "POST",
    headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy" },
    body: new SnappyEncoder().encodeCopy(encodeWriteRequestV1({ series })),
  });
  assert.equal(pushed.status, 204, await pushed.text());
  const posted = await api("/config/v1/rules/hist", {
    method: "POST",
    headers: { "content-type": "application/yaml" },
    body: GROUP,
  });
  assert.equal(posted.status, 202, await posted.text());
});

after(async () => {
  await serve?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** The recorded points of `record` (both jobs), once there are at least {@link POINTS} of job a. */
async function recorded(record: string): Promise<Point[]> {
  return until(`${POINTS} points of ${record}`, async () => {
    const got = await query({ query: `${record}[1m]`, time: String(Date.now() / 1000) });
    const a = got.find((s) => s.metric.job === "a");
    const n = (a?.histograms ?? a?.values ?? []).length;
    return got.length === 2 && n >= POINTS ? got : undefined;
  });
}

describe("rules over native histograms on a metrics node", () => {
  test("a recorded histogram is, point by point, the histogram its expression gives", async () => {
    const series = await recorded("job:h:rate1m");
    for (const s of series) {
      assert.equal(s.values, undefined, "only histograms are recorded");
      for (const [t, h] of s.histograms ?? []) {
        const [direct] = await query({ query: `sum by (job) (rate(h{job="${s.metric.job}"}[1m]))`, time: String(t) });
        assert.deepEqual(direct.histogram, [t, h], `job ${s.metric.job} at ${t}`);
      }
    }
    // The recorded series are histograms the API's histogram functions read as they read the expression's.
    const t = String((series[0].histograms ?? [])[0][0]);
    assert.deepEqual(
      await query({ query: "histogram_quantile(0.9, job:h:rate1m)", time: t }),
      await query({ query: "histogram_quantile(0.9, sum by (job) (rate(h[1m])))", time: t }),
    );
  });

  test("a float rule's recorded points are its expression's values, digit for digit", async () => {
    const series = await recorded("job:f:rate1m");
    for (const s of series) {
      for (const [t, v] of s.values ?? []) {
        const [direct] = await query({ query: `sum by (job) (rate(f{job="${s.metric.job}"}[1m]))`, time: String(t) });
        assert.deepEqual(direct.value, [t, v], `job ${s.metric.job} at ${t}`);
      }
    }
  });

  test("/api/v1/rules and /api/v1/alerts list the histogram rules, the alert with value 0", async () => {
    const alert = await until("Observed firing", async () => {
      const r = await api("/api/v1/alerts");
      assert.equal(r.status, 200);
      const { data } = (await r.json()) as {
        data: {
          alerts: {
            labels: Record<string, string>;
            value: string;
            state: string;
            annotations: Record<string, string>;
          }[];
        };
      };
      return data.alerts.find((a) => a.labels.job === "a" && a.state === "firing");
    });
    assert.equal(alert.value, "0e+00");
    assert.match(alert.annotations.summary, /^[0-9.e+-]+ per second$/);
    const r = await api("/api/v1/rules");
    assert.equal(r.status, 200);
    const { data } = (await r.json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    assert.deepEqual(
      data.groups[0].rules.map((x) => [x.name, x.health, x.lastError ?? ""]),
      [
        ["job:h:rate1m", "ok", ""],
        ["job:f:rate1m", "ok", ""],
        ["Observed", "ok", ""],
      ],
    );
  });
});
