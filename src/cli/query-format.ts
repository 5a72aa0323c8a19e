// Terminal rendering of Prometheus API query answers for `contrail query`: an instant vector as an aligned table,
// a scalar or string plainly, a range matrix as one sparkline per series with its min, max and last value.
// Pure functions over the decoded JSON; the command in query.ts does the HTTP.

/** A sample as the API writes it: `[<unix seconds>, "<value>"]`. */
export type ApiSample = readonly [number, string];

/** The `data` of a query answer, discriminated on `resultType`. */
export type QueryData =
  | {
      readonly resultType: "vector";
      readonly result: readonly { readonly metric: Readonly<Record<string, string>>; readonly value: ApiSample }[];
    }
  | {
      readonly resultType: "matrix";
      readonly result: readonly {
        readonly metric: Readonly<Record<string, string>>;
        readonly values?: readonly ApiSample[];
      }[];
    }
  | { readonly resultType: "scalar"; readonly result: ApiSample }
  | { readonly resultType: "string"; readonly result: ApiSample };

/** The time grid of a range query, in unix seconds: the sparkline's columns. */
export interface RangeGrid {
  readonly start: number;
  readonly end: number;
  readonly step: number;
}

/** The eight levels of a sparkline, lowest first. */
const BARS = "▁▂▃▄▅▆▇█";
/** Most characters in one sparkline; longer grids are averaged down to this many columns. */
export const MAX_SPARK_WIDTH = 60;

const PLAIN_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A series as Prometheus prints it: `name{a="x", b="y"}`, `{a="x"}` without a name, `{}` without labels. */
export function seriesName(metric: Readonly<Record<string, string>>): string {
  const name = metric.__name__ ?? "";
  const pairs = Object.keys(metric)
    .filter((k) => k !== "__name__")
    .sort()
    .map((k) => `${PLAIN_NAME.test(k) ? k : JSON.stringify(k)}=${JSON.stringify(metric[k])}`);
  if (pairs.length === 0) return name === "" ? "{}" : name;
  return `${name}{${pairs.join(", ")}}`;
}

/** A value for people: at most 4 significant digits, integers in full up to 1e15. */
export function shortNumber(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  return String(Number(v.toPrecision(4)));
}

/** Lines of left-aligned columns separated by two spaces; the last column is not padded. */
export function alignRows(rows: readonly (readonly string[])[]): string[] {
  if (rows.length === 0) return [];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...r[i]].length)));
  return rows.map((r) =>
    r.map((cell, i) => (i === r.length - 1 ? cell : cell + " ".repeat(widths[i] - [...cell].length))).join("  "),
  );
}

/**
 * A sparkline of `values` (one per column; NaN marks a column without data, shown as a space). Levels are scaled
 * between the finite minimum and maximum; a flat series sits on the lowest level; +Inf is the top, -Inf the bottom.
 */
export function sparkline(values: readonly number[]): string {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  let out = "";
  for (const v of values) {
    if (Number.isNaN(v)) out += " ";
    else if (v === Number.POSITIVE_INFINITY) out += BARS[7];
    else if (v === Number.NEGATIVE_INFINITY || max === min) out += BARS[0];
    else out += BARS[Math.round(((v - min) / (max - min)) * 7)];
  }
  return out;
}

/**
 * The values of a series on the grid's columns, averaged down to at most `width` columns; NaN where a column has
 * no sample. Sample times are matched to grid points to the millisecond.
 */
export function gridValues(values: readonly ApiSample[], grid: RangeGrid, width = MAX_SPARK_WIDTH): number[] {
  const points = Math.max(1, Math.floor(Math.round((grid.end - grid.start) * 1000) / Math.round(grid.step * 1000)) + 1);
  const columns = Math.min(points, width);
  const sum = new Float64Array(columns);
  const count = new Uint32Array(columns);
  for (const [t, text] of values) {
    const v = Number(text);
    if (Number.isNaN(v)) continue;
    const i = Math.round(Math.round((t - grid.start) * 1000) / Math.round(grid.step * 1000));
    if (i < 0 || i >= points) continue;
    const c = Math.floor((i * columns) / points);
    sum[c] += v;
    count[c]++;
  }
  return Array.from(sum, (s, c) => (count[c] === 0 ? Number.NaN : s / count[c]));
}

/** Summary of a series' samples: finite minimum and maximum, and the last value (NaN when there are none). */
function summary(values: readonly ApiSample[]): { min: number; max: number; last: number } {
  let min = Number.NaN;
  let max = Number.NaN;
  for (const [, text] of values) {
    const v = Number(text);
    if (!Number.isFinite(v)) continue;
    if (!(v >= min)) min = v;
    if (!(v <= max)) max = v;
  }
  const last = values.length === 0 ? Number.NaN : Number(values[values.length - 1][1]);
  return { min, max, last };
}

/** The lines printed for a query answer; `grid` is needed for a matrix (a range query). */
export function renderQueryData(data: QueryData, grid?: RangeGrid): string[] {
  switch (data.resultType) {
    case "scalar":
    case "string":
      return [data.result[1]];
    case "vector":
      if (data.result.length === 0) return ["(no series)"];
      return alignRows([["SERIES", "VALUE"], ...data.result.map((s) => [seriesName(s.metric), s.value[1]])]);
    case "matrix": {
      if (data.result.length === 0) return ["(no series)"];
      const g = grid ?? matrixGrid(data.result.map((s) => s.values ?? []));
      return alignRows([
        ["SERIES", "TREND", "MIN", "MAX", "LAST"],
        ...data.result.map((s) => {
          const values = s.values ?? [];
          const { min, max, last } = summary(values);
          return [
            seriesName(s.metric),
            sparkline(gridValues(values, g)),
            shortNumber(min),
            shortNumber(max),
            shortNumber(last),
          ];
        }),
      ]);
    }
  }
}

/** A grid spanning every sample, stepping by the smallest gap between two timestamps (for a matrix without one). */
function matrixGrid(series: readonly (readonly ApiSample[])[]): RangeGrid {
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  let step = Number.POSITIVE_INFINITY;
  for (const values of series) {
    for (let i = 0; i < values.length; i++) {
      start = Math.min(start, values[i][0]);
      end = Math.max(end, values[i][0]);
      if (i > 0) step = Math.min(step, values[i][0] - values[i - 1][0]);
    }
  }
  if (!Number.isFinite(start)) return { start: 0, end: 0, step: 1 };
  return { start, end, step: Number.isFinite(step) && step > 0 ? step : 1 };
}
