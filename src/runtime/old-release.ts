// Gives back a thread's old generation once it has gone quiet after work that grew it: the ingest decode worker after
// a burst of new series. Such a burst leaves garbage behind that V8 keeps until its next full collection: typed arrays
// replaced when they doubled (their old copies stay resident), and old space pages left fragmented by the burst's
// short-lived objects. V8's memory reducer did not run on a thread that went idle after ingestion (30 s idle in the
// traces), so it held that garbage until more work came. One full collection (a mark-compact, which also frees the
// array buffers nothing holds) once the event loop is quiet gives it back. It runs only at a quiet check after a busy
// one, and only when the thread's old space and array buffers have grown a lot since its last full collection: the
// growth rule asks for 32 MiB and a tenth more than was kept. The metrics node's main thread does not run it: the
// collection stops the thread for its whole length (0.1-0.6 s at 1,000,000 series), and queries arriving meanwhile
// would wait for it.

import { getHeapSpaceStatistics } from "node:v8";
import { checkEvery, exposedGc, loopUtilization, QUIET_UTILIZATION } from "./young-release.ts";

/** How often the event loop and the old generation are looked at, ms. */
export const OLD_RELEASE_CHECK_MS = 500;
/** Growth (bytes) of the old generation and array buffers over the baseline below which nothing is collected. */
export const MIN_GROWTH_BYTES = 32 * 1024 * 1024;
/**
 * Growth over the baseline, as a share of it, below which nothing is collected. At half (the first version) a node
 * of 1,000,000 series collected after the burst that made them and never after the next rounds, whose garbage
 * (about 40 MiB) then stayed; a tenth lets one collection follow each such round, about what V8's own full
 * collections would do under that work, but while the thread is quiet.
 */
export const GROWTH_RATIO = 0.1;

/** What the release looks at and does; the defaults are this thread's. Tests give their own. */
export interface OldReleaseProbes {
  /** Event-loop utilization (0..1) since the previous call (the first call: since the probes were made). */
  utilization(): number;
  /** Bytes the old generation (old and large-object spaces, committed) and the array buffers hold now. */
  retainedBytes(): number;
  /** Runs one full (mark-compact) collection. */
  collectFull(): void;
}

/** A full collection of this thread, or null when V8 offers none to call. */
export function fullCollector(): (() => void) | null {
  // Called with no argument, `gc` is a full, compacting collection ({ type: "major" } is not, in Node 20's V8).
  const gc = exposedGc();
  return gc === null ? null : () => gc();
}

/** Bytes of this thread's old and large-object spaces (committed) and its array buffers. */
export function threadRetainedBytes(): number {
  let bytes = process.memoryUsage().arrayBuffers;
  for (const s of getHeapSpaceStatistics()) {
    if (s.space_name === "old_space" || s.space_name === "large_object_space") bytes += s.space_size;
  }
  return bytes;
}

/** This thread's probes, or null when no full collection can be called. */
export function threadOldProbes(): OldReleaseProbes | null {
  const collect = fullCollector();
  if (collect === null) return null;
  return {
    utilization: loopUtilization(),
    retainedBytes: threadRetainedBytes,
    collectFull: collect,
  };
}

/**
 * Decides, check by check, when to collect: at the first quiet check after a busy one, when the retained bytes
 * exceed the baseline (the least seen since the last full collection, or since the start) by `MIN_GROWTH_BYTES` and
 * by `GROWTH_RATIO` of it; then not again until the thread has been busy. Owned by one thread.
 */
export class OldRelease {
  private readonly probes: OldReleaseProbes;
  /** Whether a busy check came since the last quiet one. */
  private armed = false;
  /** The least retained bytes seen since the last full collection (or the start); null before the first check. */
  private baseline: number | null = null;
  private collections = 0;

  /** A release acting through `probes`. */
  constructor(probes: OldReleaseProbes) {
    this.probes = probes;
  }

  /** One check; returns true when it collected. */
  check(): boolean {
    const bytes = this.probes.retainedBytes();
    if (this.baseline === null || bytes < this.baseline) this.baseline = bytes;
    if (this.probes.utilization() >= QUIET_UTILIZATION) {
      this.armed = true;
      return false;
    }
    if (!this.armed) return false;
    this.armed = false;
    if (bytes - this.baseline < Math.max(MIN_GROWTH_BYTES, GROWTH_RATIO * this.baseline)) return false;
    this.probes.collectFull();
    this.collections++;
    this.baseline = this.probes.retainedBytes();
    return true;
  }

  /** Full collections run so far. */
  get count(): number {
    return this.collections;
  }
}

/** Checks this thread every `OLD_RELEASE_CHECK_MS` until the returned function is called; a no-op without `gc`. */
export function startOldRelease(): () => void {
  const probes = threadOldProbes();
  if (probes === null) return () => {};
  const release = new OldRelease(probes);
  return checkEvery(() => release.check(), OLD_RELEASE_CHECK_MS);
}
