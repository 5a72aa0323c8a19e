// Reverse-proxy throughput: wrk through Contrail's edge (metrics on), through nginx as a reverse proxy (one worker,
// keep-alive upstream), directly, and through a minimal proxy on node:http's keep-alive Agent (no metrics, no header
// work: the design the edge's raw-socket upstream client replaced), all to the same upstream: a second nginx serving
// a static 200, so the upstream is not the bottleneck. Runs are interleaved; prints requests/s, p50 and p99 of each
// and the ratio Contrail/nginx. Needs the Debian packages `wrk` and `nginx-light`.
// Run: npm run bench -- proxy [--duration 5] [--connections 50] [--runs 3]

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer as createHttpServer, request, type Server } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEdge } from "../src/edge/edge.ts";
import type { AppRoute } from "../src/edge/routes.ts";
import { Registry } from "../src/exposition/registry.ts";
import { type Figure, median, printFigures } from "./harness.ts";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const DURATION_S = arg("duration", 5);
const CONNECTIONS = arg("connections", 50);
const RUNS = arg("runs", 3);

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

function nginxConfig(dir: string, name: string, server: string, upstreamPort?: number): string {
  const upstream =
    upstreamPort === undefined
      ? ""
      : `upstream app { server 127.0.0.1:${upstreamPort}; keepalive 128; keepalive_requests 1000000; }`;
  const conf = `
daemon off;
master_process off;
worker_processes 1;
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
}

function runWrk(wrk: string, port: number): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const args = ["-t1", `-c${CONNECTIONS}`, `-d${DURATION_S}s`, "--latency", "-H", "Host: bench.localhost"];
    const child = spawn(wrk, [...args, `http://127.0.0.1:${port}/`], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
    });
    child.on("error", reject);
    child.on("close", () => {
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const p50 = millis(/\s50%\s+(\S+)/.exec(out)?.[1] ?? "");
      const p99 = millis(/\s99%\s+(\S+)/.exec(out)?.[1] ?? "");
      const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const errors = non2xx + (sock === null ? 0 : sock.slice(1).reduce((a, b) => a + Number(b), 0));
      if (!Number.isFinite(rps)) reject(new Error(`cannot read wrk output:\n${out}`));
      else resolve({ rps, p50, p99, errors });
    });
  });
}

async function main(): Promise<void> {
  const wrk = need("wrk", "wrk");
  const nginx = need("nginx", "nginx-light");
  const dir = mkdtempSync(join(tmpdir(), "contrail-bench-proxy-"));
  const [upPort, nginxPort] = [await freePort(), await freePort()];
  const upConf = nginxConfig(dir, "upstream", `listen 127.0.0.1:${upPort}; location / { return 200 "hello\\n"; }`);
  const pxConf = nginxConfig(
    dir,
    "proxy",
    `listen 127.0.0.1:${nginxPort}; location / { proxy_pass http://app; proxy_http_version 1.1; ` +
      `proxy_set_header Connection ""; }`,
    upPort,
  );
  const children = [upConf, pxConf].map((conf) =>
    spawn(nginx, ["-p", dir, "-c", conf], { stdio: ["ignore", "ignore", "inherit"] }),
  );
  const registry = new Registry();
  const routes = new Map<string, AppRoute>([
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
  const edge = await startEdge({
    listeners: [{ region: "ord", host: "a1b2", address: "127.0.0.1:0" }],
    routes,
    registry,
  });
  const edgePort = Number(edge.listeners[0].address.split(":")[1]);
  const agentProxy = await startAgentProxy(upPort);
  try {
    await new Promise((r) => setTimeout(r, 300)); // let nginx bind
    const targets: [string, number][] = [
      ["contrail", edgePort],
      ["nginx", nginxPort],
      ["direct", upPort],
      ["node-agent", agentProxy.port],
    ];
    const results = new Map<string, WrkResult[]>(targets.map(([n]) => [n, []]));
    for (const [, port] of targets) await runWrk(wrk, port); // warm-up (JIT, connection pools)
    for (let run = 0; run < RUNS; run++) {
      for (const [name, port] of targets) results.get(name)!.push(await runWrk(wrk, port));
    }
    const figures = (name: string): Figure[] => {
      const rs = results.get(name)!;
      return [
        { name: "requests/s", unit: "req/s", runs: rs.map((r) => r.rps), higherIsBetter: true },
        { name: "p50 latency", unit: "ms", runs: rs.map((r) => r.p50), higherIsBetter: false },
        { name: "p99 latency", unit: "ms", runs: rs.map((r) => r.p99), higherIsBetter: false },
      ];
    };
    printFigures(
      `reverse proxy, wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s, ${RUNS} runs, static 200 upstream (nginx)`,
      figures("contrail"),
      { nginx: figures("nginx"), direct: figures("direct"), "node http.Agent": figures("node-agent") },
    );
    const ours = median(results.get("contrail")!.map((r) => r.rps));
    const theirs = median(results.get("nginx")!.map((r) => r.rps));
    const errors = [...results.values()].flat().reduce((a, r) => a + r.errors, 0);
    console.log(`Contrail/nginx requests/s: ${(ours / theirs).toFixed(2)} (target >= 0.5); wrk errors: ${errors}`);
    const served = registry.collect().find((f) => f.name === "fly_edge_http_responses_count");
    const count = served?.samples.reduce((a, s) => a + s.value, 0) ?? 0;
    console.log(`fly_edge_http_responses_count after the runs: ${count}`);
  } finally {
    await edge.close();
    agentProxy.server.close();
    agentProxy.server.closeAllConnections();
    for (const c of children) c.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 200));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
