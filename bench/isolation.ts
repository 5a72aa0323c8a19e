// One tenant's heavy queries against everything else, measured from outside a real `contrail up` (its processes:
// metrics node with query workers, edge, agent) with a small app deployed behind two edge regions. Two phases of the
// same probes, side by side: idle, then while 4 heavy queries of one org (subqueries over 7.2 million steps, about
// two seconds each) run again and again.
//   - edge: sequential GETs through the edge on one kept-alive connection, paced; p50 and p99 latency;
//   - `1+1` of the heavy queries' own org and of another org, paced; p50, p99 and the longest;
//   - remote write of a third org at a steady offered rate (1,000 samples a request); samples accepted per second and
//     the p99 of a write;
//   - scrape lag: the largest gap between consecutive samples of each scraped series (the app's `up`, the edge's
//     `fly_app_concurrency`, the agent's `fly_instance_up`) beyond the scrape interval.
// Then two heavy queries at once against one alone (wall time of the slower of the two / one alone, median of 3).
// The targets of the issue are printed beside the figures.
// Run: npm run bench -- isolation [--seconds 60] [--scrape-interval 15s] [--write-rate 20000] [--heavy QUERY]
//      [--bin PATH]

import { mkdirSync, rmSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { Labels } from "../src/model/labels.ts";
import { BIN, contrail, contrailOk, edgeGet, startUp, type UpProcess, writeTestApp } from "../src/roles/testkit.ts";
import { encodeWriteRequestV1 } from "../src/storage/remote/codec-v1-encode.ts";
import type { WriteSeries } from "../src/storage/remote/types.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { SnappyEncoder } from "../src/tsdb/encoding/snappy.ts";
import { median } from "./harness.ts";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const PHASE_MS = Number(arg("seconds", "60")) * 1000;
const SCRAPE_INTERVAL = arg("scrape-interval", "15s");
const SCRAPE_INTERVAL_MS = Number.parseFloat(SCRAPE_INTERVAL) * (SCRAPE_INTERVAL.endsWith("ms") ? 1 : 1000);
const WRITE_RATE = Number(arg("write-rate", "20000"));
const BIN_PATH = arg("bin", BIN);

const APP = "isolation";
/** A query that keeps a core busy for about two seconds and holds about 7 million samples (the limit is 20 million). */
const HEAVY = arg(
  "heavy",
  "count_over_time(rate(vector(time())[1m:1ms])[2h:1ms]) + count_over_time(rate(vector(time())[1m:1ms])[2h:1ms] offset 2h)",
);
const HEAVY_LOOPS = 4;
/** Pause between two edge requests of the probe, ms: about 200 requests a second. */
const EDGE_PACE_MS = 5;
/** Pause between two `1+1` queries of a probe, ms. */
const QUERY_PACE_MS = 50;
const SAMPLES_PER_WRITE = 1000;
/** Probes run this long, unmeasured, before the first phase, ms. */
const WARMUP_MS = 5000;
/** How far an edge p99 under load may be from idle, and the other targets of the issue. */
const TARGET_EDGE_P99_RATIO = 2;
const TARGET_ONE_PLUS_ONE_MS = 100;
/** No edge request may take longer while heavy queries run (the "done when"). */
const TARGET_LONGEST_MS = 250;
const TARGET_SCRAPE_LAG_MS = 2000;
const TARGET_TWO_HEAVY_RATIO = 1.3;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Setup {
  readonly up: UpProcess;
  readonly data: string;
  /** Read tokens by org, and the write token of the `ingest` org. */
  readonly read: Readonly<Record<string, string>>;
  readonly write: string;
}

async function start(root: string): Promise<Setup> {
  const data = join(root, "data");
  const appDir = join(root, "app");
  mkdirSync(appDir, { recursive: true });
  const toml = writeTestApp(appDir, APP);
  const up = await startUp(
    data,
    ["--edge", "ord=127.0.0.1:0", "--edge", "ams=127.0.0.1:0", "--scrape-interval", SCRAPE_INTERVAL],
    BIN_PATH,
  );
  const cli = (args: string[]) => contrailOk([...args, "--data", data], BIN_PATH);
  const r = await contrail(["deploy", "-c", toml, "--data", data, "--wait", "--wait-timeout", "60s"], BIN_PATH);
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
  await cli(["orgs", "create", "other"]);
  await cli(["orgs", "create", "ingest"]);
  await cli(["orgs", "limits", "ingest", "--set", `ingestion_rate=${WRITE_RATE * 10}`]);
  const read = {
    personal: (await cli(["tokens", "create"])).trim(),
    other: (await cli(["tokens", "create", "--org", "other"])).trim(),
    ingest: (await cli(["tokens", "create", "--org", "ingest"])).trim(),
  };
  const write = (await cli(["tokens", "create", "--org", "ingest", "--scope", "write"])).trim();
  return { up, data, read, write };
}

/** Times of instant queries of `org` (ms), asked one after another until `signal`; each must succeed. */
async function queryLoop(api: string, org: string, token: string, q: string, paceMs: number, signal: AbortSignal) {
  const times: number[] = [];
  while (!signal.aborted) {
    const t0 = performance.now();
    const r = await fetch(`${api}/prometheus/${org}/api/v1/query?query=${encodeURIComponent(q)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await r.json()) as { status: string; error?: string };
    if (body.status !== "success") throw new Error(`${q} of ${org}: ${r.status} ${body.error}`);
    times.push(performance.now() - t0);
    if (paceMs > 0) await sleep(paceMs);
  }
  return times;
}

/** Latencies of GETs through the edge on one kept-alive connection (ms); failures counted apart. */
async function edgeLoop(port: number, signal: AbortSignal): Promise<{ times: number[]; failed: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  let failed = 0;
  while (!signal.aborted) {
    const t0 = performance.now();
    try {
      if ((await edgeGet(port, APP, "/ok", agent)).status === 200) times.push(performance.now() - t0);
      else failed++;
    } catch {
      failed++;
    }
    await sleep(EDGE_PACE_MS);
  }
  agent.destroy();
  return { times, failed };
}

/** Remote writes of the `ingest` org at WRITE_RATE samples a second; samples accepted and write latencies. */
async function writeLoop(
  api: string,
  token: string,
  signal: AbortSignal,
): Promise<{ accepted: number; times: number[] }> {
  const encoder = new SnappyEncoder();
  const labels = Array.from({ length: SAMPLES_PER_WRITE }, (_, i) =>
    Labels.fromStrings("__name__", "isolation_write", "series", String(i)),
  );
  const times: number[] = [];
  let accepted = 0;
  let sent = 0;
  const begin = performance.now();
  while (!signal.aborted) {
    const t = Date.now();
    const series: WriteSeries[] = labels.map((l, i) => ({ labels: l, samples: [{ t, v: sent + i }] }));
    const body = encoder.encodeCopy(encodeWriteRequestV1({ series }));
    const t0 = performance.now();
    const r = await fetch(`${api}/prometheus/ingest/api/v1/write`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/x-protobuf",
        "content-encoding": "snappy",
        "x-prometheus-remote-write-version": "0.1.0",
      },
      body,
    });
    await r.arrayBuffer();
    times.push(performance.now() - t0);
    if (r.status === 204) accepted += SAMPLES_PER_WRITE;
    sent += SAMPLES_PER_WRITE;
    // Paced against the start: a slow write is followed by the next at once, never by a burst to catch up.
    const due = begin + (sent / WRITE_RATE) * 1000;
    await sleep(Math.max(0, due - performance.now()));
  }
  return { accepted, times };
}

/** Largest gap beyond the scrape interval between consecutive samples of `selector` over the last `ms`, ms. */
async function scrapeLag(api: string, token: string, selector: string, ms: number): Promise<number> {
  const q = `${selector}[${Math.round(ms / 1000)}s]`;
  const r = await fetch(`${api}/prometheus/personal/api/v1/query?query=${encodeURIComponent(q)}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await r.json()) as { data: { result: { values: [number, string][] }[] } };
  let lag = 0;
  for (const s of body.data.result) {
    for (let i = 1; i < s.values.length; i++) {
      lag = Math.max(lag, (s.values[i][0] - s.values[i - 1][0]) * 1000 - SCRAPE_INTERVAL_MS);
    }
  }
  if (body.data.result.length === 0) throw new Error(`no samples of ${selector}`);
  return lag;
}

interface Phase {
  readonly edge: { times: number[]; failed: number };
  readonly sameOrg: number[];
  readonly otherOrg: number[];
  readonly writes: { accepted: number; times: number[] };
  readonly seconds: number;
  readonly lag: Readonly<Record<string, number>>;
  readonly heavyDone: number;
}

async function phase(s: Setup, heavy: number, ms: number = PHASE_MS): Promise<Phase> {
  const ac = new AbortController();
  const api = s.up.apiUrl;
  const heavyLoops = Array.from({ length: heavy }, () =>
    queryLoop(api, "personal", s.read.personal, HEAVY, 0, ac.signal),
  );
  if (heavy > 0) await sleep(500);
  const t0 = performance.now();
  const edge = edgeLoop(s.up.edges.get("ord")!, ac.signal);
  const sameOrg = queryLoop(api, "personal", s.read.personal, "1+1", QUERY_PACE_MS, ac.signal);
  const otherOrg = queryLoop(api, "other", s.read.other, "1+1", QUERY_PACE_MS, ac.signal);
  const writes = writeLoop(api, s.write, ac.signal);
  await sleep(ms);
  ac.abort();
  const seconds = (performance.now() - t0) / 1000;
  const result = {
    edge: await edge,
    sameOrg: await sameOrg,
    otherOrg: await otherOrg,
    writes: await writes,
    seconds,
    heavyDone: (await Promise.all(heavyLoops)).reduce((n, xs) => n + xs.length, 0),
  };
  const lag: Record<string, number> = {};
  for (const [name, selector] of [
    ["app /metrics (up)", `up{app="${APP}"}`],
    ["edge (fly_app_concurrency)", `fly_app_concurrency{app="${APP}"}`],
    ["agent (fly_instance_up)", `fly_instance_up{app="${APP}"}`],
  ]) {
    lag[name] = await scrapeLag(api, s.read.personal, selector, PHASE_MS);
  }
  return { ...result, lag };
}

/** Wall time of `n` heavy queries started together, the slowest (ms). */
async function heavyTogether(s: Setup, n: number): Promise<number> {
  const ac = new AbortController();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: n }, async () => {
      const r = await fetch(`${s.up.apiUrl}/prometheus/other/api/v1/query?query=${encodeURIComponent(HEAVY)}`, {
        headers: { authorization: `Bearer ${s.read.other}` },
        signal: ac.signal,
      });
      await r.text();
    }),
  );
  return performance.now() - t0;
}

function row(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => c.padEnd(widths[i])).join("  ");
}

function ms(v: number): string {
  return Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms` : "-";
}

function report(idle: Phase, loaded: Phase, one: number, two: number): void {
  const edgeP99 = [percentile(idle.edge.times, 99), percentile(loaded.edge.times, 99)];
  const rows: string[][] = [["figure", "idle", `${HEAVY_LOOPS} heavy queries`, "loaded/idle", "target", ""]];
  const add = (name: string, a: number, b: number, fmt: (v: number) => string, target: string, ok: boolean | null) =>
    rows.push([
      name,
      fmt(a),
      fmt(b),
      a > 0 ? `x${(b / a).toFixed(2)}` : "-",
      target,
      ok === null ? "" : ok ? "ok" : "MISSED",
    ]);
  add("edge p50", percentile(idle.edge.times, 50), percentile(loaded.edge.times, 50), ms, "", null);
  add(
    "edge p99",
    edgeP99[0],
    edgeP99[1],
    ms,
    `<= x${TARGET_EDGE_P99_RATIO} idle`,
    edgeP99[1] <= TARGET_EDGE_P99_RATIO * edgeP99[0],
  );
  const edgeMax = [Math.max(...idle.edge.times), Math.max(...loaded.edge.times)];
  add("edge longest", edgeMax[0], edgeMax[1], ms, `< ${TARGET_LONGEST_MS} ms`, edgeMax[1] < TARGET_LONGEST_MS);
  add("edge requests failed", idle.edge.failed, loaded.edge.failed, String, "0", loaded.edge.failed === 0);
  for (const [name, a, b] of [
    ["1+1 same org", idle.sameOrg, loaded.sameOrg],
    ["1+1 other org", idle.otherOrg, loaded.otherOrg],
  ] as const) {
    add(`${name} p50`, percentile(a, 50), percentile(b, 50), ms, "", null);
    add(`${name} p99`, percentile(a, 99), percentile(b, 99), ms, "", null);
    const longest = Math.max(...b);
    add(
      `${name} longest`,
      Math.max(...a),
      longest,
      ms,
      `< ${TARGET_ONE_PLUS_ONE_MS} ms`,
      longest < TARGET_ONE_PLUS_ONE_MS,
    );
  }
  const rate = (p: Phase) => p.writes.accepted / p.seconds;
  add(
    "remote write accepted",
    rate(idle),
    rate(loaded),
    (v) => `${v.toFixed(0)}/s`,
    `${WRITE_RATE}/s offered`,
    rate(loaded) >= 0.95 * WRITE_RATE,
  );
  add("remote write p99", percentile(idle.writes.times, 99), percentile(loaded.writes.times, 99), ms, "", null);
  for (const name of Object.keys(idle.lag)) {
    const b = loaded.lag[name];
    add(`scrape lag ${name}`, idle.lag[name], b, ms, `<= ${TARGET_SCRAPE_LAG_MS} ms`, b <= TARGET_SCRAPE_LAG_MS);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  console.log(`\n== isolation: ${PHASE_MS / 1000} s per phase, scrape interval ${SCRAPE_INTERVAL} ==`);
  for (const r of rows) console.log(row(r, widths));
  console.log(`heavy query: ${HEAVY}; finished in the loaded phase: ${loaded.heavyDone}`);
  const ratio = two / one;
  console.log(
    `two heavy queries at once: ${ms(two)} vs one alone ${ms(one)}: x${ratio.toFixed(2)} ` +
      `(target <= x${TARGET_TWO_HEAVY_RATIO}: ${ratio <= TARGET_TWO_HEAVY_RATIO ? "ok" : "MISSED"})`,
  );
}

const root = scratchDir("contrail-bench-isolation-");
let setup: Setup | null = null;
try {
  setup = await start(root);
  // Warm up every path the probes take (and let a few scrapes land before the first phase reads its gaps).
  await phase(setup, 0, Math.max(WARMUP_MS, 2 * SCRAPE_INTERVAL_MS));
  const idle = await phase(setup, 0);
  const loaded = await phase(setup, HEAVY_LOOPS);
  const ones: number[] = [];
  const twos: number[] = [];
  for (let i = 0; i < 3; i++) {
    ones.push(await heavyTogether(setup, 1));
    twos.push(await heavyTogether(setup, 2));
  }
  report(idle, loaded, median(ones), median(twos));
} finally {
  await setup?.up.stop();
  rmSync(root, { recursive: true, force: true });
}
