// An app's dashboard, the seed's dashboard in the browser: responses by status, the response-time heatmap and
// quantiles, the regions map, network, TCP connections, concurrency, instance CPU and memory, then one chart for
// each of the app's own metrics. Filters for region and instance, the time range and the refresh live in the URL.
// Edge metrics (`fly_edge_*`) have no instance label, so with an instance chosen the per-instance `fly_app_*`
// families take their place.

import { useMemo } from "preact/hooks";
import { promGet } from "../api.ts";
import { Panel } from "../components/panel.tsx";
import { TimeControls } from "../components/time-controls.tsx";
import { statusColor } from "../palette.ts";
import { onLinkClick, setParams } from "../router.ts";
import type { Session } from "../session.ts";
import { gridOf, rangeOf, rateWindow, refreshOf } from "../time.ts";
import { useData, useTick } from "../use-data.ts";
import { HeatmapPanel, type PanelQuery, RangePanel, RegionsPanel } from "./panels.tsx";

/** A PromQL string literal. */
export function str(s: string): string {
  return JSON.stringify(s);
}

/** Labels of the platform that every app's series carry; custom metrics are summed over them (the page is one app's). */
const PER_INSTANCE = "app, host, instance, region";
/** Series names of the scrape itself, not the app's own metrics. */
const SCRAPE_SERIES = /^(up|scrape_.*)$/;

function FilterSelect(props: {
  readonly label: string;
  readonly name: string;
  readonly value: string;
  readonly options: readonly string[];
}) {
  return (
    <label>
      {props.label}{" "}
      <select value={props.value} onChange={(e) => setParams({ [props.name]: e.currentTarget.value || null })}>
        <option value="">all</option>
        {props.options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}

interface CustomMetric {
  readonly name: string;
  readonly expr: string;
  readonly unit: "short" | "seconds";
}

/** A chart query for each of the app's own series names: rates of counters, quantiles of histograms, gauges summed. */
function customQueries(names: readonly string[], types: Readonly<Record<string, string>>, sel: string, w: string) {
  const out: CustomMetric[] = [];
  for (const name of names) {
    if (name.startsWith("fly_") || SCRAPE_SERIES.test(name) || /_(sum|count)$/.test(name)) continue;
    const base = name.replace(/_(bucket|total)$/, "");
    const type = types[name] ?? types[base];
    if (name.endsWith("_bucket")) {
      out.push({
        name: `${base} p95`,
        expr: `histogram_quantile(0.95, sum by (le) (rate(${name}{${sel}}[${w}])))`,
        unit: "seconds",
      });
    } else if (type === "counter" || name.endsWith("_total")) {
      out.push({
        name: `${name} per second`,
        expr: `sum without (${PER_INSTANCE}) (rate(${name}{${sel}}[${w}]))`,
        unit: "short",
      });
    } else {
      out.push({ name, expr: `sum without (${PER_INSTANCE}) (${name}{${sel}})`, unit: "short" });
    }
  }
  return out;
}

/** The dashboard of `app`. */
export function Dashboard(props: {
  readonly session: Session;
  readonly app: string;
  readonly params: URLSearchParams;
}) {
  const { org } = props.session;
  const { app, params } = props;
  const tick = useTick(refreshOf(params));
  const rangeKey = `${params.get("range")}|${params.get("from")}|${params.get("to")}`;
  // The range is re-read at each refresh tick.
  const grid = useMemo(() => gridOf(rangeOf(params)), [rangeKey, tick]);
  const region = params.get("region") ?? "";
  const instance = params.get("instance") ?? "";
  const appSel = `app=${str(app)}`;
  const regionSel = region === "" ? "" : `, region=${str(region)}`;
  const sel = `${appSel}${regionSel}${instance === "" ? "" : `, instance=${str(instance)}`}`;
  const http = instance === "" ? "fly_edge_http" : "fly_app_http";
  const w = rateWindow(grid.step);
  // Counts per step, as the rate over the rate window times the step: `increase` over the step itself would find
  // fewer than two samples when the step is shorter than two scrape intervals.
  const perStep = (counter: string) => `rate(${counter}{${sel}}[${w}]) * ${grid.step}`;

  const filters = useData(
    async (signal) => {
      const span = { start: String(grid.start), end: String(grid.end) };
      const [regions, instances, names, metadata] = await Promise.all([
        promGet<string[]>(
          org,
          "api/v1/label/region/values",
          { "match[]": `fly_app_concurrency{${appSel}}`, ...span },
          signal,
        ),
        promGet<string[]>(
          org,
          "api/v1/label/instance/values",
          { "match[]": `fly_app_concurrency{${appSel}${regionSel}}`, ...span },
          signal,
        ),
        promGet<string[]>(org, "api/v1/label/__name__/values", { "match[]": `{${appSel}}`, ...span }, signal),
        promGet<Record<string, { type: string }[]>>(org, "api/v1/metadata", {}, signal),
      ]);
      const types = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, v[0]?.type ?? ""]));
      return { regions, instances, names, types };
    },
    [org, appSel, regionSel, grid.start, grid.end],
    () => false,
  );
  const custom = filters.data === null ? [] : customQueries(filters.data.names, filters.data.types, sel, w);

  const q = (expr: string, legend?: PanelQuery["legend"], color?: PanelQuery["color"]): PanelQuery => ({
    expr,
    legend,
    color,
  });
  const common = { org, grid, tick };
  return (
    <main id="main" class="page">
      <div class="page-head">
        <h1>
          <a href="/apps" onClick={onLinkClick}>
            Apps
          </a>{" "}
          / {app}
        </h1>
        <fieldset class="controls">
          <legend class="visually-hidden">filters</legend>
          <FilterSelect label="Region" name="region" value={region} options={filters.data?.regions ?? []} />
          <FilterSelect label="Instance" name="instance" value={instance} options={filters.data?.instances ?? []} />
        </fieldset>
        <TimeControls params={params} />
      </div>
      <div class="grid">
        <RangePanel
          {...common}
          title="Responses per second by status"
          unit="reqps"
          queries={[q(`sum by (status) (rate(${http}_responses_count{${sel}}[${w}]))`, ["status"], statusColor)]}
        />
        <HeatmapPanel
          {...common}
          title="Response times"
          expr={`sum by (le) (${perStep(`${http}_response_time_seconds_bucket`)})`}
        />
        <RangePanel
          {...common}
          title="Response time p50 / p95 / p99"
          unit="seconds"
          queries={[0.5, 0.95, 0.99].map((p) =>
            q(
              `histogram_quantile(${p}, sum by (le) (rate(${http}_response_time_seconds_bucket{${sel}}[${w}])))`,
              `p${p * 100}`,
            ),
          )}
        />
        <RangePanel
          {...common}
          title="Network traffic"
          unit="bits"
          queries={[
            q(`sum(rate(fly_instance_net_recv_bytes{${sel}}[${w}])) * 8`, "in"),
            q(`sum(rate(fly_instance_net_sent_bytes{${sel}}[${w}])) * 8`, "out"),
          ]}
        />
        <RegionsPanel
          {...common}
          title="Requests by region"
          time={grid.end}
          expr={`sum by (region) (rate(${http}_responses_count{${sel}}[${w}]))`}
        />
        <RangePanel
          {...common}
          title="TCP connections"
          bars
          queries={[
            q(`sum(${perStep("fly_app_tcp_connects_count")})`, "connects"),
            q(`sum(${perStep("fly_app_tcp_disconnects_count")})`, "disconnects"),
          ]}
        />
        <RangePanel
          {...common}
          title="Concurrency"
          queries={[q(`sum by (instance) (fly_app_concurrency{${sel}})`, ["instance"])]}
        />
        <RangePanel
          {...common}
          title="Instance CPU"
          unit="cores"
          queries={[q(`sum by (instance) (rate(fly_instance_cpu{${sel}}[${w}])) / 100`, ["instance"])]}
        />
        <RangePanel
          {...common}
          title="Instance memory"
          unit="bytes"
          queries={[q(`sum by (instance) (fly_instance_memory_rss{${sel}})`, ["instance"])]}
        />
      </div>
      <h2>Custom metrics</h2>
      {filters.state === "error" && <p class="error">{filters.error}</p>}
      {filters.state === "ok" && custom.length === 0 && (
        <p class="muted">
          This app exposes no metrics of its own in this time range. Declare a <code>[metrics]</code> section in its
          fly.toml to have them scraped.
        </p>
      )}
      <div class="grid">
        {custom.map((c) => (
          <RangePanel key={c.expr} {...common} title={c.name} unit={c.unit} queries={[q(c.expr)]} />
        ))}
      </div>
      {filters.state === "loading" && <Panel title="Custom metrics" state="loading" />}
    </main>
  );
}
