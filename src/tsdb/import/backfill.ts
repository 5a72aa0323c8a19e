// Backfilling a database directory from an OpenMetrics file with timestamps, as `promtool tsdb
// create-blocks-from openmetrics` does: the samples are cut into blocks of aligned 2 h windows, each written directly
// as a level-1 block. The file is streamed: a first pass checks every line and counts samples per window, then each
// further pass builds a group of windows in memory (compressed chunks, bounded by a sample budget) and writes them.
// A bad line fails the import before any block is written, unless it is only detected in a later pass (a series
// going back in time within a window it left and re-entered).

import { statSync } from "node:fs";
import { ContrailError } from "../../model/errors.ts";
import type { Labels } from "../../model/labels.ts";
import type { BlockMeta } from "../block-meta.ts";
import { headBlockMeta, writeBlock } from "../compact.ts";
import { DEFAULT_BLOCK_DURATION } from "../compact-plan.ts";
import { MemBlockBuilder } from "./mem-block.ts";
import { readOpenMetricsFile } from "./openmetrics.ts";

/** Where a backfill is, for progress displays: pass 1 checks the file, the others build blocks. */
export interface BackfillProgress {
  readonly pass: number;
  /** Total passes; known after the first pass (1 until then). */
  readonly passes: number;
  readonly bytesRead: number;
  readonly totalBytes: number;
  /** Blocks written so far. */
  readonly blocks: number;
}

/** Options of `backfillOpenMetrics`. */
export interface BackfillOptions {
  /** The OpenMetrics file (must be a file: it is read more than once). */
  readonly file: string;
  /** The database directory the blocks are written into. */
  readonly dest: string;
  /** Window size in ms; blocks never cross a multiple of it. Default 2 h. */
  readonly blockDuration?: number;
  /** Most samples held in memory at once (one build pass); default 20 million. */
  readonly maxSamplesPerPass?: number;
  readonly onProgress?: (p: BackfillProgress) => void;
}

/** What a backfill wrote. */
export interface BackfillResult {
  readonly blocks: readonly BlockMeta[];
  readonly samples: number;
  readonly lines: number;
  /** Oldest and newest sample (ms), null when the file held none. */
  readonly minTime: number | null;
  readonly maxTime: number | null;
}

/** Writes the samples of `opts.file` as blocks into `opts.dest`; throws `parse_error` naming the bad line. */
export async function backfillOpenMetrics(opts: BackfillOptions): Promise<BackfillResult> {
  const width = opts.blockDuration ?? DEFAULT_BLOCK_DURATION;
  const budget = opts.maxSamplesPerPass ?? 20_000_000;
  const totalBytes = statSync(opts.file).size;
  const blocks: BlockMeta[] = [];
  let passes = 1;
  const progress = (pass: number, bytesRead: number) =>
    opts.onProgress?.({ pass, passes, bytesRead, totalBytes, blocks: blocks.length });

  // Pass 1: check every line, count samples per window, catch series going back in time within a window.
  const perWindow = new Map<number, number>();
  const last = new Map<Labels, { w: number; t: number }>();
  let minTime = Number.POSITIVE_INFINITY;
  let maxTime = Number.NEGATIVE_INFINITY;
  const first = await readOpenMetricsFile(opts.file, {
    onSample(labels, t, _v, line) {
      const w = Math.floor(t / width);
      perWindow.set(w, (perWindow.get(w) ?? 0) + 1);
      if (t < minTime) minTime = t;
      if (t > maxTime) maxTime = t;
      const prev = last.get(labels);
      if (prev !== undefined && prev.w === w && t < prev.t) {
        throw new ContrailError(
          "out_of_order_sample",
          `line ${line}: out of order sample ${t} for ${labels.toString()} (previous sample at ${prev.t})`,
        );
      }
      if (prev === undefined) last.set(labels, { w, t });
      else {
        prev.w = w;
        prev.t = t;
      }
    },
    onProgress: (b) => progress(1, b),
  });
  last.clear();
  if (first.samples === 0) return { blocks, samples: 0, lines: first.lines, minTime: null, maxTime: null };

  // Group consecutive windows into build passes within the sample budget.
  const windows = [...perWindow.keys()].sort((a, b) => a - b);
  const groups: number[][] = [];
  let acc = 0;
  for (const w of windows) {
    const n = perWindow.get(w) as number;
    if (groups.length === 0 || acc + n > budget) {
      groups.push([]);
      acc = 0;
    }
    groups[groups.length - 1].push(w);
    acc += n;
  }
  passes = 1 + groups.length;

  for (let g = 0; g < groups.length; g++) {
    const lo = groups[g][0];
    const hi = groups[g][groups[g].length - 1];
    const builders = new Map<number, MemBlockBuilder>();
    for (const w of groups[g]) builders.set(w, new MemBlockBuilder({ chunkRange: 2 * width }));
    await readOpenMetricsFile(opts.file, {
      onSample(labels, t, v, line) {
        const w = Math.floor(t / width);
        if (w < lo || w > hi) return;
        (builders.get(w) as MemBlockBuilder).add(labels, t, v, `line ${line}`);
      },
      onProgress: (b) => progress(g + 2, b),
    });
    for (const w of groups[g]) {
      const reader = (builders.get(w) as MemBlockBuilder).seal();
      builders.delete(w);
      const meta = writeBlock({
        dest: opts.dest,
        readers: [reader],
        meta: headBlockMeta(reader.minTime, reader.maxTime),
      });
      if (meta !== null) blocks.push(meta);
    }
    progress(g + 2, totalBytes);
  }
  return { blocks, samples: first.samples, lines: first.lines, minTime, maxTime };
}
