// Room for the old generation of a process whose heap is small. V8 starts incremental marking as soon as the room
// left under its old-generation limit is less than what the young generation may promote, and for a small heap with
// a cheap GC it sets that limit only a little above the live size: a metrics node with ~23 MiB live (16 MiB
// semi-spaces; 23 MiB of room still started marking) ran a full mark-compact after about every scavenge under a
// steady stream of queries, most of its helper threads' CPU. While the live heap is small, this asks V8 (its
// `--heap-growing-percent`, read at each full GC) for a limit at least HEADROOM_BYTES above the live size; from
// LARGE_HEAP_BYTES of live heap up, V8's own sizing is left alone, so a node holding many series keeps its usual
// memory footprint. The flag is process-wide: worker threads' heaps grow by the same factor, within their limits.

import { constants, PerformanceObserver } from "node:perf_hooks";
import v8 from "node:v8";

/** Room asked for above the live heap after a full GC, bytes: more than two 16 MiB semi-spaces. */
export const HEADROOM_BYTES = 40 * 1024 * 1024;
/** Live heap (bytes, after a full GC) from which V8's own growing factor is used again. */
export const LARGE_HEAP_BYTES = HEADROOM_BYTES;
/** Largest growth asked for, percent over the live size: V8's own largest growing factor is 4. */
const MAX_PERCENT = 300;

/** The `--heap-growing-percent` for a live heap of `liveBytes` after a full GC: 0 (V8 decides) for a large heap. */
export function headroomPercent(liveBytes: number): number {
  if (!(liveBytes < LARGE_HEAP_BYTES)) return 0;
  return Math.min(MAX_PERCENT, Math.ceil((100 * HEADROOM_BYTES) / Math.max(1, liveBytes)));
}

let holders = 0;
let observer: PerformanceObserver | null = null;
let percent = -1;

// Sets the flag for the heap's size now (read right after a full GC, it is about the live size).
function apply(): void {
  const next = headroomPercent(v8.getHeapStatistics().used_heap_size);
  if (next === percent) return;
  percent = next;
  v8.setFlagsFromString(`--heap-growing-percent=${next}`);
}

/**
 * Keeps the headroom while at least one holder does: call once per long-lived server in the process, and the
 * returned function when it stops (the last release gives V8 its own sizing back).
 */
export function holdHeapHeadroom(): () => void {
  holders++;
  if (observer === null) {
    observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const detail = (entry as { readonly detail?: { readonly kind?: number } }).detail;
        if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
          apply();
          return;
        }
      }
    });
    observer.observe({ entryTypes: ["gc"] });
    apply();
  }
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    holders--;
    if (holders > 0 || observer === null) return;
    observer.disconnect();
    observer = null;
    percent = -1;
    v8.setFlagsFromString("--heap-growing-percent=0");
  };
}
