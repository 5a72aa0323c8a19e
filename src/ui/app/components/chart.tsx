// A time-series chart on canvas with uPlot: lines (or stepped bars for counts per interval) over the frame's time
// axis, values formatted in the panel's unit, colours from the colour-blind-safe palette, axes in the theme's
// colours. The chart follows its container's width and is rebuilt when the data or the theme change.

import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatValue, type Unit } from "../format.ts";
import type { Frame } from "../frame.ts";
import { colorAt } from "../palette.ts";

/** Properties of {@link TimeChart}. */
export interface TimeChartProps {
  readonly frame: Frame;
  readonly unit?: Unit;
  /** Chart height in CSS pixels. */
  readonly height?: number;
  /** Draw counts per interval as bars rather than lines. */
  readonly bars?: boolean;
  /** Fill the area under single series. */
  readonly fill?: boolean;
}

/** The theme's colour named by a CSS custom property of the root element. */
export function themeColor(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

/** Axes in the theme's colours, the y axis formatting `unit`. */
export function axes(unit: Unit, yValues?: uPlot.Axis["values"]): uPlot.Axis[] {
  const stroke = themeColor("--muted");
  const grid = { stroke: themeColor("--grid"), width: 1 };
  return [
    { stroke, grid, ticks: grid },
    {
      stroke,
      grid,
      ticks: grid,
      size: 80,
      values: yValues ?? ((_u, splits) => splits.map((v) => formatValue(v, unit))),
    },
  ];
}

/** Creates a uPlot in `el` and keeps it as wide as `el`; returns the cleanup. */
export function mountPlot(el: HTMLElement, opts: Omit<uPlot.Options, "width">, data: uPlot.AlignedData): () => void {
  const plot = new uPlot({ ...opts, width: Math.max(200, el.clientWidth) }, data, el);
  const resize = new ResizeObserver(() => {
    const width = Math.max(200, el.clientWidth);
    if (Math.abs(width - plot.width) > 1) plot.setSize({ width, height: opts.height });
  });
  resize.observe(el);
  return () => {
    resize.disconnect();
    plot.destroy();
  };
}

/** A line (or bar) chart of a frame. */
export function TimeChart(props: TimeChartProps) {
  const ref = useRef<HTMLDivElement>(null);
  const unit = props.unit ?? "short";
  useEffect(() => {
    const el = ref.current;
    if (el === null) return;
    const single = props.frame.series.length === 1;
    const series: uPlot.Series[] = [
      {},
      ...props.frame.series.map((s, i) => {
        const stroke = s.color ?? colorAt(i);
        return {
          label: s.label,
          stroke,
          width: 1.5,
          fill: props.bars || (props.fill && single) ? `${stroke}55` : undefined,
          paths: props.bars ? uPlot.paths.bars?.({ size: [0.8, 40] }) : undefined,
          spanGaps: false,
          value: (_u: uPlot, v: number | null) => formatValue(v, unit),
        };
      }),
    ];
    const data = [props.frame.x, ...props.frame.series.map((s) => s.values)] as uPlot.AlignedData;
    return mountPlot(
      el,
      {
        height: props.height ?? 200,
        series,
        axes: axes(unit),
        scales: { x: { time: true } },
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      },
      data,
    );
  }, [props.frame, unit, props.height, props.bars, props.fill]);
  return <div class="chart" ref={ref} />;
}
