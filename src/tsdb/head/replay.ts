// Rebuilding the head on open, as Prometheus does: first the full chunks of `chunks_head/` (cheap: only their
// metadata is read), then the WAL from the last checkpoint on, re-appending only the samples newer than each
// series' stored chunks. A damaged WAL tail is cut off and reported; damaged head chunk files are deleted from the
// first damaged one on, and the WAL fills the gap.

import { mkdirSync } from "node:fs";
import { ContrailError, isContrailError } from "../../model/errors.ts";
import { StringInterner } from "../../model/intern.ts";
import { Encoding } from "../chunkenc/chunk.ts";
import { headChunkRefSeq } from "../chunks/head-chunks.ts";
import { decodeHistogramSamples } from "../record/histograms.ts";
import { recordKind } from "../record/record.ts";
import { decodeSamples, SampleBatch } from "../record/samples.ts";
import { decodeSeries, SeriesBatch } from "../record/series.ts";
import { decodeTombstones, TombstoneBatch } from "../record/tombstones.ts";
import { lastCheckpoint } from "../wal/checkpoint.ts";
import { describeCorruption, type SegmentRange, type WalCorruption, WalReader } from "../wal/reader.ts";
import { type RepairResult, repairSegment } from "../wal/repair.ts";
import type { Head } from "./head.ts";
import type { MemSeries, MmappedChunk } from "./series.ts";

/** What opening a head found. */
export interface OpenReport {
  /** Full chunks restored from the head chunk files. */
  readonly headChunks: number;
  /** Set when damaged head chunk files were deleted: the first deleted file and why. */
  readonly headChunkFilesDeleted: { readonly fromFile: number; readonly reason: string } | null;
  /** Stored chunks not used: out-of-order chunks or of unknown encodings, overlapping ones, older than the valid time, or of
   * series the WAL no longer knows. */
  readonly skippedHeadChunks: number;
  /** WAL records read (checkpoint included). */
  readonly walRecords: number;
  /** Series entries read from Series records. */
  readonly seriesRecords: number;
  /** WAL samples appended to memory. */
  readonly samplesReplayed: number;
  /** WAL samples not needed: older than the valid time, already in stored chunks, or out of order. */
  readonly samplesSkipped: number;
  /** Samples and tombstones naming a series ref without a Series record. */
  readonly unknownRefs: number;
  /** Set when a damaged WAL tail was cut off: where and what the repair dropped. */
  readonly walRepair: { readonly corruption: WalCorruption; readonly result: RepairResult } | null;
  readonly durationMs: number;
}

/** Prometheus's MinInt64/MaxInt64 as decoded: a tombstone spanning both deletes the whole series. */
const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

/** Replays `chunks_head/` and the WAL in `walDir` into `head` (empty, not yet accepting appends). */
export function replay(head: Head, opts: { walDir: string; minValidTime: number }): OpenReport {
  const started = performance.now();
  const loaded = loadHeadChunks(head, opts.minValidTime);
  const w = replayWal(head, opts.walDir, opts.minValidTime, loaded);
  let unusedChunks = 0;
  for (const list of loaded.bySeries.values()) unusedChunks += list.length;
  for (const s of head.series.values()) {
    if (!s.isEmpty()) head.noteTimes(s.minTime(), s.maxTime());
  }
  const report: OpenReport = {
    headChunks: loaded.count - unusedChunks,
    headChunkFilesDeleted: loaded.deleted,
    skippedHeadChunks: loaded.skipped + unusedChunks,
    ...w,
    durationMs: performance.now() - started,
  };
  head.logger.info("head replayed", {
    series: head.series.size,
    headChunks: report.headChunks,
    walRecords: report.walRecords,
    samples: report.samplesReplayed,
    durationMs: Math.round(report.durationMs),
  });
  return report;
}

interface LoadedChunks {
  readonly bySeries: Map<number, MmappedChunk[]>;
  /** Series refs with histogram chunks among theirs. */
  readonly withHistograms: ReadonlySet<number>;
  readonly count: number;
  readonly skipped: number;
  readonly deleted: { readonly fromFile: number; readonly reason: string } | null;
}

// Reads the metadata of every stored chunk, grouped by series ref in time order.
function loadHeadChunks(head: Head, minValidTime: number): LoadedChunks {
  const bySeries = new Map<number, MmappedChunk[]>();
  const withHistograms = new Set<number>();
  let count = 0;
  let skipped = 0;
  const res = head.files.iterate((m) => {
    const known =
      m.encoding === Encoding.xor || m.encoding === Encoding.histogram || m.encoding === Encoding.floatHistogram;
    if (m.outOfOrder || !known || m.maxt < minValidTime || m.numSamples === 0) {
      skipped++;
      return;
    }
    let list = bySeries.get(m.seriesRef);
    if (list === undefined) {
      list = [];
      bySeries.set(m.seriesRef, list);
    }
    const last = list[list.length - 1];
    if (last !== undefined && m.mint <= last.maxt) {
      skipped++;
      return;
    }
    list.push({ ref: m.ref, mint: m.mint, maxt: m.maxt });
    if (m.encoding !== Encoding.xor) withHistograms.add(m.seriesRef);
    count++;
  });
  if (res.ok) return { bySeries, withHistograms, count, skipped, deleted: null };

  // Keep what lies before the damaged file; the WAL still holds the samples of the rest.
  head.files.deleteFrom(res.fileSeq);
  head.logger.warn("damaged head chunk files deleted", { fromFile: res.fileSeq, reason: res.message });
  for (const [ref, list] of bySeries) {
    const kept = list.filter((c) => headChunkRefSeq(c.ref) < res.fileSeq);
    count -= list.length - kept.length;
    if (kept.length === 0) bySeries.delete(ref);
    else bySeries.set(ref, kept);
  }
  return { bySeries, withHistograms, count, skipped, deleted: { fromFile: res.fileSeq, reason: res.message } };
}

type WalReport = Pick<
  OpenReport,
  "walRecords" | "seriesRecords" | "samplesReplayed" | "samplesSkipped" | "unknownRefs" | "walRepair"
>;

function replayWal(head: Head, walDir: string, minValid: number, loaded: LoadedChunks): WalReport {
  mkdirSync(walDir, { recursive: true });
  const cp = lastCheckpoint(walDir);
  const ranges: SegmentRange[] =
    cp === null ? [{ dir: walDir }] : [{ dir: cp.dir }, { dir: walDir, first: cp.index + 1 }];
  const r = { walRecords: 0, seriesRecords: 0, samplesReplayed: 0, samplesSkipped: 0, unknownRefs: 0 };
  const seriesBatch = new SeriesBatch();
  // Label strings shared by the replayed series: their label sets are then kept by the head as they are decoded.
  const strings = new StringInterner();
  const sampleBatch = new SampleBatch();
  const stoneBatch = new TombstoneBatch();
  const opts = head.chunkOptions;
  const reader = new WalReader(ranges);
  let corruption: WalCorruption | null = null;
  try {
    while (reader.next()) {
      r.walRecords++;
      const rec = reader.record();
      try {
        switch (recordKind(rec)) {
          case "series": {
            const b = decodeSeries(rec, seriesBatch, strings);
            r.seriesRecords += b.length;
            for (let i = 0; i < b.length; i++) {
              const { series, created } = head.getOrCreateWithRef(b.refs[i], b.labels[i]);
              attachChunks(series, created, loaded, b.refs[i]);
            }
            break;
          }
          case "samples": {
            const b = decodeSamples(rec, sampleBatch);
            for (let i = 0; i < b.length; i++) {
              const t = b.ts[i];
              if (t < minValid) {
                r.samplesSkipped++;
                continue;
              }
              const ref = b.refs[i];
              const s = head.series.getByRef(head.aliasRefs.get(ref) ?? ref);
              if (s === undefined) r.unknownRefs++;
              else if (t > s.mmappedMaxTime() && s.append(t, b.vs[i], opts)) r.samplesReplayed++;
              else r.samplesSkipped++;
            }
            break;
          }
          case "histograms": {
            for (const e of decodeHistogramSamples(rec)) {
              if (e.t < minValid) {
                r.samplesSkipped++;
                continue;
              }
              const s = head.series.getByRef(head.aliasRefs.get(e.ref) ?? e.ref);
              if (s === undefined) r.unknownRefs++;
              else if (e.t > s.mmappedMaxTime() && s.appendHistogram(e.t, e.h, opts)) r.samplesReplayed++;
              else r.samplesSkipped++;
            }
            break;
          }
          case "tombstones": {
            const b = decodeTombstones(rec, stoneBatch);
            for (let i = 0; i < b.length; i++) {
              head.noteRef(b.refs[i]);
              const s = head.series.getByRef(head.aliasRefs.get(b.refs[i]) ?? b.refs[i]);
              if (s === undefined) r.unknownRefs++;
              else if (b.mints[i] <= MIN_INT64 && b.maxts[i] >= MAX_INT64) head.removeSeries([s]);
              else if (b.maxts[i] >= minValid)
                head.tombstoneSet.addInterval(s.ref, { mint: b.mints[i], maxt: b.maxts[i] });
            }
            break;
          }
          case "metadata":
          case "unknown":
            break;
        }
      } catch (e) {
        if (!isContrailError(e, "corruption")) throw e;
        reader.rejectRecord(e.message);
      }
    }
    corruption = reader.corruption();
  } finally {
    reader.close();
  }
  if (corruption === null) return { ...r, walRepair: null };
  if (corruption.dir !== walDir) {
    throw new ContrailError("corruption", `cannot replay the WAL checkpoint: ${describeCorruption(corruption)}`);
  }
  const result = repairSegment(corruption);
  head.logger.warn("WAL repaired: records after the damage were dropped", {
    corruption: describeCorruption(corruption),
    keptRecords: result.keptRecords,
    droppedBytes: result.droppedBytes,
    deletedSegments: result.deletedSegments,
  });
  return { ...r, walRepair: { corruption, result } };
}

/**
 * Gives a series the stored chunks found under `ref`. A new series takes them as they are; a series that another
 * ref already created (same labels logged twice) takes only chunks newer than everything it holds.
 */
function attachChunks(s: MemSeries, created: boolean, loaded: LoadedChunks, ref: number): void {
  const list = loaded.bySeries.get(ref);
  if (list === undefined) return;
  loaded.bySeries.delete(ref);
  const histograms = loaded.withHistograms.has(ref);
  if (created) {
    s.setMmapped(list, histograms);
    return;
  }
  if (s.openSamples > 0) return;
  const newer = list.filter((c) => c.mint > s.mmappedMaxTime());
  if (newer.length > 0) s.setMmapped([...s.mmappedChunks(), ...newer], histograms || s.histograms !== null);
}
