// Which blocks to compact next: the compaction ranges of a database and the leveled planner, as Prometheus's
// compactor plans (overlapping blocks first, then groups that fill a whole range, then blocks mostly deleted), and
// the meta data of the block a compaction makes.

import { compareStrings } from "../model/labels.ts";
import type { BlockCompaction, BlockMeta, Ulid } from "./block-meta.ts";

/** Prometheus's default (and smallest) block range: 2 h in ms. */
export const DEFAULT_BLOCK_DURATION = 2 * 60 * 60 * 1000;

/** `steps` ranges starting at `minSize` ms, each `stepSize` times the previous (2 h, 6 h, 18 h, 54 h, ...). */
export function exponentialBlockRanges(minSize: number, steps: number, stepSize: number): number[] {
  const out: number[] = [];
  let cur = minSize;
  for (let i = 0; i < steps; i++) {
    out.push(cur);
    cur *= stepSize;
  }
  return out;
}

/**
 * The compaction ranges of a database: 2 h × 3^i, as Prometheus configures them, keeping those not longer than the
 * largest block duration (10% of the time retention, at most 31 days, never below the smallest range).
 */
export function compactionRanges(opts: { retentionMs?: number; minBlockDuration?: number } = {}): number[] {
  const min = opts.minBlockDuration ?? DEFAULT_BLOCK_DURATION;
  let max = 31 * 24 * 60 * 60 * 1000;
  if (opts.retentionMs !== undefined && opts.retentionMs > 0 && opts.retentionMs / 10 < max) {
    max = opts.retentionMs / 10;
  }
  if (max < min) max = min;
  const ranges = exponentialBlockRanges(min, 10, 3);
  const cut = ranges.findIndex((r) => r > max);
  return cut < 0 ? ranges : ranges.slice(0, cut);
}

/** A block directory with its meta data, as the planner sees it. */
export interface DirMeta {
  readonly dir: string;
  readonly meta: BlockMeta;
}

/**
 * The block directories to compact next, in time order, or an empty list. Like Prometheus's leveled planner:
 * overlapping blocks first (all of the first overlapping group); otherwise, leaving out the newest block, the first
 * group of at least two blocks that fills a whole range of `ranges[1..]` (or ends before the newest block starts);
 * otherwise a single large block whose tombstones cover more than 5% of its series.
 */
export function planCompaction(blocks: readonly DirMeta[], ranges: readonly number[]): string[] {
  if (blocks.length === 0) return [];
  const dms = blocks.slice().sort((a, b) => a.meta.minTime - b.meta.minTime);
  const overlapping = selectOverlapping(dms);
  if (overlapping.length > 0) return overlapping;
  const older = dms.slice(0, -1); // The newest block stays out: a backup window of a full block range.
  const chosen = selectDirs(older, ranges);
  if (chosen.length > 0) return chosen.map((d) => d.dir);
  for (let i = older.length - 1; i >= 0; i--) {
    const m = older[i].meta;
    const numTombstones = m.stats.numTombstones ?? 0;
    const numSeries = m.stats.numSeries ?? 0;
    if (m.maxTime - m.minTime < ranges[Math.floor(ranges.length / 2)]) {
      // A small block is rewritten only when it is deleted entirely.
      if (numTombstones > 0 && numTombstones >= numSeries) return [older[i].dir];
      break;
    }
    if (numTombstones / (numSeries + 1) > 0.05) return [older[i].dir];
  }
  return [];
}

function selectDirs(ds: readonly DirMeta[], ranges: readonly number[]): DirMeta[] {
  if (ranges.length < 2 || ds.length < 1) return [];
  const highTime = ds[ds.length - 1].meta.minTime;
  for (const iv of ranges.slice(1)) {
    for (const p of splitByRange(ds, iv)) {
      if (p.some((d) => d.meta.compaction.failed === true)) continue;
      const mint = p[0].meta.minTime;
      const maxt = p[p.length - 1].meta.maxTime;
      if ((maxt - mint === iv || maxt <= highTime) && p.length > 1) return p;
    }
  }
  return [];
}

function selectOverlapping(ds: readonly DirMeta[]): string[] {
  if (ds.length < 2) return [];
  const out: string[] = [];
  let globalMaxt = ds[0].meta.maxTime;
  for (let i = 1; i < ds.length; i++) {
    const d = ds[i];
    if (d.meta.minTime < globalMaxt) {
      if (out.length === 0) out.push(ds[i - 1].dir);
      out.push(d.dir);
    } else if (out.length > 0) {
      break;
    }
    if (d.meta.maxTime > globalMaxt) globalMaxt = d.meta.maxTime;
  }
  return out;
}

/**
 * Groups time-sorted blocks by the aligned ranges of width `tr` ms (starting at 0) that wholly contain them; a
 * block that fits no such range is left out. [0-10, 10-20, 50-60, 90-100] with tr 30 gives [0-10, 10-20], [50-60],
 * [90-100].
 */
export function splitByRange<T extends DirMeta>(ds: readonly T[], tr: number): T[][] {
  const out: T[][] = [];
  let i = 0;
  while (i < ds.length) {
    const m = ds[i].meta;
    const t0 = tr * Math.floor(m.minTime / tr);
    if (m.maxTime > t0 + tr) {
      i++;
      continue;
    }
    const group: T[] = [];
    for (; i < ds.length; i++) {
      if (ds[i].meta.maxTime > t0 + tr) break;
      group.push(ds[i]);
    }
    if (group.length > 0) out.push(group);
  }
  return out;
}

/** Meta data of a block merged from `metas`: their union range, sources and parents, one level up. */
export function compactBlockMetas(ulid: Ulid, metas: readonly BlockMeta[]): Omit<BlockMeta, "stats" | "version"> {
  let minTime = metas[0].minTime;
  let maxTime = metas[0].maxTime;
  let level = 0;
  const sources = new Set<Ulid>();
  let allOutOfOrder = true;
  for (const m of metas) {
    minTime = Math.min(minTime, m.minTime);
    maxTime = Math.max(maxTime, m.maxTime);
    level = Math.max(level, m.compaction.level);
    for (const s of m.compaction.sources ?? []) sources.add(s);
    if (!(m.compaction.hints ?? []).includes(HINT_OUT_OF_ORDER)) allOutOfOrder = false;
  }
  const compaction: BlockCompaction = {
    level: level + 1,
    sources: [...sources].sort(compareStrings),
    parents: metas.map((m) => ({ ulid: m.ulid, minTime: m.minTime, maxTime: m.maxTime })),
    ...(allOutOfOrder ? { hints: [HINT_OUT_OF_ORDER] } : {}),
  };
  return { ulid, minTime, maxTime, compaction };
}

const HINT_OUT_OF_ORDER = "from-out-of-order";
