// The shapes shared by the rules module's parts: rule groups as read from Prometheus rule files (and from the ruler
// API's YAML bodies), the alerts handed to notifiers, and the seams through which the evaluator reaches a query
// engine and an org's store without importing either.

import type { Histogram } from "../model/histogram.ts";
import type { Labels } from "../model/labels.ts";

/** A recording rule as written in a rule file; `line` is 1-based in its source, 0 when it came from no file. */
export interface RecordingRuleSpec {
  readonly kind: "recording";
  /** The metric name the rule's results are written under. */
  readonly record: string;
  /** The PromQL expression, as written. */
  readonly expr: string;
  /** Labels added to (and overriding) every result. */
  readonly labels: Readonly<Record<string, string>>;
  readonly line: number;
}

/** An alerting rule as written in a rule file; durations in ms, `line` 1-based (0: from no file). */
export interface AlertingRuleSpec {
  readonly kind: "alerting";
  /** The alert's name, the `alertname` label of its alerts. */
  readonly alert: string;
  /** The PromQL expression, as written; every result is an alert. */
  readonly expr: string;
  /** How long a result must persist before the alert fires, ms (0: fires at once). */
  readonly forMs: number;
  /** How long a firing alert keeps firing after its result is gone, ms. */
  readonly keepFiringForMs: number;
  /** Labels added to every alert, as templates. */
  readonly labels: Readonly<Record<string, string>>;
  /** Annotations of every alert, as templates. */
  readonly annotations: Readonly<Record<string, string>>;
  readonly line: number;
}

/** One rule of a group. */
export type RuleSpec = RecordingRuleSpec | AlertingRuleSpec;

/** A rule group: evaluated in order, every `intervalMs`, at one evaluation time per round. */
export interface RuleGroupSpec {
  /** Unique within its namespace (a rule file, or a ruler API namespace). */
  readonly name: string;
  /** Time between evaluations, ms; undefined: the evaluator's default interval. */
  readonly intervalMs?: number;
  /** Most series a rule may return (recording) or alerts it may hold (alerting); 0: no limit. */
  readonly limit: number;
  /** Evaluation looks this far back from the round's time, ms; undefined: the evaluator's default (0). */
  readonly queryOffsetMs?: number;
  /** Labels added to every rule's results (Prometheus 3's group `labels`). */
  readonly labels: Readonly<Record<string, string>>;
  readonly rules: readonly RuleSpec[];
}

/** An org's rule groups under one namespace, as the ruler API and `contrail rules sync` manage them. */
export interface RuleNamespace {
  readonly namespace: string;
  readonly groups: readonly RuleGroupSpec[];
}

/**
 * An alert as handed to notifiers, in the shape of Alertmanager v2's postable alert; times in ms since the epoch.
 * `labels` hold the org's own labels only: a notifier that serves several orgs adds `org` itself.
 */
export interface OutgoingAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAtMs: number;
  /** For a firing alert, when it expires unless resent; for a resolved one, when it was resolved. */
  readonly endsAtMs: number;
  /** A link back to the expression in the web console. */
  readonly generatorURL: string;
}

/** Receives an org's alerts after each evaluation of a group that has alerting rules; must not throw or block. */
export type AlertSink = (org: string, alerts: readonly OutgoingAlert[]) => void;

/**
 * One sample of an instant vector as the query seam returns it: its series, time (ms) and value, a float `v` or a
 * native histogram `h` (then `v` is 0, as in the engine).
 */
export interface InstantSample {
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
  readonly h?: Histogram;
}

/** An instant query's result; a scalar result is one sample with no labels. */
export type InstantVector = readonly InstantSample[];

/**
 * Runs an instant query for an org at `evalTimeMs` (ms); the metrics node routes it to its query workers, never the
 * ingest path. Rejects with a ContrailError (`query_canceled` when `signal` aborts, `execution` for a string or
 * matrix result); resolves with the vector otherwise.
 */
export type RuleQueryFn = (
  org: string,
  expr: string,
  evalTimeMs: number,
  signal: AbortSignal,
) => Promise<InstantVector>;

/**
 * A sample a rule writes: a full series (with `__name__`), time in ms, and a float `value` (a stale marker is
 * STALE_NAN, for histogram series too) or, when `h` is set, that native histogram (`value` unused). Shared, not copied:
 * `h` must not be changed.
 */
export interface RuleSample {
  readonly labels: Labels;
  readonly tMs: number;
  readonly value: number;
  readonly h?: Histogram;
}

/**
 * Writes samples into an org's store as one batch; rejected samples (out of order...) are not an error. A store that
 * keeps no native histograms refuses a batch holding one with an `execution` error naming the series.
 */
export type RuleAppendFn = (org: string, samples: readonly RuleSample[]) => Promise<void>;
