// Remote-write ingestion against Prometheus and VictoriaMetrics: 10,000 series × 240 samples (one hour at a 15 s
// interval, timestamps jittered like real scrapes; half counters, half gauges) pushed with Remote-Write 1.0 into
//   contrail        the remote-write route (src/api/remote-write.ts) over an EmbeddedTenantStore on a temporary
//                   directory, in a child process of its own,
//   prometheus      `prometheus --web.enable-remote-write-receiver` (temporary data directory),
//   victoriametrics `victoria-metrics` (temporary data directory), endpoint /api/v1/write,
// all on loopback. Requests are shaped like Prometheus's queue manager sends them: one TimeSeries per sample,
// 2,000 samples per request (the default max_samples_per_send of Prometheus 2.50 and later), 4 shards, each shard
// owning a quarter of the series and sending its requests one after the other in time order. Bodies are encoded
// and snappy-compressed before the clock starts.
//
// The figure is samples per CPU-second of the receiving process: utime + stime from /proc/<pid>/stat for the peers,
// process.cpuUsage() deltas (reported by the child) for Contrail, measured from before the first request to one
// second after the last answer (so background flushing right after the writes is counted too). Contrail's lines also
// give the CPU time of its main thread, which owns the storage: the wall time's floor when the cores are free, and
// how often that thread was preempted while it could run (a shared machine's cost to the wall time), the CPU of its
// other threads (the busiest: the decode worker), how long its event loop sat idle and how many collections it ran,
// and the CPU of this sending process. The receiver holds the heap headroom the metrics node holds
// (runtime/heap-headroom.ts), so its collections are those of `contrail up`'s. Each run writes new
// series (label `run`); a first run warms every receiver up and is not counted.
// Run: npm run bench -- ingest [--runs 3] [--peers prometheus,victoriametrics] [--cpu-prof-dir <dir>]
//      [--decode-workers <n>] [--shards <n>]
// (--peers: the peers to run beside Contrail, none with `--peers ""`; --cpu-prof-dir: write a CPU profile of the
// Contrail receiver there when it exits; --decode-workers: the receiver's ingest decode workers, 0 to decompress
// every body on the main thread, default the route's own; --shards: requests in flight, default 4.)

import { type ChildProcess, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { join } from "node:path";
import { constants, PerformanceObserver } from "node:perf_hooks";
import Fastify from "fastify";
import { registerRemoteWrite } from "../src/api/remote-write.ts";
import { Labels } from "../src/model/labels.ts";
import { LIMIT_SPECS } from "../src/model/limits.ts";
import { holdHeapHeadroom } from "../src/runtime/heap-headroom.ts";
import { encodeWriteRequestV1 } from "../src/storage/remote/codec-v1-encode.ts";
import { MetadataStore } from "../src/storage/remote/metadata.ts";
import type { WriteSeries } from "../src/storage/remote/types.ts";
import { EmbeddedTenantStore } from "../src/storage/tenants.ts";
import { type PeerProcess, startProcess, startPrometheusReceiver, startVictoriaMetrics } from "../src/testkit/peers.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { SnappyEncoder } from "../src/tsdb/encoding/snappy.ts";
import { type Figure, printFigures } from "./harness.ts";
import { postRemoteWrite } from "./http-post.ts";

// The peers' binaries, from PATH unless named by environment variables (the figures were taken with
// Prometheus 2.42 and VictoriaMetrics 1.79).
const PROMETHEUS = process.env.PROMETHEUS ?? "prometheus";
const VICTORIA = process.env.VICTORIA_METRICS ?? "victoria-metrics";
const ORG = "bench";

const SERIES = 10_000;
const STEPS = 240;
const INTERVAL_MS = 15_000;
const SAMPLES_PER_REQUEST = 2_000;
/**
 * Shards sending at once (`--shards`, default 4): each one request in flight, as a Prometheus queue shard. Every
 * receiver gets the same number.
 */
const SHARDS = arg("shards", 4);
const SAMPLES = SERIES * STEPS;
const METRICS = [
  "node_cpu_seconds_total",
  "node_network_receive_bytes_total",
  "node_network_transmit_bytes_total",
  "node_disk_read_bytes_total",
  "node_disk_written_bytes_total",
  "http_requests_total",
  "http_request_errors_total",
  "process_cpu_seconds_total",
  "node_context_switches_total",
  "node_intr_total",
  "node_memory_MemAvailable_bytes",
  "node_memory_Cached_bytes",
  "node_load1",
  "node_load5",
  "node_filesystem_avail_bytes",
  "process_resident_memory_bytes",
  "go_goroutines",
  "http_requests_in_flight",
  "node_sockstat_TCP_inuse",
  "temperature_celsius",
];
const REGIONS = ["ams", "cdg", "fra", "iad", "lhr", "nrt", "ord", "sin", "syd", "yyz"];

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

/**
 * The request bodies of one run, per shard, in sending order. Series i is a counter when its metric name ends in
 * `_total`, a gauge otherwise; it belongs to shard i % SHARDS.
 */
function bodies(run: number, base: number): Uint8Array[][] {
  const rnd = lcg(1000 + run);
  const labels: Labels[] = [];
  const offset: number[] = [];
  const value: number[] = [];
  for (let i = 0; i < SERIES; i++) {
    const metric = METRICS[i % METRICS.length];
    const host = Math.floor(i / METRICS.length);
    labels.push(
      Labels.fromStrings(
        "__name__",
        metric,
        "instance",
        `10.${(host >> 8) & 255}.${host & 255}.7:9100`,
        "job",
        "node",
        "region",
        REGIONS[host % REGIONS.length],
        "run",
        String(run),
      ),
    );
    offset.push(Math.floor(rnd() * 1000));
    value.push(metric.endsWith("_total") ? Math.floor(rnd() * 1e6) : rnd() * 100);
  }
  const encoder = new SnappyEncoder();
  const out: Uint8Array[][] = [];
  for (let shard = 0; shard < SHARDS; shard++) {
    const list: Uint8Array[] = [];
    let batch: WriteSeries[] = [];
    for (let step = 0; step < STEPS; step++) {
      for (let i = shard; i < SERIES; i += SHARDS) {
        const counter = METRICS[i % METRICS.length].endsWith("_total");
        value[i] = counter ? value[i] + Math.floor(rnd() * 500) : Math.round((value[i] + rnd() * 2 - 1) * 1000) / 1000;
        // Scrapes start a few ms late, never early, so timestamps stay increasing.
        const t = base + step * INTERVAL_MS + offset[i] + Math.floor(rnd() * 20);
        batch.push({ labels: labels[i], samples: [{ t, v: value[i] }] });
        if (batch.length === SAMPLES_PER_REQUEST) {
          list.push(encoder.encodeCopy(encodeWriteRequestV1({ series: batch })));
          batch = [];
        }
      }
    }
    if (batch.length > 0) list.push(encoder.encodeCopy(encodeWriteRequestV1({ series: batch })));
    out.push(list);
  }
  return out;
}

const children: PeerProcess[] = [];

function start(cmd: string, args: readonly string[], ipc = false): ChildProcess {
  const p = startProcess(cmd, args, { ipc, onFailure: console.error });
  children.push(p);
  return p.proc;
}

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat; of its thread `tid` when given. */
function procCpuSeconds(pid: number, tid?: number): number {
  const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at the state, field 3; utime is 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
}

/** Context switches of a thread: it slept (voluntary), or was preempted while runnable (involuntary). */
interface Switches {
  readonly voluntary: number;
  readonly involuntary: number;
}

/** The context switches of thread `tid` of process `pid` so far, from /proc/<pid>/task/<tid>/status. */
function threadSwitches(pid: number, tid: number): Switches {
  const status = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return { voluntary: field("voluntary_ctxt_switches"), involuntary: field("nonvoluntary_ctxt_switches") };
}

/** CPU seconds of every thread of process `pid` so far, by thread id (threads that ended are gone). */
function threadCpuSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(Number(tid), procCpuSeconds(pid, Number(tid)));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/**
 * Where a run's CPU went in the receiver, seconds: its main thread, its busiest other thread (the decode worker,
 * when there is one), and every other thread (V8's helpers: concurrent marking, parallel scavenges, compilers).
 */
interface ThreadSplit {
  readonly main: number;
  readonly busiest: number;
  readonly rest: number;
}

function threadSplit(pid: number, before: Map<number, number>, after: Map<number, number>): ThreadSplit {
  let busiest = 0;
  let rest = 0;
  for (const [tid, t] of after) {
    if (tid === pid) continue;
    const d = t - (before.get(tid) ?? 0);
    if (d > busiest) {
      rest += busiest;
      busiest = d;
    } else rest += d;
  }
  return { main: (after.get(pid) ?? 0) - (before.get(pid) ?? 0), busiest, rest };
}

/** Garbage collections of a thread so far: young generation scavenges and full mark-compacts. */
interface GcCounts {
  readonly young: number;
  readonly full: number;
}

/** What the receiver says of its main thread's event loop: idle time so far (ms) and collections so far. */
interface MainLoop {
  readonly idleMs: number;
  readonly gcs: GcCounts;
}

/** A receiver under test: where to send, how to read its CPU time, and how many samples it holds. */
interface Target {
  readonly name: string;
  readonly url: string;
  cpuSeconds(): Promise<number>;
  /** CPU seconds of the thread that owns the storage (Contrail's main thread), when that is one thread. */
  mainThreadCpuSeconds?(): number;
  /** Context switches of that thread so far: preemptions of the thread the wall time waits on. */
  mainThreadSwitches?(): Switches;
  /** The main thread's event loop so far: how long it was idle (ms), and its garbage collections. */
  mainLoop?(): Promise<MainLoop>;
  /** CPU seconds of each of the receiver's threads so far, by thread id. */
  threadCpu?(): Map<number, number>;
  /** The receiver's process id, when the bench started it. */
  readonly pid?: number;
  stored(): Promise<number>;
}

/** The number of samples a Prometheus-compatible API at `base` holds for the bench's series. */
async function storedSamples(base: string): Promise<number> {
  let total = 0;
  // One query per metric name: count_over_time drops the name, and series of several names would then collide.
  for (const metric of METRICS) {
    const q = encodeURIComponent(`sum(count_over_time(${metric}{job="node"}[3h]))`);
    const r = (await (await fetch(`${base}/api/v1/query?query=${q}&time=${Date.now() / 1000}`)).json()) as {
      status: string;
      error?: string;
      data?: { result: { value: [number, string] }[] };
    };
    if (r.data === undefined) throw new Error(`${base}: ${r.error ?? r.status}`);
    total += Number(r.data.result[0]?.value[1] ?? 0);
  }
  return total;
}

// The Contrail receiver as a child process: this file with `--receiver <dir>`. It answers "cpu" messages with its
// process.cpuUsage() in seconds.
async function receiverMain(dir: string): Promise<void> {
  const workers = option("decode-workers");
  // As the metrics node does (roles/serve.ts): a small heap gets room to grow before a full GC.
  holdHeapHeadroom();
  const store = new EmbeddedTenantStore({ dataDir: dir, idleCloseMs: 0 });
  const app = Fastify({ logger: false });
  let written = 0;
  await registerRemoteWrite(app, {
    // The bench measures ingestion, not token checks: every request is authorized.
    authorize: () => ({ ok: true, auth: { tokenId: "bench", orgId: ORG, scopes: ["write"] } }),
    tenants: store,
    metadata: new MetadataStore(),
    // The bench measures throughput, not the per-org ingestion rate limit.
    limits: { ingestionRate: LIMIT_SPECS.ingestionRate.max, ingestionBurstSize: LIMIT_SPECS.ingestionBurstSize.max },
    onWrite: (_org, o) => {
      written += o.stats.samplesWritten;
    },
    decodePool: workers === undefined ? undefined : Number(workers) === 0 ? false : { workers: Number(workers) },
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  // The main thread's garbage collections so far: scavenges of the young generation, and full (mark-compact) ones.
  const gcs = { young: 0, full: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { readonly detail?: { readonly kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gcs.young++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcs.full++;
    }
  }).observe({ entryTypes: ["gc"] });
  process.on("message", (m: string) => {
    if (m === "cpu") {
      const u = process.cpuUsage();
      // The event loop's idle time so far, ms: when the main thread had nothing to run.
      const idleMs = performance.eventLoopUtilization().idle;
      process.send?.({ cpu: (u.user + u.system) / 1e6, written, idleMs, gcs: { ...gcs } });
    }
  });
  process.on("SIGTERM", () => {
    app.close().then(() => {
      store.close();
      process.exit(0);
    });
  });
  process.send?.({ port });
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function startContrail(dir: string): Promise<Target> {
  const profDir = option("cpu-prof-dir");
  const prof = profDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profDir}`];
  const workers = option("decode-workers");
  const pass = workers === undefined ? [] : ["--decode-workers", workers];
  const child = start(
    process.execPath,
    [...prof, "--import", "tsx", import.meta.filename, "--receiver", dir, ...pass],
    true,
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m: { port: number }) => resolve(m.port));
    child.once("exit", () => reject(new Error("the contrail receiver exited")));
  });
  type Answer = { cpu: number; written: number } & MainLoop;
  const ask = () =>
    new Promise<Answer>((resolve) => {
      child.once("message", (m: Answer) => resolve(m));
      child.send("cpu");
    });
  return {
    name: "contrail",
    url: `http://127.0.0.1:${port}/prometheus/${ORG}/api/v1/write`,
    cpuSeconds: async () => (await ask()).cpu,
    mainLoop: async () => {
      const { idleMs, gcs } = await ask();
      return { idleMs, gcs };
    },
    mainThreadCpuSeconds: () => procCpuSeconds(child.pid!, child.pid!),
    mainThreadSwitches: () => threadSwitches(child.pid!, child.pid!),
    threadCpu: () => threadCpuSeconds(child.pid!),
    pid: child.pid!,
    stored: async () => (await ask()).written,
  };
}

async function startPrometheus(dir: string): Promise<Target> {
  const p = await startPrometheusReceiver({ bin: PROMETHEUS, dir, onFailure: console.error });
  children.push(p);
  return {
    name: "prometheus",
    url: `${p.url}/api/v1/write`,
    cpuSeconds: async () => procCpuSeconds(p.proc.pid!),
    stored: () => storedSamples(p.url),
  };
}

async function startVictoria(dir: string): Promise<Target> {
  const p = await startVictoriaMetrics({ bin: VICTORIA, dataDir: join(dir, "victoria"), onFailure: console.error });
  children.push(p);
  return {
    name: "victoriametrics",
    url: `${p.url}/api/v1/write`,
    cpuSeconds: async () => procCpuSeconds(p.proc.pid!),
    stored: async () => {
      await fetch(`${p.url}/internal/force_flush`);
      return storedSamples(p.url);
    },
  };
}

const agent = new Agent({ keepAlive: true, maxSockets: SHARDS });
/** Pushes one run's bodies (shards in parallel, each in order); returns CPU seconds and wall seconds. */
async function push(
  target: Target,
  shards: readonly Uint8Array[][],
): Promise<{
  cpu: number;
  wall: number;
  main: number | null;
  switches: Switches | null;
  split: ThreadSplit | null;
  client: number;
  /** Seconds the main thread's event loop was idle while the requests were sent, and its collections meanwhile. */
  loop: { idle: number; young: number; full: number } | null;
}> {
  const cpu0 = await target.cpuSeconds();
  const threads0 = target.threadCpu?.() ?? null;
  const loop0 = (await target.mainLoop?.()) ?? null;
  const client0 = process.cpuUsage();
  const main0 = target.mainThreadCpuSeconds?.() ?? null;
  const sw0 = target.mainThreadSwitches?.() ?? null;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    shards.map(async (list) => {
      for (const b of list) await postRemoteWrite(target.url, b, agent);
    }),
  );
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(client0);
  const loop1 = (await target.mainLoop?.()) ?? null;
  await new Promise((r) => setTimeout(r, 1000));
  const main = main0 === null ? null : target.mainThreadCpuSeconds!() - main0;
  const sw1 = target.mainThreadSwitches?.() ?? null;
  const switches =
    sw0 === null || sw1 === null
      ? null
      : { voluntary: sw1.voluntary - sw0.voluntary, involuntary: sw1.involuntary - sw0.involuntary };
  const threads1 = target.threadCpu?.() ?? null;
  const split =
    threads0 === null || threads1 === null || target.pid === undefined
      ? null
      : threadSplit(target.pid, threads0, threads1);
  const client = (c.user + c.system) / 1e6;
  const loop =
    loop0 === null || loop1 === null
      ? null
      : {
          idle: (loop1.idleMs - loop0.idleMs) / 1000,
          young: loop1.gcs.young - loop0.gcs.young,
          full: loop1.gcs.full - loop0.gcs.full,
        };
  return { cpu: (await target.cpuSeconds()) - cpu0, wall, main, switches, split, client, loop };
}

async function main(): Promise<void> {
  const runs = arg("runs", 3);
  const dir = scratchDir("contrail-bench-ingest-");
  try {
    const peers = (option("peers") ?? "prometheus,victoriametrics").split(",");
    const targets = [await startContrail(join(dir, "contrail"))];
    if (peers.includes("prometheus")) targets.push(await startPrometheus(dir));
    if (peers.includes("victoriametrics")) targets.push(await startVictoria(dir));
    // One hour of data ending a minute ago: inside every receiver's accepted window.
    const base = Math.floor(Date.now() / INTERVAL_MS) * INTERVAL_MS - STEPS * INTERVAL_MS - 60_000;
    const perCpu = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    const perWall = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    for (let run = 0; run <= runs; run++) {
      const shards = bodies(run, base);
      if (run === 0) {
        const n = shards.reduce((a, l) => a + l.length, 0);
        const bytes = shards.reduce((a, l) => a + l.reduce((b, x) => b + x.length, 0), 0);
        console.log(
          `${SAMPLES} samples per run in ${n} requests of ${SAMPLES_PER_REQUEST} samples, ` +
            `${(bytes / n / 1024).toFixed(1)} KiB each compressed (${(bytes / SAMPLES).toFixed(2)} bytes/sample)`,
        );
      }
      for (const t of targets) {
        const { cpu, wall, main, switches, split, client, loop } = await push(t, shards);
        const label = run === 0 ? "warm-up" : `run ${run}`;
        console.log(
          `${label.padEnd(8)} ${t.name.padEnd(16)} ${cpu.toFixed(2)} CPU-s  ${wall.toFixed(2)} s  ` +
            `${Math.round(SAMPLES / cpu)} samples/CPU-s` +
            (main === null ? "" : `  (main thread ${main.toFixed(2)} CPU-s`) +
            (switches === null ? "" : `, preempted ${switches.involuntary} times, slept ${switches.voluntary})`) +
            (main !== null && switches === null ? ")" : ""),
        );
        const threads =
          split === null
            ? ""
            : `threads: main ${split.main.toFixed(2)}, busiest other ${split.busiest.toFixed(2)}, ` +
              `rest ${split.rest.toFixed(2)} CPU-s; ` +
              (loop === null
                ? ""
                : `main loop idle ${loop.idle.toFixed(2)} s of the run's, ` +
                  `${loop.young} scavenges and ${loop.full} full collections; `);
        console.log(`${"".padEnd(8)} ${"".padEnd(16)} ${threads}the sending client ${client.toFixed(2)} CPU-s`);
        if (run === 0) continue;
        perCpu.get(t.name)!.push(SAMPLES / cpu);
        perWall.get(t.name)!.push(SAMPLES / wall);
      }
    }
    for (const t of targets) {
      const n = await t.stored();
      const want = (runs + 1) * SAMPLES;
      if (n !== want) console.log(`WARNING: ${t.name} holds ${n} samples, ${want} were sent`);
    }
    const figures = (name: string): Figure[] => [
      { name: "samples per CPU-second", unit: "samples/CPU-s", runs: perCpu.get(name)!, higherIsBetter: true },
      { name: "samples per second (wall)", unit: "samples/s", runs: perWall.get(name)!, higherIsBetter: true },
    ];
    printFigures(
      "remote-write 1.0 ingest, 10,000 series x 240 samples",
      figures("contrail"),
      Object.fromEntries(targets.slice(1).map((t) => [t.name, figures(t.name)])),
    );
  } finally {
    agent.destroy();
    await Promise.all(children.map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

const receiverAt = process.argv.indexOf("--receiver");
if (receiverAt >= 0) await receiverMain(process.argv[receiverAt + 1]);
else await main();
