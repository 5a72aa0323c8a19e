// The head's histogram samples at commit: their WAL records under Prometheus's record types, and learning a
// series' newest sample from its last stored chunk after a restart (for the duplicate check).

import type { Histogram } from "../../model/histogram.ts";
import { Encoding } from "../chunkenc/chunk.ts";
import { FloatHistogramIterator } from "../chunkenc/float-histogram.ts";
import { IntHistogramIterator } from "../chunkenc/histogram.ts";
import { XorIterator } from "../chunkenc/xor.ts";
import { Encbuf } from "../encoding/encbuf.ts";
import { encodeHistogramSamples, type HistogramEntry, histogramRecordType } from "../record/histograms.ts";
import type { Head } from "./head.ts";
import type { MemSeries } from "./series.ts";
import { newSeriesHistograms } from "./series-histograms.ts";

/** Histogram samples accepted by a commit, in batch order. */
export type HistogramBatch = { readonly s: MemSeries; readonly t: number; readonly h: Histogram }[];

/** The WAL records of the batch: one per histogram record type present, in type order (new buffers). */
export function histogramRecords(batch: HistogramBatch): Uint8Array[] {
  const byType = new Map<number, HistogramEntry[]>();
  for (const q of batch) {
    const type = histogramRecordType(q.h);
    let list = byType.get(type);
    if (list === undefined) {
      list = [];
      byType.set(type, list);
    }
    list.push({ ref: q.s.ref, t: q.t, h: q.h });
  }
  const records: Uint8Array[] = [];
  for (const type of [...byType.keys()].sort((a, b) => a - b)) {
    const buf = new Encbuf(256);
    encodeHistogramSamples(buf, type, byType.get(type) ?? []);
    records.push(buf.get());
  }
  return records;
}

/**
 * Loads the newest sample of `s` from its last stored chunk, where replay left it (`lastVUnknown`): its float
 * value, or its histogram.
 */
export function readLastSample(head: Head, s: MemSeries): void {
  const last = s.numMmapped - 1;
  s.lastVUnknown = false;
  if (last < 0 || s.mmappedMaxt(last) !== s.lastT) return;
  const c = head.files.chunk(s.mmappedRef(last));
  if (c.encoding === Encoding.xor) {
    const it = new XorIterator(c.data);
    let v = Number.NaN;
    while (it.next() !== "none") v = it.atV();
    s.lastV = v;
    if (s.histograms !== null) s.histograms.last = null;
    return;
  }
  const it =
    c.encoding === Encoding.floatHistogram ? new FloatHistogramIterator(c.data) : new IntHistogramIterator(c.data);
  let h: Histogram | null = null;
  while (it.next() !== "none") h = it.atH();
  s.histograms ??= newSeriesHistograms();
  s.histograms.last = h;
}
