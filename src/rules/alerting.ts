// An alerting rule's state: its alerts keyed by label set, moved through Prometheus's pending → firing → inactive
// cycle (`for`, `keep_firing_for`, resolved alerts kept 15 minutes), the ALERTS and ALERTS_FOR_STATE series it
// writes, and which alerts are due to be (re)sent. Mirrors rules/alerting.go's Eval and sendAlerts.

import { ContrailError } from "../model/errors.ts";
import { type Labels, LabelsBuilder, METRIC_NAME } from "../model/labels.ts";
import { expandAlertTemplate, type TemplateSample } from "./template/index.ts";
import type { AlertingRuleSpec, InstantVector, OutgoingAlert, RuleSample } from "./types.ts";

/** How long a resolved alert is kept (and resent), ms: Prometheus's resolvedRetention. */
export const RESOLVED_RETENTION_MS = 15 * 60_000;
/** The series an alerting rule writes for each active alert, value 1. */
export const ALERTS_METRIC = "ALERTS";
/** The series holding each active alert's activeAt (Unix seconds), read back to restore `for` after a restart. */
export const ALERTS_FOR_STATE_METRIC = "ALERTS_FOR_STATE";

/** An alert's state. */
export type AlertState = "inactive" | "pending" | "firing";

/** One alert of a rule; times in ms since the epoch, 0 for "not set". Owned and mutated by its rule. */
export interface Alert {
  readonly labels: Labels;
  annotations: Record<string, string>;
  state: AlertState;
  value: number;
  activeAtMs: number;
  firedAtMs: number;
  resolvedAtMs: number;
  lastSentAtMs: number;
  validUntilMs: number;
  keepFiringSinceMs: number;
}

/** What an evaluation needs besides the query result. */
export interface AlertEvalContext {
  /** The group's evaluation time, ms. */
  readonly tMs: number;
  /** The group's query offset, ms: samples are written at tMs - offset. */
  readonly queryOffsetMs: number;
  /** The group's limit on active alerts, 0: none. */
  readonly limit: number;
  readonly externalLabels: Readonly<Record<string, string>>;
  readonly externalUrl: string;
  /** Runs a template's `query` at the evaluation's time. */
  readonly query: (expr: string) => Promise<readonly TemplateSample[]>;
}

/** The state of one alerting rule between evaluations; lives as long as its group (or is carried to a new one). */
export class AlertingRuleState {
  /** Active, pending and recently resolved alerts by label set hash. */
  active = new Map<string, Alert>();
  /** False until `for` state was restored after a restart; ALERTS series are written only once true. */
  restored: boolean;

  /** `spec` carries its group's labels merged under its own. */
  constructor(
    readonly spec: AlertingRuleSpec,
    restored: boolean,
  ) {
    this.restored = restored;
  }

  /** The rule's state: the most severe of its alerts'. */
  state(): AlertState {
    let s: AlertState = "inactive";
    for (const a of this.active.values()) {
      if (a.state === "firing") return "firing";
      if (a.state === "pending") s = "pending";
    }
    return s;
  }

  /** Applies one evaluation's query result; returns the ALERTS samples to write. Throws on a limit or label clash. */
  async apply(result: InstantVector, ctx: AlertEvalContext): Promise<RuleSample[]> {
    const t = ctx.tMs;
    const seen = new Map<string, Alert>();
    const templateName = `__alert_${this.spec.alert}`;
    for (const s of result) {
      const data = {
        labels: s.labels.toRecord(),
        externalLabels: ctx.externalLabels,
        externalUrl: ctx.externalUrl,
        value: s.v,
        h: s.h,
        evalTimeMs: t,
        query: ctx.query,
      };
      const lb = new LabelsBuilder(s.labels).del(METRIC_NAME);
      for (const [k, v] of Object.entries(this.spec.labels))
        lb.set(k, await expandAlertTemplate(v, templateName, data));
      lb.set("alertname", this.spec.alert);
      const annotations: Record<string, string> = {};
      for (const [k, v] of Object.entries(this.spec.annotations)) {
        annotations[k] = await expandAlertTemplate(v, templateName, data);
      }
      const labels = lb.labels();
      const h = labels.hash();
      if (seen.has(h)) {
        throw new ContrailError(
          "execution",
          "vector contains metrics with the same labelset after applying alert labels",
        );
      }
      seen.set(h, {
        labels,
        annotations,
        state: "pending",
        value: s.v,
        activeAtMs: t,
        firedAtMs: 0,
        resolvedAtMs: 0,
        lastSentAtMs: 0,
        validUntilMs: 0,
        keepFiringSinceMs: 0,
      });
    }
    for (const [h, a] of seen) {
      const old = this.active.get(h);
      if (old !== undefined && old.state !== "inactive") {
        old.value = a.value;
        old.annotations = a.annotations;
      } else this.active.set(h, a);
    }
    const out: RuleSample[] = [];
    let activeCount = 0;
    for (const [h, a] of this.active) {
      if (!seen.has(h)) {
        let keepFiring = false;
        if (a.state === "firing" && this.spec.keepFiringForMs > 0) {
          if (a.keepFiringSinceMs === 0) a.keepFiringSinceMs = t;
          keepFiring = t - a.keepFiringSinceMs < this.spec.keepFiringForMs;
        }
        if (a.state === "pending" || (a.resolvedAtMs !== 0 && t - a.resolvedAtMs > RESOLVED_RETENTION_MS)) {
          this.active.delete(h);
        }
        if (a.state !== "inactive" && !keepFiring) {
          a.state = "inactive";
          a.resolvedAtMs = t;
        }
        if (!keepFiring) continue;
      } else a.keepFiringSinceMs = 0;
      activeCount++;
      if (a.state === "pending" && t - a.activeAtMs >= this.spec.forMs) {
        a.state = "firing";
        a.firedAtMs = t;
      }
      if (this.restored) {
        const at = t - ctx.queryOffsetMs;
        out.push({ labels: seriesLabels(a, ALERTS_METRIC, a.state), tMs: at, value: 1 });
        out.push({ labels: seriesLabels(a, ALERTS_FOR_STATE_METRIC), tMs: at, value: Math.trunc(a.activeAtMs / 1000) });
      }
    }
    if (ctx.limit > 0 && activeCount > ctx.limit) {
      this.active = new Map();
      throw new ContrailError("limit_exceeded", `exceeded limit of ${ctx.limit} with ${activeCount} alerts`);
    }
    return out;
  }

  /**
   * The alerts due to be sent at `tMs` (not pending; resolved since the last send, or last sent more than
   * `resendDelayMs` ago), marking them sent; firing ones expire at tMs + 4 × max(resendDelay, interval).
   */
  due(
    tMs: number,
    resendDelayMs: number,
    intervalMs: number,
    externalLabels: Readonly<Record<string, string>>,
    generatorURL: string,
  ): OutgoingAlert[] {
    const out: OutgoingAlert[] = [];
    for (const a of this.active.values()) {
      if (a.state === "pending") continue;
      if (!(a.resolvedAtMs > a.lastSentAtMs || a.lastSentAtMs + resendDelayMs < tMs)) continue;
      a.lastSentAtMs = tMs;
      a.validUntilMs = tMs + ALERT_VALIDITY_FACTOR * Math.max(resendDelayMs, intervalMs);
      const labels = new LabelsBuilder(a.labels);
      for (const [k, v] of Object.entries(externalLabels)) if (!a.labels.has(k)) labels.set(k, v);
      out.push({
        labels: labels.labels().toRecord(),
        annotations: { ...a.annotations },
        startsAtMs: a.firedAtMs,
        endsAtMs: a.resolvedAtMs !== 0 ? a.resolvedAtMs : a.validUntilMs,
        generatorURL,
      });
    }
    return out;
  }
}

/** A firing alert stays valid for this many resend periods, so two failed evaluations or sends do not resolve it. */
const ALERT_VALIDITY_FACTOR = 4;

function seriesLabels(a: Alert, name: string, state?: AlertState): Labels {
  const lb = new LabelsBuilder(a.labels).set(METRIC_NAME, name);
  if (state !== undefined) lb.set("alertstate", state);
  return lb.labels();
}
