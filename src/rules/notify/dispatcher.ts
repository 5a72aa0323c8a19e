// Per-org receivers without an Alertmanager: each org's alerts go to every receiver of that org, grouped the way
// Alertmanager groups them. A group (the alerts sharing the receiver's group_by labels' values) waits group_wait
// before its first notification, then is looked at every group_interval: it is notified when an alert started firing
// since the last notification, when every alert resolved, or (send_resolved) when one resolved; an unchanged firing
// group is notified again once repeat_interval has passed. Resolved alerts leave the group once a notification
// (or the decision that none was needed) covered them, and an empty group is forgotten.
//
// Receivers are read through the seam `receiversFor` when alerts arrive and again before each notification, so a
// changed or deleted receiver counts at once. Bounded: groups and alerts per receiver; past them new alerts are
// dropped and counted.

import { GROUP_BY_ALL, type Receiver, type ReceiverKind } from "../../model/receivers.ts";
import type { OutgoingAlert } from "../types.ts";
import { alertForDelivery, fingerprint, ORG_LABEL } from "./alert-labels.ts";
import { DEFAULT_RETRY_POLICY, deliver, type RetryPolicy } from "./deliver.ts";
import { isResolved, renderNotification } from "./messages.ts";

/** Most groups one receiver of one org holds. */
export const MAX_GROUPS_PER_RECEIVER = 1_000;
/** Most alerts one receiver of one org holds, over all its groups. */
export const MAX_ALERTS_PER_RECEIVER = 10_000;

/** Options of {@link Dispatcher}. */
export interface DispatcherOptions {
  /** The org's receivers now (the control database, in production); may throw, which is warned about. */
  readonly receiversFor: (org: string) => readonly Receiver[];
  /** Labels every alert carries unless it has its own of that name (`org` overrides both). */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /** The `externalURL` of notifications: where people reach this platform. */
  readonly externalUrl: string;
  /** Default {@link DEFAULT_RETRY_POLICY}. */
  readonly retry?: RetryPolicy;
  /** Told of failed deliveries and unreadable receivers (one line, no alert content). */
  readonly warn?: (line: string) => void;
  /** The clock, ms since the epoch; default Date.now. */
  readonly now?: () => number;
}

/** Counters of one receiver kind. */
export interface KindFigures {
  /** Notifications a receiver accepted. */
  readonly delivered: number;
  /** Notifications given up on (refused, or attempts exhausted). */
  readonly failed: number;
  /** Attempts after the first. */
  readonly retries: number;
}

/** The dispatcher's figures at one moment, for `/metrics`. */
export interface DispatcherFigures {
  readonly byKind: Readonly<Record<ReceiverKind, KindFigures>>;
  /** Alert groups held, over all orgs and receivers. */
  readonly groups: number;
  /** Alerts not taken because a receiver's bounds were reached. */
  readonly dropped: number;
}

interface Group {
  readonly key: string;
  readonly labels: Readonly<Record<string, string>>;
  /** By fingerprint; replaced whenever the evaluator sends the alert again. */
  readonly alerts: Map<string, OutgoingAlert>;
  timer: NodeJS.Timeout | null;
  /** Fingerprints in the last notification, firing and resolved; null before the first. */
  lastFiring: Set<string> | null;
  lastResolved: Set<string>;
  lastNotifiedMs: number;
}

interface ReceiverState {
  config: Receiver;
  readonly groups: Map<string, Group>;
  alertCount: number;
}

function groupLabelsOf(labels: Readonly<Record<string, string>>, groupBy: readonly string[]): Record<string, string> {
  if (groupBy.length === 1 && groupBy[0] === GROUP_BY_ALL) return { ...labels };
  const out: Record<string, string> = {};
  for (const name of [...groupBy].sort()) if (labels[name] !== undefined) out[name] = labels[name];
  return out;
}

function labelsText(labels: Readonly<Record<string, string>>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(",")}}`;
}

function isSubset(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function sameGrouping(a: Receiver, b: Receiver): boolean {
  return a.groupBy.length === b.groupBy.length && a.groupBy.every((l, i) => l === b.groupBy[i]);
}

const zero = (): { delivered: number; failed: number; retries: number } => ({ delivered: 0, failed: 0, retries: 0 });

/** Groups and delivers each org's alerts to its receivers; owns its timers until {@link Dispatcher.stop}. */
export class Dispatcher {
  private readonly o: DispatcherOptions;
  private readonly now: () => number;
  private readonly retry: RetryPolicy;
  private readonly warn: (line: string) => void;
  /** org → receiver name → state. */
  private readonly orgs = new Map<string, Map<string, ReceiverState>>();
  private readonly counts = { webhook: zero(), slack: zero() };
  private dropped = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();

  constructor(o: DispatcherOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    this.retry = o.retry ?? DEFAULT_RETRY_POLICY;
    this.warn = o.warn ?? (() => {});
  }

  /** Takes `org`'s alerts into the groups of each of its receivers; never throws or blocks. */
  ingest(org: string, alerts: readonly OutgoingAlert[]): void {
    if (this.abort.signal.aborted || alerts.length === 0) return;
    const receivers = this.receiversOf(org);
    if (receivers === null) return;
    const states = this.sync(org, receivers);
    if (states.size === 0) return;
    const external = this.o.externalLabels ?? {};
    const delivered = alerts.map((a) => alertForDelivery(org, a, external));
    const prints = delivered.map((a) => fingerprint(a.labels));
    for (const [name, state] of states) {
      for (let i = 0; i < delivered.length; i++) this.add(org, name, state, delivered[i], prints[i]);
    }
  }

  /** The counters now. */
  figures(): DispatcherFigures {
    let groups = 0;
    for (const states of this.orgs.values()) for (const s of states.values()) groups += s.groups.size;
    return {
      byKind: { webhook: { ...this.counts.webhook }, slack: { ...this.counts.slack } },
      groups,
      dropped: this.dropped,
    };
  }

  /** Resolves once no notification is being delivered (for tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** Cancels every timer and delivery and forgets all groups; resolves when deliveries in flight ended. */
  async stop(): Promise<void> {
    this.abort.abort();
    for (const states of this.orgs.values()) for (const s of states.values()) this.dropGroups(s);
    this.orgs.clear();
    await this.idle();
  }

  private receiversOf(org: string): readonly Receiver[] | null {
    try {
      return this.o.receiversFor(org);
    } catch (err) {
      this.warn(`receivers of org ${org}: ${(err as Error).message}`);
      return null;
    }
  }

  /** Brings the org's receiver states in line with `receivers`: new ones added, gone ones and regrouped ones reset. */
  private sync(org: string, receivers: readonly Receiver[]): Map<string, ReceiverState> {
    let states = this.orgs.get(org);
    if (states === undefined) {
      states = new Map();
      this.orgs.set(org, states);
    }
    const names = new Set(receivers.map((r) => r.name));
    for (const [name, s] of states) {
      if (!names.has(name)) {
        this.dropGroups(s);
        states.delete(name);
      }
    }
    for (const r of receivers) {
      const s = states.get(r.name);
      if (s === undefined) states.set(r.name, { config: r, groups: new Map(), alertCount: 0 });
      else {
        if (!sameGrouping(s.config, r)) this.dropGroups(s);
        s.config = r;
      }
    }
    if (states.size === 0) this.orgs.delete(org);
    return states;
  }

  private dropGroups(s: ReceiverState): void {
    for (const g of s.groups.values()) if (g.timer !== null) clearTimeout(g.timer);
    s.groups.clear();
    s.alertCount = 0;
  }

  private add(org: string, name: string, s: ReceiverState, alert: OutgoingAlert, print: string): void {
    const labels = groupLabelsOf(alert.labels, s.config.groupBy);
    const key = `${labelsText({ [ORG_LABEL]: org, receiver: name })}:${labelsText(labels)}`;
    let g = s.groups.get(key);
    if (g === undefined) {
      if (s.groups.size >= MAX_GROUPS_PER_RECEIVER || s.alertCount >= MAX_ALERTS_PER_RECEIVER) {
        this.dropped++;
        return;
      }
      g = {
        key,
        labels,
        alerts: new Map(),
        timer: null,
        lastFiring: null,
        lastResolved: new Set(),
        lastNotifiedMs: 0,
      };
      s.groups.set(key, g);
      this.schedule(org, name, g, s.config.groupWaitMs);
    }
    if (!g.alerts.has(print)) {
      if (s.alertCount >= MAX_ALERTS_PER_RECEIVER) {
        this.dropped++;
        return;
      }
      s.alertCount++;
    }
    g.alerts.set(print, alert);
  }

  private schedule(org: string, name: string, g: Group, delayMs: number): void {
    g.timer = setTimeout(() => {
      g.timer = null;
      const p = this.flush(org, name, g).catch((err) =>
        this.warn(`org ${org} receiver ${name}: ${(err as Error).message}`),
      );
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }, delayMs);
    g.timer.unref();
  }

  /** Alertmanager's decision: notify about new firing alerts, all resolved, newly resolved (send_resolved), or a
   * repeat of an unchanged firing group once repeat_interval passed. */
  private needsNotification(g: Group, r: Receiver, firing: Set<string>, resolved: Set<string>, now: number): boolean {
    if (g.lastFiring === null) return firing.size > 0;
    if (!isSubset(firing, g.lastFiring)) return true;
    if (firing.size === 0) return g.lastFiring.size > 0;
    if (r.sendResolved && !isSubset(resolved, g.lastResolved)) return true;
    return now - g.lastNotifiedMs >= r.repeatIntervalMs;
  }

  private async flush(org: string, name: string, g: Group): Promise<void> {
    const s = this.orgs.get(org)?.get(name);
    if (s === undefined || s.groups.get(g.key) !== g || this.abort.signal.aborted) return;
    // Reread the receiver: a change of URL, secret or timing counts from this notification on. When the receivers
    // cannot be read (a busy database), the group keeps its state and is looked at again an interval later.
    const receivers = this.receiversOf(org);
    if (receivers === null) {
      this.schedule(org, name, g, s.config.groupIntervalMs);
      return;
    }
    const current = receivers.find((r) => r.name === name);
    if (current === undefined || !sameGrouping(s.config, current)) {
      this.sync(org, receivers);
      return;
    }
    s.config = current;
    const now = this.now();
    const snapshot = new Map(g.alerts);
    const firing = new Set<string>();
    const resolved = new Set<string>();
    for (const [fp, a] of snapshot) (isResolved(a, now) ? resolved : firing).add(fp);
    let ok = true;
    if (this.needsNotification(g, current, firing, resolved, now)) {
      const shown = [...snapshot].filter(([fp]) => current.sendResolved || firing.has(fp)).map(([, a]) => a);
      if (shown.length > 0) ok = await this.send(org, current, g, shown, now);
      if (ok) {
        g.lastFiring = firing;
        g.lastResolved = resolved;
        g.lastNotifiedMs = now;
      }
    }
    if (ok) {
      // Resolved alerts are done once covered, unless the evaluator sent a newer version meanwhile.
      for (const fp of resolved) {
        if (g.alerts.get(fp) === snapshot.get(fp)) {
          g.alerts.delete(fp);
          s.alertCount--;
        }
      }
    }
    if (g.alerts.size === 0) s.groups.delete(g.key);
    else if (!this.abort.signal.aborted) this.schedule(org, name, g, current.groupIntervalMs);
  }

  private async send(
    org: string,
    r: Receiver,
    g: Group,
    alerts: readonly OutgoingAlert[],
    now: number,
  ): Promise<boolean> {
    const body = renderNotification(r.kind, {
      receiver: r.name,
      groupKey: g.key,
      groupLabels: g.labels,
      alerts,
      externalUrl: this.o.externalUrl,
      nowMs: now,
    });
    const result = await deliver(r.url, body, {
      policy: this.retry,
      secret: r.secret,
      signal: this.abort.signal,
      now: this.now,
    });
    // A delivery cut short by stop() is neither a success nor the receiver's failure.
    if (this.abort.signal.aborted) return false;
    const c = this.counts[r.kind];
    c.retries += result.attempts - 1;
    if (result.ok) c.delivered++;
    else {
      c.failed++;
      this.warn(
        `org ${org} receiver ${r.name}: notification failed after ${result.attempts} attempts: ${result.error}`,
      );
    }
    return result.ok;
  }
}
