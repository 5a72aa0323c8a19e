// How fast the query API refuses the hostile requests of the hardening issue, over HTTP on loopback: `contrail up`
// runs in its own process over a small org (30 series × 2 h at 15 s, imported with `contrail tsdb import`), and
// each request is sent 21 times after 2 warm-up runs; every answer must be the expected 4xx, and the server must
// answer `1+1` right after it (that latency is a figure too). Reports the median, min and max in ms.
// Run: npm run bench -- hostile

import { execFile } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createOrg, createToken, localUser, openControlDb } from "../src/control/index.ts";
import { freePort, type PeerProcess, startProcess, waitReady } from "../src/testkit/peers.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { type Figure, printFigures, timeRuns } from "./harness.ts";

const CONTRAIL = join(import.meta.dirname, "..", "bin", "contrail.js");
const ORG = "bench";
const END_S = Math.floor(Date.now() / 1000 / 15) * 15;
const RUNS = 21;

/** The requests: query parameters of /api/v1/query (or query_range) and the status each must get. */
const CASES: readonly { name: string; path: string; params: Record<string, string>; status: number }[] = [
  { name: "time=1e20", path: "query", params: { query: "1", time: "1e20" }, status: 400 },
  { name: "time=1e14 (past the evaluable range)", path: "query", params: { query: "1", time: "1e14" }, status: 400 },
  { name: "up @ 1e300", path: "query", params: { query: "up @ 1e300" }, status: 400 },
  { name: "rate(up[5m:1ms] @ 1e15)", path: "query", params: { query: "rate(up[5m:1ms] @ 1e15)" }, status: 400 },
  { name: "up offset -1e18s", path: "query", params: { query: "up offset -1000000000000000000s" }, status: 400 },
  { name: "rate(up[1e12y])", path: "query", params: { query: "rate(up[1000000000000y])" }, status: 400 },
  { name: "rate(up[1h * 1e20])", path: "query", params: { query: "rate(up[1h * 1e20])" }, status: 400 },
  {
    name: "nested 1 ms subqueries",
    path: "query",
    params: { query: "max_over_time(max_over_time(up[1d:1ms])[5m:1ms])" },
    status: 422,
  },
  {
    name: "up[2h:1ms] (7.2M steps × 30 series)",
    path: "query",
    params: { query: "count_over_time(up[2h:1ms])" },
    status: 422,
  },
  {
    name: "query_range start=end=1e20",
    path: "query_range",
    params: { query: "up", start: "1e20", end: "1e20", step: "1" },
    status: 400,
  },
  {
    name: "query_range step=NaN",
    path: "query_range",
    params: { query: "up", start: "0", end: "60", step: "NaN" },
    status: 400,
  },
];

function run(cmd: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, _stdout, stderr) =>
      err === null ? resolve() : reject(new Error(stderr || err.message)),
    );
  });
}

/** Writes 30 `up` series over the last two hours as OpenMetrics with timestamps. */
function writeData(file: string): void {
  let text = "";
  for (let i = 0; i < 30; i++) {
    for (let s = END_S - 7200; s <= END_S; s += 15) text += `up{job="j${i % 3}",instance="i${i}"} 1 ${s}\n`;
  }
  writeFileSync(file, `${text}# EOF\n`);
}

const dir = scratchDir("contrail-bench-hostile-");
let server: PeerProcess | null = null;
try {
  const data = join(dir, "data");
  const db = openControlDb({ dataDir: data });
  let token: string;
  try {
    createOrg(db, { slug: ORG, admin: localUser(db)!.id });
    token = createToken(db, { org: ORG }).token;
  } finally {
    db.close();
  }
  writeData(join(dir, "data.om"));
  await run(process.execPath, [CONTRAIL, "tsdb", "import", "--data", data, "--org", ORG, join(dir, "data.om")]);
  const port = await freePort();
  server = startProcess(process.execPath, [CONTRAIL, "up", "--data", data, "--api", `127.0.0.1:${port}`], {
    onFailure: console.error,
  });
  const api = `http://127.0.0.1:${port}/prometheus/${ORG}/api/v1`;
  await waitReady(`http://127.0.0.1:${port}/healthz`, { what: "contrail", timeoutMs: 120_000 });
  const headers = { authorization: `Bearer ${token}` };

  const get = async (path: string, params: Record<string, string>) => {
    const r = await fetch(`${api}/${path}?${new URLSearchParams(params)}`, { headers });
    return { status: r.status, text: await r.text() };
  };
  const alive = async () => {
    const r = await get("query", { query: "1+1", time: "4" });
    if (!r.text.includes('"result":[4,"2"]')) throw new Error(`1+1 answered ${r.status} ${r.text}`);
  };

  const figures: Figure[] = [];
  const after: number[] = [];
  figures.push({
    name: "1+1 (baseline)",
    unit: "ms",
    runs: await timeRuns(alive, { runs: RUNS, warmup: 2 }),
    higherIsBetter: false,
  });
  for (const c of CASES) {
    const runs = await timeRuns(
      async () => {
        const r = await get(c.path, c.params);
        if (r.status !== c.status) throw new Error(`${c.name}: expected ${c.status}, got ${r.status} ${r.text}`);
      },
      { runs: RUNS, warmup: 2 },
    );
    figures.push({ name: c.name, unit: "ms", runs, higherIsBetter: false });
    const t0 = performance.now();
    await alive();
    after.push(performance.now() - t0);
  }
  figures.push({ name: "1+1 right after each case", unit: "ms", runs: after, higherIsBetter: false });
  printFigures(`Hostile requests refused over HTTP on loopback (${RUNS} runs each)`, figures);
} finally {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}
