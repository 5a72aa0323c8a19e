// The query bench's small cases in process: the same data set (bench/query-data.ts, imported into blocks as
// `contrail tsdb import` writes them and served by the tenant store `contrail up` uses), each query evaluated by the
// query pool as the API asks it (validated, then run as a 1 h range query at a 15 s step with the JSON render),
// one at a time with a turn of the event loop between, so every one is evaluated inline on this thread (time bounds
// generous, so a loaded machine never hands one to a worker). Reports
// this process's CPU time per query (process.cpuUsage: every thread, V8's compile jobs included) and wall time per
// query, over `--runs` runs after `--warmup` untimed ones; checks every query ran inline.
// Run: npm run bench -- small-queries [--runs 3000] [--warmup 500] [--only <text>]
// Profile: node --import tsx --cpu-prof --cpu-prof-interval 100 bench/small-queries.ts ...

import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_PAGE_BOUNDS } from "../src/api/query-pool/pages.ts";
import { QueryPool } from "../src/api/query-pool/pool.ts";
import type { QuerySpec } from "../src/api/query-pool/protocol.ts";
import { Engine } from "../src/promql/engine/index.ts";
import { EmbeddedTenantStore, tenantDir } from "../src/storage/tenants.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { backfillOpenMetrics } from "../src/tsdb/import/backfill.ts";
import { type Figure, printFigures } from "./harness.ts";
import { END_S, QUERIES, START_S, STEP_S, writeDataSet } from "./query-data.ts";

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const RUNS = Number(option("runs") ?? 3000);
/** Untimed runs of each query first, so V8 has compiled what it will (the HTTP bench warms up as long). */
const WARMUP = Number(option("warmup") ?? 500);
const ONLY = option("only") ?? "";
/** Rounds of timed runs per query; the figure's spread is over them. */
const ROUNDS = 5;
const ORG = "bench";
/** The bench's largest case, over every `x` series, goes to a worker: not one of the small ones. */
const LARGE = "sum by (job)";

/**
 * Time bounds of an inline evaluation and of a page build, ms: generous, so that on a loaded machine no run is cut
 * short and handed to a worker (the API's 4 ms bound would mix a worker's costs into the figure).
 */
const GENEROUS_MS = 10_000;

const SPEC = {
  timeoutMs: 120_000,
  maxSamples: 50_000_000,
  render: { kind: "json", limit: 0, maxSeries: 100_000, stats: "" },
} as const;

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function main(): Promise<void> {
  const dir = scratchDir("contrail-small-queries-");
  const pool = new QueryPool({
    workers: 1,
    inlineMaxMs: GENEROUS_MS,
    pageBounds: { ...DEFAULT_PAGE_BOUNDS, ms: GENEROUS_MS },
  });
  let store: EmbeddedTenantStore | undefined;
  try {
    const { om } = await writeDataSet(dir);
    const data = join(dir, "data");
    const dest = tenantDir(data, ORG);
    mkdirSync(dest, { recursive: true });
    await backfillOpenMetrics({ file: om, dest });
    store = new EmbeddedTenantStore({ dataDir: data, db: { autoCompact: false } });
    const queryable = store.queryable(ORG);
    const engine = new Engine();
    const cases = QUERIES.filter((q) => q.name.includes(ONLY) && !q.query.startsWith(LARGE));
    const cpu: Figure[] = [];
    const wall: Figure[] = [];
    for (const c of cases) {
      const spec: QuerySpec = {
        query: c.query,
        at: { kind: "range", start: START_S * 1000, end: END_S * 1000, step: STEP_S * 1000 },
        ...SPEC,
      };
      const ask = async (): Promise<number> => {
        await nextTurn();
        engine.validate(spec.query, { range: true });
        const body = await pool.run(spec, { org: ORG, maxConcurrent: 4, maxQueued: 10, queryable });
        return body.length;
      };
      for (let i = 0; i < WARMUP; i++) await ask();
      const inlineBefore = pool.figures().inline;
      const cpuRuns: number[] = [];
      const wallRuns: number[] = [];
      const perRound = Math.max(1, Math.floor(RUNS / ROUNDS));
      for (let r = 0; r < ROUNDS; r++) {
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < perRound; i++) await ask();
        const used = process.cpuUsage(cpu0);
        wallRuns.push((performance.now() - t0) / perRound);
        cpuRuns.push((used.user + used.system) / 1000 / perRound);
      }
      const inlined = pool.figures().inline - inlineBefore;
      if (inlined !== perRound * ROUNDS) throw new Error(`${c.name}: ${inlined} of ${perRound * ROUNDS} ran inline`);
      cpu.push({ name: c.name, unit: "ms CPU/query", runs: cpuRuns, higherIsBetter: false });
      wall.push({ name: c.name, unit: "ms/query", runs: wallRuns, higherIsBetter: false });
    }
    printFigures("small queries inline: CPU per query (this process, every thread)", cpu);
    printFigures("small queries inline: wall per query", wall);
  } finally {
    await pool.close();
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
