// The local runner: runs apps as child processes on this host (N instances of each process group in each region)
// and health checks instances that run elsewhere. Listeners receive every lifecycle event, so the edge's route
// table can follow; `instances()` gives snapshots for status pages and the instance agent.

import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { ContrailError } from "../model/errors.ts";
import { parseCommandLine } from "./argv.ts";
import { HealthMonitor, parseAddress } from "./health.ts";
import { DEFAULT_RESTART, LocalInstance, type RestartOptions } from "./local-instance.ts";
import type { LogLine, LogRingOptions } from "./log-ring.ts";
import type {
  AppSpec,
  ExternalInstanceSpec,
  Health,
  InstanceEvent,
  InstanceInfo,
  InstanceListener,
  InstanceStatus,
  ProcessGroupSpec,
} from "./spec.ts";

/** The signal that stops an instance of an app without its own `kill_signal`. */
export const DEFAULT_STOP_SIGNAL: NodeJS.Signals = "SIGTERM";
/** Time from an instance's stop signal to SIGKILL for apps without their own `kill_timeout`, ms. */
export const DEFAULT_STOP_GRACE_MS = 5_000;

/** Options of a {@link Runner}. */
export interface RunnerOptions {
  /** The 4-hex-digit id of this host, the `host` of every local instance. */
  readonly host: string;
  readonly restart?: Partial<RestartOptions>;
  /** Stop signal to SIGKILL when stopping, ms, for apps without their own `killTimeoutMs`. Default DEFAULT_STOP_GRACE_MS. */
  readonly stopGraceMs?: number;
  /** Bounds of each instance's output ring. */
  readonly logs?: LogRingOptions;
  /**
   * Variables every instance starts with, before the app's `[env]` and the platform's. Default: PATH, HOME, USER,
   * LOGNAME, LANG, LC_ALL, TZ and TMPDIR of this process; nothing else of the runner's environment (its secrets
   * included) reaches an app.
   */
  readonly baseEnv?: Readonly<Record<string, string>>;
  /** Makes instance ids (14 lower-case hex digits). Default: random. */
  readonly newInstanceId?: () => string;
}

const BASE_ENV_KEYS = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR"];
const INSTANCE_ID = /^[0-9a-f]{14}$/;
const HOST_ID = /^[0-9a-f]{4}$/;
const REGION = /^[a-z]{3}$/;
const GROUP = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** Instances of one group in one region, at most. */
const MAX_PER_REGION = 64;
/** Most private ports (`PORT_<port>`) one process group may ask for. */
const MAX_PRIVATE_PORTS = 16;

/** An instance that runs elsewhere: only health checked. */
class ExternalInstance {
  private health: Health = "starting";
  private readonly monitor: HealthMonitor;

  constructor(
    readonly info: InstanceInfo,
    spec: ExternalInstanceSpec,
    emit: InstanceListener,
  ) {
    this.monitor = new HealthMonitor({
      address: parseAddress(spec.address),
      checks: spec.checks,
      onChange: (health, reason) => {
        this.health = health;
        emit(
          health === "healthy" ? { kind: "healthy", instance: info } : { kind: "unhealthy", instance: info, reason },
        );
      },
    });
    this.monitor.start();
  }

  status(): InstanceStatus {
    return {
      info: this.info,
      state: "running",
      health: this.health,
      pid: null,
      dir: null,
      restarts: 0,
      lastExit: null,
      startedAtMs: null,
    };
  }

  stop(): Promise<void> {
    this.monitor.stop();
    return Promise.resolve();
  }
}

type Managed =
  | { readonly kind: "local"; readonly it: LocalInstance }
  | { readonly kind: "external"; readonly it: ExternalInstance };

/** Runs local apps and checks external instances. Pass it explicitly; one per host role. */
export class Runner {
  private readonly listeners = new Set<InstanceListener>();
  private readonly byId = new Map<string, Managed>();
  private readonly restart: RestartOptions;
  private readonly stopGraceMs: number;
  private readonly baseEnv: Readonly<Record<string, string>>;
  private readonly newId: () => string;
  private exitHookInstalled = false;
  // On the host process's exit, SIGKILL every local process group synchronously so none outlives the runner.
  private readonly exitHook = () => {
    for (const m of this.byId.values()) if (m.kind === "local") m.it.killNow();
  };

  constructor(private readonly options: RunnerOptions) {
    if (!HOST_ID.test(options.host)) {
      throw new ContrailError(
        "bad_data",
        `host: expected 4 lower-case hex digits, got ${JSON.stringify(options.host)}`,
      );
    }
    this.restart = { ...DEFAULT_RESTART, ...options.restart };
    this.stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    this.baseEnv = options.baseEnv ?? pickEnv(BASE_ENV_KEYS);
    this.newId = options.newInstanceId ?? (() => randomBytes(7).toString("hex"));
  }

  /** Adds a listener; returns the function that removes it. Listeners must not throw. */
  on(listener: InstanceListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Starts every instance of an app; resolves when each has been spawned (not yet healthy) with their identities.
   * Throws `bad_data` for an invalid spec (nothing is started then) and `conflict` when the app already runs here.
   */
  async start(spec: AppSpec): Promise<InstanceInfo[]> {
    const plans = this.plan(spec);
    const previous = [...this.byId].filter(([, m]) => m.kind === "local" && m.it.status().info.app === spec.app);
    if (previous.some(([, m]) => m.it.status().state !== "stopped")) {
      throw new ContrailError("conflict", `app ${spec.app} already runs on this host`);
    }
    for (const [id] of previous) this.byId.delete(id);
    const created: LocalInstance[] = [];
    for (const p of plans) {
      const id = this.freshId();
      const info: InstanceInfo = {
        id,
        app: spec.app,
        group: p.group.name,
        region: p.region,
        host: this.options.host,
        kind: "local",
        address: null,
      };
      const env: Record<string, string> = {
        ...this.baseEnv,
        ...spec.env,
        FLY_APP_NAME: spec.app,
        FLY_REGION: p.region,
        FLY_ALLOC_ID: id,
        FLY_MACHINE_ID: id,
        FLY_PUBLIC_IP: "127.0.0.1",
        FLY_PROCESS_GROUP: p.group.name,
      };
      if (spec.primaryRegion) env.PRIMARY_REGION = spec.primaryRegion;
      // A group without a service gets no PORT; an inherited one must not leak in.
      delete env.PORT;
      const it = new LocalInstance({
        info,
        dir: spec.dir,
        argv: p.argv,
        env,
        service: p.group.internalPort !== null,
        privatePorts: p.group.privatePorts ?? [],
        checks: p.group.checks,
        policy: p.group.restart ?? "on-failure",
        restart: this.restart,
        stopSignal: spec.killSignal ?? DEFAULT_STOP_SIGNAL,
        stopGraceMs: spec.killTimeoutMs ?? this.stopGraceMs,
        logs: this.options.logs ?? {},
        emit: (e) => this.emit(e),
      });
      this.byId.set(id, { kind: "local", it });
      created.push(it);
    }
    if (created.length > 0 && !this.exitHookInstalled) {
      process.on("exit", this.exitHook);
      this.exitHookInstalled = true;
    }
    await Promise.all(created.map((it) => it.start()));
    return created.map((it) => it.status().info);
  }

  /** Starts health checking an instance that runs elsewhere. Throws `bad_data` or `conflict` (id taken). */
  addExternal(spec: ExternalInstanceSpec): InstanceInfo {
    if (!INSTANCE_ID.test(spec.id)) {
      throw new ContrailError(
        "bad_data",
        `instance id: expected 14 lower-case hex digits, got ${JSON.stringify(spec.id)}`,
      );
    }
    if (this.byId.has(spec.id)) throw new ContrailError("conflict", `instance ${spec.id} is already known`);
    parseAddress(spec.address);
    const info: InstanceInfo = {
      id: spec.id,
      app: spec.app,
      group: spec.group,
      region: spec.region,
      host: spec.host,
      kind: "external",
      address: spec.address,
    };
    this.byId.set(spec.id, { kind: "external", it: new ExternalInstance(info, spec, (e) => this.emit(e)) });
    return info;
  }

  /** Stops checking an external instance; unknown ids are ignored. Throws `bad_data` for a local one. */
  removeExternal(id: string): void {
    const m = this.byId.get(id);
    if (m === undefined) return;
    if (m.kind === "local") throw new ContrailError("bad_data", `instance ${id} is local: stop its app instead`);
    void m.it.stop();
    this.byId.delete(id);
  }

  /** Stops every local instance of `app` and forgets them; resolves when their processes have exited. */
  async stopApp(app: string): Promise<void> {
    const ids = [...this.byId].filter(([, m]) => m.kind === "local" && m.it.status().info.app === app);
    await Promise.all(ids.map(([, m]) => m.it.stop()));
    for (const [id] of ids) this.byId.delete(id);
  }

  /** Snapshots of every instance, local and external. */
  instances(): InstanceStatus[] {
    return [...this.byId.values()].map((m) => m.it.status());
  }

  /** One instance's snapshot, or undefined. */
  status(id: string): InstanceStatus | undefined {
    return this.byId.get(id)?.it.status();
  }

  /** The captured output of a local instance, oldest first (the newest `last` lines when given); [] otherwise. */
  logs(id: string, last?: number): LogLine[] {
    const m = this.byId.get(id);
    return m?.kind === "local" ? m.it.logs.lines(last) : [];
  }

  /**
   * Stops everything: each app's stop signal (SIGTERM by default) to its local process groups, SIGKILL after the grace
   * period, external checks ended; resolves when every local process has exited. Stopped instances stay listed
   * (state `stopped`).
   */
  async stop(): Promise<void> {
    await Promise.all([...this.byId.values()].map((m) => m.it.stop()));
    if (this.exitHookInstalled) {
      process.off("exit", this.exitHook);
      this.exitHookInstalled = false;
    }
  }

  private emit(e: InstanceEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        // A throwing listener is a bug of its own: surface it without corrupting the instance's state.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  private freshId(): string {
    for (;;) {
      const id = this.newId();
      if (!INSTANCE_ID.test(id))
        throw new ContrailError("internal", `instance id generator gave ${JSON.stringify(id)}`);
      if (!this.byId.has(id)) return id;
    }
  }

  /** Checks a spec and lists one entry per instance to start. */
  private plan(spec: AppSpec): { group: ProcessGroupSpec; region: string; argv: string[] }[] {
    const bad = (msg: string): never => {
      throw new ContrailError("bad_data", `app ${JSON.stringify(spec.app)}: ${msg}`);
    };
    if (spec.app === "") bad("empty app name");
    let isDir = false;
    try {
      isDir = statSync(spec.dir).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) bad(`directory ${JSON.stringify(spec.dir)} does not exist`);
    const out: { group: ProcessGroupSpec; region: string; argv: string[] }[] = [];
    const names = new Set<string>();
    for (const g of spec.groups) {
      if (!GROUP.test(g.name)) bad(`invalid process group name ${JSON.stringify(g.name)}`);
      if (names.has(g.name)) bad(`process group ${g.name} given twice`);
      names.add(g.name);
      const argv = parseCommandLine(g.command);
      if (g.internalPort === null && g.checks.length > 0) {
        bad(`process group ${g.name} has checks but no internal port to check`);
      }
      const privatePorts = g.privatePorts ?? [];
      if (privatePorts.length > MAX_PRIVATE_PORTS) {
        bad(`process group ${g.name}: at most ${MAX_PRIVATE_PORTS} private ports, got ${privatePorts.length}`);
      }
      for (const port of privatePorts) {
        if (!Number.isInteger(port) || port < 1 || port > 65535 || port === g.internalPort) {
          bad(`process group ${g.name}: private port ${port} is not a port other than the internal port`);
        }
      }
      if (new Set(privatePorts).size !== privatePorts.length) bad(`process group ${g.name}: a private port twice`);
      if (
        !Number.isInteger(g.instancesPerRegion) ||
        g.instancesPerRegion < 0 ||
        g.instancesPerRegion > MAX_PER_REGION
      ) {
        bad(`process group ${g.name}: instancesPerRegion must be an integer 0-${MAX_PER_REGION}`);
      }
      for (const c of g.checks) {
        if (!(c.intervalMs > 0 && c.timeoutMs > 0 && c.gracePeriodMs >= 0)) {
          bad(`process group ${g.name}: check interval and timeout must be positive`);
        }
      }
      for (const region of new Set(g.regions)) {
        if (!REGION.test(region)) bad(`invalid region ${JSON.stringify(region)}`);
        for (let i = 0; i < g.instancesPerRegion; i++) out.push({ group: g, region, argv });
      }
    }
    return out;
  }
}

function pickEnv(keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = process.env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}
