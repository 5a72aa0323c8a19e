// Every MetricsQL form Contrail accepts, answered by our engine and by a real VictoriaMetrics (1.79, Debian's
// victoria-metrics started on loopback) over the same samples, range and instant queries at several steps: the step
// above, at and below the scrape interval, so implicit windows are sized from the step and from the scrape
// interval. Results are compared by label set without `__name__` (VictoriaMetrics keeps the name where PromQL
// drops it, e.g. after max_over_time) and by value within a relative 1e-9. Skipped when victoria-metrics is absent.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Labels } from "../../model/labels.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { type Peer, startVictoriaMetrics } from "../../testkit/peers.ts";
import { Engine, type QueryResult } from "./index.ts";

const HAVE_VM = (() => {
  const r = spawnSync("victoria-metrics", ["-version"], { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
})();
const SKIP = HAVE_VM ? false : "victoria-metrics is not installed";

const MINUTE = 60_000;
/** Start of the data: whole minutes, two hours ago (VictoriaMetrics keeps a month by default). */
const T0 = Math.floor(Date.now() / MINUTE) * MINUTE - 120 * MINUTE;
/** Data spans 100 minutes; queries look at minutes 30 to 90. */
const DATA_END = T0 + 100 * MINUTE;
const Q_START = T0 + 30 * MINUTE;
const Q_END = T0 + 90 * MINUTE;
/** Steps: above, at and below the 15 s scrape interval. */
const STEPS = [60_000, 15_000, 5_000];
const INSTANTS = [Q_START, T0 + 47 * MINUTE + 20_000, Q_END];
const RELATIVE_TOLERANCE = 1e-9;

interface Sample {
  readonly labels: Record<string, string>;
  readonly t: number;
  readonly v: number;
}

// Counters at several rates and scrape intervals (one with a reset, one starting late), gauges, histogram
// buckets, and label values in mixed case.
function dataset(): Sample[] {
  const out: Sample[] = [];
  const every = (ms: number, fn: (k: number, t: number) => void) => {
    for (let t = T0, k = 0; t <= DATA_END; t += ms, k++) fn(k, t);
  };
  const regions = ["ams", "Ord", "SIN", "fra", "iad", "lhr", "syd"];
  every(15_000, (k, t) => {
    regions.forEach((region, i) => {
      const rate = (i + 1) * 1.5;
      out.push({ labels: { __name__: "reqs_total", app: "web", region }, t: t + 250 * i, v: k * 15 * rate });
      out.push({ labels: { __name__: "load", app: "web", region }, t: t + 250 * i, v: ((k * (i + 3)) % 17) + i / 4 });
      out.push({ labels: { __name__: "mem_total", app: "web", region }, t, v: i < 4 ? 1024 : 2048 });
    });
    const restarted = k < 200 ? k * 30 : (k - 200) * 30;
    out.push({ labels: { __name__: "reqs_total", app: "api", region: "ams" }, t, v: restarted });
    ["0.1", "0.5", "1", "+Inf"].forEach((le, i) => {
      out.push({ labels: { __name__: "lat_bucket", app: "web", le }, t, v: k * (i + 1) * 4 });
    });
  });
  every(10_000, (k, t) => out.push({ labels: { __name__: "fast_total", app: "web" }, t, v: k * 7 }));
  // A counter whose every 7th sample dips a little (jitter between replicas, not a reset).
  every(15_000, (k, t) =>
    out.push({ labels: { __name__: "jitter_total", app: "web" }, t, v: 1000 + k * 10 - (k % 7 === 3 ? 15 : 0) }),
  );
  every(60_000, (k, t) => out.push({ labels: { __name__: "slow_total", app: "web" }, t, v: k * 120 }));
  every(15_000, (k, t) => {
    if (t >= T0 + 50 * MINUTE) out.push({ labels: { __name__: "late_total", app: "web" }, t, v: 5 + k * 3 });
  });
  return out;
}

/** Queries checked against VictoriaMetrics: one or more per accepted form. */
const QUERIES = [
  "rate(reqs_total)",
  'sum(rate(reqs_total{app="web"})) by (region)',
  "increase(reqs_total)",
  'sum(increase(reqs_total{app="api"}))',
  "irate(reqs_total)",
  "delta(load)",
  "idelta(load)",
  "changes(load)",
  "resets(reqs_total)",
  "rate(fast_total)",
  "increase(jitter_total)",
  "irate(jitter_total)",
  "rate(slow_total)",
  "increase(slow_total)",
  "increase(late_total)",
  "max_over_time(load)",
  "min_over_time(load)",
  "avg_over_time(load)",
  "sum_over_time(load)",
  "count_over_time(load)",
  "last_over_time(load)",
  "deriv(load)",
  "stddev_over_time(load)",
  "quantile_over_time(0.5, load)",
  "rate(reqs_total offset 2m)",
  'sum(increase(reqs_total{region=~"a.*"})) by (region) > 0',
  'histogram_quantiles("p", 0.5, 0.9, 0.99, sum(increase(lat_bucket[1m])) by (le))',
  'histogram_quantiles("p", 0.25, 0.75, sum(rate(lat_bucket[5m])) by (le))',
  ...["min", "max", "avg", "median", "last"].flatMap((s) => [
    `topk_${s}(3, load)`,
    `bottomk_${s}(2, load)`,
    `topk_${s}(2, sum(rate(reqs_total)) by (region), "region=other")`,
    `bottomk_${s}(3, load, "other")`,
  ]),
  "mode(mem_total)",
  "mode(mem_total) by (app)",
  "mode(load) without (region)",
  "topk_last(2, rate(reqs_total)) by (app)",
  'bottomk_avg(1, rate(reqs_total), "region=other") by (app)',
  'topk_max(2, rate(reqs_total), "kind=rest") without (region)',
  'label_uppercase(load, "region")',
  'label_lowercase(load, "region", "app")',
  'label_uppercase(sum(rate(reqs_total)) by (region), "region") > 2',
  "max(0, load - 10)",
  "min(5, load)",
  "sum(load, mem_total)",
  "union(load, mem_total)",
  "sum(rate(reqs_total)[5m]) by (region)",
  "max(rate(fast_total)[2m])",
  "sum(load[3m]) by (app)",
  "default_rollup(load)",
  "default_rollup(slow_total[30s])",
];

type Points = Map<number, number>;
type Result = Map<string, Points>;

function labelKey(labels: Record<string, string>): string {
  const { __name__: _, ...rest } = labels;
  return JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function fromOurs(r: QueryResult): Result {
  const out: Result = new Map();
  if (r.value.type === "matrix") {
    for (const s of r.value.series) {
      const pts: Points = new Map();
      for (let i = 0; i < s.t.length; i++) pts.set(s.t[i], s.v[i]);
      out.set(labelKey(s.labels.toRecord()), pts);
    }
  } else if (r.value.type === "vector") {
    for (const s of r.value.samples) out.set(labelKey(s.labels.toRecord()), new Map([[s.t, s.v]]));
  }
  return out;
}

interface VmSeries {
  readonly metric: Record<string, string>;
  readonly values?: [number, string][];
  readonly value?: [number, string];
}

async function vmQuery(vm: Peer, path: string, params: Record<string, string>): Promise<Result> {
  const body = new URLSearchParams({ ...params, nocache: "1" });
  const r = await fetch(`${vm.url}${path}`, { method: "POST", body });
  const json = (await r.json()) as { status: string; error?: string; data: { result: VmSeries[] } };
  assert.equal(json.status, "success", `${params.query}: ${json.error}`);
  const out: Result = new Map();
  for (const s of json.data.result) {
    const pts: Points = new Map();
    for (const [t, v] of s.values ?? (s.value ? [s.value] : [])) pts.set(Math.round(t * 1000), Number(v));
    out.set(labelKey(s.metric), pts);
  }
  return out;
}

function sameValue(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return Math.abs(a - b) <= RELATIVE_TOLERANCE * Math.max(1, Math.abs(a), Math.abs(b));
}

function assertSame(ours: Result, theirs: Result, what: string): void {
  assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort(), `${what}: series`);
  for (const [key, pts] of ours) {
    const other = theirs.get(key) as Points;
    const extra = [...pts.keys()].filter((t) => !other.has(t));
    const missing = [...other.keys()].filter((t) => !pts.has(t));
    assert.deepEqual({ extra, missing }, { extra: [], missing: [] }, `${what}: steps of ${key}`);
    for (const [t, v] of pts) {
      assert.ok(
        sameValue(v, other.get(t) as number),
        `${what}: ${key} at ${t}: ours ${v}, VictoriaMetrics ${other.get(t)}`,
      );
    }
  }
}

let vm: Peer | null = null;
let dir = "";
const store = new MemoryStore();
const engine = new Engine({ metricsql: true });

before(async () => {
  if (!HAVE_VM) return;
  const samples = dataset();
  const app = store.appender();
  for (const s of samples) app.append(Labels.fromRecord(s.labels), s.t, s.v);
  app.commit();
  dir = mkdtempSync(join(tmpdir(), "contrail-metricsql-vm-"));
  vm = await startVictoriaMetrics({
    dataDir: join(dir, "vm"),
    flags: ["-search.disableCache", "-search.latencyOffset=0s"],
  });
  const lines = samples.map((s) => {
    const { __name__: name, ...rest } = s.labels;
    const labels = Object.entries(rest).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    return `${name}{${labels.join(",")}} ${s.v} ${s.t}`;
  });
  const imported = await fetch(`${vm.url}/api/v1/import/prometheus`, { method: "POST", body: lines.join("\n") });
  assert.ok(imported.ok, `import: ${imported.status}`);
  await fetch(`${vm.url}/internal/force_flush`);
  const series = new Set(samples.map((s) => labelKey(s.labels) + s.labels.__name__)).size;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await vmQuery(vm, "/api/v1/query", { query: 'count({__name__!=""})', time: String(Q_END / 1000) });
    const count = [...r.values()][0]?.get(Q_END);
    if (count === series) break;
    if (Date.now() > deadline) throw new Error(`victoria-metrics holds ${count} of ${series} series`);
    await new Promise((res) => setTimeout(res, 200));
  }
});

after(async () => {
  await vm?.stop();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe("MetricsQL against VictoriaMetrics", { skip: SKIP }, () => {
  for (const query of QUERIES) {
    test(query, async () => {
      const peer = vm as Peer;
      for (const step of STEPS) {
        const ours = fromOurs(await engine.rangeQuery(store, query, { start: Q_START, end: Q_END, step }));
        const theirs = await vmQuery(peer, "/api/v1/query_range", {
          query,
          start: String(Q_START / 1000),
          end: String(Q_END / 1000),
          step: `${step / 1000}s`,
        });
        assertSame(ours, theirs, `range step ${step / 1000}s`);
      }
      for (const t of INSTANTS) {
        const ours = fromOurs(await engine.instantQuery(store, query, t));
        const theirs = await vmQuery(peer, "/api/v1/query", { query, time: String(t / 1000) });
        assertSame(ours, theirs, `instant at ${t}`);
      }
    });
  }
});
