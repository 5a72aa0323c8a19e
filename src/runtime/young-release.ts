// Gives back a thread's young generation once it has gone quiet after work that grew it: the metrics node's main
// thread after an ingest burst or a query's selections, a query worker after its jobs. V8 grows the new space (up to
// two 16 MiB semi-spaces on the main thread, 8 MiB in a query worker) while much of what it allocates survives, and
// shrinks it only at a collection that finds the allocation rate of its last 5 s low; a quiet thread allocates too
// little to collect, so it kept the grown space (32 MiB: about 330 bytes a series at 100,000 series). Young
// collections (a scavenge of a nearly empty new space: about a millisecond) let V8 shrink it: the first as soon as the
// event loop idles, which closes V8's record of the busy spell, and the next once that record has left V8's 5 s
// window, so the space is given back 5-6 s after the work ended. The next burst grows it again as before.

import { performance } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** How often the event loop and the new space are looked at, ms. */
export const YOUNG_RELEASE_CHECK_MS = 500;
/**
 * V8 shrinks the new space at a collection only when its allocation rate over the last 5,000 ms of collections is
 * low; the first collection after the busy spell closes that record, and the next one at least this long after it
 * sees only the quiet (in a trace of 1 s checks: shrunk 6 s after a burst; at 2 s checks, 8 s after).
 */
export const V8_RATE_WINDOW_MS = 5_000;
/** Collections tried after the first, once V8's window has passed, while the new space stays grown. */
const ATTEMPTS = 4;
/** Event-loop utilization (0..1) over one check below which the thread counts as quiet. */
export const QUIET_UTILIZATION = 0.02;
/** New space (bytes, committed) above which it counts as grown: V8 starts it at 1 MiB. */
const GROWN_NEW_SPACE_BYTES = 4 * 1024 * 1024;

/** What the release looks at and does; the defaults are this thread's. Tests give their own. */
export interface YoungReleaseProbes {
  /** Event-loop utilization (0..1) since the previous call (the first call: since the thread started). */
  utilization(): number;
  /** Bytes the new space has committed now. */
  newSpaceBytes(): number;
  /** Runs one young-generation collection. */
  collectYoung(): void;
  /** A monotonic clock, ms. */
  now(): number;
}

/** Attempts at making the collector's context while another thread may be toggling the process-wide flag. */
const COLLECTOR_TRIES = 3;

/** V8's `gc` of this thread (no argument: a full collection; `{ type: "minor" }`: a young one), or null. */
export function exposedGc(): ((options?: { type: string }) => void) | null {
  // `gc` exists only in contexts made while --expose-gc is set: one context is made with it, and the flag is unset
  // again so that no later context (a worker thread started afterwards) gets one. The node's own context has none.
  // The flag is the process's: a thread doing the same at once may unset it under this one, which then tries again.
  for (let i = 0; i < COLLECTOR_TRIES; i++) {
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("typeof gc === 'function' ? gc : null");
    setFlagsFromString("--no-expose-gc");
    if (typeof gc === "function") return gc as (options?: { type: string }) => void;
  }
  return null;
}

/** A young-generation collection of this thread, or null when V8 offers none to call. */
export function youngCollector(): (() => void) | null {
  const gc = exposedGc();
  return gc === null ? null : () => gc({ type: "minor" });
}

/** This thread's event-loop utilization (0..1) since the previous call (the first call: since now). */
export function loopUtilization(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const u = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return u;
  };
}

/** This thread's probes, or null when no young collection can be called. */
export function threadProbes(): YoungReleaseProbes | null {
  const collect = youngCollector();
  if (collect === null) return null;
  return {
    utilization: loopUtilization(),
    newSpaceBytes: () => getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0,
    collectYoung: collect,
    now: () => performance.now(),
  };
}

/**
 * Decides, check by check, when to collect: at the first quiet check after a busy one while the new space is grown
 * (this closes V8's record of the busy spell's allocation; it shrinks nothing yet), then at the quiet checks from
 * `V8_RATE_WINDOW_MS` after that collection on, while the new space stays grown, at most `ATTEMPTS` times; then not
 * again until the thread has been busy. Owned by one thread.
 */
export class YoungRelease {
  private readonly probes: YoungReleaseProbes;
  /** Whether a busy check came since the last release ended. */
  private armed = false;
  /** When the first collection after the busy spell ended (ms of `probes.now()`), or null before it. */
  private cutAt: number | null = null;
  private attempts = 0;
  private collections = 0;

  /** A release acting through `probes`. */
  constructor(probes: YoungReleaseProbes) {
    this.probes = probes;
  }

  /** One check; returns true when it collected. */
  check(): boolean {
    if (this.probes.utilization() >= QUIET_UTILIZATION) {
      this.armed = true;
      this.cutAt = null;
      this.attempts = ATTEMPTS;
      return false;
    }
    if (!this.armed) return false;
    if (this.probes.newSpaceBytes() <= GROWN_NEW_SPACE_BYTES) {
      this.armed = false;
      return false;
    }
    if (this.cutAt !== null && this.probes.now() - this.cutAt < V8_RATE_WINDOW_MS) return false;
    this.probes.collectYoung();
    this.collections++;
    if (this.cutAt === null) this.cutAt = this.probes.now();
    else if (--this.attempts === 0) this.armed = false;
    return true;
  }

  /** Collections run so far. */
  get count(): number {
    return this.collections;
  }
}

/**
 * Checks this thread every `YOUNG_RELEASE_CHECK_MS` until the returned function is called; the timer does not keep
 * the process alive. Does nothing when no young collection can be called.
 */
export function startYoungRelease(): () => void {
  const probes = threadProbes();
  if (probes === null) return () => {};
  const release = new YoungRelease(probes);
  return checkEvery(() => release.check(), YOUNG_RELEASE_CHECK_MS);
}

/** Calls `check` every `ms` until the returned function is called; the timer does not keep the process alive. */
export function checkEvery(check: () => void, ms: number): () => void {
  const timer = setInterval(check, ms);
  timer.unref();
  return () => clearInterval(timer);
}
