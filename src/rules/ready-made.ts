// Ready-made alerting rules over the built-in metrics every app has (docs/alerting.md, "Ready-made rules"): edge
// error ratio and latency from `fly_edge_http_*`, instance restarts, out-of-memory kills and health from
// `fly_instance_*`, and requests queued at the concurrency hard limit from `fly_app_hard_limit_reached_count`.
// `contrail rules enable` writes them for one app as one group in the namespace `contrail-builtin`; each expression
// is tested against real data in ready-made.test.ts.

import { stringify } from "yaml";
import { ContrailError } from "../model/errors.ts";
import { formatDuration } from "../promql/parser/duration.ts";

/** The namespace that holds ready-made groups, one group per app named after it. */
export const READY_MADE_NAMESPACE = "contrail-builtin";

/** The names of the ready-made rules, in the order they appear in a group. */
export const READY_MADE_RULES = [
  "HighErrorRatio",
  "HighLatencyP95",
  "InstanceRestarting",
  "InstanceOutOfMemory",
  "InstanceDown",
  "ConcurrencyHardLimit",
] as const;

/** The name of one ready-made rule. */
export type ReadyMadeRule = (typeof READY_MADE_RULES)[number];

/** The thresholds of the ready-made rules; durations in ms. */
export interface ReadyMadeThresholds {
  /** Share of edge responses with a 5xx status above which HighErrorRatio fires, 0..1. */
  readonly errorRatio: number;
  /** 95th percentile of the edge's response time above which HighLatencyP95 fires, seconds. */
  readonly p95Seconds: number;
  /** The rate window of the error ratio, latency and hard-limit rules, and the look-back of the restart rules. */
  readonly windowMs: number;
  /** How long a condition must hold before its alert fires (InstanceDown, ratio, latency, hard limit). */
  readonly forMs: number;
}

/** Defaults: 5% errors, 1 s at p95, over 5 minutes, for 5 minutes. */
export const DEFAULT_THRESHOLDS: ReadyMadeThresholds = {
  errorRatio: 0.05,
  p95Seconds: 1,
  windowMs: 300_000,
  forMs: 300_000,
};

interface RuleDoc {
  alert: ReadyMadeRule;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

// A double-quoted PromQL string holding `value` (app names are slugs, but quoting keeps any text safe).
function quoted(value: string): string {
  return JSON.stringify(value);
}

/** The rule named `name` for `app`, as it appears in the group's YAML. */
function ruleDoc(name: ReadyMadeRule, app: string, t: ReadyMadeThresholds): RuleDoc {
  const sel = `app=${quoted(app)}`;
  const w = formatDuration(t.windowMs);
  const wait = formatDuration(t.forMs);
  const common = { labels: { severity: "warning" } };
  switch (name) {
    case "HighErrorRatio":
      return {
        alert: name,
        expr:
          `sum by (app) (rate(fly_edge_http_responses_count{${sel},status=~"5.."}[${w}]))\n` +
          `  / sum by (app) (rate(fly_edge_http_responses_count{${sel}}[${w}])) > ${t.errorRatio}`,
        for: wait,
        ...common,
        annotations: {
          summary: `{{ $labels.app }}: {{ $value | humanizePercentage }} of responses are 5xx (over ${w})`,
        },
      };
    case "HighLatencyP95":
      return {
        alert: name,
        expr:
          "histogram_quantile(0.95,\n" +
          `  sum by (app, le) (rate(fly_edge_http_response_time_seconds_bucket{${sel}}[${w}]))) > ${t.p95Seconds}`,
        for: wait,
        ...common,
        annotations: { summary: `{{ $labels.app }}: 95% of responses take up to {{ $value | humanizeDuration }}` },
      };
    case "InstanceRestarting":
      // fly_instance_up falls to 0 while the instance waits to restart and returns to 1 when it runs again.
      return {
        alert: name,
        expr: `changes(fly_instance_up{${sel}}[${w}]) >= 2`,
        ...common,
        annotations: { summary: `{{ $labels.app }} instance {{ $labels.instance }} restarted in the last ${w}` },
      };
    case "InstanceOutOfMemory":
      // fly_instance_exit_oom describes the last exit: an OOM kill counts while that exit is recent.
      return {
        alert: name,
        expr: `fly_instance_exit_oom{${sel}} == 1\n  and on (instance) changes(fly_instance_up{${sel}}[${w}]) > 0`,
        ...common,
        annotations: { summary: "{{ $labels.app }} instance {{ $labels.instance }} was killed out of memory" },
      };
    case "InstanceDown":
      return {
        alert: name,
        expr: `fly_instance_up{${sel}} == 0`,
        for: wait,
        labels: { severity: "critical" },
        annotations: { summary: "{{ $labels.app }} instance {{ $labels.instance }} is down or failing its checks" },
      };
    case "ConcurrencyHardLimit":
      // The edge counts every request or connection that found each instance at its hard limit and had to wait.
      return {
        alert: name,
        expr: `sum by (app) (rate(fly_app_hard_limit_reached_count{${sel}}[${w}])) > 0`,
        for: wait,
        ...common,
        annotations: {
          summary: "{{ $labels.app }}: requests wait because every instance is at its concurrency hard_limit",
        },
      };
  }
}

/** Checks thresholds; throws `bad_data` naming the flag's meaning and range. */
export function checkThresholds(t: ReadyMadeThresholds): ReadyMadeThresholds {
  if (!(t.errorRatio > 0 && t.errorRatio < 1)) {
    throw new ContrailError("bad_data", `error ratio must be between 0 and 1 (exclusive), got ${t.errorRatio}`);
  }
  if (!(t.p95Seconds > 0 && t.p95Seconds <= 3600)) {
    throw new ContrailError("bad_data", `p95 latency must be above 0 and at most 3600 seconds, got ${t.p95Seconds}`);
  }
  for (const [what, ms] of [
    ["window", t.windowMs],
    ["for", t.forMs],
  ] as const) {
    if (!Number.isSafeInteger(ms) || ms < 0 || ms > 86_400_000 || (what === "window" && ms < 60_000)) {
      throw new ContrailError(
        "bad_data",
        `${what} must be from ${what === "window" ? "1m" : "0s"} to 24h, got ${ms}ms`,
      );
    }
  }
  return t;
}

/**
 * The ready-made group for `app` as YAML text (group name: the app), holding the rules of `only` (default: all) in
 * table order. Throws `bad_data` for an unknown rule name or bad thresholds.
 */
export function readyMadeGroup(
  app: string,
  options: { readonly only?: readonly string[]; readonly thresholds?: Partial<ReadyMadeThresholds> } = {},
): string {
  const t = checkThresholds({ ...DEFAULT_THRESHOLDS, ...options.thresholds });
  const only = options.only ?? [];
  for (const name of only) {
    if (!(READY_MADE_RULES as readonly string[]).includes(name)) {
      throw new ContrailError(
        "bad_data",
        `unknown ready-made rule ${JSON.stringify(name)}; the rules are ${READY_MADE_RULES.join(", ")}`,
      );
    }
  }
  const names = READY_MADE_RULES.filter((n) => only.length === 0 || only.includes(n));
  return stringify({ name: app, rules: names.map((n) => ruleDoc(n, app, t)) }, { lineWidth: 0 });
}
