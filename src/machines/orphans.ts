// Instances left behind by a runner that could not stop them (its process was killed with SIGKILL, which no
// handler sees): their processes keep running, owned by nobody. A new runner, or the supervisor that killed the old
// one, finds them by the instance id every local instance carries in its environment (`FLY_ALLOC_ID`), which a
// reused pid cannot fake, and ends them as their app asks to be stopped (its fly.toml's `kill_signal`, SIGTERM by
// default), then SIGKILL for those still there after its `kill_timeout` or a default grace period.
// Linux only (it reads /proc); elsewhere it finds nothing.

import { readdirSync, readFileSync } from "node:fs";
import { parseStat } from "./procfs.ts";

/** Default time between the stop signal and SIGKILL for orphans, ms. */
const ORPHAN_GRACE_MS = 2_000;
/** How often the orphans are checked while they exit, ms. */
const ORPHAN_POLL_MS = 50;

/** How an instance's processes are stopped: `signal` first, SIGKILL after `graceMs` (ms) for those still running. */
export interface StopPlan {
  readonly signal: NodeJS.Signals;
  readonly graceMs: number;
}

/** A process of a local instance: its pid and the instance id its environment names. */
export interface InstanceProcess {
  readonly pid: number;
  readonly id: string;
}

/** The processes whose environment holds `FLY_ALLOC_ID=<id>` for one of `ids`, with that id (this process excluded). */
export function instanceProcesses(ids: ReadonlySet<string>, procRoot = "/proc"): InstanceProcess[] {
  if (ids.size === 0) return [];
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return [];
  }
  const out: InstanceProcess[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let env: string;
    try {
      env = readFileSync(`${procRoot}/${name}/environ`, "latin1");
    } catch {
      // Gone since the listing, or not ours to read.
      continue;
    }
    for (const entry of env.split("\0")) {
      const id = entry.startsWith("FLY_ALLOC_ID=") ? entry.slice("FLY_ALLOC_ID=".length) : null;
      if (id !== null && ids.has(id)) {
        out.push({ pid: Number(name), id });
        break;
      }
    }
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** True while `pid` runs: it exists and is not a zombie (an exited orphan waiting for whoever adopted it to reap it). */
export function running(pid: number, procRoot = "/proc"): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    return parseStat(readFileSync(`${procRoot}/${pid}/stat`, "latin1")).state !== "Z";
  } catch {
    // No /proc entry: gone since the signal check, or a system without /proc (then it exists).
    return process.platform !== "linux";
  }
}

/**
 * Ends every process of the instances `ids`: the signal of `stopOf(id)` (SIGTERM when it gives none), then SIGKILL
 * for those still running after its grace period (`graceMs`, default ORPHAN_GRACE_MS, when it gives none).
 * Resolves with the pids it signalled once they are gone (or were killed).
 */
export async function reapInstanceProcesses(
  ids: ReadonlySet<string>,
  options: {
    readonly graceMs?: number;
    readonly procRoot?: string;
    readonly stopOf?: (id: string) => StopPlan | undefined;
  } = {},
): Promise<number[]> {
  const started = Date.now();
  const signalled: { readonly pid: number; readonly until: number }[] = [];
  for (const { pid, id } of instanceProcesses(ids, options.procRoot)) {
    const plan = options.stopOf?.(id);
    if (!signal(pid, plan?.signal ?? "SIGTERM")) continue;
    signalled.push({ pid, until: started + (plan?.graceMs ?? options.graceMs ?? ORPHAN_GRACE_MS) });
  }
  const alive = (pid: number) => running(pid, options.procRoot);
  let left = signalled.filter((p) => alive(p.pid));
  while (left.length > 0) {
    const now = Date.now();
    for (const p of left) if (now >= p.until) signal(p.pid, "SIGKILL");
    left = left.filter((p) => now < p.until);
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, ORPHAN_POLL_MS));
    left = left.filter((p) => alive(p.pid));
  }
  return signalled.map((p) => p.pid);
}
