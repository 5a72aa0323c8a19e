// The response-time heatmap: one column per step, one row per histogram bucket, each cell's colour the number of
// responses in that bucket and step (from the cumulative `_bucket` counters counted per step, de-cumulated here).
// uPlot draws the axes and the cursor; the cells are painted in its draw hook. Colours follow viridis, which reads
// in order for every kind of colour vision and in greyscale.

import { useEffect, useRef } from "preact/hooks";
import type uPlot from "uplot";
import type { Grid, QueryData } from "../api.ts";
import { formatValue } from "../format.ts";
import { gridTimes } from "../frame.ts";
import { axes, mountPlot } from "./chart.tsx";

/** Counts per bucket and step: `rows[b][i]` for bucket b (ascending upper bound) and step i; null where unknown. */
export interface HeatmapData {
  readonly x: number[];
  /** Upper bounds of the buckets, seconds, ascending; the last may be +Inf. */
  readonly bounds: number[];
  readonly rows: (number | null)[][];
  readonly max: number;
}

/** Builds heatmap data from a matrix answer of cumulative bucket counts by `le`. */
export function heatmapOf(data: QueryData, grid: Grid): HeatmapData {
  const x = gridTimes(grid);
  if (data.resultType !== "matrix") return { x, bounds: [], rows: [], max: 0 };
  const series = data.result
    .map((s) => ({ le: Number(s.metric.le === "+Inf" ? Infinity : s.metric.le), values: s.values }))
    .filter((s) => !Number.isNaN(s.le))
    .sort((a, b) => a.le - b.le);
  const cumulative = series.map((s) => {
    const row: (number | null)[] = new Array(x.length).fill(null);
    for (const [t, v] of s.values) {
      const i = Math.round((t - grid.start) / grid.step);
      if (i >= 0 && i < row.length) row[i] = Number(v);
    }
    return row;
  });
  let max = 0;
  const rows = cumulative.map((row, b) =>
    row.map((v, i) => {
      if (v === null) return null;
      const below = b === 0 ? 0 : (cumulative[b - 1][i] ?? 0);
      const n = Math.max(0, v - below);
      if (n > max) max = n;
      return n;
    }),
  );
  return { x, bounds: series.map((s) => s.le), rows, max };
}

const VIRIDIS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"];

/** The viridis colour of `f` in [0, 1]. */
function viridis(f: number): string {
  const p = Math.min(1, Math.max(0, f)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(p));
  const mix = (a: string, b: string, k: number, at: number) =>
    Math.round(parseInt(a.slice(at, at + 2), 16) * (1 - k) + parseInt(b.slice(at, at + 2), 16) * k);
  const k = p - i;
  return `rgb(${mix(VIRIDIS[i], VIRIDIS[i + 1], k, 1)},${mix(VIRIDIS[i], VIRIDIS[i + 1], k, 3)},${mix(VIRIDIS[i], VIRIDIS[i + 1], k, 5)})`;
}

function boundLabel(b: number): string {
  return Number.isFinite(b) ? `≤ ${formatValue(b, "seconds")}` : "> last";
}

/** The heatmap of response times. */
export function Heatmap(props: { readonly data: HeatmapData; readonly height?: number }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (el === null) return;
    const { x, bounds, rows, max } = props.data;
    const draw = (u: uPlot) => {
      const ctx = u.ctx;
      const step = x.length > 1 ? x[1] - x[0] : 1;
      ctx.save();
      ctx.beginPath();
      ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
      ctx.clip();
      for (let b = 0; b < rows.length; b++) {
        const y0 = u.valToPos(b, "y", true);
        const y1 = u.valToPos(b + 1, "y", true);
        for (let i = 0; i < x.length; i++) {
          const n = rows[b][i];
          if (n === null || n === 0) continue;
          const x0 = u.valToPos(x[i] - step, "x", true);
          const x1 = u.valToPos(x[i], "x", true);
          ctx.fillStyle = viridis(Math.sqrt(n / max));
          ctx.fillRect(x0, y1, Math.max(1, x1 - x0 - 0.5), Math.max(1, y0 - y1 - 0.5));
        }
      }
      ctx.restore();
    };
    const yValues = (_u: uPlot, splits: number[]) =>
      splits.map((v) => (Number.isInteger(v) && v < bounds.length ? boundLabel(bounds[v]) : ""));
    const opts: Omit<uPlot.Options, "width"> = {
      height: props.height ?? 200,
      series: [
        {},
        {
          label: "responses",
          stroke: "transparent",
          points: { show: false },
          value: (u, _v, _s, idx) => {
            if (idx === null) return "–";
            const y = u.posToVal(u.cursor.top ?? 0, "y");
            const b = Math.floor(y);
            return b >= 0 && b < rows.length ? `${formatValue(rows[b][idx], "short")} ${boundLabel(bounds[b])}` : "–";
          },
        },
      ],
      axes: axes("short", yValues),
      scales: { x: { time: true }, y: { auto: false, range: [0, Math.max(1, bounds.length)] } },
      hooks: { draw: [draw] },
      legend: { live: true },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
    };
    return mountPlot(el, opts, [x, x.map(() => 0)]);
  }, [props.data, props.height]);
  return (
    <div class="chart" ref={ref} role="img" aria-label="heatmap of response times: bucket by time, colour = count" />
  );
}
