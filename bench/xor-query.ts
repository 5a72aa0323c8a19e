// The `query` bench's large case in process, for bench/xor.ts: 4,800 counters `x{job, instance}` of that bench's
// shape (1 h at 15 s, each a few whole seconds off the step grid, a random start and increment) written as two
// blocks with the chunks an import gives them, selected into the pages a query worker receives (made once, as the main
// thread makes them), then read back in the worker's way: every series decoded through the page reader, and
// `sum by (job) (rate(x[5m]))` evaluated over the pages as a 1 h range query at a 15 s step.

import { readFileSync, rmSync } from "node:fs";
import { PagedSeriesSet } from "../src/api/query-pool/paged-set.ts";
import { SelectionCursor } from "../src/api/query-pool/pages.ts";
import type { SeriesPage } from "../src/api/query-pool/protocol.ts";
import { SampleBudget } from "../src/api/query-pool/sample-budget.ts";
import { Labels } from "../src/model/labels.ts";
import type { Matcher } from "../src/model/matcher.ts";
import { SampleBuffer } from "../src/model/sample.ts";
import { Engine } from "../src/promql/engine/index.ts";
import type { Querier, Queryable, SelectHints } from "../src/storage/interface.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { headBlockMeta, writeBlock } from "../src/tsdb/compact.ts";
import { Db } from "../src/tsdb/db.ts";
import { MemBlockBuilder } from "../src/tsdb/import/mem-block.ts";
import type { Figure } from "./harness.ts";

const SERIES = 4_800;
const JOBS = 10;
const STEP_MS = 15_000;
const HOUR_MS = 3_600_000;
/** Blocks cover aligned 2 h ranges, as an import writes them. */
const BLOCK_MS = 7_200_000;
/**
 * The data's hour, [START, END] ms on the step grid, crosses a block boundary 2,895 s in, as the bench's hour
 * (which ends 20 minutes before the time it runs) did when these figures were taken: each series has two sources.
 */
const BOUNDARY = 236_112 * BLOCK_MS;
const START = BOUNDARY - 2_895_000;
const END = START + HOUR_MS;
const QUERY = "sum by (job) (rate(x[5m]))";

/**
 * The main thread's on-CPU time so far, ms (Linux: its schedstat), else its wall time: on a machine shared with
 * other work the thread's own CPU time varies far less than the time it spent waiting for a core.
 */
function threadMs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
  } catch {
    return performance.now();
  }
}

/** On-CPU time one timed run spans at least, ms: the kernel may advance a thread's figure only at its ticks. */
const MIN_RUN_MS = 200;

/**
 * Runs `fn` `runs` times after two untimed runs; the main thread's on-CPU time per call of `fn`, ms, each run
 * calling it as often as MIN_RUN_MS takes.
 */
async function cpuRuns(fn: () => unknown, runs: number): Promise<number[]> {
  const w = performance.now();
  for (let i = 0; i < 2; i++) await fn();
  const calls = Math.max(1, Math.ceil(MIN_RUN_MS / ((performance.now() - w) / 2)));
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = threadMs();
    for (let k = 0; k < calls; k++) await fn();
    out.push((threadMs() - start) / calls);
  }
  return out;
}

/** Deterministic pseudo-random integers in [0, n). */
function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 0x1_0000_0000) * n);
  };
}

/** Writes the blocks into `dir`. */
function writeData(dir: string): number {
  const rnd = lcg(42);
  const parts = [new MemBlockBuilder(), new MemBlockBuilder()];
  for (let i = 0; i < SERIES; i++) {
    const labels = Labels.fromStrings("__name__", "x", "instance", `host-${i}:9100`, "job", `job-${i % JOBS}`);
    const increment = rnd(100);
    const start = 1000 + rnd(100_000);
    const offset = (1 + rnd(14)) * 1000;
    for (let k = 0; k <= HOUR_MS / STEP_MS; k++) {
      const t = START + k * STEP_MS + offset;
      parts[t < BOUNDARY ? 0 : 1].add(labels, t, start + k * increment, "x");
    }
  }
  let samples = 0;
  for (const [i, b] of parts.entries()) {
    samples += b.numSamples;
    const from = BOUNDARY + (i - 1) * BLOCK_MS;
    writeBlock({ dest: dir, readers: [b.seal()], meta: headBlockMeta(from, from + BLOCK_MS) });
  }
  return samples;
}

/** The database's selections as pages made once, then served from those pages as a worker reads them. */
class PagedQueryable implements Queryable {
  private readonly db: Db;
  private readonly made = new Map<string, SeriesPage[]>();

  constructor(db: Db) {
    this.db = db;
  }

  /** The pages of the one selection made so far. */
  only(): SeriesPage[] {
    const all = [...this.made.values()];
    if (all.length !== 1) throw new Error(`${all.length} selections made, expected one`);
    return all[0];
  }

  querier(mint: number, maxt: number): Querier {
    return {
      select: (ms: readonly Matcher[], hints: SelectHints) => {
        const key = `${mint} ${maxt} ${hints.start} ${hints.end} ${ms.map(String).join(",")}`;
        let pages = this.made.get(key);
        if (pages === undefined) {
          const q = this.db.querier(mint, maxt);
          const cursor = new SelectionCursor(q.select(ms, hints), { mint: hints.start, maxt: hints.end });
          pages = [];
          do pages.push(cursor.nextPage(1));
          while (!cursor.done);
          q.close();
          this.made.set(key, pages);
        }
        return new PagedSeriesSet(new SampleBudget(Number.POSITIVE_INFINITY), { kept: pages });
      },
      labelNames: () => [],
      labelValues: () => [],
      close: () => {},
    };
  }
}

/** What `queryCaseFigures` measured, with the count and a hash of the decoded samples' bits. */
export interface QueryCase {
  readonly title: string;
  readonly figures: Figure[];
  readonly samples: number;
  readonly hash: string;
}

/**
 * Builds the data in a temporary directory (removed after), then measures decoding and (unless `decodeOnly`) the
 * query `runs` times each (the main thread's on-CPU time).
 */
export async function queryCaseFigures(runs: number, decodeOnly = false): Promise<QueryCase> {
  const dir = scratchDir("contrail-xor-query-");
  try {
    const written = writeData(dir);
    const db = Db.open({ dir, autoCompact: false });
    const store = new PagedQueryable(db);
    const engine = new Engine();
    const range = { start: START, end: END, step: STEP_MS };
    // The selection the query makes, read in full: its pages are made by the first query.
    await engine.rangeQuery(store, QUERY, range);
    const pages = store.only();
    const buf = new SampleBuffer(1024);
    const decodeAll = (hash: boolean): [number, number] => {
      let n = 0;
      let h = 0x811c9dc5;
      for (const s of new PagedSeriesSet(new SampleBudget(Number.POSITIVE_INFINITY), { kept: pages })) {
        buf.n = 0;
        s.iterator().readInto?.(START - 300_000, END, buf);
        n += buf.n;
        if (!hash) continue;
        const tb = new Int32Array(buf.t.buffer, 0, buf.n * 2);
        const vb = new Int32Array(buf.v.buffer, 0, buf.n * 2);
        for (let i = 0; i < tb.length; i++) h = Math.imul(h ^ tb[i] ^ Math.imul(vb[i], 0x9e3779b1), 16777619);
      }
      return [n, h >>> 0];
    };
    const [samples, hash] = decodeAll(true);
    const decode = await cpuRuns(() => decodeAll(false), runs);
    const figures: Figure[] = [
      { name: "decode through the page reader (CPU)", unit: "ms", runs: decode, higherIsBetter: false },
      {
        name: "decode through the page reader (CPU)",
        unit: "ns/sample",
        runs: decode.map((ms) => (ms * 1e6) / samples),
        higherIsBetter: false,
      },
    ];
    if (!decodeOnly) {
      const query = await cpuRuns(() => engine.rangeQuery(store, QUERY, range), runs);
      figures.push({ name: `${QUERY} (CPU)`, unit: "ms", runs: query, higherIsBetter: false });
    }
    db.close();
    return {
      title: `the query bench's large case in process: ${SERIES} series, ${written} samples`,
      figures,
      samples,
      hash: hash.toString(16),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
