// Gives back the main thread's young generation once the metrics node has gone quiet after work that grew it. V8
// grows the new space (up to two 16 MiB semi-spaces) while much of what it allocates survives, as when a remote
// write creates many series, and shrinks it only at a collection that finds the allocation rate low; a node that has
// gone quiet allocates too little to collect, so it kept 32 MiB of new space, about 330 bytes a series at 100,000
// series. One young-generation collection (a scavenge of a nearly empty new space: about a millisecond) once the
// event loop has idled for two checks in a row lets V8 shrink it; the next burst grows it again as before. A few
// more are tried, one a check, while V8 still finds the rate too high to shrink (the burst inside its window).

import { performance } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** How often the event loop and the new space are looked at, ms. */
export const YOUNG_RELEASE_CHECK_MS = 2_000;
/**
 * Quiet checks in a row before the first collection: V8 judges the allocation rate over its last 5 s, so the quiet
 * must have lasted about that long for the collection to shrink anything.
 */
const QUIET_CHECKS = 2;
/** Collections tried after one busy spell while the new space stays grown. */
const ATTEMPTS = 4;
/** Event-loop utilization (0..1) over one check below which the node counts as quiet. */
const QUIET_UTILIZATION = 0.02;
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
}

/** A young-generation collection of this thread, or null when V8 offers none to call. */
export function youngCollector(): (() => void) | null {
  // `gc` exists only in contexts made while --expose-gc is set: one context is made with it, and the flag is unset
  // again so that no later context (a worker thread started afterwards) gets one. The node's own context has none.
  setFlagsFromString("--expose-gc");
  const gc: unknown = runInNewContext("typeof gc === 'function' ? gc : null");
  setFlagsFromString("--no-expose-gc");
  if (typeof gc !== "function") return null;
  return () => gc({ type: "minor" });
}

/** This thread's probes, or null when no young collection can be called. */
export function threadProbes(): YoungReleaseProbes | null {
  const collect = youngCollector();
  if (collect === null) return null;
  let last = performance.eventLoopUtilization();
  return {
    utilization: () => {
      const now = performance.eventLoopUtilization();
      const u = performance.eventLoopUtilization(now, last).utilization;
      last = now;
      return u;
    },
    newSpaceBytes: () => getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0,
    collectYoung: collect,
  };
}

/**
 * Decides, check by check, when to collect: after a busy check, once `QUIET_CHECKS` quiet ones follow, at each quiet
 * check while the new space is grown, at most `ATTEMPTS` times; then not again until the node has been busy. Owned
 * by one thread.
 */
export class YoungRelease {
  private readonly probes: YoungReleaseProbes;
  private quiet = 0;
  private attempts = 0;
  private collections = 0;

  /** A release acting through `probes`. */
  constructor(probes: YoungReleaseProbes) {
    this.probes = probes;
  }

  /** One check; returns true when it collected. */
  check(): boolean {
    if (this.probes.utilization() >= QUIET_UTILIZATION) {
      this.quiet = 0;
      this.attempts = ATTEMPTS;
      return false;
    }
    this.quiet++;
    if (this.attempts === 0 || this.quiet < QUIET_CHECKS) return false;
    if (this.probes.newSpaceBytes() <= GROWN_NEW_SPACE_BYTES) {
      this.attempts = 0;
      return false;
    }
    this.attempts--;
    this.probes.collectYoung();
    this.collections++;
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
  const timer = setInterval(() => release.check(), YOUNG_RELEASE_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
