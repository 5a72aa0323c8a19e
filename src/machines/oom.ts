// Out-of-memory evidence for an instance's exit. A process killed by the kernel's OOM killer exits by SIGKILL,
// like any `kill -9`; no per-process record of the cause survives in /proc. The heuristic used:
//
//   exit by SIGKILL that the runner did not send
//   AND the `oom_kill` counter of the instance's memory cgroup grew since the last baseline
//
// The counter is the first readable of: cgroup v2 `memory.events` (hierarchical: kills in the cgroup or below),
// cgroup v1 `memory.oom_control` (kills in that memory cgroup), each at the process's cgroup path or, when that
// path is not visible (a cgroup namespace or a container's mount), at the mount's root; else `/proc/vmstat`
// (host-wide kills since boot). The baseline is taken at spawn and refreshed after every health probe, so the
// window is one check interval. A false positive needs another process of the same cgroup (or, with the vmstat
// fallback, of the host) to be OOM-killed in that window while someone else SIGKILLs the instance; with no readable
// counter at all, no exit is called an OOM kill.

import { existsSync } from "node:fs";
import { parseSpaced, readProc } from "./procfs.ts";

/** Where the OOM-kill counter lives. */
export interface OomSource {
  readonly path: string;
}

/** Roots of the file systems read; tests point them at fixtures. */
export interface OomRoots {
  readonly procRoot?: string;
  readonly cgroupRoot?: string;
}

/** Finds the counter file for `pid`'s memory cgroup, or null when none is readable. */
export function findOomSource(pid: number, roots: OomRoots = {}): OomSource | null {
  const proc = roots.procRoot ?? "/proc";
  const cg = roots.cgroupRoot ?? "/sys/fs/cgroup";
  const candidates: string[] = [];
  const text = readProc(`${proc}/${pid}/cgroup`) ?? "";
  for (const line of text.split("\n")) {
    const m = /^([0-9]+):([^:]*):(.*)$/.exec(line);
    if (m === null) continue;
    const path = m[3] === "/" ? "" : m[3];
    if (m[1] === "0" && m[2] === "") {
      for (const mount of [cg, `${cg}/unified`]) {
        candidates.push(`${mount}${path}/memory.events`, `${mount}/memory.events`);
      }
    } else if (m[2].split(",").includes("memory")) {
      candidates.push(`${cg}/memory${path}/memory.oom_control`, `${cg}/memory/memory.oom_control`);
    }
  }
  candidates.push(`${proc}/vmstat`);
  for (const path of candidates) {
    if (existsSync(path) && readOomKills({ path }) !== null) return { path };
  }
  return null;
}

/** The current OOM-kill count at `source`; null when unreadable. */
export function readOomKills(source: OomSource): number | null {
  const text = readProc(source.path);
  if (text === undefined) return null;
  return parseSpaced(text).get("oom_kill") ?? null;
}

/** Tracks one process's OOM evidence: a baseline count and the test at exit. */
export class OomWatch {
  private baseline: number | null;

  constructor(private readonly source: OomSource | null) {
    this.baseline = source === null ? null : readOomKills(source);
  }

  /** Moves the baseline to the current count (called while the process is known to be alive). */
  refresh(): void {
    if (this.source !== null) this.baseline = readOomKills(this.source) ?? this.baseline;
  }

  /** Whether an exit by `signal` counts as an OOM kill; `sentByRunner` is true when the runner sent SIGKILL. */
  judge(signal: NodeJS.Signals | null, sentByRunner: boolean): boolean {
    if (signal !== "SIGKILL" || sentByRunner || this.source === null || this.baseline === null) return false;
    const now = readOomKills(this.source);
    return now !== null && now > this.baseline;
  }
}
