// The rules and alerts of an org in the shapes of Prometheus's `GET /api/v1/rules` and `GET /api/v1/alerts`
// (web/api/v1/api.go), with its filters: type, rule_name[], rule_group[], file[] and exclude_alerts.

import type { Matcher } from "../model/matcher.ts";
import type { Alert, AlertState } from "./alerting.ts";
import type { RuleGroup, RuleHealth, RuleRuntime } from "./group.ts";

/** The filters of `GET /api/v1/rules`; empty lists filter nothing. */
export interface RulesFilter {
  readonly type?: "alert" | "record";
  readonly ruleName?: readonly string[];
  readonly ruleGroup?: readonly string[];
  readonly file?: readonly string[];
  readonly excludeAlerts?: boolean;
  /** `match[]`: a rule is listed when its labels satisfy every matcher of at least one set. */
  readonly matchers?: readonly (readonly Matcher[])[];
}

/** One alert as the API shows it; times RFC 3339, value in Go's `%e` form. */
export interface AlertStatus {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: AlertState;
  readonly activeAt: string;
  readonly keepFiringSince?: string;
  readonly value: string;
}

interface RuleStatusCommon {
  readonly name: string;
  readonly query: string;
  readonly labels: Record<string, string>;
  readonly health: RuleHealth;
  readonly lastError?: string;
  /** Seconds. */
  readonly evaluationTime: number;
  readonly lastEvaluation: string;
}

/** An alerting rule as the API shows it; durations in seconds. */
export interface AlertingRuleStatus extends RuleStatusCommon {
  readonly state: AlertState;
  readonly duration: number;
  readonly keepFiringFor: number;
  readonly annotations: Record<string, string>;
  readonly alerts?: AlertStatus[];
  readonly type: "alerting";
}

/** A recording rule as the API shows it. */
export interface RecordingRuleStatus extends RuleStatusCommon {
  readonly type: "recording";
}

/** A group as the API shows it: `file` is the namespace, `interval` and `evaluationTime` in seconds. */
export interface RuleGroupStatus {
  readonly name: string;
  readonly file: string;
  readonly rules: (AlertingRuleStatus | RecordingRuleStatus)[];
  readonly interval: number;
  readonly limit: number;
  readonly evaluationTime: number;
  readonly lastEvaluation: string;
}

/** `data` of `GET /api/v1/rules`. */
export interface RulesStatus {
  readonly groups: RuleGroupStatus[];
}

const MS_PER_SECOND = 1000;
/** Go's zero time, which Prometheus reports for a rule never evaluated. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

/** Go's RFC 3339 (nano) text of a time in ms: fraction without trailing zeros; 0 is Go's zero time. */
export function goTime(ms: number): string {
  if (ms === 0) return ZERO_TIME;
  const iso = new Date(ms).toISOString();
  const frac = iso.slice(20, 23).replace(/0+$/, "");
  return `${iso.slice(0, 19)}${frac === "" ? "" : `.${frac}`}Z`;
}

/** Go's strconv.FormatFloat(v, 'e', -1, 64): shortest digits, exponent of at least two digits. */
export function goExponent(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  const [mant, exp] = v.toExponential().split("e");
  const e = Number(exp);
  return `${mant}e${e < 0 ? "-" : "+"}${Math.abs(e) < 10 ? "0" : ""}${Math.abs(e)}`;
}

function alertStatus(a: Alert): AlertStatus {
  return {
    labels: a.labels.toRecord(),
    annotations: { ...a.annotations },
    state: a.state,
    activeAt: goTime(a.activeAtMs),
    ...(a.keepFiringSinceMs !== 0 ? { keepFiringSince: goTime(a.keepFiringSinceMs) } : {}),
    value: goExponent(a.value),
  };
}

function ruleStatus(r: RuleRuntime, excludeAlerts: boolean): AlertingRuleStatus | RecordingRuleStatus {
  const common = {
    query: r.spec.expr,
    labels: { ...r.spec.labels },
    health: r.health,
    ...(r.lastError !== "" ? { lastError: r.lastError } : {}),
    evaluationTime: r.evaluationTimeMs / MS_PER_SECOND,
    lastEvaluation: goTime(r.lastEvaluationMs),
  };
  if (r.spec.kind === "recording" || r.alerting === null) {
    return { name: r.spec.kind === "recording" ? r.spec.record : r.spec.alert, ...common, type: "recording" };
  }
  const spec = r.spec;
  const active = [...r.alerting.active.values()].filter((a) => a.state !== "inactive");
  return {
    state: r.alerting.state(),
    name: spec.alert,
    ...common,
    duration: spec.forMs / MS_PER_SECOND,
    keepFiringFor: spec.keepFiringForMs / MS_PER_SECOND,
    annotations: { ...spec.annotations },
    ...(excludeAlerts ? {} : { alerts: active.map(alertStatus) }),
    type: "alerting",
  };
}

function labelsMatch(labels: Readonly<Record<string, string>>, sets: RulesFilter["matchers"]): boolean {
  if (sets === undefined || sets.length === 0) return true;
  return sets.some((set) => set.every((m) => m.matches(labels[m.name] ?? "")));
}

function allowed(list: readonly string[] | undefined, v: string): boolean {
  return list === undefined || list.length === 0 || list.includes(v);
}

/** The status of `groups` (one org's) after `filter`. */
export function rulesStatusOf(groups: readonly RuleGroup[], filter: RulesFilter): RulesStatus {
  const ruleFilters =
    filter.type !== undefined || (filter.ruleName?.length ?? 0) > 0 || (filter.matchers?.length ?? 0) > 0;
  const out: RuleGroupStatus[] = [];
  for (const g of groups) {
    if (!allowed(filter.file, g.namespace) || !allowed(filter.ruleGroup, g.spec.name)) continue;
    const rules = g.rules
      .filter((r) => filter.type === undefined || (filter.type === "alert") === (r.spec.kind === "alerting"))
      .filter((r) => allowed(filter.ruleName, r.spec.kind === "alerting" ? r.spec.alert : r.spec.record))
      .filter((r) => labelsMatch(r.spec.labels, filter.matchers))
      .map((r) => ruleStatus(r, filter.excludeAlerts === true));
    if (ruleFilters && rules.length === 0) continue;
    out.push({
      name: g.spec.name,
      file: g.namespace,
      rules,
      interval: g.intervalMs / MS_PER_SECOND,
      limit: g.spec.limit,
      evaluationTime: g.evaluationTimeMs / MS_PER_SECOND,
      lastEvaluation: goTime(g.lastEvaluationMs),
    });
  }
  return { groups: out };
}

/** The pending and firing alerts of `groups`. */
export function alertsOf(groups: readonly RuleGroup[]): AlertStatus[] {
  const out: AlertStatus[] = [];
  for (const g of groups) {
    for (const r of g.rules) {
      for (const a of r.alerting?.active.values() ?? []) if (a.state !== "inactive") out.push(alertStatus(a));
    }
  }
  return out;
}
