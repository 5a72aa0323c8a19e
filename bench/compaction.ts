// How long TSDB maintenance blocks the main thread. One tenant gets a realistic state: three older 2 h blocks of
// `--series` series (written with writeBlock, as a backfill would) and a head holding `--head-hours` (3.5 h by
// default, so it spans more than the 1.5 block ranges that make it compactable) of 15 s samples for the same series,
// appended through the Db's appender so the WAL and the head chunk files are real. Then `Db.compact()` runs: the
// head's oldest 2 h become a block, the head and its WAL are truncated (a checkpoint), and the planner merges the
// three older blocks into one 6 h block. Meanwhile a steady stream of commits keeps arriving (the same series, one
// scrape every 15 s spread over `--tick-ms` ticks) and the main thread's responsiveness is measured two ways:
//   - `perf_hooks.monitorEventLoopDelay` (resolution 1 ms): the longest event-loop delay and its p99,
//   - a 1 ms timer that measures its own lateness: the longest lateness, and how long the slowest commit tick took
//     from when it was due to when its commit returned (what a remote-write request would have waited).
// Also printed: the total compaction time (until `compact()` finished) and the report of what it did, and, as a
// baseline, the event-loop delay over a few seconds of the same appends before maintenance starts (what garbage
// collection of a large head costs anyway).
// Run: npm run bench -- compaction [--series 100000] [--head-hours 3.5] [--runs 1]

import { rmSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Labels } from "../src/model/labels.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { newUlid } from "../src/tsdb/block-meta.ts";
import { headBlockMeta, writeBlock } from "../src/tsdb/compact.ts";
import { Db } from "../src/tsdb/db.ts";
import { MemBlockBuilder } from "../src/tsdb/import/mem-block.ts";
import { type Figure, printFigures } from "./harness.ts";

const HOUR = 3_600_000;
const INTERVAL_MS = 15_000;
const BLOCK_MS = 2 * HOUR;
const OLD_BLOCKS = 3;
const METRICS = 50;
/** Commits per scrape interval during the measurement: each tick commits 1/TICKS of the series. */
const TICKS_PER_INTERVAL = 150;
/** Wall time between commit ticks (ms): one 15 s scrape of every series per 1.5 s of wall time, 10x real time. */
const TICK_MS = 10;
/** How long the appends keep going after compaction ends (ms), so the tail of the work is measured too. */
const COOL_DOWN_MS = 500;
/** A window of appends without maintenance (ms), measured first: the stalls the main thread has anyway (GC). */
const BASELINE_MS = 3_000;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const SERIES = arg("series", 100_000);
const HEAD_HOURS = arg("head-hours", 3.5);
const RUNS = arg("runs", 1);

function seriesLabels(n: number): Labels[] {
  const out: Labels[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      Labels.fromStrings(
        "__name__",
        `bench_metric_${i % METRICS}_total`,
        "instance",
        `host-${Math.floor(i / METRICS)}.example.net:9100`,
        "job",
        "node",
        "region",
        `r${i % 7}`,
      ),
    );
  }
  return out;
}

/** Counter-like values with some noise, so chunks compress like real ones. */
function value(i: number, t: number): number {
  return Math.floor(t / 1000) * (1 + (i % 5)) + (i % 13) + (((t / INTERVAL_MS) * 7919 + i) % 3);
}

function writeOldBlocks(dir: string, labels: readonly Labels[]): void {
  for (let b = 0; b < OLD_BLOCKS; b++) {
    const mint = b * BLOCK_MS;
    const builder = new MemBlockBuilder({ chunkRange: BLOCK_MS });
    for (let i = 0; i < labels.length; i++) {
      for (let t = mint; t < mint + BLOCK_MS; t += INTERVAL_MS) builder.add(labels[i], t, value(i, t), "bench");
    }
    writeBlock({ dest: dir, readers: [builder.seal()], meta: headBlockMeta(mint, mint + BLOCK_MS, newUlid()) });
  }
}

function fillHead(db: Db, labels: readonly Labels[], t0: number, t1: number): number {
  let t = t0;
  for (; t < t1; t += INTERVAL_MS) {
    const app = db.appender();
    for (let i = 0; i < labels.length; i++) app.append(labels[i], t, value(i, t));
    app.commit();
  }
  return t;
}

interface RunResult {
  readonly baselineMaxMs: number;
  readonly baselineP99Ms: number;
  readonly compactMs: number;
  readonly loopMaxMs: number;
  readonly loopP99Ms: number;
  readonly lateMaxMs: number;
  readonly tickMaxMs: number;
  readonly commits: number;
  readonly report: string;
}

async function runOnce(): Promise<RunResult> {
  const dir = scratchDir("contrail-bench-compaction-");
  try {
    const labels = seriesLabels(SERIES);
    let start = performance.now();
    writeOldBlocks(dir, labels);
    console.log(`  ${OLD_BLOCKS} old blocks written in ${((performance.now() - start) / 1000).toFixed(1)} s`);
    const db = Db.open({ dir, autoCompact: false });
    start = performance.now();
    const headStart = OLD_BLOCKS * BLOCK_MS;
    let next = fillHead(db, labels, headStart, headStart + HEAD_HOURS * HOUR);
    console.log(
      `  head filled in ${((performance.now() - start) / 1000).toFixed(1)} s: ` +
        `${db.head.stats().numSeries} series, ${db.blocks().length} blocks`,
    );
    if (typeof globalThis.gc === "function") globalThis.gc();

    // Steady appends: each tick commits the next slice of the series at the current scrape time.
    const perTick = Math.ceil(labels.length / TICKS_PER_INTERVAL);
    let cursor = 0;
    let commits = 0;
    let tickMax = 0;
    let lateMax = 0;
    let due = performance.now() + TICK_MS;
    let stop = false;
    const ticker = new Promise<void>((resolve) => {
      const tick = () => {
        if (stop) {
          resolve();
          return;
        }
        const now = performance.now();
        lateMax = Math.max(lateMax, now - due);
        while (due <= now) {
          const app = db.appender();
          const end = Math.min(labels.length, cursor + perTick);
          for (let i = cursor; i < end; i++) app.append(labels[i], next, value(i, next));
          app.commit();
          commits++;
          tickMax = Math.max(tickMax, performance.now() - due);
          cursor = end;
          if (cursor === labels.length) {
            cursor = 0;
            next += INTERVAL_MS;
          }
          due += TICK_MS;
        }
        setTimeout(tick, Math.max(0, due - performance.now()));
      };
      setTimeout(tick, TICK_MS);
    });
    const baseline = monitorEventLoopDelay({ resolution: 1 });
    baseline.enable();
    await new Promise((r) => setTimeout(r, BASELINE_MS));
    baseline.disable();
    lateMax = 0;
    tickMax = 0;
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    await new Promise((r) => setTimeout(r, 200));
    start = performance.now();
    const report = await db.compact();
    const compactMs = performance.now() - start;
    await new Promise((r) => setTimeout(r, COOL_DOWN_MS));
    loop.disable();
    stop = true;
    await ticker;
    db.close();
    return {
      baselineMaxMs: baseline.max / 1e6,
      baselineP99Ms: baseline.percentile(99) / 1e6,
      compactMs,
      loopMaxMs: loop.max / 1e6,
      loopP99Ms: loop.percentile(99) / 1e6,
      lateMaxMs: lateMax,
      tickMaxMs: tickMax,
      commits,
      report: JSON.stringify({
        headBlocks: report.headBlocks.length,
        mergedBlocks: report.mergedBlocks.length,
        deletedBlocks: report.deletedBlocks,
      }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(
    `compaction: ${SERIES} series, ${OLD_BLOCKS} old 2 h blocks, ${HEAD_HOURS} h head at ${INTERVAL_MS / 1000} s; ` +
      `appends every ${TICK_MS} ms during maintenance`,
  );
  const results: RunResult[] = [];
  for (let r = 0; r < RUNS; r++) {
    const res = await runOnce();
    console.log(
      `  run ${r + 1}: compaction ${res.compactMs.toFixed(0)} ms, ${res.commits} commits meanwhile, ` +
        `report ${res.report}`,
    );
    results.push(res);
  }
  const fig = (name: string, unit: string, pick: (r: RunResult) => number): Figure => ({
    name,
    unit,
    runs: results.map(pick),
    higherIsBetter: false,
  });
  printFigures("TSDB maintenance vs. the main thread", [
    fig("compaction total", "ms", (r) => r.compactMs),
    fig("event-loop delay max, no maintenance", "ms", (r) => r.baselineMaxMs),
    fig("event-loop delay p99, no maintenance", "ms", (r) => r.baselineP99Ms),
    fig("event-loop delay max", "ms", (r) => r.loopMaxMs),
    fig("event-loop delay p99", "ms", (r) => r.loopP99Ms),
    fig("1 ms timer lateness max", "ms", (r) => r.lateMaxMs),
    fig("commit tick max (due → committed)", "ms", (r) => r.tickMaxMs),
  ]);
}

await main();
