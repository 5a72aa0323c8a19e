// The change functions (and deriv) of MetricsQL's implicit-window calls (`rate(x)`, `increase(x)`, ...) with VictoriaMetrics'
// semantics: the window's values are compared with the sample just before the window (its "previous sample", when
// it lies within the previous-sample gap, see implicit-window.ts) instead of being extrapolated, so a window
// shorter than the scrape interval still has a value. The caller loads the window reaching back that gap before
// `rangeStart`; samples at or before `rangeStart` are only candidates for the previous sample.
//
// Counter resets are removed as VictoriaMetrics removes them (removeCounterResets), over the whole loaded series.

import { deriv } from "./rate.ts";
import type { RangeCall, RangeFn } from "./types.ts";

/** A drop by less than 1/JITTER_DROP of the previous value is jitter, not a counter reset. */
const JITTER_DROP = 8;
/** rollupDelta's stand-in for a zero first change when guessing whether a series' first sample counts from 0. */
const FIRST_DELTA_DEFAULT = 10;

// Index of the first sample inside the window (after rangeStart).
function firstInside(c: RangeCall): number {
  const { t } = c;
  let i = c.lo;
  while (i < c.hi && t[i] <= c.rangeStart) i++;
  return i;
}

// Whether the window has a previous sample: one loaded before the window start (the window reaches back only the
// previous-sample gap), while some sample follows the window start; after a series' last sample there is none.
function hasPrev(c: RangeCall, i0: number): boolean {
  return i0 > c.lo && i0 < c.n;
}

/**
 * Removes counter resets from the first `n` values in place, as VictoriaMetrics 1.79 does before rate, increase
 * and irate: after a reset the values go on from where the counter stood; a drop of less than 1/JITTER_DROP of
 * the previous value is jitter between replicas, and the values go on from where they stood before the drop.
 * Runs over a series' loaded samples before its windows.
 */
export function removeCounterResets(v: Float64Array, n: number): void {
  let correction = 0;
  let prev = n > 0 ? v[0] : 0;
  for (let i = 0; i < n; i++) {
    const x = v[i];
    const d = x - prev;
    if (d < 0) correction += -d * JITTER_DROP < prev ? -d : prev;
    prev = x;
    v[i] = x + correction;
  }
}

// v[to] - v[from]: the values of the counter functions already have resets removed.
function change(c: RangeCall, from: number, to: number): number {
  return c.v[to] - c.v[from];
}

// rate: change from the previous sample (else the first one inside) to the last, per second between them.
const vmRate: RangeFn = (c) => {
  const i0 = firstInside(c);
  const last = c.hi - 1;
  let base = hasPrev(c, i0) ? i0 - 1 : -1;
  if (base < 0) {
    if (c.hi - i0 < 2) return false;
    base = i0;
  } else if (i0 > last) {
    c.result = 0;
    return true;
  }
  c.result = change(c, base, last) / ((c.t[last] - c.t[base]) / 1000);
  return true;
};

// increase and delta: change from the previous sample to the last; without one, from the sample before the
// window however old, else from 0 when the first value is small next to the first change (a counter that
// started in the window), else from the first sample.
const vmDelta: RangeFn = (c) => {
  const i0 = firstInside(c);
  const last = c.hi - 1;
  if (hasPrev(c, i0)) {
    c.result = i0 > last ? 0 : change(c, i0 - 1, last);
    return true;
  }
  if (i0 > last) return false;
  if (i0 > 0) {
    c.result = change(c, i0 - 1, last);
    return true;
  }
  const { v } = c;
  let d = last > i0 ? v[i0 + 1] - v[i0] : 0;
  if (d === 0) d = FIRST_DELTA_DEFAULT;
  if (Math.abs(v[i0]) < FIRST_DELTA_DEFAULT * (Math.abs(d) + 1)) {
    c.result = v[last];
  } else {
    c.result = i0 === last ? 0 : change(c, i0, last);
  }
  return true;
};

// irate: per-second change between the last sample and the one before it (the previous sample if it is the
// window's only one; 0 when all the window's samples share the last timestamp and there is no previous sample).
const vmIrate: RangeFn = (c) => {
  const i0 = firstInside(c);
  const last = c.hi - 1;
  if (i0 > last) return false;
  let before = last - 1;
  while (before >= i0 && c.t[before] >= c.t[last]) before--;
  if (before < i0) {
    if (!hasPrev(c, i0)) {
      if (last === i0) return false;
      c.result = 0;
      return true;
    }
    before = i0 - 1;
  }
  c.result = change(c, before, last) / ((c.t[last] - c.t[before]) / 1000);
  return true;
};

// idelta: the last sample minus the one before it (or the previous sample; or 0 before a series' first sample).
const vmIdelta: RangeFn = (c) => {
  const i0 = firstInside(c);
  const last = c.hi - 1;
  const { v } = c;
  const prev = hasPrev(c, i0);
  if (i0 > last) {
    if (!prev) return false;
    c.result = 0;
    return true;
  }
  if (last > i0) c.result = v[last] - v[last - 1];
  else c.result = prev ? v[last] - v[i0 - 1] : v[last];
  return true;
};

// changes and resets: value changes (or drops) counted from the previous sample; without one, changes counts
// the first sample as a change, as VictoriaMetrics does.
function vmCount(drops: boolean): RangeFn {
  return (c) => {
    const i0 = firstInside(c);
    const last = c.hi - 1;
    const { v } = c;
    let from = i0 - 1;
    let n = 0;
    if (!hasPrev(c, i0)) {
      if (i0 > last) return false;
      from = i0;
      if (!drops) n++;
    }
    for (let i = from + 1; i <= last; i++) {
      if (drops ? v[i] < v[i - 1] : v[i] !== v[i - 1]) n++;
    }
    c.result = n;
    return true;
  };
}

// deriv: the regression slope as PromQL computes it, but 0 (not nothing) for a window of one sample.
const vmDeriv: RangeFn = (c) => {
  if (c.hi - c.lo !== 1) return deriv(c);
  c.result = 0;
  return true;
};

/** The functions whose implicit-window calls take VictoriaMetrics' semantics, by name. */
export const VM_ROLLUPS: ReadonlyMap<string, RangeFn> = new Map([
  ["deriv", vmDeriv],
  ["rate", vmRate],
  ["increase", vmDelta],
  ["delta", vmDelta],
  ["irate", vmIrate],
  ["idelta", vmIdelta],
  ["changes", vmCount(false)],
  ["resets", vmCount(true)],
]);

/** Of VM_ROLLUPS, those whose input has counter resets removed first. */
export const COUNTER_ROLLUPS: ReadonlySet<string> = new Set(["rate", "increase", "irate"]);

/** Of VM_ROLLUPS, those that look at the sample before the window. */
export const USES_PREV_SAMPLE: ReadonlySet<string> = new Set([
  "rate",
  "increase",
  "delta",
  "irate",
  "idelta",
  "changes",
  "resets",
]);
