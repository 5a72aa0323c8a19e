// Query API latency against Prometheus and VictoriaMetrics: one data set of 10,000 series × 1 h at a 15 s scrape
// interval (the seed's fly_* metrics for 20 apps in 10 regions, plus `x{job, instance}` counters) is loaded into
// Contrail (`contrail tsdb import`, served by `contrail up`), Prometheus (`promtool tsdb create-blocks-from
// openmetrics`) and VictoriaMetrics (`/api/v1/import/prometheus`), each in its own process on loopback with a
// temporary data directory. Then the seed dashboard's queries and `sum by (job) (rate(x[5m]))` run over HTTP as 1 h
// range queries at a 15 s step, answers compared (relative tolerance 1e-6). Wall time: median of `--runs` (default
// 21) after `--warmup` rounds over every query (default 200) and 2 warm-up runs of each; the runs go round the
// servers in turn (one query each, then the next run), so a burst of load elsewhere on the machine falls on every
// server alike instead of on whichever was being timed.
// Samples sit a few whole seconds off the 15 s step grid, as real scrapes do, so no sample lies on a window
// boundary (where Prometheus 2's closed and Prometheus 3's open range windows would differ).
// CPU time per query: after the timed runs, each query runs more times in `CPU_SLICES` slices per server (the servers
// in turn, slice by slice), and the user + system time of each server's processes (every thread, Contrail's whole
// process tree) over a slice is read from /proc and divided by its runs: a figure a shared machine disturbs far
// less than wall time. A slice has at least `--cpu-runs` / CPU_SLICES runs (default 100 in all), and enough for the
// slowest server to take CPU_SLICE_MS over it: /proc counts in clock ticks (10 ms), so a slice of a few hundred
// fast queries reads each to a few hundredths of a millisecond. The median of the slices is the figure.
// Run: npm run bench -- query [--runs 21] [--cpu-runs 100] [--warmup 200] [--only <text>] [--cpu-prof-dir <dir>]
// (--only: the cases whose name contains the text.)
// (--cpu-prof-dir: `contrail up` and its processes, query workers included, write CPU profiles there.)

import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { join } from "node:path";
import { createOrg, createToken, localUser, openControlDb } from "../src/control/index.ts";
import {
  freePort,
  IDLE_PROMETHEUS_CONFIG,
  startPrometheus as launchPrometheus,
  type PeerProcess,
  startProcess,
  startVictoriaMetrics,
  waitReady,
} from "../src/testkit/peers.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { type Figure, median, printFigures, timeRuns } from "./harness.ts";
import { postFile, postForm } from "./http-post.ts";
import { END_S, QUERIES, SERIES, START_S, STEP_S, writeDataSet } from "./query-data.ts";

// The peers' binaries, from PATH unless named by environment variables (the figures were taken with
// Prometheus 2.42 and VictoriaMetrics 1.79).
const PROMETHEUS = process.env.PROMETHEUS ?? "prometheus";
const PROMTOOL = process.env.PROMTOOL ?? "promtool";
const VICTORIA = process.env.VICTORIA_METRICS ?? "victoria-metrics";
const CONTRAIL = join(import.meta.dirname, "..", "bin", "contrail.js");
const ORG = "bench";

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Timed runs of each query per server, and the least runs over which CPU time per query is read. */
const RUNS = Number(option("runs") ?? 21);
const CPU_RUNS = Number(option("cpu-runs") ?? 100);
/** Slices of the CPU runs, each read on its own; their median is the figure, their spread the table's min and max. */
const CPU_SLICES = 5;
/** Wall time the slowest server spends on one slice, ms (slices of fast queries get more runs). */
const CPU_SLICE_MS = 1000;
/** Most runs in a slice, so a query answered in microseconds does not run for ever. */
const CPU_SLICE_MAX_RUNS = 5000;
/**
 * Rounds over every query before any is timed. Node's V8 compiles a code path with its optimizing compiler only after
 * it has run many times, on helper threads that count in the server's CPU; with a handful of rounds the small cases'
 * figures were 35–45% compilation. The Go servers have no such phase; every server gets the same rounds.
 */
const WARMUP_ROUNDS = Number(option("warmup") ?? 200);
const PROFILE_DIR = option("cpu-prof-dir");
const ONLY = option("only") ?? "";
/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

function run(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${cmd} ${args.join(" ")} failed: ${stderr || err.message}`));
      else resolve(stdout + stderr);
    });
  });
}

/** How long a started server may take to answer its readiness check. */
const READY_TIMEOUT_MS = 120_000;
const children: PeerProcess[] = [];

/** A server under test: the base URL of its Prometheus API, the headers it needs and its process id. */
interface Peer {
  readonly name: string;
  readonly api: string;
  readonly headers: Record<string, string>;
  readonly pid: number;
  /** The one keep-alive connection the queries to this server take, one at a time (see queryAgent). */
  readonly agent: Agent;
}

/**
 * Each server's queries go over one keep-alive connection, as a sequential client's would. Node's fetch opens a
 * second connection when a request follows an uncompressed answer at once (it has not yet released the first), and
 * a Node server's HTTP code, compiled for the sockets it has seen, is deoptimized at such a new one and runs slower
 * for about a thousand requests: that cost 30–50% of the first uncompressed case's CPU figure
 * (docs/benchmarks.md, "Eighteenth round").
 */
function queryAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1 });
}

/** `pid` and its descendants, from /proc's children lists of every thread. */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const text = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, "utf8").trim();
      if (text !== "") out.push(...text.split(" ").map(Number));
    } catch {
      // The process is gone.
    }
  }
  return out;
}

/** User + system CPU time of `pid`'s process tree so far (every thread), ms. */
function treeCpuMs(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      // Fields after the command name (which may hold spaces) start at the state, field 3; utime and stime are 14, 15.
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process is gone.
    }
  }
  return (ticks * 1000) / CLOCK_TICKS;
}

async function startContrail(dir: string, om: string): Promise<Peer> {
  const data = join(dir, "contrail");
  const db = openControlDb({ dataDir: data });
  let token: string;
  try {
    createOrg(db, { slug: ORG, admin: localUser(db)!.id });
    token = createToken(db, { org: ORG }).token;
  } finally {
    db.close();
  }
  const t0 = Date.now();
  await run(process.execPath, [CONTRAIL, "tsdb", "import", "--data", data, "--org", ORG, om]);
  console.log(`contrail: imported in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const port = await freePort();
  const prof = PROFILE_DIR === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`];
  const up = startProcess(process.execPath, [...prof, CONTRAIL, "up", "--data", data, "--api", `127.0.0.1:${port}`], {
    onFailure: console.error,
  });
  children.push(up);
  await waitReady(`http://127.0.0.1:${port}/healthz`, { what: "contrail", timeoutMs: READY_TIMEOUT_MS });
  return {
    name: "contrail",
    api: `http://127.0.0.1:${port}/prometheus/${ORG}`,
    headers: { authorization: `Bearer ${token}` },
    pid: up.proc.pid ?? 0,
    agent: queryAgent(),
  };
}

async function startPrometheus(dir: string, om: string): Promise<Peer> {
  const data = join(dir, "prometheus");
  mkdirSync(data, { recursive: true });
  const t0 = Date.now();
  await run(PROMTOOL, ["tsdb", "create-blocks-from", "openmetrics", om, data]);
  console.log(`prometheus: blocks created in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const p = await launchPrometheus({
    bin: PROMETHEUS,
    dir,
    dataDir: data,
    config: () => IDLE_PROMETHEUS_CONFIG,
    flags: ["--storage.tsdb.retention.time=10y"],
    onFailure: console.error,
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  children.push(p);
  return { name: "prometheus", api: p.url, headers: {}, pid: p.proc.pid ?? 0, agent: queryAgent() };
}

async function startVictoria(dir: string, vmFile: string): Promise<Peer> {
  const vm = await startVictoriaMetrics({
    bin: VICTORIA,
    dataDir: join(dir, "victoria"),
    flags: ["-search.disableCache", "-retentionPeriod=100y"],
    onFailure: console.error,
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  children.push(vm);
  const base = vm.url;
  const t0 = Date.now();
  await postFile(`${base}/api/v1/import/prometheus`, vmFile);
  await fetch(`${base}/internal/force_flush`);
  const match = encodeURIComponent('{__name__!=""}');
  for (;;) {
    const r = (await (await fetch(`${base}/api/v1/series?match[]=${match}&start=${START_S}&end=${END_S}`)).json()) as {
      data: unknown[];
    };
    if (r.data.length >= SERIES) break;
    if (Date.now() - t0 > 120_000) throw new Error(`victoria-metrics holds ${r.data.length} of ${SERIES} series`);
    await new Promise((res) => setTimeout(res, 500));
  }
  console.log(`victoria-metrics: imported in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { name: "victoriametrics", api: base, headers: {}, pid: vm.proc.pid ?? 0, agent: queryAgent() };
}

type Matrix = Map<string, Map<number, number>>;

async function rangeQuery(peer: Peer, query: string): Promise<Matrix> {
  const form = new URLSearchParams({ query, start: String(START_S), end: String(END_S), step: String(STEP_S) });
  const r = await postForm(`${peer.api}/api/v1/query_range`, form, peer.agent, peer.headers);
  let json: {
    status: string;
    error?: string;
    data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  try {
    json = JSON.parse(r.text);
  } catch {
    throw new Error(`${peer.name}: ${query}: HTTP ${r.status}: ${r.text.slice(0, 200)}`);
  }
  if (json.status !== "success") throw new Error(`${peer.name}: ${query}: ${json.error}`);
  const out: Matrix = new Map();
  for (const s of json.data.result) {
    const key = JSON.stringify(Object.entries(s.metric).sort());
    out.set(key, new Map(s.values.map(([t, v]) => [t, Number(v)])));
  }
  return out;
}

/** "" when `b` equals `a` within a relative 1e-6, else what differs first. */
function difference(a: Matrix, b: Matrix): string {
  let points = 0;
  let worst = 0;
  let where = "";
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(key);
    const y = b.get(key);
    if (x === undefined || y === undefined) return `series ${key} only in ${x === undefined ? "the peer" : "contrail"}`;
    for (const t of new Set([...x.keys(), ...y.keys()])) {
      const u = x.get(t);
      const v = y.get(t);
      if (u === undefined || v === undefined) {
        points++;
        if (where === "") where = `point ${t} of ${key} only in ${u === undefined ? "the peer" : "contrail"}`;
        continue;
      }
      const rel = Math.abs(u - v) / Math.max(1, Math.abs(u), Math.abs(v));
      if (rel > 1e-6) {
        points++;
        if (rel > worst) {
          worst = rel;
          where = `at ${t} of ${key}: ${u} vs ${v}`;
        }
      }
    }
  }
  return points === 0 ? "" : `${points} points differ (largest relative difference ${worst.toExponential(2)} ${where})`;
}

async function main(): Promise<void> {
  const dir = scratchDir("contrail-bench-query-");
  try {
    const t0 = Date.now();
    const { om, vm, samples } = await writeDataSet(dir);
    console.log(
      `data set: ${SERIES} series, ${samples} samples, [${START_S}, ${END_S}] s, written in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const peers = [await startContrail(dir, om), await startPrometheus(dir, om), await startVictoria(dir, vm)];
    const figures: Record<string, Figure[]> = { contrail: [], prometheus: [], victoriametrics: [] };
    const cpu: Record<string, Figure[]> = { contrail: [], prometheus: [], victoriametrics: [] };
    // Every server answers every query many times first, so the figures are of warm, long-running servers
    // (JIT-compiled code paths, filled caches) rather than of whichever query happened to run first.
    const cases = QUERIES.filter((q) => q.name.includes(ONLY));
    for (let round = 0; round < WARMUP_ROUNDS; round++) {
      for (const { query } of cases) for (const peer of peers) await rangeQuery(peer, query);
    }
    for (const { name, query } of cases) {
      const answers = new Map<string, Matrix>();
      const wall = new Map<string, number[]>();
      for (const peer of peers) {
        answers.set(peer.name, await rangeQuery(peer, query));
        await timeRuns(() => rangeQuery(peer, query), { runs: 0, warmup: 2 });
        wall.set(peer.name, []);
      }
      for (let run = 0; run < RUNS; run++) {
        for (const peer of peers) {
          const [ms] = await timeRuns(() => rangeQuery(peer, query), { runs: 1, warmup: 0 });
          wall.get(peer.name)!.push(ms);
        }
      }
      const slowest = Math.max(...[...wall.values()].map(median));
      const sliceRuns = Math.min(
        CPU_SLICE_MAX_RUNS,
        Math.max(Math.ceil(CPU_RUNS / CPU_SLICES), Math.ceil(CPU_SLICE_MS / slowest)),
      );
      const slices = new Map<string, number[]>(peers.map((p) => [p.name, []]));
      for (let slice = 0; slice < CPU_SLICES; slice++) {
        for (const peer of peers) {
          const cpu0 = treeCpuMs(peer.pid);
          for (let i = 0; i < sliceRuns; i++) await rangeQuery(peer, query);
          slices.get(peer.name)!.push((treeCpuMs(peer.pid) - cpu0) / sliceRuns);
        }
      }
      for (const peer of peers) {
        figures[peer.name].push({ name, unit: "ms", runs: wall.get(peer.name)!, higherIsBetter: false });
        cpu[peer.name].push({ name, unit: "ms CPU", runs: slices.get(peer.name)!, higherIsBetter: false });
      }
      console.log(`${name}: CPU over ${CPU_SLICES} slices of ${sliceRuns} runs per server`);
      const ours = answers.get("contrail")!;
      const seriesCount = ours.size;
      for (const peer of peers.slice(1)) {
        const diff = difference(ours, answers.get(peer.name)!);
        console.log(`${name}: ${seriesCount} series; vs ${peer.name}: ${diff === "" ? "equal" : diff}`);
      }
      const m = (p: string) => median(figures[p][figures[p].length - 1].runs).toFixed(1);
      console.log(
        `  ${query}\n  median ms: contrail ${m("contrail")}, prometheus ${m("prometheus")}, victoriametrics ${m("victoriametrics")}`,
      );
    }
    printFigures(`1 h range queries at 15 s step over 10,000 series (HTTP, median of ${RUNS})`, figures.contrail, {
      prometheus: figures.prometheus,
      victoriametrics: figures.victoriametrics,
    });
    printFigures(`server CPU time per query (every thread, median of ${CPU_SLICES} slices)`, cpu.contrail, {
      prometheus: cpu.prometheus,
      victoriametrics: cpu.victoriametrics,
    });
    for (const peer of peers) peer.agent.destroy();
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
