// The series of a realistic fleet, shared by the memory and disk benchmarks: the platform's built-in families for
// many apps in many regions (edge responses by status, the response-time histogram's 13 buckets with its count and
// sum, the instance gauges and counters), plus a few custom metrics each app exposes itself.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** How a series' values move: counters only grow, gauges wander around a level. */
export type SeriesKind = "counter" | "gauge";

/** One series of the fleet: metric name, its other labels (name → value), and how its values move. */
export interface FleetSeries {
  readonly name: string;
  readonly labels: readonly (readonly [string, string])[];
  readonly kind: SeriesKind;
}

/** Regions every app runs in. */
export const REGIONS = ["ams", "cdg", "dfw", "ewr", "fra", "iad", "lhr", "nrt", "ord", "sin"];
const HOSTS_PER_REGION = 2;
const STATUSES = ["200", "301", "404", "500", "503"];
const BUCKETS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "+Inf"];
const INSTANCE_COUNTERS = ["fly_instance_net_recv_bytes", "fly_instance_net_sent_bytes", "fly_app_tcp_connects_count"];
const INSTANCE_GAUGES = ["fly_app_concurrency", "fly_instance_memory_mem_free", "fly_instance_load_average"];

/** The series of one host of one app in one region, in a fixed order. */
function hostSeries(app: string, region: string, host: number): FleetSeries[] {
  const out: FleetSeries[] = [];
  const hostName = `${region}-h${host}`;
  const edge = [["app", app] as const, ["region", region] as const, ["host", hostName] as const];
  for (const status of STATUSES)
    out.push({ name: "fly_edge_http_responses_count", labels: [...edge, ["status", status]], kind: "counter" });
  for (const le of BUCKETS)
    out.push({ name: "fly_edge_http_response_time_seconds_bucket", labels: [...edge, ["le", le]], kind: "counter" });
  out.push({ name: "fly_edge_http_response_time_seconds_count", labels: edge, kind: "counter" });
  out.push({ name: "fly_edge_http_response_time_seconds_sum", labels: edge, kind: "counter" });
  const inst = [...edge, ["instance", `${app}-${region}-${host}`] as const];
  for (const name of INSTANCE_COUNTERS) out.push({ name, labels: inst, kind: "counter" });
  for (const name of INSTANCE_GAUGES) out.push({ name, labels: inst, kind: "gauge" });
  // The app's own metrics, scraped from its /metrics.
  for (const method of ["GET", "POST"]) {
    for (const code of ["200", "500"]) {
      out.push({ name: "http_requests_total", labels: [...inst, ["method", method], ["code", code]], kind: "counter" });
    }
  }
  out.push({ name: "job_queue_depth", labels: [...inst, ["queue", "default"]], kind: "gauge" });
  return out;
}

/** The first `count` series of the fleet: apps app-0000, app-0001, ... each in every region, as many as it takes. */
export function fleetSeries(count: number): FleetSeries[] {
  const out: FleetSeries[] = [];
  for (let a = 0; out.length < count; a++) {
    const app = `app-${String(a).padStart(4, "0")}`;
    for (const region of REGIONS) {
      for (let h = 1; h <= HOSTS_PER_REGION; h++) out.push(...hostSeries(app, region, h));
    }
  }
  return out.slice(0, count);
}

/** `name{a="x",b="y"}` of a series, in the Prometheus text format. */
export function seriesText(s: FleetSeries): string {
  return `${s.name}{${s.labels.map(([k, v]) => `${k}="${v}"`).join(",")}}`;
}

/** Deterministic pseudo-random numbers in [0, 1). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

/** Resident set size of process `pid` in bytes, from VmRSS in /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Total bytes of the regular files under `dir` (recursively); 0 when it does not exist. */
export function dirBytes(dir: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e);
    const st = statSync(p);
    total += st.isDirectory() ? dirBytes(p) : st.size;
  }
  return total;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
