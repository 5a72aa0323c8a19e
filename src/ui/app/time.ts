// Time ranges of the dashboards and the explorer: relative ones (`range=1h`, ending now) or custom (`from`, `to`
// as ISO 8601), the step of range queries, and the refresh intervals. Times in seconds since the epoch.

import type { Grid } from "./api.ts";

/** The relative ranges the picker offers, with their length in seconds. */
export const RANGES: readonly (readonly [string, number])[] = [
  ["5m", 300],
  ["15m", 900],
  ["1h", 3600],
  ["3h", 3 * 3600],
  ["6h", 6 * 3600],
  ["12h", 12 * 3600],
  ["24h", 86_400],
  ["2d", 2 * 86_400],
  ["7d", 7 * 86_400],
];

/** Auto-refresh choices with their period in ms (0: off). */
export const REFRESHES: readonly (readonly [string, number])[] = [
  ["off", 0],
  ["5s", 5000],
  ["15s", 15_000],
  ["1m", 60_000],
];

export const DEFAULT_RANGE = "15m";
/** Points a range query aims for across a chart: enough for a wide screen, few enough to stay fast. */
const TARGET_POINTS = 240;
/** The smallest step, s: finer than the scrape interval shows nothing new. */
const MIN_STEP_S = 5;

/** The range the URL asks for: custom `from`/`to` when both parse, else a relative `range` (default 15m). */
export function rangeOf(params: URLSearchParams, nowMs = Date.now()): { start: number; end: number; label: string } {
  const from = Date.parse(params.get("from") ?? "");
  const to = Date.parse(params.get("to") ?? "");
  if (Number.isFinite(from) && Number.isFinite(to) && from < to) {
    return { start: from / 1000, end: to / 1000, label: "custom" };
  }
  const name = params.get("range") ?? DEFAULT_RANGE;
  const length = RANGES.find(([n]) => n === name)?.[1] ?? 900;
  const end = nowMs / 1000;
  return { start: end - length, end, label: RANGES.some(([n]) => n === name) ? name : DEFAULT_RANGE };
}

/** The grid of a range query over [start, end]: a whole-second step, start and end aligned to it. */
export function gridOf(range: { start: number; end: number }, stepS?: number): Grid {
  const step = stepS ?? Math.max(MIN_STEP_S, Math.ceil((range.end - range.start) / TARGET_POINTS));
  const end = Math.floor(range.end / step) * step;
  const start = Math.ceil(range.start / step) * step;
  return { start, end: Math.max(start, end), step };
}

/** A rate window for `step`: at least four scrapes (1m), and at least the step, so no sample is skipped. */
export function rateWindow(step: number): string {
  return `${Math.max(60, step * 2)}s`;
}

/** The refresh period of the URL's `refresh` parameter, ms (0: off). */
export function refreshOf(params: URLSearchParams): number {
  return REFRESHES.find(([n]) => n === params.get("refresh"))?.[1] ?? 0;
}

/** `seconds` as a value for `<input type="datetime-local">` in local time. */
export function toLocalInput(seconds: number): string {
  const d = new Date(seconds * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
