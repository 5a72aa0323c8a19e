// One rule group of one org at run time: evaluates its rules in order at one time per round (rules/group.go's
// Eval), writes recording results and alert series with stale markers for series that disappeared, keeps each
// rule's health, and hands the alerts due for (re)sending to the sink.

import { ContrailError, isContrailError } from "../model/errors.ts";
import { type Labels, LabelsBuilder, METRIC_NAME } from "../model/labels.ts";
import { STALE_NAN } from "../model/sample.ts";
import { type AlertEvalContext, AlertingRuleState } from "./alerting.ts";
import { restoreForState } from "./restore.ts";
import { graphLink, type TemplateSample } from "./template/index.ts";
import type {
  AlertSink,
  InstantVector,
  OutgoingAlert,
  RuleAppendFn,
  RuleGroupSpec,
  RuleQueryFn,
  RuleSample,
  RuleSpec,
} from "./types.ts";

/** A rule's health, as `/api/v1/rules` reports it. */
export type RuleHealth = "unknown" | "ok" | "err";

/** The run-time state of one rule; times in ms (0: never evaluated). */
export interface RuleRuntime {
  /** The rule with its group's labels merged under its own. */
  readonly spec: RuleSpec;
  /** The alert state of an alerting rule; null for a recording rule. */
  alerting: AlertingRuleState | null;
  health: RuleHealth;
  lastError: string;
  lastEvaluationMs: number;
  evaluationTimeMs: number;
  /** The series written at the last successful evaluation, by label set hash, to mark stale when they vanish. */
  previousSeries: Map<string, Labels>;
}

/** What a group needs from its manager; shared by all groups of a manager. */
export interface GroupEnv {
  readonly query: RuleQueryFn;
  readonly append: RuleAppendFn;
  readonly alertSink: AlertSink;
  readonly now: () => number;
  readonly externalLabels: Readonly<Record<string, string>>;
  /** Set once the node knows its address ({@link RuleManager.setExternalUrl}), before evaluations start. */
  externalUrl: string;
  readonly resendDelayMs: number;
  readonly outageToleranceMs: number;
  readonly forGracePeriodMs: number;
  /** Starts a timer; returns its cancel function. */
  readonly schedule: (fn: () => void, delayMs: number) => () => void;
}

/** The group's identity within its org. */
export function groupKey(namespace: string, name: string): string {
  return `${namespace}\u0000${name}`;
}

/** Merges a group's labels under a rule's own (the rule wins), as Prometheus 3 does for group `labels`. */
function withGroupLabels(rule: RuleSpec, group: Readonly<Record<string, string>>): RuleSpec {
  if (Object.keys(group).length === 0) return rule;
  return { ...rule, labels: { ...group, ...rule.labels } };
}

/** A rule group of one org with its rules' state; evaluated by its manager's scheduler, one round at a time. */
export class RuleGroup {
  readonly rules: RuleRuntime[];
  readonly intervalMs: number;
  lastEvaluationMs = 0;
  evaluationTimeMs = 0;
  /** The evaluation time of the last round, ms. */
  lastEvalTimestampMs = 0;
  /** Rounds skipped because the previous one ran late. */
  missed = 0;
  /** Rounds run so far. */
  evaluations = 0;
  /** True until `for` state was restored (the first sync of an org after the process started). */
  shouldRestore: boolean;
  /** The evaluation in flight, if any. */
  running: Promise<void> | null = null;
  /** Series of rules that were removed or changed, marked stale at the next round. */
  pendingStale: Labels[] = [];

  constructor(
    readonly org: string,
    readonly namespace: string,
    readonly spec: RuleGroupSpec,
    defaultIntervalMs: number,
    private readonly maxEvalTimeMs: number,
    private readonly env: GroupEnv,
    shouldRestore: boolean,
  ) {
    this.intervalMs = spec.intervalMs ?? defaultIntervalMs;
    this.shouldRestore = shouldRestore;
    this.rules = spec.rules.map((r) => {
      const merged = withGroupLabels(r, spec.labels);
      return {
        spec: merged,
        alerting: merged.kind === "alerting" ? new AlertingRuleState(merged, !shouldRestore) : null,
        health: "unknown" as RuleHealth,
        lastError: "",
        lastEvaluationMs: 0,
        evaluationTimeMs: 0,
        previousSeries: new Map(),
      };
    });
  }

  get key(): string {
    return groupKey(this.namespace, this.spec.name);
  }

  /** The query offset of the group, ms. */
  get queryOffsetMs(): number {
    return this.spec.queryOffsetMs ?? 0;
  }

  /**
   * Takes over the state of `old` (the same group before a sync): alerting rules with the same name, expression
   * and labels keep their alerts, every matched rule keeps its series for stale marking; the series of unmatched
   * old rules are marked stale at the next round.
   */
  copyState(old: RuleGroup): void {
    this.lastEvaluationMs = old.lastEvaluationMs;
    this.evaluationTimeMs = old.evaluationTimeMs;
    this.lastEvalTimestampMs = old.lastEvalTimestampMs;
    this.missed = old.missed;
    this.shouldRestore = old.shouldRestore;
    const byIdentity = new Map<string, RuleRuntime[]>();
    for (const r of old.rules) {
      const k = ruleIdentity(r.spec);
      byIdentity.set(k, [...(byIdentity.get(k) ?? []), r]);
    }
    for (const r of this.rules) {
      const matches = byIdentity.get(ruleIdentity(r.spec));
      const from = matches?.shift();
      if (from === undefined) continue;
      r.previousSeries = from.previousSeries;
      r.health = from.health;
      r.lastError = from.lastError;
      r.lastEvaluationMs = from.lastEvaluationMs;
      r.evaluationTimeMs = from.evaluationTimeMs;
      if (r.alerting !== null && from.alerting !== null) {
        r.alerting.active = from.alerting.active;
        r.alerting.restored = from.alerting.restored;
      }
    }
    this.pendingStale = [...old.pendingStale];
    for (const rest of byIdentity.values()) for (const r of rest) this.pendingStale.push(...r.previousSeries.values());
  }

  /** Every series this group wrote last, for stale marking when the group goes away. */
  lastSeries(): Labels[] {
    const out = [...this.pendingStale];
    for (const r of this.rules) out.push(...r.previousSeries.values());
    return out;
  }

  /** Runs one round at evaluation time `tMs` (ms); never rejects (failures become the rules' lastError). */
  async evaluate(tMs: number): Promise<void> {
    const started = this.env.now();
    const controller = new AbortController();
    const cancelTimer = this.env.schedule(() => {
      controller.abort(
        new ContrailError("query_timeout", `group evaluation exceeded its time limit of ${this.maxEvalTimeMs} ms`),
      );
    }, this.maxEvalTimeMs);
    const toSend: OutgoingAlert[] = [];
    try {
      if (this.pendingStale.length > 0) {
        const at = tMs - this.queryOffsetMs;
        try {
          await this.write(this.pendingStale.map((labels) => ({ labels, tMs: at, value: STALE_NAN })));
        } catch {
          // Unwritten stale markers only delay the series' end by the lookback delta.
        }
        this.pendingStale = [];
      }
      for (const rule of this.rules) await this.evaluateRule(rule, tMs, controller.signal, toSend);
    } finally {
      cancelTimer();
    }
    this.evaluations++;
    this.lastEvaluationMs = started;
    this.lastEvalTimestampMs = tMs;
    this.evaluationTimeMs = this.env.now() - started;
    if (toSend.length > 0) {
      try {
        this.env.alertSink(this.org, toSend);
      } catch {
        // The sink's contract is not to throw; a faulty one must not stop evaluation.
      }
    }
    if (this.shouldRestore && this.evaluations >= ROUNDS_BEFORE_RESTORE) {
      this.shouldRestore = false;
      await restoreForState(this, this.env.now(), this.env);
    }
  }

  private async write(samples: RuleSample[]): Promise<void> {
    if (samples.length > 0) await this.env.append(this.org, samples);
  }

  private async evaluateRule(
    rule: RuleRuntime,
    tMs: number,
    signal: AbortSignal,
    toSend: OutgoingAlert[],
  ): Promise<void> {
    const started = this.env.now();
    const at = tMs - this.queryOffsetMs;
    try {
      signal.throwIfAborted();
      const vector = await this.env.query(this.org, rule.spec.expr, at, signal);
      const samples =
        rule.alerting === null
          ? recordingSamples(rule.spec, vector, at, this.spec.limit)
          : await rule.alerting.apply(vector, this.alertContext(tMs, signal));
      const returned = new Map<string, Labels>();
      for (const s of samples) returned.set(s.labels.hash(), s.labels);
      const stale: RuleSample[] = [];
      for (const [h, labels] of rule.previousSeries) {
        if (!returned.has(h)) stale.push({ labels, tMs: at, value: STALE_NAN });
      }
      await this.write([...samples, ...stale]);
      rule.previousSeries = returned;
      rule.health = "ok";
      rule.lastError = "";
      if (rule.alerting !== null) {
        const link = this.env.externalUrl + graphLink(rule.spec.expr, 1);
        toSend.push(...rule.alerting.due(tMs, this.env.resendDelayMs, this.intervalMs, this.env.externalLabels, link));
      }
    } catch (err) {
      rule.health = "err";
      rule.lastError = errorText(signal.aborted ? signal.reason : err);
    } finally {
      rule.lastEvaluationMs = started;
      rule.evaluationTimeMs = this.env.now() - started;
    }
  }

  private alertContext(tMs: number, signal: AbortSignal): AlertEvalContext {
    const at = tMs - this.queryOffsetMs;
    let queries = 0;
    return {
      tMs,
      queryOffsetMs: this.queryOffsetMs,
      limit: this.spec.limit,
      externalLabels: this.env.externalLabels,
      externalUrl: this.env.externalUrl,
      query: async (expr): Promise<TemplateSample[]> => {
        if (++queries > MAX_TEMPLATE_QUERIES_PER_RULE) {
          throw new Error(`more than ${MAX_TEMPLATE_QUERIES_PER_RULE} template queries in one evaluation of the rule`);
        }
        return (await this.env.query(this.org, expr, at, signal)).map((s) => ({
          labels: s.labels.toRecord(),
          value: s.v,
          h: s.h,
        }));
      },
    };
  }
}

/** Most `query` calls the templates of one alerting rule make per round, across all its alerts: a rule with many
 * alerts and querying templates must not flood the org's query workers. */
export const MAX_TEMPLATE_QUERIES_PER_RULE = 100;

/** Prometheus restores `for` state after the second round, once recording rules had a chance to write. */
const ROUNDS_BEFORE_RESTORE = 2;

/** What identifies a rule across syncs: its kind, name, expression and labels. */
function ruleIdentity(r: RuleSpec): string {
  const name = r.kind === "alerting" ? r.alert : r.record;
  const labels = Object.keys(r.labels)
    .sort()
    .map((k) => `${k}=${r.labels[k]}`);
  return JSON.stringify([r.kind, name, r.expr, labels]);
}

function errorText(err: unknown): string {
  if (isContrailError(err) || err instanceof Error) return err.message;
  return String(err);
}

/**
 * A recording rule's output: results renamed to `record` with its labels applied, floats and native histograms as
 * they came. Throws on a clash or limit.
 */
function recordingSamples(spec: RuleSpec, vector: InstantVector, at: number, limit: number): RuleSample[] {
  if (spec.kind !== "recording") throw new ContrailError("internal", "not a recording rule");
  const out: RuleSample[] = [];
  const seen = new Set<string>();
  for (const s of vector) {
    const lb = new LabelsBuilder(s.labels).set(METRIC_NAME, spec.record);
    for (const [k, v] of Object.entries(spec.labels)) lb.set(k, v);
    const labels = lb.labels();
    const h = labels.hash();
    if (seen.has(h)) {
      throw new ContrailError("execution", "vector contains metrics with the same labelset after applying rule labels");
    }
    seen.add(h);
    out.push({ labels, tMs: at, value: s.v, h: s.h });
  }
  if (limit > 0 && out.length > limit) {
    throw new ContrailError("limit_exceeded", `exceeded limit of ${limit} with ${out.length} series`);
  }
  return out;
}
