// The selections of a job that may be small enough to evaluate on the main thread, made there and measured before
// anything is copied: each planned selection's series are listed with their sample counts (from the chunk headers,
// or by counting a series that has no chunks). When the whole job is small, the engine reads those very series
// (PreselectedQueryable) with no page built and read back; otherwise the series listed so far, then the rest of the
// selection, become the job's pages as for any other job (select-ahead.ts). Single-threaded: the series' chunks may
// be views of memory the store keeps writing, so they are read in the turn of the event loop they were selected in.

import type { Matcher } from "../../model/matcher.ts";
import type { PlannedSelect } from "../../promql/engine/reads.ts";
import type { Querier, Queryable, SelectHints, Series, SeriesSet } from "../../storage/interface.ts";
import { Encoding } from "../../tsdb/chunkenc/chunk.ts";
import { numSamples } from "../../tsdb/chunkenc/xor.ts";

/** One planned selection made here: its series (all of them when `whole`), their samples, and the selection. */
export interface Preselection {
  readonly matchers: readonly Matcher[];
  readonly hints: SelectHints;
  /** The series listed, in the selection's order. */
  readonly series: readonly Series[];
  /** Samples of the listed series in their chunks (whole chunks, so at least those in the range). */
  readonly samples: number;
  /** True when `series` is the whole selection and every one of them holds floats only. */
  readonly whole: boolean;
  /** The selection from its first series on: the listed ones, then the rest; iterate it once. */
  readonly set: SeriesSet;
}

/** Bounds past which listing stops: the job is then too large to evaluate here. */
export interface PreselectBounds {
  /** Most samples of all the selections together. */
  readonly samples: number;
  /** Most series of all the selections together. */
  readonly series: number;
}

/**
 * Makes each of `selects` on `querier` and lists its series until `bounds` are passed; the list of every selection
 * is made (whole or not), in order. Throws what a selection throws.
 */
export function preselect(
  querier: Querier,
  selects: readonly PlannedSelect[],
  bounds: PreselectBounds,
): Preselection[] {
  const out: Preselection[] = [];
  let samples = 0;
  let seriesCount = 0;
  for (const { matchers, hints } of selects) {
    const source = querier.select(matchers, hints);
    const it = source[Symbol.iterator]();
    const series: Series[] = [];
    let own = 0;
    let whole = true;
    for (;;) {
      if (samples > bounds.samples || seriesCount > bounds.series) {
        whole = false;
        break;
      }
      const r = it.next();
      if (r.done === true) break;
      series.push(r.value);
      seriesCount++;
      const n = floatSamples(r.value, hints, bounds.samples - samples);
      if (n < 0) {
        whole = false;
        break;
      }
      own += n;
      samples += n;
    }
    // A whole selection is read again as the list (its warnings are final once its iterator ended).
    const set = whole ? Object.assign(series, { warnings: source.warnings }) : resumed(series, it, source);
    out.push({ matchers, hints, series, samples: own, whole, set });
  }
  return out;
}

/**
 * Samples of `s` in its chunks, or counted in [hints.start, hints.end] when it has none (up to `cap` + 1); -1 when it
 * holds other than floats.
 */
function floatSamples(s: Series, hints: SelectHints, cap: number): number {
  const sources = s.chunks?.() ?? null;
  if (sources === null) return countedFloats(s, hints, cap);
  let n = 0;
  for (const src of sources) {
    for (let i = 0; i < src.length; i++) {
      // A count the source has at hand spares reading the chunk twice (here, then to evaluate).
      const known = src.sampleCount?.(i) ?? -1;
      if (known >= 0) {
        n += known;
        continue;
      }
      const c = src.chunk(i);
      if (c.encoding !== Encoding.xor) return -1;
      n += c.samples >= 0 ? c.samples : numSamples(c.data);
    }
  }
  return n;
}

// Float samples of `s` in the hinted range, read through its iterator, counted up to `cap` + 1; -1 at a histogram.
function countedFloats(s: Series, hints: SelectHints, cap: number): number {
  const it = s.iterator();
  let n = 0;
  for (let k = it.seek(hints.start); k !== "none" && n <= cap; k = it.next()) {
    if (k !== "float") return -1;
    if (it.atT() > hints.end) break;
    n++;
  }
  return n;
}

// The selection `source` from its start: `listed`, then what `rest` (the source's iterator past them) still gives.
function resumed(listed: readonly Series[], rest: Iterator<Series>, source: SeriesSet): SeriesSet {
  return {
    get warnings() {
      return source.warnings;
    },
    *[Symbol.iterator]() {
      yield* listed;
      for (let r = rest.next(); r.done !== true; r = rest.next()) yield r.value;
    },
  };
}

/**
 * The job's data for an evaluation here: a querier over the preselections' range serves each of them once to a
 * select with the same matchers and hints, from the series listed; any other read goes to `queryable`. The querier
 * of the preselections' range is the job's (JobData closes it), so closing the one handed out leaves it open.
 */
export class PreselectedQueryable implements Queryable {
  private readonly queryable: Queryable;
  private readonly own: Querier;
  private readonly mint: number;
  private readonly maxt: number;
  private readonly left: Preselection[];

  /** Serves `preselections`, made on `own` over [mint, maxt] ms, and reads anything else from `queryable`. */
  constructor(
    queryable: Queryable,
    own: Querier,
    range: { readonly mint: number; readonly maxt: number },
    preselections: readonly Preselection[],
  ) {
    this.queryable = queryable;
    this.own = own;
    this.mint = range.mint;
    this.maxt = range.maxt;
    this.left = [...preselections];
  }

  querier(mint: number, maxt: number): Querier {
    if (mint !== this.mint || maxt !== this.maxt) return this.queryable.querier(mint, maxt);
    const own = this.own;
    return {
      select: (matchers, hints) => {
        const i = this.left.findIndex((p) => sameRead(p, matchers, hints));
        if (i < 0) return own.select(matchers, hints);
        const p = this.left.splice(i, 1)[0];
        return p.set;
      },
      labelNames: (matchers, hints) => own.labelNames(matchers, hints),
      labelValues: (name, matchers, hints) => own.labelValues(name, matchers, hints),
      close: () => {},
    };
  }
}

// True when a select of `matchers` with `hints` is the preselection `p`.
function sameRead(p: Preselection, matchers: readonly Matcher[], hints: SelectHints): boolean {
  if (p.matchers.length !== matchers.length) return false;
  for (let i = 0; i < matchers.length; i++) {
    const [a, b] = [p.matchers[i], matchers[i]];
    if (a.type !== b.type || a.name !== b.name || a.value !== b.value) return false;
  }
  return p.hints === hints || JSON.stringify(p.hints) === JSON.stringify(hints);
}
