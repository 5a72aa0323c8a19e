// Health checks of an instance: one probe (an HTTP request or a TCP connect, with a timeout) and a monitor that
// runs every check of an instance on its own timer and reports when the instance turns healthy or unhealthy.
// The same monitor serves local and external instances.

import http from "node:http";
import https from "node:https";
import net from "node:net";
import { ContrailError } from "../model/errors.ts";
import { type HealthCheck, IMPLICIT_CHECK } from "./spec.ts";

/** A TCP endpoint. `host` is an IP address or name, without brackets. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/** The outcome of one probe; `detail` says why for people ("HTTP 503", "timeout after 1000ms"). */
export interface ProbeResult {
  readonly ok: boolean;
  readonly detail: string;
}

/** Parses `host:port` or `[v6]:port`; throws `bad_data` otherwise. */
export function parseAddress(address: string): Address {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):([0-9]{1,5})$/.exec(address);
  const port = m === null ? 0 : Number(m[3]);
  if (m === null || port < 1 || port > 65535) {
    throw new ContrailError("bad_data", `address: expected host:port or [v6]:port, got ${JSON.stringify(address)}`);
  }
  return { host: m[1] ?? m[2], port };
}

/** Runs one check against `address` once; never rejects. */
export function probe(address: Address, check: HealthCheck): Promise<ProbeResult> {
  switch (check.kind) {
    case "http":
      return probeHttp(address, check);
    case "tcp":
      return probeTcp(address, check.timeoutMs);
  }
}

function probeTcp(address: Address, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address.host, port: address.port });
    const done = (r: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, detail: `tcp: timeout after ${timeoutMs}ms` }), timeoutMs);
    socket.once("connect", () => done({ ok: true, detail: "tcp: connected" }));
    socket.once("error", (err: NodeJS.ErrnoException) =>
      done({ ok: false, detail: `tcp: ${err.code ?? err.message}` }),
    );
  });
}

function probeHttp(address: Address, check: Extract<HealthCheck, { kind: "http" }>): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const secure = check.protocol === "https";
    const hostHeader = address.host.includes(":")
      ? `[${address.host}]:${address.port}`
      : `${address.host}:${address.port}`;
    const options: https.RequestOptions = {
      host: address.host,
      port: address.port,
      method: check.method ?? "GET",
      path: check.path,
      headers: { host: hostHeader, "user-agent": "contrail-health-check", ...check.headers },
      agent: false,
    };
    if (secure) options.rejectUnauthorized = !(check.tlsSkipVerify ?? false);
    let settled = false;
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = (secure ? https : http).request(options, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      done({ ok: status >= 200 && status < 300, detail: `http: ${status}` });
    });
    const timer = setTimeout(
      () => done({ ok: false, detail: `http: timeout after ${check.timeoutMs}ms` }),
      check.timeoutMs,
    );
    req.once("error", (err: NodeJS.ErrnoException) => done({ ok: false, detail: `http: ${err.code ?? err.message}` }));
    req.end();
  });
}

/** Options of a {@link HealthMonitor}. */
export interface MonitorOptions {
  /** Null: nothing to probe (a process that serves no traffic); it is healthy once started. */
  readonly address: Address | null;
  /** None with an address means {@link IMPLICIT_CHECK}. */
  readonly checks: readonly HealthCheck[];
  /** Called when the aggregate health changes to healthy or unhealthy (never for the initial `starting`). */
  readonly onChange: (health: "healthy" | "unhealthy", reason: string) => void;
  /** Called after every probe, whatever its result (the runner refreshes its OOM evidence baseline there). */
  readonly onProbe?: () => void;
}

/**
 * Runs an instance's checks until stopped. Each check first runs after its grace period, then every interval
 * (measured from the end of the previous probe, so probes of one check never overlap). The instance is healthy
 * when every check's latest probe passed, unhealthy when any failed, starting before every check has a result.
 */
export class HealthMonitor {
  private readonly checks: readonly HealthCheck[];
  private readonly results: (ProbeResult | null)[];
  private readonly timers: (NodeJS.Timeout | null)[];
  private current: "starting" | "healthy" | "unhealthy" = "starting";
  private running = false;

  constructor(private readonly options: MonitorOptions) {
    this.checks = options.address === null ? [] : options.checks.length > 0 ? options.checks : [IMPLICIT_CHECK];
    this.results = this.checks.map(() => null);
    this.timers = this.checks.map(() => null);
  }

  /** The aggregate health now. */
  get health(): "starting" | "healthy" | "unhealthy" {
    return this.current;
  }

  /** Starts the timers; with nothing to probe, reports healthy at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.checks.length === 0) {
      this.current = "healthy";
      this.options.onChange("healthy", "no checks");
      return;
    }
    for (let i = 0; i < this.checks.length; i++) this.schedule(i, this.checks[i].gracePeriodMs);
  }

  /** Stops the timers; a probe in flight is ignored when it ends. No event is reported. */
  stop(): void {
    this.running = false;
    for (let i = 0; i < this.timers.length; i++) {
      const t = this.timers[i];
      if (t !== null) clearTimeout(t);
      this.timers[i] = null;
    }
  }

  private schedule(i: number, delayMs: number): void {
    const t = setTimeout(() => {
      this.timers[i] = null;
      void this.run(i);
    }, delayMs);
    this.timers[i] = t;
  }

  private async run(i: number): Promise<void> {
    const address = this.options.address!;
    const result = await probe(address, this.checks[i]);
    if (!this.running) return;
    this.results[i] = result;
    this.options.onProbe?.();
    this.update();
    if (this.running) this.schedule(i, this.checks[i].intervalMs);
  }

  private update(): void {
    const failed = this.results.findIndex((r) => r !== null && !r.ok);
    const next = failed >= 0 ? "unhealthy" : this.results.every((r) => r !== null) ? "healthy" : "starting";
    if (next === this.current || next === "starting") return;
    this.current = next;
    if (next === "unhealthy") {
      const c = this.checks[failed];
      const what = c.kind === "http" ? `http check ${c.path}` : "tcp check";
      this.options.onChange("unhealthy", `${what}: ${this.results[failed]!.detail}`);
    } else {
      this.options.onChange("healthy", "all checks passing");
    }
  }
}
