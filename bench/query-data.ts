// The query bench's data set and queries, shared by bench/query.ts (over HTTP against the peers) and
// bench/small-queries.ts (the small cases in process): 10,000 series × 1 h at a 15 s scrape interval, the seed's
// fly_* metrics for 20 apps in 10 regions plus `x{job, instance}` counters, samples a few whole seconds off the step
// grid.

import { createWriteStream } from "node:fs";
import { join } from "node:path";

/** The app the dashboard's queries select. */
export const APP = "app-07";
/** Scrape interval and query step, s. */
export const STEP_S = 15;
/** Series in the data set. */
export const SERIES = 10_000;
const APPS = Array.from({ length: 20 }, (_, i) => `app-${String(i).padStart(2, "0")}`);
const REGIONS = ["ams", "cdg", "dfw", "ewr", "fra", "iad", "lhr", "nrt", "ord", "sin"];
const STATUSES = ["200", "302", "404", "500", "503"];
const BUCKETS = ["0.005", "0.025", "0.05", "0.1", "0.2", "0.5", "1", "5", "15", "30", "60", "120", "+Inf"];
/** The data's hour ends on the step grid, 20 minutes before now: clear of VictoriaMetrics' latency offset (s). */
export const END_S = Math.floor(Date.now() / 1000 / STEP_S) * STEP_S - 1200;
/** Start of the data's hour, s. */
export const START_S = END_S - 3600;

/** The seed dashboard's queries and one over every `x` series, as 1 h range queries at STEP_S. */
export const QUERIES: readonly { name: string; query: string }[] = [
  {
    name: "edge responses by region",
    query: `sum(rate(fly_edge_http_responses_count{app=~"^${APP}$"}[1m])) by (region)`,
  },
  {
    name: "response time heatmap",
    query: `sum(increase(fly_edge_http_response_time_seconds_bucket{app=~"^${APP}$"}[1m])) by (le)`,
  },
  { name: "net sent bits", query: `sum(irate(fly_instance_net_sent_bytes{app="${APP}"}[5m])) * 8` },
  { name: "net recv bits", query: `sum(irate(fly_instance_net_recv_bytes{app="${APP}"}[5m])) * 8` },
  { name: "tcp connects", query: `sum(increase(fly_app_tcp_connects_count{app="${APP}"}[1m]))` },
  { name: "sum by (job) (rate(x[5m]))", query: "sum by (job) (rate(x[5m]))" },
];

/** Deterministic pseudo-random integers in [0, n). */
function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 0x1_0000_0000) * n);
  };
}

interface SeriesDef {
  readonly text: string; // name{labels}
  readonly increment: number; // per scrape; 0 makes a constant gauge
  readonly start: number;
  readonly offsetS: number; // whole seconds off the step grid, 1..14
}

function seriesDefs(): SeriesDef[] {
  const rnd = lcg(42);
  const defs: SeriesDef[] = [];
  const add = (name: string, labels: string, increment: number, start = 1000 + rnd(100_000)) =>
    defs.push({ text: `${name}{${labels}}`, increment, start, offsetS: 1 + rnd(14) });
  for (const app of APPS) {
    for (const region of REGIONS) {
      for (const status of STATUSES)
        add("fly_edge_http_responses_count", `app="${app}",region="${region}",status="${status}"`, 1 + rnd(50));
      let cumulative = 0;
      for (const le of BUCKETS) {
        cumulative += 1 + rnd(20);
        add("fly_edge_http_response_time_seconds_bucket", `app="${app}",region="${region}",le="${le}"`, cumulative, 0);
      }
      for (const i of [1, 2]) {
        const inst = `app="${app}",region="${region}",host="h${i}",instance="${app}-${region}-${i}"`;
        add("fly_instance_net_recv_bytes", inst, 1000 + rnd(100_000));
        add("fly_instance_net_sent_bytes", inst, 1000 + rnd(100_000));
        add("fly_app_tcp_connects_count", inst, 1 + rnd(30));
        add("fly_app_concurrency", inst, 0, rnd(40));
      }
    }
  }
  for (let i = defs.length; i < SERIES; i++) add("x", `job="job-${i % 10}",instance="host-${i}:9100"`, rnd(100));
  return defs;
}

/** Writes the data set as OpenMetrics (seconds) and as Prometheus text for VictoriaMetrics (milliseconds). */
export async function writeDataSet(dir: string): Promise<{ om: string; vm: string; samples: number }> {
  const om = join(dir, "data.om");
  const vm = join(dir, "data.prom");
  const omOut = createWriteStream(om);
  const vmOut = createWriteStream(vm);
  const write = (stream: NodeJS.WritableStream, text: string) =>
    stream.write(text) ? Promise.resolve() : new Promise<void>((resolve) => stream.once("drain", () => resolve()));
  let samples = 0;
  for (const d of seriesDefs()) {
    let a = "";
    let b = "";
    for (let k = 0; k <= 3600 / STEP_S; k++) {
      const s = START_S + k * STEP_S + d.offsetS;
      const v = d.start + k * d.increment;
      a += `${d.text} ${v} ${s}\n`;
      b += `${d.text} ${v} ${s}000\n`;
      samples++;
    }
    await write(omOut, a);
    await write(vmOut, b);
  }
  await write(omOut, "# EOF\n");
  await Promise.all([new Promise((r) => omOut.end(r)), new Promise((r) => vmOut.end(r))]);
  return { om, vm, samples };
}
