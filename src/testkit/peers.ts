// Test and bench support: peer servers (Prometheus, VictoriaMetrics, Alertmanager, any child process) started on
// loopback on a free port, waited for until ready, and stopped again. Not imported by production code.

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { constants } from "node:os";
import { join } from "node:path";
import { skipUnlessCi } from "./shared-data.ts";

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

/** A started child process. */
export interface PeerProcess {
  readonly proc: ChildProcess;
  /** The last few kilobytes of its stderr. */
  log(): string;
  /** Sends SIGTERM (SIGKILL after `graceMs`); resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** A started server: its process and its base URL (`http://127.0.0.1:<port>`). */
export interface Peer extends PeerProcess {
  readonly url: string;
}

/** Options of `startProcess`. */
export interface StartOptions {
  /** Opens an IPC channel to the child (for `process.send`). */
  readonly ipc?: boolean;
  /** Called when the child exits with a non-zero code on its own, with the tail of its stderr. */
  readonly onFailure?: (message: string) => void;
}

const LOG_TAIL = 8000;
/** How long children get to stop when this process is told to stop (SIGINT, SIGTERM), ms; then SIGKILL. */
const SIGNAL_GRACE_MS = 5_000;
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Spawns `cmd args` with stderr captured. The child is killed when this process exits, if still running; when this
 * process gets SIGINT or SIGTERM, every child it started gets SIGTERM (and SIGKILL after a grace) before it exits,
 * so an interrupted bench or test leaves no server behind.
 */
export function startProcess(cmd: string, args: readonly string[], options: StartOptions = {}): PeerProcess {
  const stdio: ("ignore" | "pipe" | "ipc")[] = ["ignore", "ignore", "pipe"];
  if (options.ipc === true) stdio.push("ipc");
  const proc = spawn(cmd, args, { stdio });
  let log = "";
  proc.stderr?.on("data", (c: Buffer) => {
    log = (log + c.toString()).slice(-LOG_TAIL);
  });
  running.add(proc);
  proc.on("exit", (code, signal) => {
    running.delete(proc);
    if (code !== 0 && code !== null && signal === null) options.onFailure?.(`${cmd} exited with ${code}: ${log}`);
  });
  exitOnStop();
  return { proc, log: () => log, stop: (graceMs = 10_000) => stopProcess(proc, graceMs) };
}

/**
 * Makes SIGINT and SIGTERM end this process through `process.exit` (so its 'exit' handlers run) once every child
 * started by {@link startProcess} has stopped, and kills children still running at exit. Idempotent.
 */
export function exitOnStop(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const p of running) p.kill("SIGKILL");
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stopAllThenExit(signal));
}

/** Stops every running child, then exits as the signal would have ended this process (128 + its number). */
async function stopAllThenExit(signal: "SIGINT" | "SIGTERM"): Promise<void> {
  await Promise.all([...running].map((p) => stopProcess(p, SIGNAL_GRACE_MS)));
  process.exit(128 + constants.signals[signal]);
}

/** Stops under way, so that a second stop waits for the first instead of signalling again. */
const stopping = new WeakMap<ChildProcess, Promise<void>>();

function stopProcess(p: ChildProcess, graceMs: number): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  let stopped = stopping.get(p);
  if (stopped === undefined) {
    stopped = new Promise((resolve) => {
      const timer = setTimeout(() => p.kill("SIGKILL"), graceMs);
      p.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      p.kill("SIGTERM");
    });
    stopping.set(p, stopped);
  }
  return stopped;
}

/** Options of `waitReady`. */
export interface WaitReadyOptions {
  /** Name used in the error message. */
  readonly what: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Default 60 000 ms. */
  readonly timeoutMs?: number;
}

/** Polls `url` every 200 ms until it answers 2xx; throws after the timeout. */
export async function waitReady(url: string, options: WaitReadyOptions): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    try {
      const r = await fetch(url, { headers: options.headers });
      await r.body?.cancel();
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${options.what} did not become ready at ${url}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A prometheus.yml that scrapes nothing (for a Prometheus that only receives or serves stored data). */
export const IDLE_PROMETHEUS_CONFIG = "global:\n  scrape_interval: 15s\nscrape_configs: []\n";

/** Options of `remoteWritingConfig`. */
export interface RemoteWritingConfig {
  /** Job name of the one scrape job. */
  readonly job: string;
  /** `host:port` scraped every second. */
  readonly target: string;
  /** Remote-write URL, sent with `token` as Bearer credentials; batches are flushed within 500 ms. */
  readonly writeUrl: string;
  readonly token: string;
}

/** A prometheus.yml that scrapes one target every second and remote-writes samples and metadata promptly. */
export function remoteWritingConfig(c: RemoteWritingConfig): string {
  return [
    "global:",
    "  scrape_interval: 1s",
    "  evaluation_interval: 1s",
    "scrape_configs:",
    `  - job_name: ${c.job}`,
    "    static_configs:",
    `      - targets: ["${c.target}"]`,
    "remote_write:",
    `  - url: ${c.writeUrl}`,
    "    authorization:",
    `      credentials: ${c.token}`,
    "    queue_config:",
    "      batch_send_deadline: 500ms",
    "      min_backoff: 100ms",
    "    metadata_config:",
    "      send_interval: 1s",
    "",
  ].join("\n");
}

/**
 * prometheus.yml of a Prometheus that federates `match` (one series selector) every second from an org's
 * `/federate` on Contrail at `address` (host:port), with `token` as its bearer token, under the series' own labels.
 */
export function federationConfig(address: string, org: string, match: string, token: string): string {
  return [
    "global:",
    "  scrape_interval: 1s",
    "scrape_configs:",
    "  - job_name: contrail-federation",
    "    honor_labels: true",
    `    metrics_path: /prometheus/${org}/federate`,
    "    params:",
    `      'match[]': [${JSON.stringify(match)}]`,
    "    authorization:",
    `      credentials: ${token}`,
    "    static_configs:",
    `      - targets: ["${address}"]`,
    "",
  ].join("\n");
}

/** Options of `startPrometheus`. */
export interface PrometheusOptions {
  /** Executable; default `prometheus`. */
  readonly bin?: string;
  /** Directory that receives prometheus.yml. */
  readonly dir: string;
  /** TSDB directory; default `<dir>/data`. */
  readonly dataDir?: string;
  /** prometheus.yml text; it may name the port, which is passed in. */
  readonly config: (port: number) => string;
  /** Flags besides the config, storage path and listen address. */
  readonly flags?: readonly string[];
  readonly onFailure?: (message: string) => void;
  /** How long readiness may take; default 60 000 ms. */
  readonly readyTimeoutMs?: number;
}

/** Starts Prometheus on a free loopback port and waits until `/-/ready` answers. */
export async function startPrometheus(o: PrometheusOptions): Promise<Peer> {
  const port = await freePort();
  const config = join(o.dir, "prometheus.yml");
  writeFileSync(config, o.config(port));
  const peer = startProcess(
    o.bin ?? "prometheus",
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${o.dataDir ?? join(o.dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...(o.flags ?? []),
    ],
    { onFailure: o.onFailure },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/-/ready`, { what: "prometheus", timeoutMs: o.readyTimeoutMs });
  return { ...peer, url };
}

/**
 * A Prometheus that only receives remote write (no scrapes), its data in `<dir>/prometheus`: the peer of the ingest
 * and memory benches.
 */
export function startPrometheusReceiver(o: {
  readonly bin?: string;
  readonly dir: string;
  readonly onFailure?: PrometheusOptions["onFailure"];
}): Promise<Peer> {
  return startPrometheus({
    bin: o.bin,
    dir: o.dir,
    dataDir: join(o.dir, "prometheus"),
    config: () => IDLE_PROMETHEUS_CONFIG,
    flags: ["--web.enable-remote-write-receiver"],
    onFailure: o.onFailure,
  });
}

/** Options of `startVictoriaMetrics`. */
export interface VictoriaMetricsOptions {
  /** Executable; default `victoria-metrics`. */
  readonly bin?: string;
  /** Storage directory. */
  readonly dataDir: string;
  /** Flags besides the storage path and listen address. */
  readonly flags?: readonly string[];
  readonly onFailure?: (message: string) => void;
  /** How long readiness may take; default 60 000 ms. */
  readonly readyTimeoutMs?: number;
  /** Loopback port to listen on (to restart it where it was); default a free one. */
  readonly port?: number;
}

/** Starts single-node VictoriaMetrics on a loopback port and waits until `/health` answers. */
export async function startVictoriaMetrics(o: VictoriaMetricsOptions): Promise<Peer> {
  const port = o.port ?? (await freePort());
  const peer = startProcess(
    o.bin ?? "victoria-metrics",
    [`-storageDataPath=${o.dataDir}`, `-httpListenAddr=127.0.0.1:${port}`, ...(o.flags ?? [])],
    { onFailure: o.onFailure },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/health`, { what: "victoria-metrics", timeoutMs: o.readyTimeoutMs });
  return { ...peer, url };
}

/** Debian's Alertmanager executable (0.25 in bookworm). */
export const ALERTMANAGER_BIN = "/usr/bin/prometheus-alertmanager";

/** An alertmanager.yml with one receiver that notifies nobody: alerts are only stored and served by its API. */
export const IDLE_ALERTMANAGER_CONFIG = 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n';

/** Options of `startAlertmanager`. */
export interface AlertmanagerOptions {
  /** Executable; default {@link ALERTMANAGER_BIN}. */
  readonly bin?: string;
  /** Directory that receives alertmanager.yml and the storage directory `data/`. */
  readonly dir: string;
  /** alertmanager.yml text; default {@link IDLE_ALERTMANAGER_CONFIG}. */
  readonly config?: string;
  /** Flags besides the config, storage path, listen and cluster addresses. */
  readonly flags?: readonly string[];
  readonly onFailure?: (message: string) => void;
  /** How long readiness may take; default 60 000 ms. */
  readonly readyTimeoutMs?: number;
}

/** False when Alertmanager can run here; else the reason to skip (throws it instead under CI). */
export function alertmanagerSkip(bin: string = ALERTMANAGER_BIN): string | false {
  return skipUnlessCi(existsSync(bin) ? undefined : `Alertmanager is not installed (looked for ${bin})`);
}

/**
 * Starts Alertmanager on a free loopback port, without clustering, and waits until `/-/ready` answers. Its API
 * (`GET /api/v2/alerts`) shows the alerts it received.
 */
export async function startAlertmanager(o: AlertmanagerOptions): Promise<Peer> {
  const port = await freePort();
  const config = join(o.dir, "alertmanager.yml");
  writeFileSync(config, o.config ?? IDLE_ALERTMANAGER_CONFIG);
  const peer = startProcess(
    o.bin ?? ALERTMANAGER_BIN,
    [
      `--config.file=${config}`,
      `--storage.path=${join(o.dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
      ...(o.flags ?? []),
    ],
    { onFailure: o.onFailure },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/-/ready`, { what: "alertmanager", timeoutMs: o.readyTimeoutMs });
  return { ...peer, url };
}
