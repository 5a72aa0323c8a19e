// The supervisor of `contrail up`: runs each role as a child process of the same Node.js and the same code, prefixes
// its output lines with its role, restarts it with backoff when it dies (first restart fast, then doubling to a cap,
// reset after a run of 10 s) and logs each death with its cause and each restart; it stops them in order with a
// deadline and SIGKILLs what is left.
//
// Children stay in the supervisor's session and process group: a session of their own (setsid) would also put each
// in a CPU scheduling group of its own under Linux's autogroup, which on a busy machine multiplied the edge's p50
// latency several times. So a Ctrl-C in the terminal reaches them too; supervised roles ignore SIGINT and SIGHUP
// and stop on the supervisor's SIGTERM, in its order. Each child also stops by itself when the supervisor's IPC
// channel closes, so a supervisor killed without warning leaves nothing running.

import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { backoffDelay, type RestartOptions } from "../machines/index.ts";
import { isReadyMessage, type ReadyInfo } from "./child.ts";

/** One role to run. */
export interface ChildSpec {
  /** Its name in logs and in `stopOrder`: `serve`, `edge`, `agent`. */
  readonly role: string;
  /** Arguments after the entry module; `last` is the ready info of its previous run (null before the first). */
  argv(last: ReadyInfo | null): readonly string[];
}

/** Options of a {@link Supervisor}. */
export interface SupervisorOptions {
  /** File URL or path of the module children run (it calls `runRole` for the role its arguments name). */
  readonly entry: string;
  readonly children: readonly ChildSpec[];
  /** Roles stopped one group after another (each group's members at once); roles not listed stop last. */
  readonly stopOrder?: readonly (readonly string[])[];
  readonly restart?: RestartOptions;
  /** Time from the stop request until whatever still runs gets SIGKILL, ms. */
  readonly stopTimeoutMs?: number;
  /** A child's stdout line, prefixed with its role. */
  readonly out: (line: string) => void;
  /** A child's stderr line, prefixed with its role; and the supervisor's reports of deaths and restarts. */
  readonly err: (line: string) => void;
  /** Called each time a child reports ready; `restarts` is 0 for its first run. */
  readonly onReady?: (role: string, info: ReadyInfo, restarts: number) => void;
}

/** Starts a child process for `argv`. */
type Launch = (argv: readonly string[]) => ChildProcess;

/**
 * Restart backoff of the roles: the first restart after 0.1 s, doubling to 30 s while a role keeps dying, back to
 * 0.1 s once a run lasted 10 s (long enough to have started and served: not a crash loop).
 */
export const ROLE_RESTART: RestartOptions = { initialDelayMs: 100, maxDelayMs: 30_000, resetAfterMs: 10_000 };
/** Default time the children get to stop before SIGKILL, ms. */
export const ROLE_STOP_TIMEOUT_MS = 10_000;

/** How a child ended: `code 1`, `signal SIGKILL`. */
function exitCause(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
}

/**
 * The Node.js arguments a child needs before `entry`: this process's own (a test runner's flags left out); when
 * `entry` is TypeScript and no loader is given, the tsx loader, resolved from this module so that it works from any
 * working directory; and `--enable-source-maps` when this process has source maps on (bin/contrail.js turns them
 * on in code, which neither children nor their worker threads inherit, while they do inherit the flag).
 */
export function nodeArgsFor(
  entry: string,
  execArgv: readonly string[] = process.execArgv,
  sourceMaps: boolean = process.sourceMapsEnabled,
): string[] {
  const args = execArgv.filter((a) => !a.startsWith("--test"));
  const loaded = args.some((a) => a.includes("tsx"));
  if (/\.[cm]?ts$/.test(entry) && !loaded) args.unshift("--import", import.meta.resolve("tsx"));
  if (sourceMaps && !args.includes("--enable-source-maps")) args.push("--enable-source-maps");
  return args;
}

/** Splits a stream into lines and hands each to `fn` (the last partial line when the stream ends). */
function eachLine(stream: NodeJS.ReadableStream, fn: (line: string) => void): void {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) fn(l);
  });
  stream.on("end", () => {
    if (rest !== "") fn(rest);
    rest = "";
  });
}

/** One supervised role: its current process, its restarts, and its state. */
class Supervised {
  /** The current (or last) process. */
  proc: ChildProcess | null = null;
  /** True when the stop deadline had to SIGKILL it. */
  killed = false;
  private last: ReadyInfo | null = null;
  private restarts = 0;
  private failures = 0;
  private stopping = false;
  private startedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private exited: Promise<void> = Promise.resolve();
  private firstReady: { resolve: (i: ReadyInfo) => void; reject: (e: Error) => void } | null = null;

  constructor(
    readonly spec: ChildSpec,
    private readonly o: SupervisorOptions,
    private readonly launch: Launch,
  ) {}

  /** Spawns the first process; resolves with its ready info, rejects when it exits before being ready. */
  start(): Promise<ReadyInfo> {
    return new Promise((resolve, reject) => {
      this.firstReady = { resolve, reject };
      this.spawn();
    });
  }

  /** Asks the current process to stop (SIGTERM) and cancels a pending restart; resolves when it has exited. */
  stop(): Promise<void> {
    this.stopping = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.signal("SIGTERM");
    return this.exited;
  }

  /** Sends SIGKILL to the current process (if any); a later exit is expected. */
  kill(): void {
    this.stopping = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.killed = true;
      this.signal("SIGKILL");
    }
  }

  private signal(sig: NodeJS.Signals): void {
    const p = this.proc;
    if (p === null || p.exitCode !== null || p.signalCode !== null) return;
    try {
      p.kill(sig);
    } catch {
      // Already gone: its exit event follows.
    }
  }

  private spawn(): void {
    const role = this.spec.role;
    const proc = this.launch(this.spec.argv(this.last));
    this.proc = proc;
    this.startedAt = Date.now();
    let resolveExited: () => void = () => {};
    this.exited = new Promise((r) => {
      resolveExited = r;
    });
    eachLine(proc.stdout!, (l) => this.o.out(`contrail ${role}: ${l}`));
    eachLine(proc.stderr!, (l) => this.o.err(`contrail ${role}: ${l}`));
    proc.on("message", (m) => {
      if (!isReadyMessage(m)) return;
      this.last = m.info;
      const first = this.firstReady;
      this.firstReady = null;
      if (first !== null) first.resolve(m.info);
      else this.o.err(`contrail: ${role} is back (pid ${proc.pid})`);
      this.o.onReady?.(role, m.info, this.restarts);
    });
    proc.on("error", (err) => {
      // Spawning failed (or a signal could not be sent): without an exit event to follow, report it here.
      if (proc.pid === undefined) this.onExit(proc, null, null, err.message, resolveExited);
    });
    proc.on("exit", (code, signal) => this.onExit(proc, code, signal, null, resolveExited));
  }

  private onExit(
    proc: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
    spawnError: string | null,
    resolveExited: () => void,
  ): void {
    if (this.proc !== proc) return;
    resolveExited();
    const role = this.spec.role;
    const cause = spawnError ?? exitCause(code, signal);
    const first = this.firstReady;
    if (first !== null) {
      this.firstReady = null;
      first.reject(new Error(`${role} ${cause} before it was ready`));
      return;
    }
    if (this.stopping) return;
    if (Date.now() - this.startedAt >= (this.o.restart ?? ROLE_RESTART).resetAfterMs) this.failures = 0;
    const delay = backoffDelay(this.failures, this.o.restart ?? ROLE_RESTART);
    this.failures++;
    this.restarts++;
    this.o.err(`contrail: ${role} (pid ${proc.pid}) ${cause}; restarting it in ${delay / 1000} s`);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopping) this.spawn();
    }, delay);
  }
}

/** Runs and supervises the role processes of `contrail up`. */
export class Supervisor {
  private readonly children: Supervised[];
  private readonly entry: string;
  private readonly nodeArgs: readonly string[];

  constructor(private readonly o: SupervisorOptions) {
    this.entry = o.entry.startsWith("file:") ? fileURLToPath(o.entry) : o.entry;
    this.nodeArgs = nodeArgsFor(this.entry);
    this.children = o.children.map((c) => new Supervised(c, o, (argv) => this.spawn(argv)));
  }

  private spawn(argv: readonly string[]): ChildProcess {
    return spawn(process.execPath, [...this.nodeArgs, this.entry, ...argv], {
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: process.env,
    });
  }

  /**
   * Starts every child at once; resolves with each role's ready info. When one exits before it is ready, stops
   * the others and rejects with its cause.
   */
  async start(): Promise<Map<string, ReadyInfo>> {
    const results = await Promise.allSettled(this.children.map((c) => c.start()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) {
      await this.stop();
      throw failed.reason;
    }
    return new Map(this.children.map((c, i) => [c.spec.role, (results[i] as PromiseFulfilledResult<ReadyInfo>).value]));
  }

  /** The pid of each role's current process (undefined while it is down). */
  pids(): Map<string, number | undefined> {
    return new Map(this.children.map((c) => [c.spec.role, c.proc?.pid]));
  }

  /**
   * Stops the children in `stopOrder`, each group after the previous one exited, and SIGKILLs whatever still runs
   * when the stop timeout passes. Resolves with the roles that had to be killed.
   */
  async stop(): Promise<string[]> {
    const deadline = setTimeout(() => this.kill(), this.o.stopTimeoutMs ?? ROLE_STOP_TIMEOUT_MS);
    try {
      const order = this.o.stopOrder ?? [];
      const listed = new Set(order.flat());
      const groups = [...order, this.children.map((c) => c.spec.role).filter((r) => !listed.has(r))];
      for (const group of groups) {
        await Promise.all(this.children.filter((c) => group.includes(c.spec.role)).map((c) => c.stop()));
      }
    } finally {
      clearTimeout(deadline);
    }
    return this.children.filter((c) => c.killed).map((c) => c.spec.role);
  }

  /** SIGKILLs every child at once (a second Ctrl-C); restarts are off from now on. */
  kill(): void {
    for (const c of this.children) c.kill();
  }
}
