// The window of a MetricsQL range call written without one, `rate(x)`, sized per series as VictoriaMetrics sizes
// it: the query step, widened for rate-like functions to the series' scrape interval plus a jitter allowance, so
// a graph zoomed in below the scrape interval keeps its points. The scrape interval is estimated from the series'
// own samples. All times are ms.

import type { Evaluator } from "./evaluator.ts";

/** The step of an instant query for implicit windows (VictoriaMetrics' default `step` of /api/v1/query), ms. */
export const INSTANT_QUERY_STEP_MS = 300_000;
/** How far before the first step samples are read for an implicit window (VictoriaMetrics' longest silence
 * between samples); also the scrape interval assumed for a series with fewer than two samples, ms. */
export const MAX_SILENCE_MS = 300_000;
/** MetricsQL's last value in a range, whose written window is widened like an implicit one. */
export const DEFAULT_ROLLUP = "default_rollup";
/** Intervals between samples, from the first loaded one, that the scrape-interval estimate looks at. */
const SCRAPE_INTERVAL_SAMPLES = 20;
/** The quantile of those intervals taken as the scrape interval. */
const SCRAPE_INTERVAL_QUANTILE = 0.6;

/** Functions whose implicit window is widened to the scrape interval (those that divide by time, and
 * default_rollup, whose written window is widened too). */
const WIDENED = new Set(["rate", "irate", "deriv", DEFAULT_ROLLUP]);

/** The step implicit windows use on evaluator `ev`: its interval, or VictoriaMetrics' default for an instant query. */
export function implicitStep(ev: Evaluator): number {
  return ev.instant && ev.interval <= 1 ? INSTANT_QUERY_STEP_MS : ev.interval;
}

/** How far before a step samples are read for an implicit window at that step. */
export function implicitLoadSpan(step: number): number {
  return step + MAX_SILENCE_MS;
}

/** The scrape interval of a series estimated from its first `n` sample times `t`: a quantile of the first
 * intervals between them (linear interpolation), or MAX_SILENCE_MS with too few samples or no positive estimate. */
export function scrapeInterval(t: Float64Array, n: number): number {
  const count = Math.min(n - 1, SCRAPE_INTERVAL_SAMPLES);
  if (count < 1) return MAX_SILENCE_MS;
  const d = new Float64Array(count);
  for (let i = 0; i < count; i++) d[i] = t[i + 1] - t[i];
  d.sort();
  const rank = SCRAPE_INTERVAL_QUANTILE * (count - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, count - 1);
  const q = Math.trunc(d[lo] + (d[hi] - d[lo]) * (rank - lo));
  return q > 0 ? q : MAX_SILENCE_MS;
}

// Jitter allowance: scrape intervals up to each bound (ms) are widened by the fraction beside it; longer ones by
// JITTER_LAST. Short intervals get more room, as their samples jitter more relative to the interval.
const JITTER_STEPS: readonly (readonly [number, number])[] = [
  [2_000, 4],
  [4_000, 2],
  [8_000, 1],
  [16_000, 1 / 2],
  [32_000, 1 / 4],
];
const JITTER_LAST = 1 / 8;

/** The longest gap before a window in which the sample before it still counts as its previous sample: the scrape
 * interval plus the jitter allowance. */
export function maxPrevInterval(scrape: number): number {
  for (const [bound, extra] of JITTER_STEPS) if (scrape <= bound) return scrape + Math.trunc(scrape * extra);
  return scrape + Math.trunc(scrape * JITTER_LAST);
}

/** The implicit window of function `name` at step `step` for a series whose previous-sample gap is `prevGap`. */
export function implicitRange(name: string, step: number, prevGap: number): number {
  return WIDENED.has(name) && step < prevGap ? prevGap : step;
}
