// Panels that run PromQL: a range panel (one or more queries drawn on one chart) and the regions map. Each loads
// its own data, so the first answers paint while later ones are still on their way.

import type { Grid, Metric, Region } from "../api.ts";
import { loadRegions, queryInstant, queryRange } from "../api.ts";
import { TimeChart } from "../components/chart.tsx";
import { Heatmap, heatmapOf } from "../components/heatmap.tsx";
import { Panel } from "../components/panel.tsx";
import { type RegionValue, WorldMap } from "../components/world-map.tsx";
import type { Unit } from "../format.ts";
import { addMatrix, emptyFrame, hasPoints } from "../frame.ts";
import { useData } from "../use-data.ts";

/** One query of a range panel and how its series are named and coloured. */
export interface PanelQuery {
  readonly expr: string;
  /** A fixed name for the query's series (a query giving one series), or the labels that name each series. */
  readonly legend?: string | readonly string[];
  readonly color?: (label: string, i: number) => string;
}

/** Properties of {@link RangePanel}. */
export interface RangePanelProps {
  readonly title: string;
  readonly org: string;
  readonly grid: Grid;
  readonly queries: readonly PanelQuery[];
  readonly unit?: Unit;
  readonly bars?: boolean;
  readonly fill?: boolean;
  /** Reload when this changes (auto-refresh). */
  readonly tick: number;
  readonly class?: string;
}

/** A chart panel of one or more range queries over the same grid. */
export function RangePanel(props: RangePanelProps) {
  const key = props.queries.map((q) => q.expr).join("\n");
  const loaded = useData(
    async (signal) => {
      const answers = await Promise.all(props.queries.map((q) => queryRange(props.org, q.expr, props.grid, signal)));
      const frame = emptyFrame(props.grid);
      answers.forEach((data, i) => {
        const q = props.queries[i];
        const legend = q.legend;
        addMatrix(frame, props.grid, data, {
          keys: Array.isArray(legend) ? legend : undefined,
          label: typeof legend === "string" ? () => legend : undefined,
          color: q.color,
        });
      });
      return frame;
    },
    [key, props.org, props.grid.start, props.grid.end, props.grid.step, props.tick],
    (frame) => !hasPoints(frame),
  );
  return (
    <Panel title={props.title} state={loaded.state} error={loaded.error} class={props.class}>
      {loaded.data !== null && <TimeChart frame={loaded.data} unit={props.unit} bars={props.bars} fill={props.fill} />}
    </Panel>
  );
}

/** The heatmap panel of a query of cumulative bucket counts per step by `le`. */
export function HeatmapPanel(props: {
  readonly title: string;
  readonly org: string;
  readonly grid: Grid;
  readonly expr: string;
  readonly tick: number;
}) {
  const loaded = useData(
    async (signal) => heatmapOf(await queryRange(props.org, props.expr, props.grid, signal), props.grid),
    [props.expr, props.org, props.grid.start, props.grid.end, props.grid.step, props.tick],
    (h) => h.max === 0,
  );
  return (
    <Panel title={props.title} state={loaded.state} error={loaded.error} emptyText="No responses in this time range.">
      {loaded.data !== null && <Heatmap data={loaded.data} />}
    </Panel>
  );
}

/** The regions map of an instant query giving one value per `region`. */
export function RegionsPanel(props: {
  readonly title: string;
  readonly org: string;
  readonly expr: string;
  readonly time: number;
  readonly tick: number;
}) {
  const loaded = useData(
    async (signal): Promise<{ values: RegionValue[]; regions: readonly Region[] }> => {
      const [data, regions] = await Promise.all([
        queryInstant(props.org, props.expr, props.time, signal),
        loadRegions(),
      ]);
      const values =
        data.resultType === "vector"
          ? data.result.map((s: { metric: Metric; value: [number, string] }) => ({
              code: s.metric.region ?? "",
              value: Number(s.value[1]),
            }))
          : [];
      return { values, regions };
    },
    [props.expr, props.org, props.time, props.tick],
    (d) => d.values.length === 0,
  );
  return (
    <Panel title={props.title} state={loaded.state} error={loaded.error} class="wide">
      {loaded.data !== null && <WorldMap values={loaded.data.values} regions={loaded.data.regions} />}
    </Panel>
  );
}
