// The limits of TLS handshakes at one edge listener: a handshake gate (at most N handshakes at once, the others
// wait in a bounded queue for a bounded time) and per-key handshake rates (per server name, per client IP).

/** Most keys a RateLimiter tracks; the least recently used key is forgotten first (it starts again with a full bucket). */
const MAX_TRACKED_KEYS = 10_000;

interface Bucket {
  tokens: number;
  lastMs: number;
}

/**
 * A token bucket per key: `perSecond` handshakes a second, bursts of up to `perSecond`. Memory is bounded by
 * MAX_TRACKED_KEYS; times are `performance.now()` milliseconds.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly perSecond: number) {}

  /** Takes one token for `key`; false (and nothing taken) when its bucket is empty. */
  take(key: string, nowMs: number): boolean {
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= MAX_TRACKED_KEYS) this.buckets.delete(this.buckets.keys().next().value as string);
      b = { tokens: this.perSecond, lastMs: nowMs };
    } else {
      this.buckets.delete(key);
      b.tokens = Math.min(this.perSecond, b.tokens + ((nowMs - b.lastMs) / 1000) * this.perSecond);
      b.lastMs = nowMs;
    }
    // Re-inserted so that Map order is least recently used first.
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/** A connection waiting for a handshake slot. */
interface Waiter {
  readonly start: () => void;
  readonly refuse: () => void;
  timer: NodeJS.Timeout | null;
}

/** Limits of a HandshakeGate. */
export interface GateLimits {
  /** Most handshakes in progress at once. */
  readonly concurrent: number;
  /** Most connections waiting for a slot; more are refused at once. */
  readonly queue: number;
  /** Longest wait for a slot, ms; then the connection is refused. */
  readonly queueTimeoutMs: number;
}

/** What `enter` did with a connection: started it, queued it (cancel with the function), or refused it. */
export type GateEntry =
  | { readonly kind: "started" | "refused" }
  | { readonly kind: "queued"; readonly cancel: () => void };

/** Admits handshakes up to `concurrent` at once; each admitted handshake must call `leave` exactly once. */
export class HandshakeGate {
  private active = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private readonly limits: GateLimits) {}

  /** Handshakes in progress. */
  get inProgress(): number {
    return this.active;
  }

  /**
   * Runs `start` now if a slot is free, else queues it; `refuse` runs instead when the queue is full (synchronously)
   * or the wait times out. Exactly one of the two runs, unless the entry is cancelled first.
   */
  enter(start: () => void, refuse: () => void): GateEntry {
    if (this.active < this.limits.concurrent) {
      this.active++;
      start();
      return { kind: "started" };
    }
    if (this.waiting.length >= this.limits.queue) {
      refuse();
      return { kind: "refused" };
    }
    const w: Waiter = { start, refuse, timer: null };
    w.timer = setTimeout(() => {
      w.timer = null;
      if (this.drop(w)) refuse();
    }, this.limits.queueTimeoutMs);
    w.timer.unref();
    this.waiting.push(w);
    return { kind: "queued", cancel: () => this.cancel(w) };
  }

  /** A handshake ended (either way): its slot goes to the oldest waiter. */
  leave(): void {
    const next = this.waiting.shift();
    if (next === undefined) {
      this.active--;
      return;
    }
    if (next.timer !== null) clearTimeout(next.timer);
    next.start();
  }

  /** Refuses every waiter (the listener is closing). */
  close(): void {
    for (const w of this.waiting.splice(0)) {
      if (w.timer !== null) clearTimeout(w.timer);
      w.refuse();
    }
  }

  private cancel(w: Waiter): void {
    if (this.drop(w) && w.timer !== null) clearTimeout(w.timer);
  }

  private drop(w: Waiter): boolean {
    const i = this.waiting.indexOf(w);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    return true;
  }
}
