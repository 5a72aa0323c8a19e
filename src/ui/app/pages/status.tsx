// The status page: the org's scrape targets with their health, last scrape, duration and last error; the org's
// TSDB status (series in the head, the metrics and labels with the most series), as Prometheus's TSDB status page
// shows them; the org's alerts and rules (rules.tsx); and the org's tokens.

import { promGet } from "../api.ts";
import { Panel } from "../components/panel.tsx";
import { ago, formatValue } from "../format.ts";
import type { Session } from "../session.ts";
import { useData, useTick } from "../use-data.ts";
import { RulesPanels } from "./rules.tsx";
import { TokensPanel } from "./tokens.tsx";

interface Target {
  readonly labels: Readonly<Record<string, string>>;
  readonly scrapeUrl: string;
  readonly health: "up" | "down" | "unknown";
  readonly lastScrape: string;
  readonly lastScrapeDuration: number;
  readonly lastError: string;
}

interface Count {
  readonly name: string;
  readonly value: number;
}

interface TsdbStatus {
  readonly headStats: {
    numSeries: number;
    numLabelPairs: number;
    chunkCount: number;
    minTime: number;
    maxTime: number;
  };
  readonly seriesCountByMetricName: readonly Count[];
  readonly labelValueCountByLabelName: readonly Count[];
  readonly memoryInBytesByLabelName: readonly Count[];
  readonly seriesCountByLabelValuePair: readonly Count[];
}

/** Targets refresh on their own every 15 s. */
const TARGETS_REFRESH_MS = 15_000;

function CountTable(props: { readonly caption: string; readonly rows: readonly Count[]; readonly unit?: "bytes" }) {
  return (
    <table class="compact">
      <caption>{props.caption}</caption>
      <tbody>
        {props.rows.map((r) => (
          <tr key={r.name}>
            <td class="break">{r.name}</td>
            <td class="num">{props.unit === "bytes" ? formatValue(r.value, "bytes") : r.value.toLocaleString()}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The status page. */
export function Status(props: { readonly session: Session }) {
  const { org } = props.session;
  const tick = useTick(TARGETS_REFRESH_MS);
  const targets = useData(
    async (signal) => (await promGet<{ activeTargets: Target[] }>(org, "api/v1/targets", {}, signal)).activeTargets,
    [org, tick],
    (list) => list.length === 0,
  );
  const tsdb = useData(
    (signal) => promGet<TsdbStatus>(org, "api/v1/status/tsdb", { limit: "10" }, signal),
    [org],
    (s) => s.headStats.numSeries === 0,
  );
  return (
    <main id="main" class="page">
      <div class="page-head">
        <h1>Status of {org}</h1>
      </div>
      <div class="stack">
        <Panel
          title="Scrape targets"
          state={targets.state}
          error={targets.error}
          emptyText="No app of this org declares [metrics] in its fly.toml, so nothing is scraped for it."
          class="wide"
        >
          <div class="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Endpoint</th>
                  <th scope="col">Labels</th>
                  <th scope="col">Health</th>
                  <th scope="col">Last scrape</th>
                  <th scope="col" class="num">
                    Duration
                  </th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {(targets.data ?? []).map((t) => (
                  <tr key={t.scrapeUrl + t.labels.instance}>
                    <td class="break">{t.scrapeUrl}</td>
                    <td class="break small">
                      {Object.entries(t.labels)
                        .map(([k, v]) => `${k}=${v}`)
                        .join(" ")}
                    </td>
                    <td>
                      <span class={`health ${t.health === "up" ? "ok" : t.health === "down" ? "bad" : "muted"}`}>
                        {t.health}
                      </span>
                    </td>
                    <td>{Date.parse(t.lastScrape) > 0 ? ago(Date.parse(t.lastScrape)) : "never"}</td>
                    <td class="num">{formatValue(t.lastScrapeDuration, "seconds")}</td>
                    <td class="break error">{t.lastError}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Panel>
        <Panel title="TSDB status" state={tsdb.state} error={tsdb.error} class="wide">
          {tsdb.data !== null && (
            <>
              <p>
                <strong>{tsdb.data.headStats.numSeries.toLocaleString()}</strong> series in the head,{" "}
                {tsdb.data.headStats.numLabelPairs.toLocaleString()} label pairs,{" "}
                {tsdb.data.headStats.chunkCount.toLocaleString()} chunks.
              </p>
              <div class="columns">
                <CountTable caption="Top metrics by series" rows={tsdb.data.seriesCountByMetricName} />
                <CountTable caption="Top labels by distinct values" rows={tsdb.data.labelValueCountByLabelName} />
                <CountTable caption="Top label pairs by series" rows={tsdb.data.seriesCountByLabelValuePair} />
                <CountTable caption="Top labels by memory" rows={tsdb.data.memoryInBytesByLabelName} unit="bytes" />
              </div>
            </>
          )}
        </Panel>
        <RulesPanels session={props.session} />
        <TokensPanel session={props.session} />
      </div>
    </main>
  );
}
