// Restores the `for` state of alerting rules after a restart from the ALERTS_FOR_STATE series written before it,
// as rules/group.go's RestoreForState does: an alert active before the outage keeps its activeAt, shifted by the
// downtime, with at least the grace period left before it fires. Reads through the instant-query seam.

import { quoteGo } from "../model/quote.ts";
import { formatDuration } from "../promql/parser/index.ts";
import { ALERTS_FOR_STATE_METRIC } from "./alerting.ts";
import type { GroupEnv, RuleGroup } from "./group.ts";

/** Most distinct shutdown times checked for stale markers per rule; alerts beyond it are not restored. */
const MAX_DOWN_TIMES = 16;
const MS_PER_SECOND = 1000;

/** Restores every alerting rule of `group` at `tMs` (ms); failures leave alerts as they are. Never rejects. */
export async function restoreForState(group: RuleGroup, tMs: number, env: GroupEnv): Promise<void> {
  const signal = AbortSignal.timeout(Math.max(group.intervalMs, MS_PER_SECOND));
  for (const rule of group.rules) {
    const state = rule.alerting;
    if (state === null) continue;
    const forMs = state.spec.forMs;
    if (forMs < env.forGracePeriodMs || state.active.size === 0) {
      state.restored = true;
      continue;
    }
    try {
      const selector = `${ALERTS_FOR_STATE_METRIC}{alertname=${quoteGo(state.spec.alert)}}`;
      const window = formatDuration(env.outageToleranceMs);
      const q = (expr: string, at: number) => env.query(group.org, expr, at, signal);
      const activeAt = new Map<string, number>();
      for (const s of await q(`last_over_time(${selector}[${window}])`, tMs)) {
        activeAt.set(s.labels.withoutMetricName().hash(), s.v);
      }
      const downAt = new Map<string, number>();
      const step = formatDuration(group.intervalMs);
      for (const s of await q(`max_over_time(timestamp(${selector})[${window}:${step}])`, tMs)) {
        downAt.set(s.labels.withoutMetricName().hash(), s.v * MS_PER_SECOND);
      }
      // A series whose last sample was followed by a stale marker (written one interval later) was not active at
      // shutdown: one query per distinct shutdown time tells which series were still present then. With intervals
      // longer than the lookback delta (5m) the sample is out of sight by then and the alert starts over: erring
      // towards a later firing, never an earlier one.
      const stillActive = new Set<string>();
      for (const t of [...new Set(downAt.values())].slice(0, MAX_DOWN_TIMES)) {
        for (const s of await q(selector, Math.min(t + group.intervalMs, tMs))) {
          stillActive.add(s.labels.withoutMetricName().hash());
        }
      }
      for (const a of state.active.values()) {
        const h = a.labels.hash();
        const v = activeAt.get(h);
        const down = downAt.get(h);
        if (v === undefined || down === undefined || !stillActive.has(h)) continue;
        const downMs = Math.trunc(down / MS_PER_SECOND) * MS_PER_SECOND;
        let restored = Math.trunc(v) * MS_PER_SECOND;
        const remaining = forMs - (downMs - restored);
        if (remaining > 0 && remaining < env.forGracePeriodMs) restored = tMs + env.forGracePeriodMs - forMs;
        else if (remaining > 0) restored += tMs - downMs;
        a.activeAtMs = restored;
      }
    } catch {
      // As in Prometheus, a failed read leaves the alerts with the activeAt of this process.
    }
    state.restored = true;
  }
}
