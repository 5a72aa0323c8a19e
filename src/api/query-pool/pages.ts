// Selected series in pages, both ways. The main thread reads a SeriesSet into pages bounded by series, samples and
// time, so serving a large selection never holds its event loop for long; the worker turns the pages back into
// Series whose iterators read the transferred sample arrays.

import { Labels } from "../../model/labels.ts";
import { SampleBuffer } from "../../model/sample.ts";
import type { Series, SeriesSet } from "../../storage/interface.ts";
import { SeriesView } from "../../storage/memory.ts";
import type { SeriesPage } from "./protocol.ts";

/** Bounds of one page. A page ends at the first bound reached (one read may pass the sample bound). */
export interface PageBounds {
  /** Most series (entries) in a page. */
  readonly series: number;
  /** Samples in a page past which no further read starts. */
  readonly samples: number;
  /** Time spent building a page past which no further read starts, ms. */
  readonly ms: number;
  /** Samples one read aims at: a long series is read in time windows of about this many samples. */
  readonly readSamples: number;
}

/** Pages of about a megabyte and a few milliseconds of the main thread's time (storage decodes ~100 ns/sample). */
export const DEFAULT_PAGE_BOUNDS: PageBounds = { series: 4096, samples: 65_536, ms: 4, readSamples: 16_384 };

/** The first window of a selection, as a fraction of its time range, before any sample density is known. */
const FIRST_WINDOW_FRACTION = 1 / 64;

/**
 * Reads one selection page by page. Samples of each series are read over `[mint, maxt]` (the select hints' range,
 * which is what the storage's iterators hold), in time windows sized from the density seen so far.
 */
export class SelectionCursor {
  private readonly series: Iterator<Series>;
  private readonly set: SeriesSet;
  private readonly mint: number;
  private readonly maxt: number;
  private readonly bounds: PageBounds;
  /** The series being read and the start of its next window (ms); null between series. */
  private current: Series | null = null;
  private from = 0;
  /** Width of the next read window, ms: sized from the last non-empty read, doubled after an empty one. */
  private span: number;
  /** Samples of the page being built, reused from page to page; each page gets an exact-size copy. */
  private readonly scratch = new SampleBuffer(1024);
  private finished = false;

  /** A cursor over `set`, read over [mint, maxt] ms inclusive. */
  constructor(set: SeriesSet, range: { readonly mint: number; readonly maxt: number }, bounds = DEFAULT_PAGE_BOUNDS) {
    this.set = set;
    this.series = set[Symbol.iterator]();
    this.mint = range.mint;
    this.maxt = range.maxt;
    this.bounds = bounds;
    this.span = Math.max(1, Math.ceil((range.maxt - range.mint + 1) * FIRST_WINDOW_FRACTION));
  }

  /** True once the last page was built. */
  get done(): boolean {
    return this.finished;
  }

  /** Builds the next page; `cursor` is the id the worker will ask for the following one with. */
  nextPage(cursor: number): SeriesPage {
    const started = performance.now();
    const b = this.bounds;
    const samples = this.scratch;
    samples.n = 0;
    const pairs: number[] = [];
    const lengths: number[] = [];
    const offsets: number[] = [0];
    let text = "";
    const continued = this.current !== null;
    if (continued) pairs.push(0);
    const full = () => samples.n >= b.samples || performance.now() - started >= b.ms;
    for (;;) {
      if (this.current === null) {
        if (pairs.length >= b.series || (pairs.length > 0 && full())) break;
        const r = this.series.next();
        if (r.done === true) {
          this.finished = true;
          break;
        }
        this.current = r.value;
        this.from = this.mint;
        let n = 0;
        r.value.labels.forEach((name, value) => {
          lengths.push(name.length, value.length);
          text += name + value;
          n++;
        });
        pairs.push(n);
      }
      if (!this.readWindows(samples, full)) {
        offsets.push(samples.n);
        break;
      }
      offsets.push(samples.n);
      this.current = null;
    }
    return {
      cursor,
      done: this.finished,
      continued,
      pairs: Uint32Array.from(pairs),
      lengths: Uint32Array.from(lengths),
      text,
      offsets: Uint32Array.from(offsets),
      t: samples.t.slice(0, samples.n),
      v: samples.v.slice(0, samples.n),
      warnings: this.finished ? [...this.set.warnings] : [],
    };
  }

  // Reads windows of the current series into `out` until it is spent (true) or the page is full first (false).
  private readWindows(out: SampleBuffer, full: () => boolean): boolean {
    const s = this.current as Series;
    while (this.from <= this.maxt) {
      const to = Math.min(this.maxt, this.from + this.span - 1);
      const before = out.n;
      readRange(s, this.from, to, out);
      const got = out.n - before;
      const width = to - this.from + 1;
      this.span = got > 0 ? Math.max(1, Math.floor((this.bounds.readSamples * width) / got)) : this.span * 2;
      this.from = to + 1;
      if (this.from <= this.maxt && full()) return false;
    }
    return true;
  }
}

// Appends the samples of `s` in [mint, maxt] to `out`, in one batch when its iterator can.
function readRange(s: Series, mint: number, maxt: number, out: SampleBuffer): void {
  const it = s.iterator();
  if (it.readInto !== undefined) {
    it.readInto(mint, maxt, out);
    return;
  }
  for (let k = it.seek(mint); k !== "none"; k = it.next()) {
    const t = it.atT();
    if (t > maxt) break;
    out.push(t, it.atV());
  }
}

/** The buffers of `page` to transfer with it (no copies). */
export function pageTransfer(page: SeriesPage): ArrayBuffer[] {
  return [page.pairs, page.lengths, page.offsets, page.t, page.v].map((a) => a.buffer as ArrayBuffer);
}

/**
 * Collects pages back into series, in order. Samples stay in the transferred arrays (views, no copies) except
 * for a series split across pages, whose parts are joined once.
 */
export class PageReader {
  private readonly out: Series[] = [];
  /** Label names seen, so each distinct name is one string. */
  private readonly names = new Map<string, string>();
  private warnings: readonly string[] = [];

  /** Adds the series of one page. */
  add(page: SeriesPage): void {
    let pos = 0;
    let li = 0;
    for (let i = 0; i < page.pairs.length; i++) {
      const from = page.offsets[i];
      const to = page.offsets[i + 1];
      if (i === 0 && page.continued) {
        this.extendLast(page.t.subarray(from, to), page.v.subarray(from, to));
        continue;
      }
      const flat: string[] = new Array(page.pairs[i] * 2);
      for (let k = 0; k < flat.length; k += 2) {
        const nameLen = page.lengths[li++];
        const valueLen = page.lengths[li++];
        const name = page.text.slice(pos, pos + nameLen);
        pos += nameLen;
        let interned = this.names.get(name);
        if (interned === undefined) {
          interned = name;
          this.names.set(name, name);
        }
        flat[k] = interned;
        flat[k + 1] = page.text.slice(pos, pos + valueLen);
        pos += valueLen;
      }
      this.out.push(new SeriesView(Labels.fromSortedUnchecked(flat), page.t, page.v, from, to));
    }
    if (page.done) this.warnings = page.warnings;
  }

  /** The series read so far, with the selection's warnings. */
  result(): SeriesSet {
    return Object.assign(this.out, { warnings: this.warnings });
  }

  private extendLast(t: Float64Array, v: Float64Array): void {
    const last = this.out.pop();
    if (last === undefined) return;
    const buf = new SampleBuffer(t.length + 1024);
    const it = last.iterator();
    for (let k = it.next(); k !== "none"; k = it.next()) buf.push(it.atT(), it.atV());
    buf.reserve(t.length);
    buf.t.set(t, buf.n);
    buf.v.set(v, buf.n);
    buf.n += t.length;
    this.out.push(new SeriesView(last.labels, buf.t, buf.v, 0, buf.n));
  }
}
