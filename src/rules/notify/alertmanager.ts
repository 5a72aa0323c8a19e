// Sends alerts to Alertmanagers through their v2 API, the way Prometheus's notifier does: alerts wait in one bounded
// queue (the oldest are dropped when it is full), leave in batches of at most 64, and each batch is POSTed to every
// configured Alertmanager at once with a timeout. A batch that no Alertmanager accepted is counted as dropped; it is
// not retried, because the evaluator re-sends firing alerts every resend delay anyway. Nothing here ever blocks the
// caller: `enqueue` only appends and wakes the sender.

import type { OutgoingAlert } from "../types.ts";
import { alertForDelivery } from "./alert-labels.ts";

/** Alerts the queue holds at most; past it the oldest are dropped. Prometheus's default. */
export const DEFAULT_QUEUE_CAPACITY = 10_000;
/** Most alerts in one POST. Prometheus's batch size. */
export const MAX_BATCH = 64;
/** How long one POST to one Alertmanager may take, ms. */
export const DEFAULT_SEND_TIMEOUT_MS = 10_000;
/** The path of Alertmanager's v2 alert endpoint, below the configured base URL. */
const ALERTS_PATH = "api/v2/alerts";

/** Options of {@link AlertmanagerNotifier}. */
export interface AlertmanagerNotifierOptions {
  /** Base URLs of the Alertmanagers (`http://host:9093` or with a path prefix); every batch goes to each. */
  readonly urls: readonly string[];
  /** Labels every alert carries unless it has its own of that name (`org` overrides both). */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /** Default {@link DEFAULT_QUEUE_CAPACITY}. */
  readonly queueCapacity?: number;
  /** Default {@link DEFAULT_SEND_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** Told of each failed POST (one line, no alert content). */
  readonly warn?: (line: string) => void;
}

/** Counters of one Alertmanager. Latency in seconds, summed over every POST (successful or not). */
export interface AlertmanagerFigures {
  readonly url: string;
  /** Alerts an Alertmanager accepted. */
  readonly sent: number;
  /** Alerts in POSTs that failed (network error, timeout, non-2xx). */
  readonly errors: number;
  readonly latencySeconds: number;
  readonly posts: number;
}

/** The notifier's figures at one moment, for `/metrics`. */
export interface NotifierFigures {
  readonly queueLength: number;
  readonly queueCapacity: number;
  /** Alerts dropped: pushed out of a full queue, or in a batch no Alertmanager accepted. */
  readonly dropped: number;
  readonly alertmanagers: readonly AlertmanagerFigures[];
}

interface Target {
  readonly url: string;
  readonly endpoint: string;
  sent: number;
  errors: number;
  latencySeconds: number;
  posts: number;
}

/** The JSON of one alert in Alertmanager v2's postable form. */
function postable(a: OutgoingAlert): Record<string, unknown> {
  return {
    labels: a.labels,
    annotations: a.annotations,
    startsAt: new Date(a.startsAtMs).toISOString(),
    endsAt: new Date(a.endsAtMs).toISOString(),
    generatorURL: a.generatorURL,
  };
}

/** The URL alerts are POSTed to for the Alertmanager at `base`. */
export function alertsEndpoint(base: string): string {
  return base.endsWith("/") ? `${base}${ALERTS_PATH}` : `${base}/${ALERTS_PATH}`;
}

/** The Alertmanager client of one metrics node; owns its queue until {@link AlertmanagerNotifier.stop}. */
export class AlertmanagerNotifier {
  private readonly targets: Target[];
  private readonly external: Readonly<Record<string, string>>;
  private readonly capacity: number;
  private readonly timeoutMs: number;
  private readonly warn: (line: string) => void;
  private queue: OutgoingAlert[] = [];
  private dropped = 0;
  private sending: Promise<void> | null = null;
  private readonly abort = new AbortController();

  constructor(o: AlertmanagerNotifierOptions) {
    this.targets = o.urls.map((url) => ({
      url,
      endpoint: alertsEndpoint(url),
      sent: 0,
      errors: 0,
      latencySeconds: 0,
      posts: 0,
    }));
    this.external = o.externalLabels ?? {};
    this.capacity = o.queueCapacity ?? DEFAULT_QUEUE_CAPACITY;
    this.timeoutMs = o.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
    this.warn = o.warn ?? (() => {});
  }

  /** Queues `org`'s alerts (with `org` and the external labels added) and wakes the sender; never blocks. */
  enqueue(org: string, alerts: readonly OutgoingAlert[]): void {
    if (this.abort.signal.aborted || alerts.length === 0 || this.targets.length === 0) return;
    for (const a of alerts) this.queue.push(alertForDelivery(org, a, this.external));
    const over = this.queue.length - this.capacity;
    if (over > 0) {
      this.queue.splice(0, over);
      this.dropped += over;
    }
    this.sending ??= this.drain().finally(() => {
      this.sending = null;
    });
  }

  /** The counters and the queue's length now. */
  figures(): NotifierFigures {
    return {
      queueLength: this.queue.length,
      queueCapacity: this.capacity,
      dropped: this.dropped,
      alertmanagers: this.targets.map(({ url, sent, errors, latencySeconds, posts }) => ({
        url,
        sent,
        errors,
        latencySeconds,
        posts,
      })),
    };
  }

  /** Resolves once the queue is empty and no POST is in flight (for tests and orderly shutdown). */
  async idle(): Promise<void> {
    while (this.sending !== null) await this.sending;
  }

  /** Drops what is queued, aborts POSTs in flight and accepts no more alerts; resolves when the sender stopped. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.queue = [];
    await this.idle();
  }

  private async drain(): Promise<void> {
    // Starts after the current task, so alerts queued together (several orgs, several groups) share batches.
    await Promise.resolve();
    while (this.queue.length > 0 && !this.abort.signal.aborted) {
      const batch = this.queue.splice(0, MAX_BATCH);
      const body = JSON.stringify(batch.map(postable));
      const results = await Promise.all(this.targets.map((t) => this.post(t, body, batch.length)));
      if (!results.includes(true) && !this.abort.signal.aborted) this.dropped += batch.length;
    }
  }

  private async post(t: Target, body: string, count: number): Promise<boolean> {
    const started = performance.now();
    let ok = false;
    try {
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.timeoutMs)]);
      const r = await fetch(t.endpoint, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal,
      });
      await r.body?.cancel();
      ok = r.ok;
      if (!ok) this.warn(`alertmanager ${t.url}: HTTP ${r.status} for ${count} alerts`);
    } catch (err) {
      if (!this.abort.signal.aborted) this.warn(`alertmanager ${t.url}: ${(err as Error).message}`);
    }
    t.posts++;
    t.latencySeconds += (performance.now() - started) / 1000;
    if (ok) t.sent += count;
    else t.errors += count;
    return ok;
  }
}
