// The apps overview: every app of the org with its request rate, error ratio and p95 response time over the last
// five minutes (three instant queries for all apps at once), its regions and its instances with their health, from
// the control plane.

import type { AppInfo, Instance, QueryData } from "../api.ts";
import { listApps, queryInstant } from "../api.ts";
import { Panel } from "../components/panel.tsx";
import { formatValue } from "../format.ts";
import { onLinkClick } from "../router.ts";
import type { Session } from "../session.ts";
import { REFRESHES } from "../time.ts";
import { useData, useTick } from "../use-data.ts";

const RATE = "sum by (app) (rate(fly_edge_http_responses_count[5m]))";
const ERRORS = `sum by (app) (rate(fly_edge_http_responses_count{status=~"5.."}[5m])) / ${RATE}`;
const P95 = "histogram_quantile(0.95, sum by (app, le) (rate(fly_edge_http_response_time_seconds_bucket[5m])))";
/** The overview refreshes itself every 15 s. */
const OVERVIEW_REFRESH_MS = REFRESHES.find(([n]) => n === "15s")?.[1] ?? 15_000;

function byApp(data: QueryData): Map<string, number> {
  const out = new Map<string, number>();
  if (data.resultType === "vector") for (const s of data.result) out.set(s.metric.app ?? "", Number(s.value[1]));
  return out;
}

function Health(props: { readonly instances: readonly Instance[] }) {
  const healthy = props.instances.filter((i) => i.health === "healthy").length;
  const total = props.instances.length;
  const cls = total === 0 ? "muted" : healthy === total ? "ok" : healthy === 0 ? "bad" : "warn";
  return (
    <span class={`health ${cls}`}>
      <span aria-hidden="true">{healthy === total && total > 0 ? "●" : "◐"}</span> {healthy}/{total} healthy
    </span>
  );
}

/** The overview of the org's apps. */
export function Apps(props: { readonly session: Session }) {
  const { org } = props.session;
  const tick = useTick(OVERVIEW_REFRESH_MS);
  const loaded = useData(
    async (signal) => {
      const [apps, rate, errors, p95] = await Promise.all([
        listApps(org, signal),
        queryInstant(org, RATE, undefined, signal),
        queryInstant(org, ERRORS, undefined, signal),
        queryInstant(org, P95, undefined, signal),
      ]);
      return { apps, rate: byApp(rate), errors: byApp(errors), p95: byApp(p95) };
    },
    [org, tick],
    (d) => d.apps.length === 0,
  );
  const d = loaded.data;
  return (
    <main id="main" class="page">
      <div class="page-head">
        <h1>Apps of {org}</h1>
      </div>
      <Panel
        title="Apps"
        state={loaded.state}
        error={loaded.error}
        emptyText="No apps yet: deploy one with npx contrail deploy -c fly.toml."
      >
        {d !== null && (
          <div class="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">App</th>
                  <th scope="col" class="num">
                    Requests
                  </th>
                  <th scope="col" class="num">
                    Errors (5xx)
                  </th>
                  <th scope="col" class="num">
                    p95
                  </th>
                  <th scope="col">Regions</th>
                  <th scope="col">Instances</th>
                </tr>
              </thead>
              <tbody>
                {d.apps.map((a: AppInfo) => (
                  <tr key={a.name}>
                    <th scope="row">
                      <a href={`/apps/${encodeURIComponent(a.name)}`} onClick={onLinkClick}>
                        {a.name}
                      </a>
                      {a.deployment?.error && <div class="error small">{a.deployment.error}</div>}
                    </th>
                    <td class="num">{formatValue(d.rate.get(a.name) ?? 0, "reqps")}</td>
                    <td class="num">{formatValue(d.errors.get(a.name) ?? null, "ratio")}</td>
                    <td class="num">{formatValue(d.p95.get(a.name) ?? null, "seconds")}</td>
                    <td>{[...new Set(a.instances.map((i) => i.region))].sort().join(" ") || "–"}</td>
                    <td>
                      <Health instances={a.instances} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Panel>
    </main>
  );
}
