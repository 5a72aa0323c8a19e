// A page of selected series cut in two at an entry, so a selection can be split between two workers at any series,
// not only between whole pages (shard.ts). Each part is a page of its own (protocol.ts `SeriesPage`), its arrays
// copies, so either can go to another thread while the other stays.

import { lowerBoundU32 } from "../../tsdb/index/lower-bound.ts";
import type { SeriesPage } from "./protocol.ts";

/** Bytes of `page`'s chunk data before chunk `k` (chunk `k`'s start). */
function chunkStart(page: SeriesPage, k: number): number {
  return k === 0 ? 0 : page.chunkEnds[k - 1];
}

/**
 * What entries `[0, e)` of `page` weigh in a split: their chunk bytes plus 16 bytes per decoded sample (a decoded
 * sample is a float64 pair on the wire, a chunked one about 1–2 bytes).
 */
export function entriesWeight(page: SeriesPage, e: number): number {
  return chunkStart(page, page.chunkIndex[e]) + page.offsets[e] * 16;
}

/** Where the label pairs and the label value text of entry `e` of `page` begin. */
function labelStart(page: SeriesPage, e: number): { pair: number; unit: number } {
  let pair = 0;
  for (let i = 0; i < e; i++) pair += page.pairs[i];
  let unit = 0;
  for (let k = 0; k < pair; k++) unit += page.valueLengths[k];
  return { pair, unit };
}

/** `a.slice(from, to)` with `base` subtracted from each element. */
function rebased(a: Uint32Array, from: number, to: number, base: number): Uint32Array {
  const out = a.slice(from, to);
  if (base !== 0) for (let i = 0; i < out.length; i++) out[i] -= base;
  return out;
}

/** Entries `[a, b)` of `page` as a page of copies; only a part ending with the page's last entry is `done`. */
function entriesOf(page: SeriesPage, a: number, b: number): SeriesPage {
  const n = page.pairs.length;
  const la = labelStart(page, a);
  const lb = labelStart(page, b);
  const [sa, sb] = [page.offsets[a], page.offsets[b]];
  const [ca, cb] = [page.chunkIndex[a], page.chunkIndex[b]];
  const [ba, bb] = [chunkStart(page, ca), chunkStart(page, cb)];
  // A series' sources begin at its chunks, so the sources of these entries are those beginning in [ca, cb).
  const [ja, jb] = [lowerBoundU32(page.sourceStarts, ca), lowerBoundU32(page.sourceStarts, cb)];
  const [ha, hb] = [lowerBoundU32(page.histogramAt, sa), lowerBoundU32(page.histogramAt, sb)];
  const last = b === n;
  return {
    cursor: page.cursor,
    done: last && page.done,
    continued: a === 0 && page.continued,
    pairs: page.pairs.slice(a, b),
    names: page.names,
    nameRefs: page.nameRefs.slice(la.pair, lb.pair),
    valueLengths: page.valueLengths.slice(la.pair, lb.pair),
    values: page.values.slice(la.unit, lb.unit),
    chunked: page.chunked.slice(a, b),
    offsets: rebased(page.offsets, a, b + 1, sa),
    t: page.t.slice(sa, sb),
    v: page.v.slice(sa, sb),
    chunkIndex: rebased(page.chunkIndex, a, b + 1, ca),
    chunkRanges: page.chunkRanges.slice(2 * ca, 2 * cb),
    chunkEnds: rebased(page.chunkEnds, ca, cb, ba),
    chunkBytes: page.chunkBytes.slice(ba, bb),
    chunkEncodings: page.chunkEncodings.slice(ca, cb),
    sourceStarts: rebased(page.sourceStarts, ja, jb, ca),
    sourceRanges: page.sourceRanges.slice(2 * ja, 2 * jb),
    histogramAt: rebased(page.histogramAt, ha, hb, sa),
    histograms: page.histograms.slice(ha, hb),
    warnings: last ? page.warnings : [],
  };
}

/**
 * `page` cut before its entry `e` (0 < e < its entries): the entries before it and the rest, each a page of copies.
 * Read one after the other they give the series `page` gives: entry `e` begins a series (only entry 0 may
 * continue one), so the second part never continues the first.
 */
export function cutPage(page: SeriesPage, e: number): [SeriesPage, SeriesPage] {
  const n = page.pairs.length;
  if (!(e > 0 && e < n)) throw new RangeError(`a page of ${n} entries cannot be cut before entry ${e}`);
  return [entriesOf(page, 0, e), entriesOf(page, e, n)];
}
