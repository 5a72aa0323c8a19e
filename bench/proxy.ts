// Reverse-proxy throughput: wrk through Contrail's edge (metrics on), through nginx as a reverse proxy (keep-alive
// upstream), directly, and through a minimal proxy on node:http's keep-alive Agent (no metrics, no header work: the
// design the edge's raw-socket upstream client replaced), all to the same upstream: a second nginx serving a static
// 200, so the upstream is not the bottleneck. `--workers N` runs N edge processes accepting on one port (cluster
// workers sharing the listening socket, each with its own registry, as separate edge processes would) and gives
// nginx N worker processes; the default, 1, is what `contrail up` runs. Runs are interleaved; prints requests/s,
// p50, p99 and the proxy's CPU time per request (user + system of its worker processes, the figure that a machine
// shared with other work disturbs least) of each, the ratio Contrail/nginx, and the responses the edge workers
// counted against the requests wrk completed. Needs the Debian packages `wrk` and `nginx-light`.
// `--cpu-prof DIR` writes a V8 CPU profile of each edge worker into DIR when it stops (see docs/benchmarks.md).
// `--nginx-only` measures the edge and nginx alone (shorter runs while iterating; the ratio is the same).
// Run: npm run bench -- proxy [--workers 1] [--duration 5] [--connections 50] [--runs 3] [--cpu-prof DIR]
//      [--nginx-only]

import { spawn, spawnSync } from "node:child_process";
import cluster, { type Worker } from "node:cluster";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer as createHttpServer, request, type Server } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { startEdge } from "../src/edge/edge.ts";
import type { AppRoute } from "../src/edge/routes.ts";
import { Registry } from "../src/exposition/registry.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { type Figure, median, printFigures } from "./harness.ts";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const DURATION_S = arg("duration", 5);
const CONNECTIONS = arg("connections", 50);
const RUNS = arg("runs", 3);
const WORKERS = arg("workers", 1);
const NGINX_ONLY = process.argv.includes("--nginx-only");
/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

function need(tool: string, pkg: string): string {
  const r = spawnSync("sh", ["-c", `command -v ${tool} || ls /usr/sbin/${tool} 2>/dev/null`], { encoding: "utf8" });
  const path = r.stdout.trim().split("\n")[0];
  if (!path) {
    console.error(`${tool} not found: install the Debian package ${pkg} (apt-get install -y ${pkg})`);
    process.exit(2);
  }
  return path;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function nginxConfig(dir: string, name: string, server: string, upstreamPort?: number, workers = 1): string {
  const upstream =
    upstreamPort === undefined
      ? ""
      : `upstream app { server 127.0.0.1:${upstreamPort}; keepalive 128; keepalive_requests 1000000; }`;
  const conf = `
daemon off;
master_process ${workers > 1 ? "on" : "off"};
worker_processes ${workers};
error_log ${dir}/${name}.error.log warn;
pid ${dir}/${name}.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/${name}.body;
  proxy_temp_path ${dir}/${name}.proxy;
  keepalive_requests 1000000;
  ${upstream}
  server { ${server} }
}`;
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, conf);
  return file;
}

/** Parses a wrk duration such as 812.00us, 1.23ms or 2.01s into milliseconds. */
function millis(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (m === null) return Number.NaN;
  const v = Number(m[1]);
  switch (m[2]) {
    case "us":
      return v / 1000;
    case "ms":
      return v;
    case "s":
      return v * 1000;
    default:
      return v * 60_000;
  }
}

/** The straightforward Node proxy: http.request on a keep-alive Agent, bodies piped. For comparison only. */
async function startAgentProxy(upstreamPort: number): Promise<{ server: Server; port: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const server = createHttpServer((req, res) => {
    const up = request(
      { host: "127.0.0.1", port: upstreamPort, method: req.method, path: req.url, headers: req.headers, agent },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      },
    );
    up.on("error", () => {
      res.statusCode = 502;
      res.end();
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port };
}

interface WrkResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  /** Requests wrk completed. */
  readonly requests: number;
  /** CPU time of the proxy's processes per completed request, in microseconds. */
  readonly cpuUsPerRequest: number;
  /** The system (kernel) part of `cpuUsPerRequest`, in microseconds. */
  readonly sysUsPerRequest: number;
}

/** User + system and system-only CPU time of the processes `pids` so far, in clock ticks (0 for one gone). */
function cpuTicks(pids: readonly number[]): { total: number; sys: number } {
  let ticks = 0;
  let sys = 0;
  for (const pid of pids) {
    try {
      // Fields after the command name (which may hold spaces) start at the state, field 3; utime and stime are 14, 15.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
      sys += Number(fields[12]);
    } catch {
      // The process is gone.
    }
  }
  return { total: ticks, sys };
}

/** The processes that serve a proxy: nginx's workers (children of its master), or the process itself. */
function servingPids(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return children === "" ? [pid] : children.split(" ").map(Number);
  } catch {
    return [pid];
  }
}

function runWrk(wrk: string, port: number, pids: readonly number[]): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const args = ["-t1", `-c${CONNECTIONS}`, `-d${DURATION_S}s`, "--latency", "-H", "Host: bench.localhost"];
    const ticks0 = cpuTicks(pids);
    const child = spawn(wrk, [...args, `http://127.0.0.1:${port}/`], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
    });
    child.on("error", reject);
    child.on("close", () => {
      const after = cpuTicks(pids);
      const ticks = after.total - ticks0.total;
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
      const p50 = millis(/\s50%\s+(\S+)/.exec(out)?.[1] ?? "");
      const p99 = millis(/\s99%\s+(\S+)/.exec(out)?.[1] ?? "");
      const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const errors = non2xx + (sock === null ? 0 : sock.slice(1).reduce((a, b) => a + Number(b), 0));
      const cpuUsPerRequest = ((ticks / CLOCK_TICKS) * 1e6) / requests;
      const sysUsPerRequest = (((after.sys - ticks0.sys) / CLOCK_TICKS) * 1e6) / requests;
      if (!Number.isFinite(rps)) reject(new Error(`cannot read wrk output:\n${out}`));
      else resolve({ rps, p50, p99, errors, requests, cpuUsPerRequest, sysUsPerRequest });
    });
  });
}

/** What the bench's process asks of an edge worker, and what the worker answers. */
type ToWorker = { readonly type: "count" } | { readonly type: "stop" };
type FromWorker = { readonly type: "ready" } | { readonly type: "count"; readonly value: number };

/** The single route of the bench: app `bench` with one instance, the upstream nginx. */
function benchRoutes(upPort: number): Map<string, AppRoute> {
  return new Map<string, AppRoute>([
    [
      "bench",
      {
        org: "bench",
        concurrency: { type: "requests", softLimit: 10_000, hardLimit: 20_000 },
        instances: [
          { id: "00000000000001", region: "ord", host: "a1b2", address: `127.0.0.1:${upPort}`, healthy: true },
        ],
        tcpServices: [],
      },
    ],
  ]);
}

/** The responses an edge registry counted (every status). */
function responsesCounted(registry: Registry): number {
  const served = registry.collect().find((f) => f.name === "fly_edge_http_responses_count");
  return served?.samples.reduce((a, s) => a + s.value, 0) ?? 0;
}

/**
 * An edge worker: one edge with its own registry on the port every worker shares (cluster workers listening on
 * the same address share the primary's socket; with scheduling "none" each accepts connections itself).
 */
async function edgeWorker(): Promise<void> {
  const upPort = Number(process.env.BENCH_UPSTREAM_PORT);
  const registry = new Registry();
  const edge = await startEdge({
    listeners: [{ region: "ord", host: "a1b2", address: `127.0.0.1:${process.env.BENCH_EDGE_PORT}` }],
    routes: benchRoutes(upPort),
    registry,
  });
  const send = (m: FromWorker) => process.send?.(m);
  process.on("message", (m: ToWorker) => {
    if (m.type === "count") send({ type: "count", value: responsesCounted(registry) });
    else void edge.close().then(() => process.exit(0));
  });
  send({ type: "ready" });
}

/** A request to one worker and its answer. */
function ask(worker: Worker, m: ToWorker, answer: FromWorker["type"]): Promise<FromWorker> {
  return new Promise((resolve) => {
    const on = (reply: FromWorker) => {
      if (reply.type !== answer) return;
      worker.off("message", on);
      resolve(reply);
    };
    worker.on("message", on);
    worker.send(m);
  });
}

/** Starts `n` edge workers on one port; resolves with them and the port. */
async function startEdgeWorkers(n: number, upPort: number): Promise<{ workers: Worker[]; port: number }> {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const i = process.argv.indexOf("--cpu-prof");
  if (i >= 0) {
    cluster.setupPrimary({ execArgv: [...process.execArgv, "--cpu-prof", `--cpu-prof-dir=${process.argv[i + 1]}`] });
  }
  const port = await freePort();
  const workers: Worker[] = [];
  for (let i = 0; i < n; i++) {
    const w = cluster.fork({ BENCH_UPSTREAM_PORT: String(upPort), BENCH_EDGE_PORT: String(port) });
    workers.push(w);
    // Workers start one after another, so the first binds the shared socket and the others take it over.
    await new Promise<void>((resolve) => w.on("message", (m: FromWorker) => m.type === "ready" && resolve()));
  }
  return { workers, port };
}

async function main(): Promise<void> {
  const wrk = need("wrk", "wrk");
  const nginx = need("nginx", "nginx-light");
  const dir = scratchDir("contrail-bench-proxy-");
  const [upPort, nginxPort] = [await freePort(), await freePort()];
  const upConf = nginxConfig(dir, "upstream", `listen 127.0.0.1:${upPort}; location / { return 200 "hello\\n"; }`);
  const pxConf = nginxConfig(
    dir,
    "proxy",
    `listen 127.0.0.1:${nginxPort}; location / { proxy_pass http://app; proxy_http_version 1.1; ` +
      `proxy_set_header Connection ""; }`,
    upPort,
    WORKERS,
  );
  const [upstream, nginxProxy] = [upConf, pxConf].map((conf) =>
    spawn(nginx, ["-p", dir, "-c", conf], { stdio: ["ignore", "ignore", "inherit"] }),
  );
  const { workers, port: edgePort } = await startEdgeWorkers(WORKERS, upPort);
  const agentProxy = await startAgentProxy(upPort);
  try {
    await new Promise((r) => setTimeout(r, 300)); // let nginx bind
    const targets: [string, number, number[]][] = [
      ["contrail", edgePort, workers.map((w) => w.process.pid!)],
      ["nginx", nginxPort, servingPids(nginxProxy.pid!)],
    ];
    if (!NGINX_ONLY) {
      targets.push(["direct", upPort, [upstream.pid!]], ["node-agent", agentProxy.port, [process.pid]]);
    }
    const results = new Map<string, WrkResult[]>(targets.map(([n]) => [n, []]));
    let edgeRequests = 0;
    for (const [name, port, pids] of targets) {
      const r = await runWrk(wrk, port, pids); // warm-up (JIT, connection pools)
      if (name === "contrail") edgeRequests += r.requests;
    }
    for (let run = 0; run < RUNS; run++) {
      for (const [name, port, pids] of targets) {
        const r = await runWrk(wrk, port, pids);
        results.get(name)!.push(r);
        if (name === "contrail") edgeRequests += r.requests;
      }
    }
    const figures = (name: string): Figure[] => {
      const rs = results.get(name)!;
      return [
        { name: "requests/s", unit: "req/s", runs: rs.map((r) => r.rps), higherIsBetter: true },
        { name: "p50 latency", unit: "ms", runs: rs.map((r) => r.p50), higherIsBetter: false },
        { name: "p99 latency", unit: "ms", runs: rs.map((r) => r.p99), higherIsBetter: false },
        { name: "CPU per request", unit: "µs", runs: rs.map((r) => r.cpuUsPerRequest), higherIsBetter: false },
        { name: "of it system", unit: "µs", runs: rs.map((r) => r.sysUsPerRequest), higherIsBetter: false },
      ];
    };
    const workerWord = WORKERS === 1 ? "1 worker" : `${WORKERS} workers`;
    printFigures(
      `reverse proxy, ${workerWord} each (edge processes / nginx worker processes), wrk -t1 -c${CONNECTIONS} ` +
        `-d${DURATION_S}s, ${RUNS} runs, static 200 upstream (nginx)`,
      figures("contrail"),
      NGINX_ONLY
        ? { nginx: figures("nginx") }
        : { nginx: figures("nginx"), direct: figures("direct"), "node http.Agent": figures("node-agent") },
    );
    const ours = median(results.get("contrail")!.map((r) => r.rps));
    const theirs = median(results.get("nginx")!.map((r) => r.rps));
    const cpuOurs = median(results.get("contrail")!.map((r) => r.cpuUsPerRequest));
    const cpuTheirs = median(results.get("nginx")!.map((r) => r.cpuUsPerRequest));
    const errors = [...results.values()].flat().reduce((a, r) => a + r.errors, 0);
    console.log(
      `Contrail/nginx requests/s with ${workerWord} each: ${(ours / theirs).toFixed(2)} (target >= 0.8); ` +
        `CPU per request nginx/Contrail: ${(cpuTheirs / cpuOurs).toFixed(2)}; wrk errors: ${errors}`,
    );
    const counts = await Promise.all(workers.map((w) => ask(w, { type: "count" }, "count")));
    const counted = counts.reduce((a, c) => a + (c.type === "count" ? c.value : 0), 0);
    console.log(
      `fly_edge_http_responses_count over the ${workerWord}: ${counted} ` +
        `(${counts.map((c) => (c.type === "count" ? c.value : 0)).join(" + ")}); requests wrk completed: ${edgeRequests}`,
    );
  } finally {
    for (const w of workers) w.send({ type: "stop" } satisfies ToWorker);
    agentProxy.server.close();
    agentProxy.server.closeAllConnections();
    for (const c of [upstream, nginxProxy]) c.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (cluster.isWorker) await edgeWorker();
else await main();
