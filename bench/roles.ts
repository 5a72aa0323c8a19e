// `contrail up` as separate processes, measured from outside: time from SIGKILL of the edge until it answers
// again (median of several kills), requests failed while the metrics node is SIGKILLed and restarted under steady
// traffic, time from SIGINT until no process it started is left (by pid), and the edge's latency (p50, p99 of
// sequential requests on one kept-alive connection for a few seconds) alone and while heavy queries run against
// the API. `--bin PATH` also runs another checkout's `bin/contrail.js` for the latency part (e.g. a one-process up).
// Run: npm run bench -- roles [--kills 5] [--seconds 5] [--bin ../other/bin/contrail.js]

import { mkdirSync, rmSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { running } from "../src/machines/index.ts";
import { ROLE_RESTART } from "../src/roles/supervisor.ts";
import {
  appInstances,
  BIN,
  contrail,
  contrailOk,
  descendants,
  edgeGet,
  startUp,
  type UpProcess,
  writeTestApp,
} from "../src/roles/testkit.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { median } from "./harness.ts";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const KILLS = Number(arg("kills", "5"));
const LATENCY_MS = Number(arg("seconds", "5")) * 1000;
const OTHER_BIN = arg("bin", "");
const HEAVY = "count_over_time(vector(1)[2h:1ms])";
const APP = "bench";

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function startWithApp(root: string, bin: string): Promise<{ up: UpProcess; data: string; token: string }> {
  const data = join(root, "data");
  const appDir = join(root, "app");
  mkdirSync(appDir, { recursive: true });
  const toml = writeTestApp(appDir, APP);
  const up = await startUp(data, ["--edge", "ord=127.0.0.1:0", "--edge", "ams=127.0.0.1:0"], bin);
  const r = await contrail(["deploy", "-c", toml, "--data", data, "--wait", "--wait-timeout", "60s"], bin);
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
  const token = (await contrailOk(["tokens", "create", "--data", data], bin)).trim();
  return { up, data, token };
}

/** Time from SIGKILL of the edge process until a request through it answers 200, ms. */
async function edgeRestart(up: UpProcess): Promise<number> {
  const port = up.edges.get("ord")!;
  const pid = up.pids().get("edge")!;
  const t0 = performance.now();
  process.kill(pid, "SIGKILL");
  for (;;) {
    try {
      if ((await edgeGet(port, APP, "/ok")).status === 200 && up.pids().get("edge") !== pid) break;
    } catch {
      // Not listening yet.
    }
    await sleep(5);
  }
  return performance.now() - t0;
}

/** Steady traffic (4 loops) while the metrics node is SIGKILLed; returns requests sent and failed. */
async function serveKill(up: UpProcess): Promise<{ sent: number; failed: number; backMs: number }> {
  let stop = false;
  let sent = 0;
  let failed = 0;
  const ports = [...up.edges.values()];
  const loops = Array.from({ length: 4 }, async (_, w) => {
    while (!stop) {
      try {
        if ((await edgeGet(ports[w % ports.length], APP, "/ok")).status !== 200) failed++;
      } catch {
        failed++;
      }
      sent++;
      await sleep(2);
    }
  });
  await sleep(2000);
  const pid = up.pids().get("serve")!;
  const t0 = performance.now();
  process.kill(pid, "SIGKILL");
  while (up.pids().get("serve") === pid) await sleep(10);
  const backMs = performance.now() - t0;
  await sleep(2000);
  stop = true;
  await Promise.all(loops);
  return { sent, failed, backMs };
}

/** Latency of sequential requests through the edge on one kept-alive connection for `ms`, ms each, sorted. */
async function latencies(port: number, ms: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const out: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t0 = performance.now();
    await edgeGet(port, APP, "/ok", agent);
    out.push(performance.now() - t0);
  }
  agent.destroy();
  return out.sort((a, b) => a - b);
}

/** Runs `HEAVY` against the API again and again until `signal` aborts; returns how many finished and their times. */
async function heavyQueries(apiUrl: string, token: string, signal: AbortSignal): Promise<number[]> {
  const times: number[] = [];
  while (!signal.aborted) {
    const t0 = performance.now();
    const r = await fetch(`${apiUrl}/prometheus/personal/api/v1/query?query=${encodeURIComponent(HEAVY)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await r.text();
    times.push(performance.now() - t0);
  }
  return times;
}

async function latencyFigures(label: string, bin: string): Promise<void> {
  const root = scratchDir("contrail-bench-roles-");
  const { up, token } = await startWithApp(root, bin);
  try {
    const port = up.edges.get("ord")!;
    await latencies(port, 500);
    const quiet = await latencies(port, LATENCY_MS);
    const ac = new AbortController();
    const heavy = heavyQueries(up.apiUrl, token, ac.signal);
    await sleep(200);
    const loaded = await latencies(port, LATENCY_MS);
    ac.abort();
    const qt = await heavy;
    const fmt = (xs: number[]) =>
      `${xs.length} requests, p50 ${percentile(xs, 50).toFixed(2)} ms, p99 ${percentile(xs, 99).toFixed(2)} ms, ` +
      `max ${xs[xs.length - 1].toFixed(0)} ms`;
    console.log(`${label}: edge alone: ${fmt(quiet)}; with ${HEAVY} running: ${fmt(loaded)}`);
    console.log(`${label}: heavy queries finished: ${qt.length}, median ${median(qt).toFixed(0)} ms`);
  } finally {
    await up.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const root = scratchDir("contrail-bench-roles-");
  const { up, data } = await startWithApp(root, BIN);
  try {
    const restarts: number[] = [];
    for (let i = 0; i < KILLS; i++) {
      // Each kill after a stable run, so each restart is a first one (no backoff from the previous kill).
      await sleep(ROLE_RESTART.resetAfterMs + 1000);
      restarts.push(await edgeRestart(up));
    }
    console.log(
      `edge SIGKILL → answering again: median ${median(restarts).toFixed(0)} ms ` +
        `(${restarts.map((x) => x.toFixed(0)).join(", ")} ms)`,
    );
    const s = await serveKill(up);
    console.log(
      `metrics node SIGKILL under traffic: ${s.failed} of ${s.sent} requests failed; restarted after ${s.backMs.toFixed(0)} ms`,
    );
    const instances = (await appInstances(data, APP)).length;
    const pids = [up.proc.pid!, ...descendants(up.proc.pid!)];
    const t0 = performance.now();
    up.proc.kill("SIGINT");
    while (pids.some((p) => running(p))) await sleep(5);
    console.log(
      `SIGINT → all ${pids.length} processes gone (up, its roles, ${instances} instances): ` +
        `${(performance.now() - t0).toFixed(0)} ms`,
    );
  } finally {
    if (up.proc.exitCode === null) up.proc.kill("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  }
  await latencyFigures("this tree", BIN);
  if (OTHER_BIN !== "") await latencyFigures(OTHER_BIN, OTHER_BIN);
}

await main();
