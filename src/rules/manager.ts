// The rule manager of a metrics node: every org's rule groups, each evaluated every interval at times aligned to
// the interval and staggered by a hash of the group (rules/manager.go and group.go's scheduling), with missed
// rounds counted. It reaches queries, stores and notifiers only through the seams it is given.

import { ContrailError } from "../model/errors.ts";
import { STALE_NAN } from "../model/sample.ts";
import { type GroupEnv, groupKey, RuleGroup } from "./group.ts";
import { type AlertStatus, alertsOf, type RulesFilter, type RulesStatus, rulesStatusOf } from "./status.ts";
import type { AlertSink, RuleAppendFn, RuleNamespace, RuleQueryFn } from "./types.ts";

/** Per-org bounds on rules. */
export interface RuleLimits {
  /** Most rule groups across the org's namespaces. */
  readonly maxGroups: number;
  /** Most rules in one group. */
  readonly maxRulesPerGroup: number;
  /** Longest one round of a group may take, ms: its queries are then cancelled and the rules report the error. */
  readonly maxEvalTimeMs: number;
  /** Shortest evaluation interval a group may ask for, ms. */
  readonly minIntervalMs: number;
}

/** Defaults like Mimir's ruler (70 groups, 20 rules per group), a minute per round, intervals from 10 s. */
export const DEFAULT_RULE_LIMITS: RuleLimits = {
  maxGroups: 70,
  maxRulesPerGroup: 20,
  maxEvalTimeMs: 60_000,
  minIntervalMs: 10_000,
};

/** The interval of groups that set none, ms: Prometheus's default evaluation interval. */
export const DEFAULT_INTERVAL_MS = 60_000;
/** Firing alerts are resent this often, ms (Prometheus's --rules.alert.resend-delay). */
export const DEFAULT_RESEND_DELAY_MS = 60_000;
/** `for` state is restored after outages up to this long, ms (--rules.alert.for-outage-tolerance). */
export const DEFAULT_OUTAGE_TOLERANCE_MS = 3_600_000;
/** A restored alert fires no sooner than this after the restore, ms (--rules.alert.for-grace-period). */
export const DEFAULT_FOR_GRACE_PERIOD_MS = 600_000;

/** The seams and settings of a RuleManager; durations in ms. */
export interface RuleManagerOptions {
  /** Instant queries for rules and templates; must run off the ingest path (the node's query workers). */
  readonly query: RuleQueryFn;
  /** Writes rule results and alert series into an org's store. */
  readonly append: RuleAppendFn;
  /** Receives the alerts due for (re)sending after each round of a group. */
  readonly alertSink: AlertSink;
  /** The clock, ms since the epoch; default Date.now. */
  readonly now?: () => number;
  /** Labels added to sent alerts (and visible to templates as `$externalLabels`). */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /** The console's URL, for alerts' generatorURL and templates' `$externalURL`; no trailing slash. */
  readonly externalUrl?: string;
  /** The interval of groups that set none; default 1m. */
  readonly defaultIntervalMs?: number;
  /** Per-org limits, fixed or by org; default DEFAULT_RULE_LIMITS. */
  readonly limits?: RuleLimits | ((org: string) => RuleLimits);
  readonly resendDelayMs?: number;
  readonly outageToleranceMs?: number;
  readonly forGracePeriodMs?: number;
  /** Starts a timer and returns its cancel function; default setTimeout (unref'd). Tests pass a manual clock. */
  readonly schedule?: (fn: () => void, delayMs: number) => () => void;
}

function defaultSchedule(fn: () => void, delayMs: number): () => void {
  const t = setTimeout(fn, delayMs);
  t.unref();
  return () => clearTimeout(t);
}

/** 32-bit FNV-1a of a string's UTF-16 units: a stable hash that spreads groups over their interval. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Holds and evaluates every org's rule groups. One per metrics node process; `stop()` ends it. */
export class RuleManager {
  private readonly env: GroupEnv;
  private readonly defaultIntervalMs: number;
  private readonly limitsFor: (org: string) => RuleLimits;
  private readonly orgs = new Map<string, Map<string, RuleGroup>>();
  /** Orgs synced since the process started: only their first sync restores `for` state. */
  private readonly seen = new Set<string>();
  /** Per org, the sync in progress: syncs of one org run one after the other. */
  private readonly syncing = new Map<string, Promise<void>>();
  private readonly timers = new Map<RuleGroup, () => void>();
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;

  constructor(opts: RuleManagerOptions) {
    this.env = {
      query: opts.query,
      append: opts.append,
      alertSink: opts.alertSink,
      now: opts.now ?? Date.now,
      externalLabels: opts.externalLabels ?? {},
      externalUrl: (opts.externalUrl ?? "").replace(/\/+$/, ""),
      resendDelayMs: opts.resendDelayMs ?? DEFAULT_RESEND_DELAY_MS,
      outageToleranceMs: opts.outageToleranceMs ?? DEFAULT_OUTAGE_TOLERANCE_MS,
      forGracePeriodMs: opts.forGracePeriodMs ?? DEFAULT_FOR_GRACE_PERIOD_MS,
      schedule: opts.schedule ?? defaultSchedule,
    };
    this.defaultIntervalMs = opts.defaultIntervalMs ?? DEFAULT_INTERVAL_MS;
    const limits = opts.limits ?? DEFAULT_RULE_LIMITS;
    this.limitsFor = typeof limits === "function" ? limits : () => limits;
  }

  /** Sets the URL of alerts' generatorURL and templates' `$externalURL` (no trailing slash kept); call before `start`. */
  setExternalUrl(url: string): void {
    this.env.externalUrl = url.replace(/\/+$/, "");
  }

  /** Throws ContrailError `limit_exceeded` when `namespaces` break the org's limits. */
  checkLimits(org: string, namespaces: readonly RuleNamespace[]): void {
    const limits = this.limitsFor(org);
    const problems: string[] = [];
    const count = namespaces.reduce((n, ns) => n + ns.groups.length, 0);
    if (count > limits.maxGroups) problems.push(`${count} rule groups, more than the limit of ${limits.maxGroups}`);
    for (const ns of namespaces) {
      for (const g of ns.groups) {
        const where = `namespace "${ns.namespace}", group "${g.name}"`;
        if (g.rules.length > limits.maxRulesPerGroup) {
          problems.push(`${where}: ${g.rules.length} rules, more than the limit of ${limits.maxRulesPerGroup}`);
        }
        const interval = g.intervalMs ?? this.defaultIntervalMs;
        if (interval < limits.minIntervalMs) {
          problems.push(`${where}: interval ${interval} ms, less than the minimum of ${limits.minIntervalMs} ms`);
        }
      }
    }
    if (problems.length > 0) throw new ContrailError("limit_exceeded", problems.join("; "));
  }

  /** Throws ContrailError `bad_data` when a namespace holds two groups of one name. */
  private checkUnique(namespaces: readonly RuleNamespace[]): void {
    const keys = new Set<string>();
    for (const ns of namespaces) {
      for (const g of ns.groups) {
        const key = groupKey(ns.namespace, g.name);
        if (keys.has(key))
          throw new ContrailError("bad_data", `namespace "${ns.namespace}": group "${g.name}" is repeated`);
        keys.add(key);
      }
    }
  }

  /**
   * Replaces an org's rule groups. Unchanged groups keep running as they are; a changed group keeps the alerts of
   * its alerting rules whose name, expression and labels did not change; series of removed rules are marked stale.
   * Rejects, changing nothing, with `limit_exceeded` when the groups break the org's limits and with `bad_data` when
   * a namespace holds two groups of one name.
   */
  async sync(org: string, namespaces: readonly RuleNamespace[]): Promise<void> {
    this.checkLimits(org, namespaces);
    this.checkUnique(namespaces);
    const previous = this.syncing.get(org) ?? Promise.resolve();
    // A failed earlier sync has already been reported to its caller; this one starts after it all the same.
    const next = previous.catch(() => undefined).then(() => this.apply(org, namespaces));
    this.syncing.set(org, next);
    try {
      await next;
    } finally {
      if (this.syncing.get(org) === next) this.syncing.delete(org);
    }
  }

  private async apply(org: string, namespaces: readonly RuleNamespace[]): Promise<void> {
    const first = !this.seen.has(org);
    this.seen.add(org);
    const old = this.orgs.get(org) ?? new Map<string, RuleGroup>();
    const fresh = new Map<string, RuleGroup>();
    const maxEvalTimeMs = this.limitsFor(org).maxEvalTimeMs;
    const replaced: RuleGroup[] = [];
    for (const ns of namespaces) {
      for (const spec of ns.groups) {
        const key = groupKey(ns.namespace, spec.name);
        const before = old.get(key);
        if (before !== undefined && JSON.stringify(before.spec) === JSON.stringify(spec)) {
          fresh.set(key, before);
          continue;
        }
        const group = new RuleGroup(org, ns.namespace, spec, this.defaultIntervalMs, maxEvalTimeMs, this.env, first);
        if (before !== undefined) {
          replaced.push(before);
          this.unschedule(before);
          await before.running;
          group.copyState(before);
        }
        fresh.set(key, group);
      }
    }
    const removed = [...old.values()].filter((g) => fresh.get(g.key) !== g && !replaced.includes(g));
    for (const g of removed) {
      this.unschedule(g);
      await g.running;
    }
    if (fresh.size === 0) this.orgs.delete(org);
    else this.orgs.set(org, fresh);
    const stale = removed.flatMap((g) => g.lastSeries());
    if (stale.length > 0) {
      const t = this.env.now();
      try {
        await this.env.append(
          org,
          stale.map((labels) => ({ labels, tMs: t, value: STALE_NAN })),
        );
      } catch {
        // The series go stale by the lookback delta anyway; a failed write must not fail the sync.
      }
    }
    if (this.running) for (const g of fresh.values()) if (!this.timers.has(g)) this.scheduleFirst(g);
  }

  /** Starts evaluating every group on its schedule. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const groups of this.orgs.values()) for (const g of groups.values()) this.scheduleFirst(g);
  }

  /** Stops scheduling; resolves when the evaluations in flight have ended. */
  async stop(): Promise<void> {
    this.running = false;
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
    await this.idle();
  }

  /** Resolves when no evaluation is in flight (scheduled or asked for). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Runs one round of a group now at evaluation time `tMs` (ms), as its schedule would; for tools and tests. */
  async evaluateGroup(org: string, namespace: string, group: string, tMs: number): Promise<void> {
    const g = this.orgs.get(org)?.get(groupKey(namespace, group));
    if (g === undefined) throw new ContrailError("not_found", `no rule group "${group}" in namespace "${namespace}"`);
    await this.run(g, tMs);
  }

  /** What `GET /api/v1/rules` returns in `data` for an org. */
  rulesStatus(org: string, filter: RulesFilter = {}): RulesStatus {
    return rulesStatusOf(this.groupsOf(org), filter);
  }

  /** What `GET /api/v1/alerts` returns in `data` for an org: its pending and firing alerts. */
  alerts(org: string): { alerts: AlertStatus[] } {
    return { alerts: alertsOf(this.groupsOf(org)) };
  }

  /** Rounds run and missed per group of an org, for self-metrics and tests. */
  groupCounters(org: string): { namespace: string; group: string; evaluations: number; missed: number }[] {
    return this.groupsOf(org).map((g) => ({
      namespace: g.namespace,
      group: g.spec.name,
      evaluations: g.evaluations,
      missed: g.missed,
    }));
  }

  /** The org's groups, by namespace then name. */
  private groupsOf(org: string): RuleGroup[] {
    return [...(this.orgs.get(org)?.values() ?? [])];
  }

  /** The time of a group's first round: the next interval boundary, shifted by the group's hash. */
  private scheduleFirst(g: RuleGroup): void {
    const offset = fnv1a(`${g.org};${g.namespace};${g.spec.name}`) % g.intervalMs;
    const now = this.env.now();
    const adjusted = now - offset;
    const base = adjusted - (((adjusted % g.intervalMs) + g.intervalMs) % g.intervalMs);
    this.scheduleAt(g, base + offset + g.intervalMs);
  }

  private scheduleAt(g: RuleGroup, dueMs: number): void {
    const cancel = this.env.schedule(
      () => {
        const p = this.tick(g, dueMs);
        this.inFlight.add(p);
        void p.finally(() => this.inFlight.delete(p));
      },
      Math.max(0, dueMs - this.env.now()),
    );
    this.timers.set(g, cancel);
  }

  private unschedule(g: RuleGroup): void {
    this.timers.get(g)?.();
    this.timers.delete(g);
  }

  private async tick(g: RuleGroup, dueMs: number): Promise<void> {
    if (!this.running || this.timers.get(g) === undefined) return;
    const late = Math.floor((this.env.now() - dueMs) / g.intervalMs);
    const missed = Math.max(0, late);
    g.missed += missed;
    const t = dueMs + missed * g.intervalMs;
    await this.run(g, t);
    if (this.running && this.timers.has(g)) this.scheduleAt(g, t + g.intervalMs);
  }

  /** Runs a round of `g` after the one in flight; counted in flight from the call on, so stop() waits for it. */
  private async run(g: RuleGroup, tMs: number): Promise<void> {
    const p = this.runAfterCurrent(g, tMs);
    this.inFlight.add(p);
    try {
      await p;
    } finally {
      this.inFlight.delete(p);
    }
  }

  private async runAfterCurrent(g: RuleGroup, tMs: number): Promise<void> {
    while (g.running !== null) await g.running;
    const p = g.evaluate(tMs);
    g.running = p;
    try {
      await p;
    } finally {
      if (g.running === p) g.running = null;
    }
  }
}
