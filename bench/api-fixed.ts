// The API's fixed cost per request: the server (createApiServer over an embedded store in a temporary directory, a
// real token checked through the token cache, a listening socket on loopback) answers small range queries, 1 h at a
// 15 s step over a few series, as the query bench's small cases ask them: POST forms over one kept-alive connection,
// gzip accepted. The client runs in a child process, so the server process's CPU time is the server's alone. After
// `--warmup` queries, `--rounds` rounds of `--queries` each; per round, CPU time per query of the whole process and of
// its main thread (on-CPU time from /proc's schedstat, ns) and of the other threads by name (V8's compiler and
// collector threads, libuv's pool, query workers), and the client's median wall time. The process tiers up as the
// metrics node does (runtime/tier-up.ts); `--v8-default-budget` leaves V8's default, and a young server shows with a
// short `--warmup` (the query bench warms each case with about 200 queries).
// Run: npm run bench -- api-fixed [--queries 1000] [--rounds 5] [--warmup 3000] [--series 20] [--query <promql>]
// [--marks] [--v8-default-budget]
// (profile the server: node --import tsx --cpu-prof --cpu-prof-interval 100 bench/api-fixed.ts; child processes
// inherit no profiling flags)

import { fork } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { createApiServer } from "../src/api/server.ts";
import { createOrg, createToken, localUser, openControlDb, TokenCache } from "../src/control/index.ts";
import { Labels } from "../src/model/labels.ts";
import { tierUpSooner } from "../src/runtime/tier-up.ts";
import { EmbeddedTenantStore } from "../src/storage/tenants.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { type Figure, median, printFigures } from "./harness.ts";

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const ORG = "bench";
const STEP_S = 15;
const HOUR_S = 3600;
/** Series of the queried counter, and of a second metric the query does not read (so the index is not trivial). */
const SERIES = Number(option("series") ?? 20);
const OTHER_SERIES = 2_000;
const QUERIES = Number(option("queries") ?? 1_000);
const ROUNDS = Number(option("rounds") ?? 5);
const WARMUP = Number(option("warmup") ?? 3_000);
const QUERY = option("query") ?? `sum(increase(connects{app="a"}[1m]))`;
const NS_PER_MS = 1e6;
/** Lines marking the end of the warm-up and of each round, to split a `--trace-opt`/`--trace-deopt` log. */
const MARKS = process.argv.includes("--marks");

/** A request of the parent to the client: run `n` queries, answer with their wall times (ms). */
interface ClientJob {
  readonly url: string;
  readonly token: string;
  readonly body: string;
  readonly n: number;
}

async function client(): Promise<void> {
  process.on("message", async (job: ClientJob) => {
    const times: number[] = [];
    for (let i = 0; i < job.n; i++) {
      const t0 = performance.now();
      const r = await fetch(job.url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${job.token}`,
          "content-type": "application/x-www-form-urlencoded",
          "accept-encoding": "gzip",
        },
        body: job.body,
      });
      const text = await r.text();
      if (r.status !== 200) throw new Error(`status ${r.status}: ${text}`);
      times.push(performance.now() - t0);
    }
    process.send?.(times);
  });
}

/** On-CPU nanoseconds of each thread of this process, by thread id, with its name. */
function threadTimes(): Map<number, { name: string; ns: number }> {
  const out = new Map<number, { name: string; ns: number }>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      const name = readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim();
      out.set(Number(tid), { name, ns });
    } catch {
      // The thread ended.
    }
  }
  return out;
}

/** CPU ms per query between two snapshots: the whole process, the main thread, and the rest grouped by name. */
function perQuery(
  a: Map<number, { name: string; ns: number }>,
  b: Map<number, { name: string; ns: number }>,
  n: number,
): Map<string, number> {
  const groups = new Map<string, number>([
    ["all", 0],
    ["main", 0],
  ]);
  for (const [tid, t] of b) {
    const d = (t.ns - (a.get(tid)?.ns ?? 0)) / NS_PER_MS / n;
    groups.set("all", groups.get("all")! + d);
    const name = tid === process.pid ? "main" : t.name;
    groups.set(name, (groups.get(name) ?? 0) + d);
  }
  return groups;
}

async function server(): Promise<void> {
  // As the metrics node does (roles/serve.ts), unless V8's default tiering is asked for.
  if (!process.argv.includes("--v8-default-budget")) tierUpSooner();
  const dir = scratchDir("contrail-bench-api-fixed-");
  const control = openControlDb({ dataDir: dir });
  createOrg(control, { slug: ORG, admin: localUser(control)!.id });
  const token = createToken(control, { org: ORG }).token;
  const tokens = new TokenCache(control);
  const store = new EmbeddedTenantStore({ dataDir: dir });
  const end = Math.floor(Date.now() / 1000 / STEP_S) * STEP_S;
  const start = end - HOUR_S;
  const app = store.appender(ORG);
  for (let t = start - 600; t <= end; t += STEP_S) {
    for (let i = 0; i < SERIES; i++) {
      app.append(Labels.fromStrings("__name__", "connects", "app", "a", "instance", `i-${i}`), t * 1000 + i, t + i);
    }
    for (let i = 0; i < OTHER_SERIES / 20; i++) {
      app.append(Labels.fromStrings("__name__", "other", "app", `b${i % 20}`, "instance", `o-${i}`), t * 1000, t);
    }
  }
  app.commit();
  const { app: api } = createApiServer({ store, authenticate: (t) => tokens.authenticate(t) });
  await api.listen({ host: "127.0.0.1", port: 0 });
  const address = api.server.address();
  if (address === null || typeof address === "string") throw new Error("server has no TCP address");
  const job = {
    url: `http://127.0.0.1:${address.port}/prometheus/${ORG}/api/v1/query_range`,
    token,
    body: new URLSearchParams({
      query: QUERY,
      start: String(start),
      end: String(end),
      step: String(STEP_S),
    }).toString(),
  };
  // The client gets no profiling or tracing flags of the server's, only the loader of TypeScript.
  const loader = process.execArgv.flatMap((a, i, all) => (a === "--import" ? [a, all[i + 1]] : []));
  const child = fork(import.meta.filename, ["--client"], { stdio: "inherit", execArgv: loader });
  const run = (n: number) =>
    new Promise<number[]>((resolve, reject) => {
      child.once("message", (times) => resolve(times as number[]));
      child.once("exit", (code) => reject(new Error(`client exited with ${code}`)));
      child.send({ ...job, n });
    });
  try {
    await run(WARMUP);
    if (MARKS) console.log("[api-fixed] warm-up done");
    const cpu: number[] = [];
    const main: number[] = [];
    const wall: number[] = [];
    const others = new Map<string, number[]>();
    for (let r = 0; r < ROUNDS; r++) {
      const before = threadTimes();
      const times = await run(QUERIES);
      const groups = perQuery(before, threadTimes(), QUERIES);
      if (MARKS) {
        const ms = (k: string) => groups.get(k)!.toFixed(3);
        console.log(`[api-fixed] round ${r + 1} done: CPU ${ms("all")} ms a query, main thread ${ms("main")}`);
      }
      cpu.push(groups.get("all")!);
      main.push(groups.get("main")!);
      wall.push(median(times));
      for (const [name, ms] of groups) {
        if (name === "all" || name === "main") continue;
        others.set(name, [...(others.get(name) ?? []), ms]);
      }
    }
    const figures: Figure[] = [
      { name: "server CPU per query", unit: "ms", runs: cpu, higherIsBetter: false },
      { name: "main thread CPU per query", unit: "ms", runs: main, higherIsBetter: false },
      { name: "wall per query (client)", unit: "ms", runs: wall, higherIsBetter: false },
    ];
    for (const [name, runs] of [...others].sort((x, y) => median(y[1]) - median(x[1]))) {
      if (median(runs) >= 0.001) figures.push({ name: `  thread ${name}`, unit: "ms", runs, higherIsBetter: false });
    }
    printFigures(`${QUERY} over 1 h at ${STEP_S} s, ${SERIES} series; ${ROUNDS} rounds of ${QUERIES}`, figures);
  } finally {
    child.kill();
    await api.close();
    store.close();
    control.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes("--client")) await client();
else await server();
