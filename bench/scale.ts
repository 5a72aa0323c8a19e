// Contrail at scale on one machine: the fleet's series (bench/fleet.ts), 1,000,000 of them unless `--series N`, are
// written by Remote-Write 1.0 into `contrail up` (an org's /prometheus/<org>/api/v1/write; the metrics node as
// `contrail up` runs it) at a 15 s interval for `--minutes M` (default 10): one sample per series per round, the
// round's requests (2,000 series each, 4 connections) spread evenly over the interval as a Prometheus scraping
// many targets sends them. Meanwhile the seed dashboard's queries (dashboards/contrail-app.json, its app picker
// and panels, as range queries over the dashboard's 15 minutes at a 15 s step for one app) run one after the
// other in a loop, a pass every 5 s (`--refresh-s`) as a dashboard on Grafana's shortest auto-refresh. Reported:
//   - samples/s accepted, per round and over the whole run, against the offered rate (series / 15 s), and the
//     server's CPU-seconds (utime + stime of the metrics node, query workers included);
//   - the metrics node's RSS every 5 s: median and max;
//   - p50 and p99 of each dashboard query during ingest;
//   - restart (WAL replay): SIGKILL of the metrics node (`up` starts it again), then SIGTERM of `up` and a new `up`
//     on the same data: time until the API answers, and until every series is queryable (the org's head holds
//     them all again and a query over one app's series answers their number).
// Run: npm run bench -- scale [--series 1000000] [--minutes 10] [--refresh-s 5]

import { readFileSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { Labels } from "../src/model/labels.ts";
import { startUp, type UpProcess } from "../src/roles/testkit.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { SnappyEncoder } from "../src/tsdb/encoding/snappy.ts";
import { fleetSeries, lcg, rssBytes, sleep } from "./fleet.ts";
import { type ContrailTarget, requestBody, SERIES_PER_REQUEST, startContrail } from "./fleet-write.ts";
import { type Figure, median, printFigures } from "./harness.ts";
import { postRemoteWrite } from "./http-post.ts";

const ORG = "bench";
/** The demo dashboard (`contrail dashboard export` prints it): the seed's queries. */
const DASHBOARD = new URL("../dashboards/contrail-app.json", import.meta.url);
const INTERVAL_MS = 15_000;
const SHARDS = 4;
/** Time between two RSS readings, ms. */
const RSS_EVERY_MS = 5_000;
/** The dashboard's time range (its `time.from` is now-15m), ms, and the step of its range queries, s. */
const DASHBOARD_RANGE_MS = 15 * 60_000;
const STEP_S = 15;
/** Grafana's `$__interval` and `$__rate_interval` for that range over 15 s data: the rate window of the panels. */
const PANEL_WINDOW = "1m";
/** The app whose dashboard is shown. */
const APP = "app-0007";
/** How long a restart may take before the bench gives up, ms. */
const RESTART_TIMEOUT_MS = 30 * 60_000;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const SERIES = arg("series", 1_000_000);
const MINUTES = arg("minutes", 10);
/** A dashboard pass starts this often, ms (Grafana's shortest auto-refresh is 5 s; this dashboard's own is 30 s). */
const REFRESH_MS = arg("refresh-s", 5) * 1000;
const ROUNDS = Math.max(1, Math.round((MINUTES * 60_000) / INTERVAL_MS));

/** One query of the dashboard: a name, and the request that runs it (method, path and parameters at `nowMs`). */
interface DashboardQuery {
  readonly name: string;
  request(nowMs: number): { readonly method: "GET" | "POST"; readonly path: string; readonly params: URLSearchParams };
}

/** The parts of the dashboard's JSON read here: its variables and its panels (rows nest theirs). */
interface Dashboard {
  readonly templating: { readonly list: readonly { readonly definition?: string }[] };
  readonly panels: readonly Panel[];
}
interface Panel {
  readonly panels?: readonly Panel[];
  readonly targets?: readonly { readonly expr?: string }[];
}

/** Every panel of `list`, rows' nested panels included, in order. */
function panelsOf(list: readonly Panel[]): Panel[] {
  return list.flatMap((p) => [p, ...panelsOf(p.panels ?? [])]);
}

/** The dashboard's app picker and each panel's expressions for APP, as Grafana sends them. */
function dashboardQueries(): DashboardQuery[] {
  const d = JSON.parse(readFileSync(DASHBOARD, "utf8")) as Dashboard;
  const out: DashboardQuery[] = [];
  for (const v of d.templating.list) {
    const m = /^label_values\((\w+), *(\w+)\)$/.exec(v.definition ?? "");
    if (m === null) continue;
    out.push({
      name: `label_values(${m[1]}, ${m[2]})`,
      request: (now) => ({
        method: "GET",
        path: `/api/v1/label/${m[2]}/values`,
        params: new URLSearchParams({
          "match[]": m[1],
          start: String((now - DASHBOARD_RANGE_MS) / 1000),
          end: String(now / 1000),
        }),
      }),
    });
  }
  for (const p of panelsOf(d.panels)) {
    for (const t of p.targets ?? []) {
      if (t.expr === undefined) continue;
      const query = t.expr
        .replaceAll("$__rate_interval", PANEL_WINDOW)
        .replaceAll("$__interval", PANEL_WINDOW)
        .replaceAll("$app", APP);
      out.push({
        name: query,
        request: (now) => {
          const end = Math.floor(now / 1000 / STEP_S) * STEP_S;
          const start = end - DASHBOARD_RANGE_MS / 1000;
          return {
            method: "POST",
            path: "/api/v1/query_range",
            params: new URLSearchParams({ query, start: String(start), end: String(end), step: String(STEP_S) }),
          };
        },
      });
    }
  }
  return out;
}

/** Runs `q` against the target; resolves with its latency in ms; throws on an error answer. */
async function runQuery(target: ContrailTarget, q: DashboardQuery): Promise<number> {
  const { method, path, params } = q.request(Date.now());
  const t0 = performance.now();
  const r =
    method === "GET"
      ? await fetch(`${target.api}${path}?${params}`, { headers: target.readHeaders })
      : await fetch(`${target.api}${path}`, {
          method,
          headers: { ...target.readHeaders, "content-type": "application/x-www-form-urlencoded" },
          body: params,
        });
  const json = (await r.json()) as { status: string; error?: string };
  const ms = performance.now() - t0;
  if (json.status !== "success") throw new Error(`${q.name}: ${json.error}`);
  return ms;
}

/** CPU-seconds (user + system) of process `pid` so far, from /proc/<pid>/stat (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** What one round of ingest did: when it was due, when its last answer came, and the samples accepted. */
interface Round {
  readonly due: number;
  done: number;
  accepted: number;
}

/**
 * Ingests ROUNDS rounds: round k is due at `start + k * INTERVAL_MS` with sample times at that instant; request i
 * of it is sent at `due + i * INTERVAL_MS / requests` on the next free shard, or at once when the shards are behind.
 * Bodies are encoded right before they are sent (a few ms each), so the client never holds a round in memory.
 */
async function ingest(
  target: ContrailTarget,
  series: ReturnType<typeof fleetSeries>,
  labels: readonly Labels[],
): Promise<{ rounds: Round[]; failures: string[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: SHARDS });
  const rnd = lcg(7);
  const values = series.map((s) => (s.kind === "counter" ? Math.floor(rnd() * 1e6) : rnd() * 100));
  const encoder = new SnappyEncoder();
  const requests = Math.ceil(series.length / SERIES_PER_REQUEST);
  const start = Math.ceil(Date.now() / 1000) * 1000 + 1000;
  const rounds: Round[] = [];
  const failures: string[] = [];
  try {
    for (let k = 0; k < ROUNDS; k++) {
      const due = start + k * INTERVAL_MS;
      const round: Round = { due, done: 0, accepted: 0 };
      rounds.push(round);
      let next = 0;
      const shard = async () => {
        for (;;) {
          const i = next++;
          if (i >= requests) return;
          const at = due + Math.floor((i * INTERVAL_MS) / requests);
          if (at > Date.now()) await sleep(at - Date.now());
          const from = i * SERIES_PER_REQUEST;
          const to = Math.min(series.length, from + SERIES_PER_REQUEST);
          const body = requestBody(encoder, series, labels, values, { from, to }, due, rnd);
          try {
            await postRemoteWrite(target.writeUrl, body, agent, target.writeHeaders);
            round.accepted += to - from;
          } catch (err) {
            if (failures.length < 10) failures.push((err as Error).message);
          }
        }
      };
      await Promise.all(Array.from({ length: SHARDS }, shard));
      round.done = Date.now();
      const late = round.done - (due + INTERVAL_MS);
      console.log(
        `round ${k + 1}/${ROUNDS}: ${round.accepted} samples accepted, last answer ` +
          `${late > 0 ? `${late} ms after the round's interval` : `${-late} ms before its end`}, ` +
          `RSS ${(rssBytes(target.pid) / 2 ** 20).toFixed(0)} MiB`,
      );
    }
  } finally {
    agent.destroy();
  }
  return { rounds, failures };
}

/** Polls `read` every 200 ms until it returns true; resolves with the ms since `since`. */
async function until(since: number, what: string, read: () => Promise<boolean>): Promise<number> {
  for (;;) {
    if (Date.now() - since > RESTART_TIMEOUT_MS) throw new Error(`restart: ${what} not reached in time`);
    try {
      if (await read()) return Date.now() - since;
    } catch {
      // Not answering yet.
    }
    await sleep(200);
  }
}

/** True when the API of `apiUrl` answers. */
async function answers(apiUrl: string): Promise<boolean> {
  const r = await fetch(`${apiUrl}/healthz`);
  return r.ok;
}

/**
 * True when the org's head holds all SERIES series again (its TSDB status) and a query over one app's series
 * answers their number at the time of the last round. (One `count` over every series is no quick check at
 * 1,000,000: it takes tens of seconds, and its selection's samples sit at the org's default max_samples.)
 */
async function allQueryable(target: ContrailTarget, api: string, timeS: number, appSeries: number): Promise<boolean> {
  const status = await fetch(`${api}/api/v1/status/tsdb`, { headers: target.readHeaders });
  const head = ((await status.json()) as { data?: { headStats?: { numSeries?: number } } }).data?.headStats;
  if (head?.numSeries !== SERIES) return false;
  const r = await fetch(`${api}/api/v1/query`, {
    method: "POST",
    headers: { ...target.readHeaders, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ query: `count({app="${APP}"})`, time: String(timeS) }),
  });
  const json = (await r.json()) as { status: string; data?: { result: { value: [number, string] }[] } };
  return json.status === "success" && Number(json.data?.result[0]?.value[1]) === appSeries;
}

/** Restart times, ms: until the API answers and until every series is queryable. */
interface Restart {
  readonly answers: number;
  readonly queryable: number;
}

/** SIGKILL of the metrics node; `up` starts it again. */
async function killServe(target: ContrailTarget, timeS: number, appSeries: number): Promise<Restart> {
  const pid = target.up.pids().get("serve")!;
  const t0 = Date.now();
  process.kill(pid, "SIGKILL");
  await until(t0, "a new metrics node", async () => (target.up.pids().get("serve") ?? pid) !== pid);
  const up = await until(t0, "the API", () => answers(target.up.apiUrl));
  const all = await until(t0, "all series", () => allQueryable(target, target.api, timeS, appSeries));
  return { answers: up, queryable: all };
}

/** SIGTERM of `up`, then a new `up` on the same data; resolves with the times and the new `up`. */
async function restartUp(
  target: ContrailTarget,
  timeS: number,
  appSeries: number,
): Promise<{ restart: Restart; up: UpProcess }> {
  await target.up.stop();
  const t0 = Date.now();
  const up = await startUp(target.dataDir, []);
  const answered = await until(t0, "the API", () => answers(up.apiUrl));
  const api = `${up.apiUrl}/prometheus/${ORG}`;
  const all = await until(t0, "all series", () => allQueryable(target, api, timeS, appSeries));
  return { restart: { answers: answered, queryable: all }, up };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const dir = scratchDir("contrail-bench-scale-");
  let up: UpProcess | undefined;
  try {
    const series = fleetSeries(SERIES);
    const labels = series.map((s) => Labels.fromPairs([["__name__", s.name], ...s.labels]));
    const target = await startContrail(dir, ORG);
    up = target.up;
    const offered = SERIES / (INTERVAL_MS / 1000);
    console.log(
      `${SERIES} series, ${ROUNDS} rounds of ${INTERVAL_MS / 1000} s: offering ${offered.toFixed(0)} samples/s; ` +
        `idle RSS ${(rssBytes(target.pid) / 2 ** 20).toFixed(0)} MiB`,
    );

    const queries = dashboardQueries();
    const latencies = new Map<string, number[]>(queries.map((q) => [q.name, []]));
    const queryErrors: string[] = [];
    const rss: number[] = [];
    let ingesting = true;
    const rssTimer = setInterval(() => rss.push(rssBytes(target.pid) / 2 ** 20), RSS_EVERY_MS);
    const queryLoop = (async () => {
      // The first round creates every series; queries start once it is in.
      await sleep(INTERVAL_MS);
      while (ingesting) {
        const pass = Date.now();
        for (const q of queries) {
          try {
            latencies.get(q.name)!.push(await runQuery(target, q));
          } catch (err) {
            if (queryErrors.length < 10) queryErrors.push((err as Error).message);
          }
        }
        const wait = pass + REFRESH_MS - Date.now();
        if (wait > 0 && ingesting) await sleep(wait);
      }
    })();
    const cpu0 = cpuSeconds(target.pid);
    const client0 = process.cpuUsage();
    const { rounds, failures } = await ingest(target, series, labels);
    const cpu = cpuSeconds(target.pid) - cpu0;
    const clientCpu = process.cpuUsage(client0);
    ingesting = false;
    await queryLoop;
    clearInterval(rssTimer);

    const accepted = rounds.reduce((n, r) => n + r.accepted, 0);
    const wall = (rounds[rounds.length - 1].done - rounds[0].due) / 1000;
    const perRound = rounds.map((r, i) => r.accepted / ((r.done - (i === 0 ? r.due : rounds[i - 1].done)) / 1000));
    const late = rounds.filter((r) => r.done > r.due + INTERVAL_MS).length;
    const maxLateMs = Math.max(0, ...rounds.map((r) => r.done - (r.due + INTERVAL_MS)));
    // Kept up: every sample accepted, and the backlog never grew past one round (no round ended an interval late).
    const keptUp = accepted === SERIES * ROUNDS && maxLateMs <= INTERVAL_MS;
    const sustained = accepted / Math.max(wall, (ROUNDS * INTERVAL_MS) / 1000);
    console.log(
      `accepted ${accepted} of ${SERIES * ROUNDS} samples in ${wall.toFixed(1)} s: ${sustained.toFixed(0)} samples/s ` +
        `sustained (offered ${offered.toFixed(0)}); ${late} of ${ROUNDS} rounds answered after their interval, ` +
        `the latest by ${maxLateMs} ms (${keptUp ? "kept up" : "did NOT keep up"}); ` +
        `server ${cpu.toFixed(1)} CPU-s (${(accepted / cpu).toFixed(0)} samples per CPU-second), ` +
        `client ${((clientCpu.user + clientCpu.system) / 1e6).toFixed(1)} CPU-s`,
    );
    if (failures.length > 0) console.log(`failed writes (first ${failures.length}):\n  ${failures.join("\n  ")}`);
    if (queryErrors.length > 0)
      console.log(`failed queries (first ${queryErrors.length}):\n  ${queryErrors.join("\n  ")}`);
    console.log(
      `RSS of the metrics node: median ${median(rss).toFixed(0)} MiB, max ${Math.max(...rss).toFixed(0)} MiB`,
    );
    for (const [name, l] of latencies) {
      console.log(
        `query ${name}: p50 ${percentile(l, 50).toFixed(1)} ms, p99 ${percentile(l, 99).toFixed(1)} ms (${l.length} runs)`,
      );
    }

    const lastS = rounds[rounds.length - 1].due / 1000 + 1;
    const appSeries = series.filter((x) => x.labels.some(([k, v]) => k === "app" && v === APP)).length;
    const killed = await killServe(target, lastS, appSeries);
    console.log(
      `SIGKILL of the metrics node: API answers after ${killed.answers} ms, all series after ${killed.queryable} ms`,
    );
    const restarted = await restartUp(target, lastS, appSeries);
    up = restarted.up;
    console.log(
      `SIGTERM of up, up again: API answers after ${restarted.restart.answers} ms, all series after ` +
        `${restarted.restart.queryable} ms`,
    );

    const all = [...latencies.values()].flat();
    const figures: Figure[] = [
      { name: "accepted samples/s per round", unit: "samples/s", runs: perRound, higherIsBetter: true },
      { name: "RSS of the metrics node", unit: "MiB", runs: rss, higherIsBetter: false },
      { name: "dashboard query latency (all)", unit: "ms", runs: all, higherIsBetter: false },
      { name: "restart after SIGKILL: all series", unit: "ms", runs: [killed.queryable], higherIsBetter: false },
      {
        name: "restart after SIGTERM: all series",
        unit: "ms",
        runs: [restarted.restart.queryable],
        higherIsBetter: false,
      },
    ];
    printFigures(`scale: ${SERIES} series at ${INTERVAL_MS / 1000} s for ${ROUNDS} rounds by remote write`, figures);
    console.log(
      `dashboard queries during ingest: p50 ${percentile(all, 50).toFixed(1)} ms, p99 ${percentile(all, 99).toFixed(1)} ms`,
    );
  } finally {
    await up?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
