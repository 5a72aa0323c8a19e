// Instances left behind by a runner that could not stop them (its process was killed with SIGKILL, which no
// handler sees): their processes keep running, owned by nobody. A new runner, or the supervisor that killed the old
// one, finds them by the instance id every local instance carries in its environment (`FLY_ALLOC_ID`), which a
// reused pid cannot fake, and ends them: SIGTERM first, SIGKILL for those still there after a grace period.
// Linux only (it reads /proc); elsewhere it finds nothing.

import { readdirSync, readFileSync } from "node:fs";
import { parseStat } from "./procfs.ts";

/** Default time between SIGTERM and SIGKILL for orphans, ms. */
export const ORPHAN_GRACE_MS = 2_000;
/** How often the orphans are checked while they exit, ms. */
const ORPHAN_POLL_MS = 50;

/** The pids of processes whose environment holds `FLY_ALLOC_ID=<id>` for one of `ids` (this process excluded). */
export function findInstanceProcesses(ids: ReadonlySet<string>, procRoot = "/proc"): number[] {
  if (ids.size === 0) return [];
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return [];
  }
  const out: number[] = [];
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
      if (entry.startsWith("FLY_ALLOC_ID=") && ids.has(entry.slice("FLY_ALLOC_ID=".length))) {
        out.push(Number(name));
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
 * Ends every process of the instances `ids`: SIGTERM, then SIGKILL after `graceMs` for those still alive.
 * Resolves with the pids it signalled once they are gone (or were killed).
 */
export async function reapInstanceProcesses(
  ids: ReadonlySet<string>,
  options: { readonly graceMs?: number; readonly procRoot?: string } = {},
): Promise<number[]> {
  const pids = findInstanceProcesses(ids, options.procRoot).filter((pid) => signal(pid, "SIGTERM"));
  const deadline = Date.now() + (options.graceMs ?? ORPHAN_GRACE_MS);
  const alive = (pid: number) => running(pid, options.procRoot);
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, ORPHAN_POLL_MS));
    left = left.filter(alive);
  }
  for (const pid of left) signal(pid, "SIGKILL");
  return pids;
}
