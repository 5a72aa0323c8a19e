// The machines layer's vocabulary: what the runner is asked to run (an app spec, plain data the wiring layer maps
// from the control plane's fly.toml config), what it reports (instance snapshots and lifecycle events), and the
// health checks it runs. Durations are milliseconds throughout.

import { constants } from "node:os";

/** When a health check runs: first after `gracePeriodMs` from the start, then every `intervalMs`. */
export interface CheckTiming {
  readonly intervalMs: number;
  /** A probe that has not succeeded within this time fails. */
  readonly timeoutMs: number;
  readonly gracePeriodMs: number;
}

/**
 * An HTTP check: passes on a 2xx status. Field names match the control plane's checked `[[http_service.checks]]`,
 * so the wiring layer passes such a check through as `{ kind: "http", ...check }`.
 */
export interface HttpCheck extends CheckTiming {
  readonly kind: "http";
  readonly path: string;
  /** Default GET. */
  readonly method?: string;
  /** Default http. */
  readonly protocol?: "http" | "https";
  readonly tlsSkipVerify?: boolean;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A TCP check: passes when a connection to the instance's address opens. */
export interface TcpCheck extends CheckTiming {
  readonly kind: "tcp";
}

/** A health check of an instance. */
export type HealthCheck = HttpCheck | TcpCheck;

/**
 * The check run for an instance that has an address but no configured checks: a TCP connect, so the route table
 * learns when the process listens. (The seed's platform routes to a started machine without checks; a local
 * process needs a moment to bind its port, which this check waits for.)
 */
export const IMPLICIT_CHECK: TcpCheck = { kind: "tcp", intervalMs: 2_000, timeoutMs: 1_000, gracePeriodMs: 300 };

/** Which exits lead to a restart: every one, only failures (non-zero code or a signal), or none. */
export type RestartPolicy = "always" | "on-failure" | "never";

/** A process group of an app: one command, run as `instancesPerRegion` instances in each of `regions`. */
export interface ProcessGroupSpec {
  /** The group name (`app` when fly.toml has no `[processes]`); becomes `FLY_PROCESS_GROUP`. */
  readonly name: string;
  /** The command line, split without a shell (quotes and backslash escapes are honoured; nothing is expanded). */
  readonly command: string;
  /**
   * The port the app declares (fly.toml `internal_port`), or null for a group that serves no traffic. Locally many
   * instances share one host, so each listens on the loopback port the runner gives it in `PORT` instead.
   */
  readonly internalPort: number | null;
  /**
   * Other ports the group's processes listen on, e.g. a metrics listener of fly.toml `[metrics]`. Locally each
   * instance gets a loopback port of its own for each, in `PORT_<port>` (`PORT_9091`), as `PORT` stands for
   * `internalPort`. Default none.
   */
  readonly privatePorts?: readonly number[];
  /** Checks of the group; none with an internal port means {@link IMPLICIT_CHECK}. */
  readonly checks: readonly HealthCheck[];
  /** Region codes, e.g. `["ord", "ams"]`. */
  readonly regions: readonly string[];
  readonly instancesPerRegion: number;
  /** Default on-failure. */
  readonly restart?: RestartPolicy;
}

/** An app to run locally. */
export interface AppSpec {
  readonly app: string;
  /** The app's directory: every instance's working directory. */
  readonly dir: string;
  /** fly.toml `[env]`; the platform's variables (`PORT`, `FLY_*`) take precedence over same-named entries. */
  readonly env: Readonly<Record<string, string>>;
  /** fly.toml `primary_region`; given to instances as `PRIMARY_REGION` when set. */
  readonly primaryRegion?: string | null;
  /** fly.toml `kill_signal`: sent to each instance's process group to stop it; default SIGTERM. */
  readonly killSignal?: NodeJS.Signals | null;
  /** fly.toml `kill_timeout`, ms: from that signal to SIGKILL; default the runner's grace period. */
  readonly killTimeoutMs?: number | null;
  readonly groups: readonly ProcessGroupSpec[];
}

/** An instance that runs elsewhere and is only health checked (never started or stopped by the runner). */
export interface ExternalInstanceSpec {
  /** 14 lower-case hex digits, as the control plane registered it. */
  readonly id: string;
  readonly app: string;
  readonly group: string;
  readonly region: string;
  readonly host: string;
  /** `host:port` or `[v6]:port`. */
  readonly address: string;
  /** None means {@link IMPLICIT_CHECK}. */
  readonly checks: readonly HealthCheck[];
}

/** Who runs an instance. */
export type InstanceKind = "local" | "external";

/** The identity of an instance, carried by every event. Immutable; a new object when the address changes. */
export interface InstanceInfo {
  readonly id: string;
  readonly app: string;
  readonly group: string;
  readonly region: string;
  /** The 4-hex-digit id of the server it runs on. */
  readonly host: string;
  readonly kind: InstanceKind;
  /** `127.0.0.1:<PORT>` for a local instance; null before its first start. */
  readonly address: string | null;
  /** A local instance's loopback port for each of its group's `privatePorts`, by that port; absent when none. */
  readonly ports?: Readonly<Record<string, number>>;
}

/** Health as the checks see it: `starting` until a first check result after a (re)start. */
export type Health = "starting" | "healthy" | "unhealthy";

/**
 * Lifecycle of a local instance: `running` (a process exists), `backoff` (waiting to restart after an exit),
 * `stopping` (SIGTERM sent), `stopped` (exited for good). An external instance is always `running`.
 */
export type InstanceState = "running" | "backoff" | "stopping" | "stopped";

/** How an instance's process ended. */
export interface ExitRecord {
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Killed by the kernel's out-of-memory killer, by the heuristic of `oom.ts`. */
  readonly oom: boolean;
  /** Milliseconds since the epoch. */
  readonly atMs: number;
}

/** A snapshot of one instance, for status pages and the instance agent. */
export interface InstanceStatus {
  readonly info: InstanceInfo;
  readonly state: InstanceState;
  readonly health: Health;
  /** The process id while `running`/`stopping`; it leads its own process group. Null otherwise and when external. */
  readonly pid: number | null;
  /** The app directory of a local instance; null when external. */
  readonly dir: string | null;
  /** Restarts so far (not counting the first start). */
  readonly restarts: number;
  readonly lastExit: ExitRecord | null;
  /** When the current process started (ms since the epoch); null when none runs. */
  readonly startedAtMs: number | null;
}

/**
 * A lifecycle event. The edge routes to an instance from its `healthy` event until the next `unhealthy` or
 * `exited` of the same id; `started` and `healthy` carry the address to route to.
 */
export type InstanceEvent =
  | { readonly kind: "started"; readonly instance: InstanceInfo; readonly pid: number }
  | { readonly kind: "healthy"; readonly instance: InstanceInfo }
  | { readonly kind: "unhealthy"; readonly instance: InstanceInfo; readonly reason: string }
  | { readonly kind: "exited"; readonly instance: InstanceInfo; readonly exit: ExitRecord }
  | {
      readonly kind: "restarting";
      readonly instance: InstanceInfo;
      readonly attempt: number;
      readonly delayMs: number;
    };

/** Receives lifecycle events; called synchronously, so it must not block. */
export type InstanceListener = (event: InstanceEvent) => void;

/** The numeric status of an exit as shells report it: the code, or 128 + the signal number. */
export function exitStatus(exit: ExitRecord): number {
  if (exit.code !== null) return exit.code;
  const n = exit.signal === null ? 0 : (constants.signals[exit.signal] ?? 0);
  return 128 + n;
}
