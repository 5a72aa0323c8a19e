// One local instance: a child process supervised through its life. It gets a loopback port, is spawned without a
// shell as the leader of its own process group (so stopping it reaches every process it started), has its output
// captured into a ring, is health checked while it runs, and is restarted after an exit with exponential backoff.
// When the leader exits, whatever is left of its group is killed, as a machine's processes end with the machine.

import { type ChildProcess, spawn } from "node:child_process";
import { HealthMonitor } from "./health.ts";
import { LogRing, type LogRingOptions } from "./log-ring.ts";
import { findOomSource, OomWatch } from "./oom.ts";
import { loopbackPort } from "./ports.ts";
import {
  type ExitRecord,
  exitStatus,
  type Health,
  type HealthCheck,
  type InstanceInfo,
  type InstanceListener,
  type InstanceState,
  type InstanceStatus,
  type RestartPolicy,
} from "./spec.ts";

/** How long an exit waits for the process's pipes to close, so its last output is captured first. */
const OUTPUT_DRAIN_MS = 250;
/** How often a private port is asked for again when the kernel repeats one already chosen for the instance. */
const PORT_RETRIES = 8;

/** True when both map the same ports to the same ports. */
function samePorts(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}

/** Restart backoff: the n-th consecutive restart waits `initialDelayMs * 2^n`, at most `maxDelayMs`. */
export interface RestartOptions {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** A process that ran at least this long before exiting resets the count of consecutive restarts. */
  readonly resetAfterMs: number;
}

/** Backoff defaults: 0.5 s doubling to 30 s, reset after a minute of stable running. */
export const DEFAULT_RESTART: RestartOptions = { initialDelayMs: 500, maxDelayMs: 30_000, resetAfterMs: 60_000 };

/** The delay before a restart after `failures` consecutive earlier restarts (0 for the first), in milliseconds. */
export function backoffDelay(failures: number, o: RestartOptions): number {
  return Math.min(o.maxDelayMs, o.initialDelayMs * 2 ** Math.min(failures, 52));
}

/** Everything a local instance needs; the runner resolves it from the app spec. */
export interface LocalInstanceOptions {
  /** The identity; `address` is filled in once a port is chosen. */
  readonly info: InstanceInfo;
  readonly dir: string;
  readonly argv: readonly string[];
  /** The full environment except `PORT`, which is added per start when `service` is true. */
  readonly env: Readonly<Record<string, string>>;
  /** Whether the instance serves traffic: it then gets a `PORT` and an address, and is health checked there. */
  readonly service: boolean;
  /** Declared ports it gets a loopback port of its own for, per start, in `PORT_<port>` (see `ProcessGroupSpec`). */
  readonly privatePorts: readonly number[];
  readonly checks: readonly HealthCheck[];
  readonly policy: RestartPolicy;
  readonly restart: RestartOptions;
  /** What stops the process group gracefully (fly.toml `kill_signal`). */
  readonly stopSignal: NodeJS.Signals;
  /** Time from `stopSignal` to SIGKILL when stopping, ms. */
  readonly stopGraceMs: number;
  readonly logs: LogRingOptions;
  readonly emit: InstanceListener;
}

/** A supervised local process. Create, then `start()`; `stop()` ends it for good. */
export class LocalInstance {
  /** The instance's output, kept across restarts. */
  readonly logs: LogRing;
  private info: InstanceInfo;
  private state: InstanceState = "backoff";
  private health: Health = "starting";
  private child: ChildProcess | null = null;
  /** The live leader's pid; null from the moment it exits (the child object lingers while its output drains). */
  private pid: number | null = null;
  /** The process group of the current (or just exited) leader, until its leftovers are killed. */
  private pgid: number | null = null;
  private port: number | null = null;
  /** The loopback port of each private port, by private port, from the last start. */
  private standIns: Readonly<Record<string, number>> = {};
  private startedAtMs: number | null = null;
  private lastExit: ExitRecord | null = null;
  private restarts = 0;
  private failures = 0;
  private killSent = false;
  private monitor: HealthMonitor | null = null;
  private oom: OomWatch | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private launching: Promise<void> | null = null;
  private exited: Promise<void> = Promise.resolve();
  private resolveExited: () => void = () => {};

  constructor(private readonly o: LocalInstanceOptions) {
    this.info = o.info;
    this.logs = new LogRing(o.logs);
  }

  /** Spawns the first process; resolves once it is spawned (or its spawn failed and a restart is scheduled). */
  start(): Promise<void> {
    return this.launch();
  }

  /** A snapshot for status pages and the agent. */
  status(): InstanceStatus {
    return {
      info: this.info,
      state: this.state,
      health: this.health,
      pid: this.pid,
      dir: this.o.dir,
      restarts: this.restarts,
      lastExit: this.lastExit,
      startedAtMs: this.startedAtMs,
    };
  }

  /**
   * Stops for good: cancels a pending restart, sends the stop signal (SIGTERM unless the app names another) to the
   * process group and SIGKILL after the grace period; resolves when the process has exited. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    if (this.state === "stopped") return;
    this.state = "stopping";
    if (this.launching !== null) await this.launching;
    if (this.child === null) {
      this.state = "stopped";
      return;
    }
    const exited = this.exited;
    this.signalGroup(this.o.stopSignal);
    const timer = setTimeout(() => {
      this.killSent = true;
      this.signalGroup("SIGKILL");
    }, this.o.stopGraceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Sends SIGKILL to the process group at once, synchronously (for the host process's exit hook). */
  killNow(): void {
    this.killSent = true;
    this.signalGroup("SIGKILL");
  }

  private launch(): Promise<void> {
    const p: Promise<void> = this.spawnProcess().finally(() => {
      if (this.launching === p) this.launching = null;
    });
    this.launching = p;
    return p;
  }

  private async spawnProcess(): Promise<void> {
    let port: number | null = null;
    let standIns: Record<string, number>;
    try {
      if (this.o.service) port = await loopbackPort(this.port ?? undefined);
      standIns = await this.pickStandIns(port);
    } catch (err) {
      this.logs.note(`no loopback port: ${(err as Error).message}`);
      this.afterExit({ code: 1, signal: null, oom: false, atMs: Date.now() });
      return;
    }
    if (this.state === "stopping" || this.state === "stopped") {
      this.state = "stopped";
      return;
    }
    if (port !== null && port !== this.port) {
      this.port = port;
      this.info = { ...this.info, address: `127.0.0.1:${port}` };
    }
    if (this.o.privatePorts.length > 0 && !samePorts(standIns, this.standIns)) {
      this.standIns = standIns;
      this.info = { ...this.info, ports: standIns };
    }
    const env: Record<string, string> = { ...this.o.env };
    if (port !== null) env.PORT = String(port);
    for (const [declared, local] of Object.entries(standIns)) env[`PORT_${declared}`] = String(local);
    let child: ChildProcess;
    try {
      child = spawn(this.o.argv[0], this.o.argv.slice(1), {
        cwd: this.o.dir,
        env,
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
        shell: false,
        windowsHide: true,
      });
    } catch (err) {
      this.spawnFailed(err as NodeJS.ErrnoException);
      return;
    }
    if (child.pid === undefined) {
      await new Promise<void>((resolve) => {
        child.once("error", (err: NodeJS.ErrnoException) => {
          this.spawnFailed(err);
          resolve();
        });
      });
      return;
    }
    this.track(child, child.pid);
  }

  /** A loopback port for each private port, the last start's when still free, none equal to `port` or another. */
  private async pickStandIns(port: number | null): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    const taken = new Set<number>(port === null ? [] : [port]);
    for (const declared of this.o.privatePorts) {
      let local = await loopbackPort(this.standIns[declared]);
      // The kernel may hand a port just released to the next request: ask again until it is a new one.
      for (let tries = 0; taken.has(local) && tries < PORT_RETRIES; tries++) local = await loopbackPort();
      if (taken.has(local)) throw new Error(`the kernel gave port ${local} twice`);
      taken.add(local);
      out[declared] = local;
    }
    return out;
  }

  private track(child: ChildProcess, pid: number): void {
    this.child = child;
    this.pid = pid;
    this.pgid = pid;
    this.state = "running";
    this.health = "starting";
    this.killSent = false;
    this.startedAtMs = Date.now();
    this.exited = new Promise((resolve) => {
      this.resolveExited = resolve;
    });
    this.oom = new OomWatch(findOomSource(pid));
    for (const stream of ["stdout", "stderr"] as const) {
      const s = child[stream]!;
      s.setEncoding("utf8");
      s.on("data", (chunk: string) => this.logs.write(stream, chunk));
      s.on("end", () => this.logs.flush(stream));
    }
    // Errors after a successful spawn come only from signalling a process that is already gone.
    child.on("error", () => {});
    const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
    child.once("exit", (code, signal) => this.onExit(code, signal, closed));
    const standIns = Object.entries(this.standIns).map(([declared, local]) => `, ${declared} as ${local}`);
    this.logs.note(`started pid ${pid}${this.port === null ? "" : ` on port ${this.port}`}${standIns.join("")}`);
    this.o.emit({ kind: "started", instance: this.info, pid });
    const monitor = new HealthMonitor({
      address: this.o.service ? { host: "127.0.0.1", port: this.port! } : null,
      checks: this.o.checks,
      onChange: (health, reason) => {
        if (this.monitor !== monitor) return;
        this.health = health;
        if (health === "healthy") this.o.emit({ kind: "healthy", instance: this.info });
        else {
          this.logs.note(`unhealthy: ${reason}`);
          this.o.emit({ kind: "unhealthy", instance: this.info, reason });
        }
      },
      onProbe: () => this.oom?.refresh(),
    });
    this.monitor = monitor;
    monitor.start();
  }

  private spawnFailed(err: NodeJS.ErrnoException): void {
    this.logs.note(`cannot start ${JSON.stringify(this.o.argv[0])}: ${err.code ?? err.message}`);
    // Shell conventions: 127 for a program not found, 126 for one that cannot be executed.
    const code = err.code === "ENOENT" ? 127 : err.code === "EACCES" ? 126 : 1;
    this.afterExit({ code, signal: null, oom: false, atMs: Date.now() });
  }

  private async onExit(code: number | null, signal: NodeJS.Signals | null, closed: Promise<void>): Promise<void> {
    const atMs = Date.now();
    this.pid = null;
    this.monitor?.stop();
    this.monitor = null;
    const oom = this.oom?.judge(signal, this.killSent) ?? false;
    this.oom = null;
    // The leader is gone; end whatever else it left in its group before anything restarts.
    this.signalGroup("SIGKILL");
    this.pgid = null;
    // Let the last output (often the crash's stack trace) land in the ring before the exit note; a process
    // outside the group could hold the pipes open, so wait only briefly.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, OUTPUT_DRAIN_MS)))]);
    clearTimeout(timer);
    this.child = null;
    this.afterExit({ code, signal, oom, atMs });
    this.resolveExited();
  }

  private afterExit(exit: ExitRecord): void {
    const ranMs = this.startedAtMs === null ? 0 : exit.atMs - this.startedAtMs;
    this.lastExit = exit;
    this.startedAtMs = null;
    this.health = "unhealthy";
    const how = exit.signal === null ? `code ${exit.code}` : `signal ${exit.signal}`;
    this.logs.note(`exited with ${how} (status ${exitStatus(exit)})${exit.oom ? ", killed for lack of memory" : ""}`);
    this.o.emit({ kind: "exited", instance: this.info, exit });
    const failed = exit.code !== 0 || exit.signal !== null;
    const restart = this.o.policy === "always" || (this.o.policy === "on-failure" && failed);
    if (this.state === "stopping" || this.state === "stopped" || !restart) {
      this.state = "stopped";
      return;
    }
    if (ranMs >= this.o.restart.resetAfterMs) this.failures = 0;
    const delayMs = backoffDelay(this.failures, this.o.restart);
    this.failures++;
    this.restarts++;
    this.state = "backoff";
    this.logs.note(`restarting in ${delayMs}ms (attempt ${this.failures})`);
    this.o.emit({ kind: "restarting", instance: this.info, attempt: this.failures, delayMs });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      void this.launch();
    }, delayMs);
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.pgid === null) return;
    try {
      process.kill(-this.pgid, signal);
    } catch {
      // ESRCH: the group is already empty.
    }
  }
}
