// The org's alerts and rule groups on the status page, from the Prometheus API's `/api/v1/alerts` and
// `/api/v1/rules`: firing and pending alerts with their labels, value and start; each group's rules with their
// state, health and last evaluation, as Prometheus's rules page shows them.

import { promGet } from "../api.ts";
import { Panel } from "../components/panel.tsx";
import { ago, formatValue } from "../format.ts";
import type { Session } from "../session.ts";
import { useData, useTick } from "../use-data.ts";

type Labels = Readonly<Record<string, string>>;

interface Alert {
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly state: "firing" | "pending" | "inactive";
  readonly activeAt?: string;
  readonly value: string;
}

interface Rule {
  readonly name: string;
  readonly query: string;
  readonly type: "alerting" | "recording";
  readonly health: "ok" | "err" | "unknown";
  readonly lastError?: string;
  /** Alerting rules only. */
  readonly state?: "firing" | "pending" | "inactive";
  readonly lastEvaluation: string;
  readonly evaluationTime: number;
}

interface Group {
  readonly name: string;
  readonly file: string;
  readonly interval: number;
  readonly rules: readonly Rule[];
}

/** Alerts and rules refresh on their own every 15 s. */
const REFRESH_MS = 15_000;

const STATE_CLASS: Readonly<Record<string, string>> = { firing: "bad", pending: "warn", inactive: "ok" };

function labelText(labels: Labels, skip: string): string {
  return Object.entries(labels)
    .filter(([k]) => k !== skip)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

function since(text: string | undefined): string {
  const ms = text === undefined ? Number.NaN : Date.parse(text);
  return ms > 0 ? ago(ms) : "never";
}

/** The alerts panel and the rules panel of the org. */
export function RulesPanels(props: { readonly session: Session }) {
  const { org } = props.session;
  const tick = useTick(REFRESH_MS);
  const alerts = useData(
    async (signal) =>
      (await promGet<{ alerts: Alert[] }>(org, "api/v1/alerts", {}, signal)).alerts.filter(
        (a) => a.state !== "inactive",
      ),
    [org, tick],
    (list) => list.length === 0,
  );
  const groups = useData(
    async (signal) => (await promGet<{ groups: Group[] }>(org, "api/v1/rules", {}, signal)).groups,
    [org, tick],
    (list) => list.length === 0,
  );
  return (
    <>
      <Panel title="Alerts" state={alerts.state} error={alerts.error} emptyText="No alert is firing." class="wide">
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Alert</th>
                <th scope="col">State</th>
                <th scope="col">Labels</th>
                <th scope="col">Since</th>
                <th scope="col" class="num">
                  Value
                </th>
                <th scope="col">Summary</th>
              </tr>
            </thead>
            <tbody>
              {(alerts.data ?? []).map((a) => (
                <tr key={JSON.stringify(a.labels)} data-alert={a.labels.alertname}>
                  <td class="break">{a.labels.alertname}</td>
                  <td>
                    <span class={`health ${STATE_CLASS[a.state]}`}>{a.state}</span>
                  </td>
                  <td class="break small">{labelText(a.labels, "alertname")}</td>
                  <td>{since(a.activeAt)}</td>
                  <td class="num">{formatValue(Number(a.value))}</td>
                  <td class="break">{a.annotations.summary ?? a.annotations.description ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Panel>
      <Panel
        title="Rules"
        state={groups.state}
        error={groups.error}
        emptyText="No rule groups: add some with the ruler API, contrail rules sync or contrail rules enable."
        class="wide"
      >
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col">Rule</th>
                <th scope="col">State</th>
                <th scope="col">Health</th>
                <th scope="col">Last evaluation</th>
                <th scope="col" class="num">
                  Took
                </th>
              </tr>
            </thead>
            <tbody>
              {(groups.data ?? []).flatMap((g) =>
                g.rules.map((r) => (
                  <tr key={`${g.file}/${g.name}/${r.name}`} data-rule={r.name}>
                    <td class="break small">
                      {g.file}/{g.name}
                    </td>
                    <td class="break" title={r.query}>
                      {r.name}
                    </td>
                    <td>
                      {r.type === "alerting" ? (
                        <span class={`health ${STATE_CLASS[r.state ?? "inactive"]}`}>{r.state}</span>
                      ) : (
                        <span class="muted">recording</span>
                      )}
                    </td>
                    <td>
                      <span class={`health ${r.health === "ok" ? "ok" : r.health === "err" ? "bad" : "muted"}`}>
                        {r.health}
                      </span>
                      {r.lastError !== undefined && r.lastError !== "" && (
                        <span class="break error small"> {r.lastError}</span>
                      )}
                    </td>
                    <td>{since(r.lastEvaluation)}</td>
                    <td class="num">{formatValue(r.evaluationTime, "seconds")}</td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        </div>
      </Panel>
    </>
  );
}
