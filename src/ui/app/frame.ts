// Query answers turned into what charts draw: one shared time axis (the range query's grid) and one array of values
// per series, null where a series has no point.

import type { Grid, Metric, QueryData } from "./api.ts";

/** One drawn series. */
export interface FrameSeries {
  readonly label: string;
  readonly values: (number | null)[];
  /** Fixed colour, else the palette's next. */
  readonly color?: string;
}

/** Series over a shared time axis (seconds). */
export interface Frame {
  readonly x: number[];
  readonly series: FrameSeries[];
}

/** The label of a series: the values of `keys` joined, or its full selector when `keys` is empty. */
export function seriesLabel(metric: Metric, keys: readonly string[] = []): string {
  if (keys.length > 0) return keys.map((k) => metric[k] ?? "").join(" ") || "value";
  const { __name__: name, ...rest } = metric;
  const pairs = Object.entries(rest).map(([k, v]) => `${k}="${v}"`);
  return `${name ?? ""}${pairs.length > 0 || name === undefined ? `{${pairs.join(", ")}}` : ""}`;
}

/** The grid's times, seconds. */
export function gridTimes(grid: Grid): number[] {
  const x: number[] = [];
  for (let t = grid.start; t <= grid.end; t += grid.step) x.push(t);
  return x;
}

/** Adds the series of a matrix answer to `frame`, labelled by `label` (default: by `keys`). */
export function addMatrix(
  frame: Frame,
  grid: Grid,
  data: QueryData,
  opts: { keys?: readonly string[]; label?: (m: Metric) => string; color?: (label: string, i: number) => string } = {},
): void {
  if (data.resultType !== "matrix") return;
  const sorted = [...data.result].sort((a, b) => seriesLabel(a.metric).localeCompare(seriesLabel(b.metric)));
  for (const s of sorted) {
    const values: (number | null)[] = new Array(frame.x.length).fill(null);
    for (const [t, v] of s.values) {
      const i = Math.round((t - grid.start) / grid.step);
      if (i >= 0 && i < values.length) values[i] = Number(v);
    }
    const label = opts.label?.(s.metric) ?? seriesLabel(s.metric, opts.keys);
    frame.series.push({ label, values, color: opts.color?.(label, frame.series.length) });
  }
}

/** An empty frame on `grid`. */
export function emptyFrame(grid: Grid): Frame {
  return { x: gridTimes(grid), series: [] };
}

/** Whether a frame has at least one point. */
export function hasPoints(frame: Frame): boolean {
  return frame.series.some((s) => s.values.some((v) => v !== null));
}
