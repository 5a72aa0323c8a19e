// Aggregations over a very large selection through the query pool: the fleet's series (as `memory`) with 10 minutes
// of samples at 15 s in a TSDB head, then `count` and `sum(rate(...))` over most of them, instant and range, each
// in a pool of one worker at decreasing heap limits. Per query: its wall time at the default heap limit and the
// smallest worker heap limit (of those tried) it still answers within.
// Run: npm run bench -- big-select [--series 1000000] [--heaps 1024,512,256,128,64]

import { rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { QueryPool } from "../src/api/query-pool/pool.ts";
import type { QuerySpec } from "../src/api/query-pool/protocol.ts";
import { Labels } from "../src/model/labels.ts";
import type { SeriesRef } from "../src/storage/interface.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { Db } from "../src/tsdb/db.ts";
import { fleetSeries, lcg, sleep } from "./fleet.ts";
import { type Figure, printFigures } from "./harness.ts";

const STEP = 15_000;
const SAMPLES = 41;
const START = 1_700_000_000_000;
const END = START + (SAMPLES - 1) * STEP;
/** The range queries' step, ms. */
const QUERY_STEP = 60_000;
/** Prometheus's default sample limit. */
const MAX_SAMPLES = 50_000_000;
/** Contrail's default per-org sample limit (max_samples), and a query over every series to meet it with. */
const ORG_MAX_SAMPLES = 20_000_000;
const EVERY_SERIES = 'count({__name__=~".+"})';
/** Series appended per commit while loading. */
const BATCH = 50_000;

const { values } = parseArgs({
  options: {
    series: { type: "string", default: "1000000" },
    heaps: { type: "string", default: "1024,512,256,128,64" },
    runs: { type: "string", default: "3" },
  },
});
const SERIES = Number(values.series);
const HEAPS = String(values.heaps).split(",").map(Number);
const RUNS = Number(values.runs);

const QUERIES: readonly { text: string; range: boolean }[] = [
  { text: 'count({__name__=~"fly_.+"})', range: false },
  { text: "count by (app) (fly_app_concurrency)", range: false },
  { text: 'sum(rate({__name__=~"fly_.+"}[5m]))', range: false },
  { text: 'sum by (region) (rate({__name__=~"fly_.+"}[5m]))', range: true },
  // One metric name: the shape a worker may split with an idle one (it receives every page first).
  { text: "sum by (region) (rate(fly_edge_http_response_time_seconds_bucket[5m]))", range: true },
];

function load(db: Db): void {
  const fleet = fleetSeries(SERIES);
  const rnd = lcg(18);
  const refs: SeriesRef[] = new Array(fleet.length);
  for (let k = 0; k < SAMPLES; k++) {
    for (let from = 0; from < fleet.length; from += BATCH) {
      const app = db.appender();
      for (let i = from; i < Math.min(from + BATCH, fleet.length); i++) {
        const s = fleet[i];
        const v = s.kind === "counter" ? k * 10 + (i % 7) : 50 + rnd() * 10;
        if (k === 0) {
          const flat = ["__name__", s.name];
          for (const [n, lv] of s.labels) flat.push(n, lv);
          refs[i] = app.append(Labels.fromStrings(...flat), START + k * STEP, v);
        } else app.appendRef(refs[i], START + k * STEP, v);
      }
      const r = app.commit();
      if (r.firstRejection !== null) throw new Error(`load: ${r.firstRejection}`);
    }
  }
}

function spec(q: { text: string; range: boolean }, maxSamples = MAX_SAMPLES): QuerySpec {
  return {
    query: q.text,
    at: q.range ? { kind: "range", start: START, end: END, step: QUERY_STEP } : { kind: "instant", time: END },
    timeoutMs: 600_000,
    maxSamples,
    render: { kind: "json", limit: 0, maxSeries: Number.MAX_SAFE_INTEGER, stats: "" },
  };
}

const dir = scratchDir("contrail-bench-bigsel-");
const db = Db.open({ dir, autoCompact: false, walFsync: "never" });
const figures: Figure[] = [];
try {
  const t0 = performance.now();
  load(db);
  console.log(`loaded ${SERIES} series × ${SAMPLES} samples in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const sub = { org: "bench", maxConcurrent: 1, maxQueued: 1, queryable: db };
  for (const q of QUERIES) {
    let smallest = Number.NaN;
    const wall: number[] = [];
    for (const heap of HEAPS) {
      const pool = new QueryPool({ workers: 1, maxWorkers: 1, assists: false, inline: false, workerHeapMb: heap });
      try {
        while (pool.figures().ready < pool.size) await sleep(10);
        const runs = heap === HEAPS[0] ? RUNS : 1;
        let ok = true;
        for (let r = 0; r < runs && ok; r++) {
          const t = performance.now();
          try {
            const out = await pool.run(spec(q), sub);
            const body = Buffer.concat(out).toString();
            if (heap === HEAPS[0]) wall.push(performance.now() - t);
            if (r === 0)
              console.log(`${q.text} heap ${heap} MiB: ${(performance.now() - t).toFixed(0)} ms ${body.slice(0, 160)}`);
          } catch (e) {
            console.log(`${q.text} heap ${heap} MiB: ${(e as Error).message}`);
            ok = false;
          }
        }
        if (!ok) break;
        smallest = heap;
      } finally {
        await pool.close();
      }
    }
    figures.push({
      name: `${q.text}${q.range ? " (range)" : ""}, wall`,
      unit: "ms",
      runs: wall,
      higherIsBetter: false,
    });
    figures.push({ name: `${q.text}, smallest heap answering`, unit: "MiB", runs: [smallest], higherIsBetter: false });
  }
  // Every series at the org's default limit: an answer, or the limit's error, and how long either takes.
  const pool = new QueryPool({ workers: 1, maxWorkers: 1, assists: false, inline: false });
  try {
    while (pool.figures().ready < pool.size) await sleep(10);
    const t = performance.now();
    const outcome = await pool.run(spec({ text: EVERY_SERIES, range: false }, ORG_MAX_SAMPLES), sub).then(
      (out) => Buffer.concat(out).toString().slice(0, 160),
      (e: Error) => e.message,
    );
    console.log(
      `${EVERY_SERIES} at max_samples ${ORG_MAX_SAMPLES}: ${(performance.now() - t).toFixed(0)} ms ${outcome}`,
    );
  } finally {
    await pool.close();
  }
} finally {
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
printFigures(`aggregations over ${SERIES} series × ${SAMPLES} samples, one query worker`, figures);
