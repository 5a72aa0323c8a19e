// Resident memory per active series against Prometheus and VictoriaMetrics: the fleet's series (bench/fleet.ts:
// the built-in fly_* families for many apps in 10 regions plus the apps' own metrics), 100,000 of them unless
// `--series N` or CONTRAIL_BENCH_SERIES says otherwise, are written by Remote-Write 1.0 into
//   contrail        `contrail up` (an org's /prometheus/<org>/api/v1/write with a write token); the process measured
//                   is its metrics node (the `serve` role), which holds the org's TSDB and the query workers,
//   prometheus      `prometheus --web.enable-remote-write-receiver`,
//   victoriametrics `victoria-metrics`, /api/v1/write,
// each on loopback with a temporary data directory: a few rounds of one sample per series, 15 s apart, ending now.
// The figure is (VmRSS − VmRSS of the same server idle before the first write) / series, read 5 times a second
// apart once ingestion settled, then again after a query pass (the seed dashboard's queries over every app).
// Run: npm run bench -- memory [--series 1000000] [--rounds 4]

import { rmSync } from "node:fs";
import { Agent } from "node:http";
import { join } from "node:path";
import { Labels } from "../src/model/labels.ts";
import type { UpProcess } from "../src/roles/testkit.ts";
import { type PeerProcess, startPrometheusReceiver, startVictoriaMetrics } from "../src/testkit/peers.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { fleetSeries, lcg, rssBytes, sleep } from "./fleet.ts";
import { roundBodies, startContrail, type Target } from "./fleet-write.ts";
import { type Figure, printFigures } from "./harness.ts";
import { postRemoteWrite } from "./http-post.ts";

const PROMETHEUS = process.env.PROMETHEUS ?? "prometheus";
const VICTORIA = process.env.VICTORIA_METRICS ?? "victoria-metrics";
const ORG = "bench";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const SERIES = arg("series", Number(process.env.CONTRAIL_BENCH_SERIES ?? 100_000));
const ROUNDS = arg("rounds", 4);
const INTERVAL_MS = 15_000;
const SHARDS = 4;
/** RSS readings per figure, one a second. */
const READINGS = 5;
/** Time the servers get after the last write (flushes, background merges) before the first reading. */
const SETTLE_MS = 10_000;
/**
 * Time the servers get after their start before the idle reading. The metrics node's start grows its main thread's
 * new space to 32 MiB and gives it back once it idles, 10-16 s after it started: read sooner, the idle figure held
 * that space and every figure after it, from which it is subtracted, came out about 300 bytes a series too low.
 */
const IDLE_MS = 30_000;

const peers: PeerProcess[] = [];
let up: UpProcess | undefined;

async function startPrometheus(dir: string): Promise<Target> {
  const p = await startPrometheusReceiver({ bin: PROMETHEUS, dir, onFailure: console.error });
  peers.push(p);
  return {
    name: "prometheus",
    writeUrl: `${p.url}/api/v1/write`,
    writeHeaders: {},
    api: p.url,
    readHeaders: {},
    pid: p.proc.pid!,
    flush: async () => {},
  };
}

async function startVictoria(dir: string): Promise<Target> {
  const p = await startVictoriaMetrics({
    bin: VICTORIA,
    dataDir: join(dir, "victoria"),
    // Its default refuses a query over more than 300,000 series; the query pass reads up to all of them.
    flags: [`-search.maxUniqueTimeseries=${2 * SERIES}`],
    onFailure: console.error,
  });
  peers.push(p);
  return {
    name: "victoriametrics",
    writeUrl: `${p.url}/api/v1/write`,
    writeHeaders: {},
    api: p.url,
    readHeaders: {},
    pid: p.proc.pid!,
    flush: async () => {
      await fetch(`${p.url}/internal/force_flush`);
    },
  };
}

const agent = new Agent({ keepAlive: true, maxSockets: SHARDS });

/** The seed dashboard's queries, over every app rather than one, evaluated at `timeS`. */
const QUERIES = [
  "sum(rate(fly_edge_http_responses_count[1m])) by (region)",
  "sum(increase(fly_edge_http_response_time_seconds_bucket[1m])) by (le)",
  "sum(irate(fly_instance_net_sent_bytes[5m])) * 8",
  "sum(irate(fly_instance_net_recv_bytes[5m])) * 8",
  "sum(increase(fly_app_tcp_connects_count[1m]))",
  "count(http_requests_total)",
];

async function queryPass(target: Target, timeS: number): Promise<void> {
  for (const query of QUERIES) {
    const body = new URLSearchParams({ query, time: String(timeS) });
    const r = await fetch(`${target.api}/api/v1/query`, {
      method: "POST",
      headers: { ...target.readHeaders, "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    const json = (await r.json()) as { status: string; error?: string; data?: { result: unknown[] } };
    if (json.status !== "success") throw new Error(`${target.name}: ${query}: ${json.error}`);
    if ((json.data?.result.length ?? 0) === 0) throw new Error(`${target.name}: ${query}: empty answer`);
  }
}

/** READINGS readings of (RSS − idle) / SERIES, one a second. */
async function perSeries(target: Target, idle: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < READINGS; i++) {
    if (i > 0) await sleep(1000);
    out.push((rssBytes(target.pid) - idle) / SERIES);
  }
  return out;
}

async function main(): Promise<void> {
  const dir = scratchDir("contrail-bench-memory-");
  try {
    const series = fleetSeries(SERIES);
    const labels = series.map((s) => Labels.fromPairs([["__name__", s.name], ...s.labels]));
    const contrail = await startContrail(dir, ORG);
    up = contrail.up;
    const targets = [contrail, await startPrometheus(dir), await startVictoria(dir)];
    await sleep(IDLE_MS);
    const idle = new Map(targets.map((t) => [t.name, rssBytes(t.pid)]));
    for (const t of targets) console.log(`${t.name}: idle RSS ${(idle.get(t.name)! / 2 ** 20).toFixed(1)} MiB`);
    const rnd = lcg(7);
    const values = series.map((s) => (s.kind === "counter" ? Math.floor(rnd() * 1e6) : rnd() * 100));
    const end = Math.floor(Date.now() / INTERVAL_MS) * INTERVAL_MS;
    for (let round = 0; round < ROUNDS; round++) {
      const t = end - (ROUNDS - 1 - round) * INTERVAL_MS;
      const shards = roundBodies(series, labels, values, t, rnd, SHARDS);
      for (const target of targets) {
        const t0 = Date.now();
        await Promise.all(
          shards.map(async (list) => {
            for (const b of list) await postRemoteWrite(target.writeUrl, b, agent, target.writeHeaders);
          }),
        );
        console.log(`round ${round + 1}/${ROUNDS} ${target.name.padEnd(16)} ${Date.now() - t0} ms`);
        // The other targets' writes of this round can outlast a server's keep-alive timeout (a minute at 1M series):
        // a connection it closes while the agent reuses it fails the request, so the next round connects afresh.
        agent.destroy();
      }
    }
    for (const t of targets) await t.flush();
    await sleep(SETTLE_MS);
    const settled: Record<string, number[]> = {};
    for (const t of targets) {
      settled[t.name] = await perSeries(t, idle.get(t.name)!);
      console.log(`${t.name}: settled, ${settled[t.name].map((b) => b.toFixed(0)).join(", ")} bytes per series`);
    }
    const evalS = (end + 1000) / 1000;
    const queried: Record<string, number[]> = {};
    for (const t of targets) {
      const t0 = Date.now();
      await queryPass(t, evalS);
      console.log(`${t.name}: query pass in ${Date.now() - t0} ms`);
    }
    await sleep(SETTLE_MS / 2);
    for (const t of targets) queried[t.name] = await perSeries(t, idle.get(t.name)!);
    for (const t of targets) console.log(`${t.name}: RSS at the end ${(rssBytes(t.pid) / 2 ** 20).toFixed(1)} MiB`);
    const figures = (name: string): Figure[] => [
      { name: "bytes per active series (settled)", unit: "bytes", runs: settled[name], higherIsBetter: false },
      { name: "bytes per active series (after queries)", unit: "bytes", runs: queried[name], higherIsBetter: false },
    ];
    printFigures(`RSS per active series, ${SERIES} series x ${ROUNDS} samples by remote write`, figures("contrail"), {
      prometheus: figures("prometheus"),
      victoriametrics: figures("victoriametrics"),
    });
  } finally {
    agent.destroy();
    await up?.stop();
    await Promise.all(peers.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
