// Reading Linux /proc for an instance's process tree and for its host. Parsers are pure functions over file text
// (tested on fixtures); readers tolerate processes that vanish between listing and reading (ENOENT, ESRCH) and
// files they may not read (EACCES): such a process or figure is skipped. All reads are synchronous and small,
// made at collection time.

import { readdirSync, readFileSync } from "node:fs";

/**
 * Clock ticks per second of `/proc/<pid>/stat` times. Linux reports them in USER_HZ, which is 100 on every
 * mainstream architecture (Node cannot ask sysconf), so one tick is one centisecond.
 */
export const USER_HZ = 100;

/** The fields of `/proc/<pid>/stat` we use; times in clock ticks ({@link USER_HZ}). */
export interface ProcStat {
  readonly pid: number;
  readonly comm: string;
  /** One letter: R, S, D, Z, T, ... */
  readonly state: string;
  readonly ppid: number;
  readonly pgrp: number;
  readonly utime: number;
  readonly stime: number;
  /** Time of waited-for (reaped) children. */
  readonly cutime: number;
  readonly cstime: number;
}

/** Parses `/proc/<pid>/stat`; `comm` may hold spaces and parentheses, so fields are found after the last `)`. */
export function parseStat(text: string): ProcStat {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  const f = text
    .slice(close + 2)
    .trim()
    .split(" ");
  // f[0] is field 3 (state) of proc(5); field n is f[n - 3].
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: f[0],
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    utime: Number(f[11]),
    stime: Number(f[12]),
    cutime: Number(f[13]),
    cstime: Number(f[14]),
  };
}

/** Parses `Key: value [kB]` lines (`status`, `meminfo`, `smaps_rollup`); kB values become bytes. */
export function parseKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z0-9_()]+):\s+([0-9]+)(\s+kB)?\s*$/.exec(line);
    if (m !== null) out.set(m[1], Number(m[2]) * (m[3] === undefined ? 1 : 1024));
  }
  return out;
}

/** Parses `key value` lines (`/proc/<pid>/io`, `/proc/vmstat`, cgroup `memory.events`); `key: value` too. */
export function parseSpaced(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z0-9_]+):?\s+([0-9]+)\s*$/.exec(line);
    if (m !== null) out.set(m[1], Number(m[2]));
  }
  return out;
}

/** The soft "Max open files" of `/proc/<pid>/limits`; null when unlimited or absent. */
export function parseOpenFilesLimit(text: string): number | null {
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (m === null || m[1] === "unlimited") return null;
  return Number(m[1]);
}

/** The 1, 5 and 15 minute load averages of `/proc/loadavg`. */
export function parseLoadavg(text: string): [number, number, number] {
  const f = text.trim().split(/\s+/);
  return [Number(f[0]), Number(f[1]), Number(f[2])];
}

/** Reads a /proc file, or undefined when the process is gone or the file is not readable. */
export function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ESRCH" || code === "EACCES" || code === "EPERM" || code === "ENOTDIR";
}

function listDir(path: string): string[] | undefined {
  try {
    return readdirSync(path);
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

/**
 * `root` and its live descendants, root first; empty when `root` is gone. Children come from every thread's
 * `task/<tid>/children` file (a process's children are listed under the thread that forked them); kernels without
 * those files fall back to one scan of every process's parent id.
 */
export function processTree(root: number, procRoot = "/proc"): number[] {
  if (readProc(`${procRoot}/${root}/stat`) === undefined) return [];
  const tids = listDir(`${procRoot}/${root}/task`);
  if (tids === undefined || tids.length === 0) return [root];
  if (readProc(`${procRoot}/${root}/task/${tids[0]}/children`) === undefined) return scanTree(root, procRoot);
  const out: number[] = [];
  const seen = new Set<number>();
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    out.push(pid);
    for (const tid of listDir(`${procRoot}/${pid}/task`) ?? []) {
      const kids = readProc(`${procRoot}/${pid}/task/${tid}/children`);
      if (kids === undefined) continue;
      for (const k of kids.split(" ")) if (k.trim() !== "") queue.push(Number(k));
    }
  }
  return out;
}

function scanTree(root: number, procRoot: string): number[] {
  const children = new Map<number, number[]>();
  for (const name of listDir(procRoot) ?? []) {
    if (!/^[0-9]+$/.test(name)) continue;
    const text = readProc(`${procRoot}/${name}/stat`);
    if (text === undefined) continue;
    const s = parseStat(text);
    const list = children.get(s.ppid);
    if (list === undefined) children.set(s.ppid, [s.pid]);
    else list.push(s.pid);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Usage summed over a process tree. Times in clock ticks; sizes in bytes. */
export interface TreeUsage {
  /** Processes read. */
  readonly processes: number;
  /** utime + cutime of every process (reaped children's time lands in their parent's cutime). */
  readonly userTicks: number;
  readonly systemTicks: number;
  /** VmRSS, RssAnon, RssFile, RssShmem and VmSwap of `status`; shared pages count once per process. */
  readonly rss: number;
  readonly rssAnon: number;
  readonly rssFile: number;
  readonly rssShmem: number;
  readonly swap: number;
  /** Proportional set size of `smaps_rollup`: shared pages split among the processes sharing them. */
  readonly pss: number;
  /** `read_bytes`/`write_bytes` of `io`: bytes fetched from / sent to the storage layer (reaped children included). */
  readonly readBytes: number;
  readonly writeBytes: number;
  /** Entries of `fd/`. */
  readonly openFds: number;
}

/** Sums the usage of `root`'s process tree; null when `root` is gone. */
export function readTreeUsage(root: number, procRoot = "/proc"): TreeUsage | null {
  const pids = processTree(root, procRoot);
  if (pids.length === 0) return null;
  const u = {
    processes: 0,
    userTicks: 0,
    systemTicks: 0,
    rss: 0,
    rssAnon: 0,
    rssFile: 0,
    rssShmem: 0,
    swap: 0,
    pss: 0,
    readBytes: 0,
    writeBytes: 0,
    openFds: 0,
  };
  for (const pid of pids) {
    const dir = `${procRoot}/${pid}`;
    const stat = readProc(`${dir}/stat`);
    if (stat === undefined) continue;
    const s = parseStat(stat);
    u.processes++;
    u.userTicks += s.utime + s.cutime;
    u.systemTicks += s.stime + s.cstime;
    const status = parseKeyed(readProc(`${dir}/status`) ?? "");
    u.rss += status.get("VmRSS") ?? 0;
    u.rssAnon += status.get("RssAnon") ?? 0;
    u.rssFile += status.get("RssFile") ?? 0;
    u.rssShmem += status.get("RssShmem") ?? 0;
    u.swap += status.get("VmSwap") ?? 0;
    u.pss += parseKeyed(readProc(`${dir}/smaps_rollup`) ?? "").get("Pss") ?? 0;
    const io = parseSpaced(readProc(`${dir}/io`) ?? "");
    u.readBytes += io.get("read_bytes") ?? 0;
    u.writeBytes += io.get("write_bytes") ?? 0;
    u.openFds += listDir(`${dir}/fd`)?.length ?? 0;
  }
  return u;
}

/** The soft open-files limit of `pid`; null when unknown or unlimited. */
export function readOpenFilesLimit(pid: number, procRoot = "/proc"): number | null {
  const text = readProc(`${procRoot}/${pid}/limits`);
  return text === undefined ? null : parseOpenFilesLimit(text);
}

/** The host's `/proc/meminfo` in bytes; empty when unreadable. */
export function readHostMemory(procRoot = "/proc"): Map<string, number> {
  return parseKeyed(readProc(`${procRoot}/meminfo`) ?? "");
}

/** The host's load averages; null when unreadable. */
export function readLoadavg(procRoot = "/proc"): [number, number, number] | null {
  const text = readProc(`${procRoot}/loadavg`);
  return text === undefined ? null : parseLoadavg(text);
}
