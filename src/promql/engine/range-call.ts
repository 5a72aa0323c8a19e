// Calls of functions over a range vector (rate, increase, *_over_time, ...). They run series by series: each
// series' samples are loaded once, one window slides along the steps over them, and the function sees each step's
// window in place (typed arrays, no copies). A series' output lands in a reused StepPoints buffer that the caller
// either turns into a result series or folds straight into an aggregation, so `sum(rate(...))` never materialises
// the inner vector.

import { ContrailError } from "../../model/errors.ts";
import { CounterResetHint, type Histogram } from "../../model/histogram.ts";
import { withHint } from "../../model/histogram-arith.ts";
import type { Labels } from "../../model/labels.ts";
import type { SampleIterator } from "../../storage/interface.ts";
import { possibleNonCounterInfo } from "./annotations.ts";
import { evalError, tooManySamples, WORK_PER_CHECK } from "./context.ts";
import type { Evaluator } from "./evaluator.ts";
import { ANCHORED_SAFE, SMOOTHED_SAFE } from "./functions/index.ts";
import { histogramRangeFn } from "./functions/range-histogram.ts";
import { delta, extrapolatedRate, idelta, increase, irate, rate } from "./functions/rate.ts";
import { RangeCall, type RangeFn } from "./functions/types.ts";
import { COUNTER_ROLLUPS, removeCounterResets, USES_PREV_SAMPLE, VM_ROLLUPS } from "./functions/vm-rollup.ts";
import {
  DEFAULT_ROLLUP,
  implicitLoadSpan,
  implicitRange,
  implicitStep,
  MAX_SILENCE_MS,
  maxPrevInterval,
  scrapeInterval,
} from "./implicit-window.ts";
import { instantSteps } from "./irate-steps.ts";
import { dropMetadata } from "./labelsets.ts";
import type { CallNode, SelectorNode } from "./plan.ts";
import { type RateStepGrid, type RateStepTarget, type RateStepTotals, rateSteps } from "./rate-steps.ts";
import {
  matrixSources,
  type SourceSeries,
  selectSeries,
  storageSources,
  streamSeries,
  Window,
  weighSamples,
} from "./selectors.ts";
import { subqueryWindow } from "./subquery.ts";
import { type Matrix, Series, totalSamples } from "./value.ts";

const COUNTER_SUFFIXES = ["_total", "_sum", "_count", "_bucket"];
/** Range functions the window driver calls by name (see seriesWindows). */
const DIRECT_RATE = 1;
const DIRECT_INCREASE = 2;

/** The points one series produced at the steps of a range-function call. Reused from series to series. */
export class StepPoints {
  /** Step times (ms), step indices and values of the first `n` points, in step order. */
  readonly t: Float64Array;
  readonly k: Int32Array;
  readonly v: Float64Array;
  n = 0;
  /** Histogram points (their `v` is 0) at their index; null when every point is a float. */
  h: (Histogram | undefined)[] | null = null;

  /** Room for `steps` points. */
  constructor(steps: number) {
    const cap = Math.max(steps, 1);
    this.t = new Float64Array(cap);
    this.k = new Int32Array(cap);
    this.v = new Float64Array(cap);
  }
}

// True when the first `n` loaded samples include a float (`h` null: all are floats).
function hasFloats(h: readonly (Histogram | undefined)[] | null, n: number): boolean {
  if (h === null) return true;
  for (let i = 0; i < n; i++) if (h[i] === undefined) return true;
  return false;
}

/** Receives each series a range-function call produced: the index of its input series, the input's labels, the
 * name-removal mark and its points (valid only during the call). Returning false stops the run there. */
export type RangeSink = (index: number, labels: Labels, dropName: boolean, points: StepPoints) => boolean | undefined;

/** A `sum` fold that rate, increase, delta, irate and idelta add their values into directly (the cells of
 * rateSteps and instantSteps), instead of handing each series' points to the sink. */
export interface StepSumTarget {
  /** Readies the group of a series labelled `labels` and points `out` at its cells (`sums`, `cell`, `settled`);
   * false when the fold would refuse the series (the sink then gets its points). */
  aim(labels: Labels, out: RateStepTarget): boolean;
  /** The series `aim` readied gave `count` values (0 too); its group counts as found from its first value on. */
  took(count: number, dropName: boolean): void;
}

interface RangeSource {
  /** The input series; read once when streamed (see PreparedRangeCall). */
  sources: Iterable<SourceSeries>;
  /** The selector of a streamed input, null otherwise. */
  streamed: SelectorNode | null;
  offset: number;
  range: number;
  timestamp: number | null;
  anchored: boolean;
  smoothed: boolean;
  /** MetricsQL's `rate(x)`: the window is sized per series (implicit-window.ts); `range` is 0. */
  implicit: boolean;
  /** Points held by an evaluated subquery, released when the call is done. */
  held: number;
  /** Histograms are read as their counts and sums (see SelectorNode.statsOnly). */
  statsOnly: boolean;
}

function rangeSource(ev: Evaluator, n: CallNode, mi: number, stream: boolean): RangeSource {
  const arg = n.args[mi];
  if (arg.kind === "subquery") {
    const m = ev.evalSubquery(arg);
    forgetResetHints(m);
    const { offset, range } = subqueryWindow(ev, arg);
    return {
      sources: matrixSources(m),
      streamed: null,
      offset,
      range,
      timestamp: arg.timestamp,
      anchored: false,
      smoothed: false,
      implicit: false,
      held: totalSamples(m),
      statsOnly: false,
    };
  }
  if (arg.kind !== "matrix") throw new ContrailError("internal", "range argument expected");
  const vs = arg.selector;
  return {
    sources: stream ? streamSeries(ev.q, vs) : storageSources(selectSeries(ev.q, vs)),
    streamed: stream ? vs : null,
    offset: vs.offset,
    range: arg.range,
    timestamp: vs.timestamp,
    anchored: vs.anchored,
    smoothed: vs.smoothed,
    implicit: arg.implicit,
    held: 0,
    statsOnly: vs.statsOnly,
  };
}

// A subquery may skip or repeat the samples around a counter reset, so the reset hints of its histograms (which
// describe neighbouring samples) are dropped: functions then detect resets as they do for floats.
function forgetResetHints(m: Matrix): void {
  for (const s of m) {
    const hs = s.h;
    if (hs === null) continue;
    for (let i = 0; i < s.n; i++) {
      const h = hs[i];
      if (h === undefined) continue;
      if (
        h.counterResetHint === CounterResetHint.notCounterReset ||
        h.counterResetHint === CounterResetHint.counterReset
      ) {
        hs[i] = withHint(h, CounterResetHint.unknown);
      }
    }
  }
}

/**
 * A range-function call with its input selected (or its subquery evaluated) and its scalar arguments evaluated,
 * ready to run over the input series. Preparing does the work, checks and errors of the call that come before
 * the first series, in Prometheus's order.
 */
export class PreparedRangeCall {
  private readonly ev: Evaluator;
  private readonly node: CallNode;
  private readonly src: RangeSource;
  private readonly fn: RangeFn;
  /** The function for series holding histograms. */
  private readonly histFn: RangeFn;
  private readonly call: RangeCall;
  private readonly scalarArgs: Matrix[];
  private readonly w = new Window();
  /** Room for a point at every step, made when the first series is read (an empty selection needs none). */
  private points: StepPoints | null = null;
  /** For a series holding histograms: what its first i loaded samples weigh in the sample limit, at index i. */
  private weights = new Float64Array(1);
  /** The grid of a rate, increase or delta call whose float series take rateSteps' loop, or of an irate or idelta
   * call whose float series take instantSteps' (a range selector or subquery at a moving step: no `@`, anchored or
   * smoothed modifier, no implicit window), else null. */
  private readonly stepGrid: RateStepGrid | null;
  private readonly totals: RateStepTotals = { loaded: 0, peak: 0 };
  /** The metric name of the last series `annotateCounter` looked at. */
  private lastMetric: string | null = null;
  /** Where rateSteps puts the current series' values. */
  private readonly target: RateStepTarget = { pts: null, sums: null, cell: 0, settled: false, dropName: false };

  /**
   * Prepares call `n` of range function `fn`, whose range argument is argument `mi`. With `stream`, a selection
   * argument is read series by series as `run` goes, without being kept (see streamSeries): such a call runs once,
   * or again after `reselect`.
   */
  constructor(ev: Evaluator, n: CallNode, mi: number, fn: RangeFn, stream = false) {
    const q = ev.q;
    const name = n.func.name;
    const src = rangeSource(ev, n, mi, stream);
    const others = n.args.map((a, i) => (i === mi || a.kind === "string" ? null : ev.eval(a)));
    if (src.anchored && !ANCHORED_SAFE.includes(name)) {
      evalError(`anchored modifier can only be used with: ${ANCHORED_SAFE.join(", ")} - not with ${name}`);
    }
    if (src.smoothed && !SMOOTHED_SAFE.includes(name)) {
      evalError(`smoothed modifier can only be used with: ${SMOOTHED_SAFE.join(", ")} - not with ${name}`);
    }
    const call = new RangeCall(n, q);
    call.range = src.range;
    call.anchored = src.anchored;
    call.smoothed = src.smoothed;
    this.scalarArgs = others.filter((m) => m !== null) as Matrix[];
    call.scalars = new Float64Array(this.scalarArgs.length);
    this.ev = ev;
    this.node = n;
    this.src = src;
    this.fn = (src.implicit ? VM_ROLLUPS.get(name) : undefined) ?? fn;
    this.histFn = histogramRangeFn(name, this.fn);
    this.call = call;
    const plain = !src.implicit && src.timestamp === null && !src.anchored && !src.smoothed;
    const own = this.fn;
    this.stepGrid =
      plain && (own === rate || own === increase || own === delta || own === irate || own === idelta)
        ? { start: ev.start, end: ev.end, interval: ev.interval, range: src.range, offset: src.offset }
        : null;
  }

  /** Makes a streamed call's input an ordinary selection (cached on its selector), so it can run again. */
  reselect(): void {
    const vs = this.src.streamed;
    if (vs === null) return;
    this.src.sources = storageSources(selectSeries(this.ev.q, vs));
    this.src.streamed = null;
  }

  /**
   * Runs the function over every input series and hands each series that produced points to `sink`, with sample
   * accounting (held windows, produced points) as Prometheus's evaluator does it. A float series of a call with a
   * step grid (see stepGrid) that `sumTarget` takes is added into its cells instead (the same values, counted the
   * same way).
   */
  run(sink: RangeSink, sumTarget: StepSumTarget | null = null): void {
    const { ev, node, src } = this;
    const q = ev.q;
    const name = node.func.name;
    const dropFn = name !== "last_over_time" && name !== "first_over_time" && name !== "default_rollup";
    const counterCheck = name === "rate" || name === "increase";
    const lookback = q.settings.lookbackDelta;
    // The samples every step of a series may need: from the first step's window start to the last step's end.
    const lastTs = src.timestamp === null ? ev.start + (ev.numSteps() - 1) * ev.interval : ev.start;
    const step = src.implicit ? implicitStep(ev) : 0;
    let loadMint = ev.start - src.offset - (src.implicit ? implicitLoadSpan(step) : src.range);
    let loadMaxt = lastTs - src.offset;
    // Implicit windows of the VictoriaMetrics rollups reach back to the previous sample too.
    const prevSample = src.implicit && USES_PREV_SAMPLE.has(name);
    const resetsRemoved = src.implicit && COUNTER_ROLLUPS.has(name);
    // default_rollup's written window is widened to the previous-sample gap, as for an implicit one.
    const widened = !src.implicit && name === DEFAULT_ROLLUP;
    if (widened) loadMint -= maxPrevInterval(MAX_SILENCE_MS);
    if (src.anchored) loadMint -= lookback;
    else if (src.smoothed) {
      loadMint -= lookback;
      loadMaxt += lookback;
    }
    this.lastMetric = null;
    let it: SampleIterator | undefined;
    let index = -1;
    for (const s of src.sources) {
      index++;
      q.check();
      it = s.iterator(it);
      this.w.load(it, loadMint, loadMaxt, src.statsOnly);
      this.call.labels = s.labels;
      if (src.implicit) {
        if (resetsRemoved) removeCounterResets(this.w.v, this.w.n);
        const prevGap = maxPrevInterval(scrapeInterval(this.w.t, this.w.n));
        this.seriesWindows(implicitRange(name, step, prevGap), prevSample ? prevGap : 0);
      } else if (widened) {
        this.seriesWindows(Math.max(src.range, maxPrevInterval(scrapeInterval(this.w.t, this.w.n))), 0);
      } else if (this.stepGrid !== null && this.w.h === null) {
        // Into the fold's cells when it takes the series: no points, no sink.
        const target = this.target;
        target.dropName = dropFn || s.dropName === true;
        target.pts = null;
        if (sumTarget?.aim(s.labels, target)) {
          const np = this.rateWindows(this.stepGrid, target);
          target.sums = null;
          sumTarget.took(np, target.dropName);
          if (np === 0) continue;
          q.add(np);
          this.annotateCounter(counterCheck, s.labels);
          continue;
        }
        const pts = this.stepPoints();
        pts.h = null;
        target.pts = pts;
        this.rateWindows(this.stepGrid, target);
      } else {
        this.seriesWindows(src.range, 0);
      }
      const pts = this.stepPoints();
      if (pts.n === 0) continue;
      q.add(pts.h === null ? pts.n : weighSamples(pts.h, 0, pts.n));
      if (sink(index, s.labels, dropFn || s.dropName === true, pts) === false) break;
      this.annotateCounter(counterCheck, s.labels);
    }
    this.w.release();
    q.set(q.current - src.held);
  }

  // Adds the info that a rate or increase read a series whose name does not look like a counter's (once for a run of
  // series of one name).
  private annotateCounter(counterCheck: boolean, labels: Labels): void {
    if (!counterCheck || !hasFloats(this.w.h, this.w.n)) return;
    const q = this.ev.q;
    const metric = labels.metricName();
    // Input series come sorted, so one name's series are adjacent; the info is the same for all of them.
    if (metric !== this.lastMetric) {
      this.lastMetric = metric;
      if (metric !== "" && !COUNTER_SUFFIXES.some((sfx) => metric.endsWith(sfx))) {
        q.annotations.add(possibleNonCounterInfo(metric, this.node.args[0].pos));
      }
    }
  }

  /**
   * Runs the call and returns its output series: the input's labels (without the name and metadata labels when
   * delayed name removal is off), marked for name removal except for last_over_time and first_over_time.
   */
  collect(): Matrix {
    const delayed = this.ev.q.settings.enableDelayedNameRemoval;
    const out: Matrix = [];
    this.run((_, labels, dropName, pts) => {
      const res = new Series(dropName && !delayed ? dropMetadata(labels) : labels, dropName, pts.n);
      res.t.set(pts.t.subarray(0, pts.n));
      res.v.set(pts.v.subarray(0, pts.n));
      res.n = pts.n;
      if (pts.h !== null) res.h = pts.h.slice(0, pts.n);
      out.push(res);
      return true;
    });
    return out;
  }

  private stepPoints(): StepPoints {
    if (this.points === null) this.points = new StepPoints(this.ev.numSteps());
    return this.points;
  }

  // Slides the window of the loaded series along the steps and applies the function at each, writing the points
  // into `this.points`. Kept free of calls taking doubles, so V8 keeps every timestamp unboxed. Samples held by the
  // window count towards the query's limit while it slides, a histogram by its size. The window is `range` long; `reach` more before it
  // are loaded into it for functions that look at the sample before the range (the VictoriaMetrics rollups).
  private seriesWindows(range: number, reach: number): void {
    const { ev, src, fn, call, w, scalarArgs } = this;
    const q = ev.q;
    const pts = this.stepPoints();
    // ts, rangeStart, rangeEnd and the result, written and read as typed-array slots (see RangeCall).
    const f = call.f;
    const lookback = q.settings.lookbackDelta;
    const maxSamples = q.settings.maxSamples;
    const start = ev.start;
    const end = ev.end;
    const interval = ev.interval;
    const offset = src.offset;
    call.range = range;
    const anchored = src.anchored;
    const smoothed = src.smoothed;
    const fixed = src.timestamp !== null;
    const base = q.current;
    let peak = q.peak;
    let loaded = 0;
    let size = 0;
    let step = -1;
    let np = 0;
    let work = 0;
    const t = w.t;
    const v = w.v;
    const n = w.n;
    let lo = 0;
    let hi = 0;
    let drops = 0;
    // rate and increase, the most common calls, are called by name: a call whose target never changes is inlined,
    // where the call through `fn` sees every range function a process runs and stays a call.
    const direct = fn === rate ? DIRECT_RATE : fn === increase ? DIRECT_INCREASE : 0;
    call.t = t;
    call.v = v;
    call.n = n;
    call.h = w.h;
    // Series holding histograms take the histogram-aware implementation, and their window weighs the sizes of
    // its histograms (prefix sums, so a window's weight is one subtraction).
    const histFn = w.h !== null ? this.histFn : null;
    const weights = w.h !== null ? this.prefixWeights(w.h, n) : null;
    pts.h = null;
    for (let ts = start; ts <= end; ts += interval) {
      step++;
      for (let k = 0; k < scalarArgs.length; k++) {
        const sc = scalarArgs[k][0];
        call.scalars[k] = sc !== undefined && step < sc.n ? sc.v[step] : Number.NaN;
      }
      if (ts === start || !fixed) {
        let maxt = ts - offset;
        let mint = maxt - range - reach;
        if (anchored) mint -= lookback;
        else if (smoothed) {
          mint -= lookback;
          maxt += lookback;
        }
        // The window moves forward over the loaded samples (see Window.fillBounds), kept in locals here.
        while (hi < n && t[hi] <= maxt) {
          if (hi > lo && v[hi] < v[hi - 1]) drops++;
          hi++;
        }
        while (lo < hi && t[lo] <= mint) {
          if (lo + 1 < hi && v[lo + 1] < v[lo]) drops--;
          lo++;
        }
        size = weights === null ? hi - lo : weights[hi] - weights[lo];
        if (base + size > peak) peak = base + size;
        if (base + size > maxSamples) {
          q.set(base + size);
          tooManySamples();
        }
      }
      // The deadline check, counting a step and the samples of its window as work (counted here: a call would
      // box this loop's doubles).
      work += size + 1;
      if (work >= WORK_PER_CHECK) {
        work = 0;
        q.check();
      }
      if (size === 0) continue;
      loaded += size;
      call.lo = lo;
      call.hi = hi;
      call.drops = drops;
      f[0] = ts;
      f[1] = ts - range - offset;
      f[2] = ts - offset;
      const produced =
        histFn !== null
          ? histFn(call)
          : direct === DIRECT_RATE
            ? extrapolatedRate(call, true, true)
            : direct === DIRECT_INCREASE
              ? extrapolatedRate(call, true, false)
              : fn(call);
      if (!produced) continue;
      if (histFn !== null) {
        const rh = call.resultH;
        call.resultH = undefined;
        if (rh !== undefined || pts.h !== null) {
          if (pts.h === null) pts.h = [];
          pts.h[np] = rh;
          if (rh !== undefined) f[3] = 0;
        }
      }
      pts.t[np] = ts;
      pts.k[np] = step;
      pts.v[np++] = f[3];
    }
    pts.n = np;
    q.loaded += loaded;
    if (peak > q.peak) q.peak = peak;
  }

  // rateSteps (instantSteps for irate and idelta) over the loaded float series into `target` (this.points or a
  // fold's cells), with seriesWindows' sample accounting; the number of values.
  private rateWindows(grid: RateStepGrid, target: RateStepTarget): number {
    const q = this.ev.q;
    const { fn, w, totals } = this;
    totals.peak = q.peak;
    const np =
      fn === irate || fn === idelta
        ? instantSteps(q, w.t, w.v, w.n, grid, fn === irate, target, totals)
        : rateSteps(q, w.t, w.v, w.n, grid, fn !== delta, fn === rate, target, totals);
    q.loaded += totals.loaded;
    if (totals.peak > q.peak) q.peak = totals.peak;
    return np;
  }

  // Fills `this.weights` with the prefix sums of what the first `n` loaded samples weigh (see weighSamples).
  private prefixWeights(h: readonly (Histogram | undefined)[], n: number): Float64Array {
    if (this.weights.length < n + 1) this.weights = new Float64Array(Math.max(n + 1, this.weights.length * 2));
    const out = this.weights;
    out[0] = 0;
    for (let i = 0; i < n; i++) out[i + 1] = out[i] + weighSamples(h, i, i + 1);
    return out;
  }
}
