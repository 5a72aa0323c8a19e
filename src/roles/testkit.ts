// Helpers of the end-to-end tests of `contrail up` (used by `*.test.ts` files and `bench/roles.ts` only): the CLI as a child process,
// a running `up` with its printed addresses and the pids of its role processes, a tiny app written into a
// temporary directory, requests through an edge with a Host header, PromQL queries against the API, and polling
// until a condition holds.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { createOrg, createToken, localUser, openControlDb } from "../control/index.ts";

/** A TCP port that was free a moment ago on 127.0.0.1 (shared with the other peer-starting tests). */
export { freePort } from "../testkit/peers.ts";

/** The `contrail` entry point. */
export const BIN = join(import.meta.dirname, "..", "..", "bin", "contrail.js");

/** Runs `contrail ARGS` (of `bin`, default this tree's); resolves with its exit code and output. */
export function contrail(
  args: readonly string[],
  bin: string = BIN,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
    });
  });
}

/** Runs `contrail ARGS` and returns its stdout; throws with its output when it fails. */
export async function contrailOk(args: readonly string[], bin: string = BIN): Promise<string> {
  const r = await contrail(args, bin);
  if (r.code !== 0) throw new Error(`contrail ${args.join(" ")} exited ${r.code}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** A running `contrail up` child process. */
export interface UpProcess {
  readonly proc: ChildProcess;
  /** `http://127.0.0.1:PORT`. */
  readonly apiUrl: string;
  /** Edge region → bound port. */
  readonly edges: ReadonlyMap<string, number>;
  /** Role (`serve`, `edge`, `agent`) → pid of its current process, as `up` printed them (restarts included). */
  pids(): Map<string, number>;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `contrail up --data DIR --api 127.0.0.1:0 ARGS` (of `bin`) and resolves once it printed that it is ready. */
export function startUp(dataDir: string, args: readonly string[], bin: string = BIN): Promise<UpProcess> {
  const proc = spawn(process.execPath, [bin, "up", "--data", dataDir, "--api", "127.0.0.1:0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`contrail up did not start: ${out}`)), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (!/; ready\n/.test(out)) return;
      clearTimeout(timer);
      const api = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1];
      const edges = new Map<string, number>();
      for (const m of out.matchAll(/edge ([a-z]{3}) http:\/\/<app>\.localhost:(\d+)/g)) edges.set(m[1], Number(m[2]));
      resolve({
        proc,
        apiUrl: api,
        edges,
        pids: () => rolePids(out),
        output: () => out,
        stop: () => {
          proc.kill("SIGTERM");
          return exited;
        },
      });
    };
    proc.stdout.on("data", onData);
    proc.stderr.on("data", onData);
    void exited.then((code) => reject(new Error(`contrail up exited with ${code}: ${out}`)));
  });
}

/** The pids of the role processes in `up`'s output: the `processes:` line, then each `<role> is back (pid N)`. */
function rolePids(out: string): Map<string, number> {
  const pids = new Map<string, number>();
  const first = /processes: (.*) \(each restarted/.exec(out)?.[1] ?? "";
  for (const m of first.matchAll(/(\w+) pid (\d+)/g)) pids.set(m[1], Number(m[2]));
  for (const m of out.matchAll(/contrail: (\w+) is back \(pid (\d+)\)/g)) pids.set(m[1], Number(m[2]));
  return pids;
}

/**
 * The test app: answers 200, or 404 under /missing and 500 under /fail, with its region and instance id; counts
 * what it answered in `testapp_requests_total{code}` on /metrics (with `app` and `instance` labels of its own, which
 * the platform must override); accepts WebSocket upgrades and echoes what it receives.
 */
const TEST_APP = `const http = require("node:http");
const { createHash } = require("node:crypto");
const counts = new Map();
const server = http.createServer((req, res) => {
  if (req.url === "/metrics") {
    let body = "# HELP testapp_requests_total Requests answered, by status code.\\n# TYPE testapp_requests_total counter\\n";
    for (const [code, n] of counts) body += 'testapp_requests_total{app="spoofed",code="' + code + '",instance="spoofed"} ' + n + "\\n";
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(body);
    return;
  }
  const code = req.url.startsWith("/missing") ? 404 : req.url.startsWith("/fail") ? 500 : 200;
  counts.set(code, (counts.get(code) ?? 0) + 1);
  res.writeHead(code, { "content-type": "text/plain" });
  res.end(process.env.FLY_REGION + " " + process.env.FLY_ALLOC_ID + " " + code + "\\n");
});
server.on("upgrade", (req, socket) => {
  const accept = createHash("sha1").update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  socket.write("HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Accept: " + accept + "\\r\\n\\r\\n");
  socket.on("data", (d) => socket.write(d));
  socket.on("end", () => socket.end());
  socket.on("error", () => {});
});
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
`;

/** Writes the test app into `dir`: server.js and a fly.toml (`withCommand` false leaves out the start command). */
export function writeTestApp(dir: string, app: string, options: { readonly withCommand?: boolean } = {}): string {
  writeFileSync(join(dir, "server.js"), TEST_APP);
  const build = options.withCommand === false ? "" : '[build]\ncommand = "node server.js"\n\n';
  const toml = `app = "${app}"\n\n${build}[http_service]\ninternal_port = 8080\n\n[metrics]\nport = 8080\npath = "/metrics"\n`;
  const path = join(dir, "fly.toml");
  writeFileSync(path, toml);
  return path;
}

/** The test app's source, to run an external instance of it. */
export function testAppSource(): string {
  return TEST_APP;
}

/** A GET through an edge listener on `port` for `app` (Host `<app>.localhost`). */
export function edgeGet(
  port: number,
  app: string,
  path: string,
  agent: http.Agent | false = false,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, agent, headers: { host: `${app}.localhost` } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** One element of an instant vector as the API returns it. */
export interface VectorElement {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

/** Runs an instant query against `/prometheus/<org>/api/v1/query`; throws unless it succeeds. */
export async function query(apiUrl: string, org: string, token: string, promql: string): Promise<VectorElement[]> {
  const r = await fetch(`${apiUrl}/prometheus/${org}/api/v1/query?query=${encodeURIComponent(promql)}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await r.json()) as { status: string; data: { result: VectorElement[] }; error?: string };
  if (body.status !== "success") throw new Error(`query ${promql}: ${r.status} ${body.error}`);
  return body.data.result;
}

/** A vector as `labelvalue=value` pairs sorted, keyed by the label `by` (for compact assertions). */
export function byLabel(result: readonly VectorElement[], by: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of [...result].sort((a, b) => (a.metric[by] ?? "").localeCompare(b.metric[by] ?? ""))) {
    out[e.metric[by] ?? ""] = Number(e.value[1]);
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Calls `read` every 200 ms until `ok` accepts its value; returns that value, or the last one after `timeoutMs`
 * (so the caller's assertion shows what was there instead).
 */
export async function waitFor<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let v: T | undefined;
    let failed: unknown = null;
    try {
      v = await read();
      if (ok(v)) return v;
    } catch (err) {
      failed = err;
    }
    if (Date.now() > end) {
      if (failed !== null) throw failed;
      return v as T;
    }
    await sleep(200);
  }
}

/** The pids of every live process below `pid` (children, their children, …), read from /proc. */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "latin1");
      // Fields after the command name (which may hold spaces): state, ppid, …
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parentOf.set(Number(name), ppid);
    } catch {
      // Gone since the listing.
    }
  }
  const out: number[] = [];
  let level = [pid];
  while (level.length > 0) {
    const next: number[] = [];
    for (const [child, parent] of parentOf) if (level.includes(parent)) next.push(child);
    out.push(...next);
    level = next;
  }
  return out;
}

/** The instances of `app` as `apps status --json` prints them. */
export async function appInstances(
  dataDir: string,
  app: string,
): Promise<
  {
    id: string;
    region: string;
    host: string;
    state: string;
    pid: number | null;
    restarts: number;
    lastExitCode: number | null;
    address: string;
    kind: string;
  }[]
> {
  const out = await contrailOk(["apps", "status", app, "--json", "--data", dataDir]);
  return (JSON.parse(out) as { instances: never[] }).instances;
}

/** Creates the orgs `slugs` (admin: the local user) in the control database under `dataDir`, each with a read and
 * write token; returns the tokens by org. */
export function seedOrgs(dataDir: string, slugs: readonly string[]): Record<string, string> {
  const db = openControlDb({ dataDir });
  try {
    const tokens: Record<string, string> = {};
    for (const slug of slugs) {
      createOrg(db, { slug, admin: localUser(db)!.id });
      tokens[slug] = createToken(db, { org: slug, scopes: ["read", "write"] }).token;
    }
    return tokens;
  } finally {
    db.close();
  }
}
