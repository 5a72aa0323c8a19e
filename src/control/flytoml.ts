// fly.toml: an app's configuration, in the format of the seed's platform. We read the parts Contrail acts on
// (processes, services, checks, and above all `[metrics]`, the app's own Prometheus endpoints) into a typed,
// JSON-serializable config. Every other key is kept in the stored text, ignored, and listed in `ignoredKeys`:
// fly.toml files in the wild carry many keys this platform has no use for. Every problem is reported, each with the
// line of the key it is about (flytoml-lines.ts).
//
// Contrail additions, ignored by other platforms: `[build] command` (the command the local runner starts when
// there is no `[processes]`), a top-level `regions = ["ord", …]` (where the local runner places instances), and a
// metrics endpoint's `sample_limit` and `body_size_limit` (lower scrape limits than the platform's).

import { parse, TomlError } from "smol-toml";
import { ContrailError } from "../model/errors.ts";
import { SCRAPE_BODY_LIMIT_BYTES, SCRAPE_SAMPLE_LIMIT } from "../model/scrape-limits.ts";
import { KeyLines } from "./flytoml-lines.ts";
import { describe, type Issues, TableReader } from "./flytoml-reader.ts";
import { LIMITS } from "./validate.ts";

/** How the proxy counts load for `soft_limit`/`hard_limit`. */
export type ConcurrencyType = "connections" | "requests";

/** Load limits of a service, per instance. */
export interface Concurrency {
  readonly type: ConcurrencyType;
  readonly softLimit: number;
  readonly hardLimit: number;
}

/** An HTTP health check of `[[http_service.checks]]`; durations in milliseconds. */
export interface HttpCheck {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly gracePeriodMs: number;
  readonly method: string;
  readonly path: string;
  readonly protocol: "http" | "https";
  readonly tlsSkipVerify: boolean;
  readonly headers: Readonly<Record<string, string>>;
}

/** `[http_service]`: the app's HTTP service on ports 80/443. `processes` empty means every process group. */
export interface HttpService {
  readonly internalPort: number;
  readonly forceHttps: boolean;
  readonly processes: readonly string[];
  readonly concurrency: Concurrency;
  readonly checks: readonly HttpCheck[];
}

/** One public port (or port range) of a `[[services]]` entry. */
export interface ServicePort {
  readonly port: number | null;
  readonly startPort: number | null;
  readonly endPort: number | null;
  readonly handlers: readonly string[];
  readonly forceHttps: boolean;
}

/** A `[[services]]` entry: a TCP or UDP service. */
export interface Service {
  readonly internalPort: number;
  readonly protocol: "tcp" | "udp";
  readonly processes: readonly string[];
  readonly ports: readonly ServicePort[];
  readonly concurrency: Concurrency;
}

/**
 * A Prometheus endpoint of the app (`[metrics]` or one `[[metrics]]`); `processes` empty means every group. The
 * limits are Contrail additions, present when the file sets them: lower than the platform's, never higher.
 */
export interface MetricsEndpoint {
  readonly port: number;
  readonly path: string;
  readonly processes: readonly string[];
  /** `sample_limit`: most samples one scrape of the endpoint may expose. */
  readonly sampleLimit?: number;
  /** `body_size_limit`: largest response body, in bytes. */
  readonly bodyLimitBytes?: number;
}

/** A `[[vm]]` (or `[vm]`) entry: machine size for some or all process groups. */
export interface VmConfig {
  readonly size: string | null;
  readonly memoryMb: number | null;
  readonly cpus: number | null;
  readonly cpuKind: "shared" | "performance" | null;
  readonly processes: readonly string[];
}

/** `[build]`: how the app's image is made, and (Contrail) the local start command. */
export interface BuildConfig {
  readonly image: string | null;
  readonly dockerfile: string | null;
  readonly builder: string | null;
  readonly buildpacks: readonly string[];
  readonly args: Readonly<Record<string, string>>;
  readonly command: string | null;
}

/** Signals `kill_signal` may name (the seed platform's list). */
export const KILL_SIGNALS = ["SIGINT", "SIGTERM", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGKILL", "SIGSTOP"] as const;
/** A signal `kill_signal` may name. */
export type KillSignal = (typeof KILL_SIGNALS)[number];
/** The longest `kill_timeout`, ms (the seed platform's bound, 300 s). */
export const MAX_KILL_TIMEOUT_MS = 300_000;

/** A checked fly.toml. Plain data: safe to JSON-encode and store. */
export interface FlyConfig {
  readonly app: string | null;
  readonly primaryRegion: string | null;
  /**
   * `kill_signal`: what stops the app's processes gracefully; null when absent (the local runner sends SIGTERM).
   * Absent from configs stored before this field existed.
   */
  readonly killSignal?: KillSignal | null;
  /** `kill_timeout` in ms (integer seconds or a duration): from the signal to SIGKILL; null when absent. */
  readonly killTimeoutMs?: number | null;
  readonly regions: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Process group name to command; empty when the file has no `[processes]` (then the only group is `app`). */
  readonly processes: Readonly<Record<string, string>>;
  readonly build: BuildConfig | null;
  readonly httpService: HttpService | null;
  readonly services: readonly Service[];
  readonly metrics: readonly MetricsEndpoint[];
  readonly vms: readonly VmConfig[];
  /** Full paths of keys present in the file but not used by Contrail, e.g. `swap_size_mb`, `deploy`. */
  readonly ignoredKeys: readonly string[];
}

/** The outcome of {@link validateFlyToml}: the config, or every problem found, one message each. */
export type FlyTomlResult =
  | { readonly ok: true; readonly config: FlyConfig }
  | { readonly ok: false; readonly errors: readonly string[] };

/** The process group of an app whose fly.toml has no `[processes]`. */
export const DEFAULT_PROCESS_GROUP = "app";
/** The metrics path when `[metrics]` gives none. */
export const DEFAULT_METRICS_PATH = "/metrics";

const PORT = { min: 1, max: 65535 } as const;
const LIMIT = { min: 0, max: 1_000_000 } as const;
const MAX_CHECK_MS = 3_600_000;
const REGION = /^[a-z]{3}$/;
const GROUP = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const URL_PATH = /^\/[^\s]*$/;
const METHOD = /^[A-Za-z]{1,16}$/;
const MEMORY = /^([0-9]+)\s*(mb|gb)$/i;

/** Parses and checks fly.toml text; never throws on bad input, reporting every problem it finds instead. */
export function validateFlyToml(text: string): FlyTomlResult {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > LIMITS.flyTomlBytes) {
    return { ok: false, errors: [`fly.toml: at most ${LIMITS.flyTomlBytes} bytes, got ${bytes}`] };
  }
  let doc: ReturnType<typeof parse>;
  try {
    doc = parse(text, { maxDepth: 32, unsafeKeyBehaviour: "throw" });
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const what = err.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
    const hint = /[\u201c\u201d\u2018\u2019]/.test(text) ? ` (curly quotes are not TOML quotes: use " or ')` : "";
    return { ok: false, errors: [`fly.toml:${err.line}:${err.column}: invalid TOML: ${what}${hint}`] };
  }
  const issues: Issues = { errors: [], ignored: [] };
  const config = readConfig(new TableReader("", doc, issues));
  if (issues.errors.length > 0) {
    // In the order of the file (a problem of no written key first), so they read top to bottom.
    const lines = new KeyLines(text);
    const errors = issues.errors
      .map((e) => ({ ...e, line: lines.lineOf(e.path) ?? 0 }))
      .sort((a, b) => a.line - b.line)
      .map((e) => `fly.toml:${e.line === 0 ? "" : `${e.line}:`} ${e.path}: ${e.message}`);
    return { ok: false, errors };
  }
  return { ok: true, config };
}

/** Parses and checks fly.toml text; throws `bad_data` whose message lists every problem, one per line. */
export function parseFlyToml(text: string): FlyConfig {
  const r = validateFlyToml(text);
  if (!r.ok) throw new ContrailError("bad_data", r.errors.join("\n"));
  return r.config;
}

/** The process groups of an app: the keys of `[processes]`, or just `app`. */
export function processGroups(config: FlyConfig): string[] {
  const names = Object.keys(config.processes);
  return names.length > 0 ? names : [DEFAULT_PROCESS_GROUP];
}

/** The metrics endpoints that apply to instances of process group `group`. */
export function metricsFor(config: FlyConfig, group: string): MetricsEndpoint[] {
  return config.metrics.filter((m) => m.processes.length === 0 || m.processes.includes(group));
}

/** `kill_timeout`: an integer of seconds, as the seed platform reads it, or a duration string such as "30s". */
function readKillTimeout(root: TableReader): number | undefined {
  if (typeof root.raw("kill_timeout") === "number") {
    const s = root.int("kill_timeout", { min: 0, max: MAX_KILL_TIMEOUT_MS / 1000 });
    return s === undefined ? undefined : s * 1000;
  }
  return root.duration("kill_timeout", MAX_KILL_TIMEOUT_MS);
}

function readConfig(root: TableReader): FlyConfig {
  const app = root.string("app", {
    max: LIMITS.appName,
    pattern: /^$|^[a-z0-9][a-z0-9-]{1,62}$/,
    rule: 'an app name (2-63 lower-case letters, digits and "-")',
  });
  const regionRule = "a region code (three lower-case letters)";
  const primaryRegion = root.string("primary_region", { max: 64, pattern: /^$|^[a-z]{3}$/, rule: regionRule });
  const regions = root.strings("regions", (s) => (REGION.test(s) ? undefined : `expected ${regionRule}, got "${s}"`));
  const processes = readProcesses(root);
  const groups = Object.keys(processes).length > 0 ? Object.keys(processes) : [DEFAULT_PROCESS_GROUP];
  const groupList = (t: TableReader) =>
    t.strings("processes", (s) =>
      groups.includes(s) ? undefined : `unknown process group "${s}" (groups: ${groups.join(", ")})`,
    ) ?? [];

  const killSignal = root.choice("kill_signal", KILL_SIGNALS);
  const killTimeoutMs = readKillTimeout(root);
  const build = root.table("build");
  const http = root.table("http_service");
  const config: Omit<FlyConfig, "ignoredKeys"> = {
    app: app === undefined || app === "" ? null : app,
    primaryRegion: primaryRegion === undefined || primaryRegion === "" ? null : primaryRegion,
    killSignal: killSignal ?? null,
    killTimeoutMs: killTimeoutMs ?? null,
    regions: regions ?? [],
    env: stringMap(root.table("env"), { scalars: true }),
    processes,
    build: build === undefined ? null : readBuild(build),
    httpService: http === undefined ? null : readHttpService(http, groupList),
    services: root.tables("services").map((s) => readService(s, groupList)),
    metrics: readMetricsTables(root, groupList, groups),
    vms: root.tables("vm", { single: true }).map((v) => readVm(v, groupList)),
  };
  root.finish();
  return { ...config, ignoredKeys: [...root.issues.ignored].sort() };
}

/** `[processes]`: group = command. An empty array (old files write `processes = []`) means none. */
function readProcesses(root: TableReader): Record<string, string> {
  const v = root.raw("processes");
  if (Array.isArray(v) && v.length === 0) return {};
  if (v === undefined) return {};
  const t = root.table("processes");
  if (t === undefined) return {};
  const out = stringMap(t, { scalars: false });
  for (const name of Object.keys(out)) {
    if (!GROUP.test(name)) t.error(name, 'invalid process group name: use lower-case letters, digits, "-" and "_"');
  }
  return out;
}

/** A table of string values (`[env]`, `[build.args]`, check headers); `scalars` also accepts numbers and booleans. */
function stringMap(t: TableReader | undefined, options: { scalars: boolean }): Record<string, string> {
  if (t === undefined) return {};
  const out: [string, string][] = [];
  for (const [k, v] of t.entries()) {
    if (typeof v === "string" || (options.scalars && (typeof v === "number" || typeof v === "boolean"))) {
      out.push([k, String(v)]);
    } else {
      t.error(k, `expected a string, got ${describe(v)}`);
    }
  }
  return Object.fromEntries(out);
}

function readBuild(t: TableReader): BuildConfig {
  const build: BuildConfig = {
    image: t.string("image", { max: 1024 }) ?? null,
    dockerfile: t.string("dockerfile", { max: 1024 }) ?? null,
    builder: t.string("builder", { max: 1024 }) ?? null,
    buildpacks: t.strings("buildpacks") ?? [],
    args: stringMap(t.table("args"), { scalars: true }),
    command: t.string("command", { max: 4096 }) ?? null,
  };
  t.finish();
  return build;
}

function readConcurrency(parent: TableReader): Concurrency {
  const t = parent.table("concurrency");
  // The seed's platform documents these defaults: connections, soft 20, hard 25.
  if (t === undefined) return { type: "connections", softLimit: 20, hardLimit: 25 };
  const hardLimit = t.int("hard_limit", LIMIT) ?? 25;
  const softLimit = t.int("soft_limit", LIMIT) ?? Math.min(20, hardLimit);
  if (softLimit > hardLimit) t.error("soft_limit", `must not exceed hard_limit (${hardLimit}), got ${softLimit}`);
  const c: Concurrency = { type: t.choice("type", ["connections", "requests"]) ?? "connections", softLimit, hardLimit };
  t.finish();
  return c;
}

function readCheck(t: TableReader): HttpCheck {
  const check: HttpCheck = {
    intervalMs: t.duration("interval", MAX_CHECK_MS) ?? 15_000,
    timeoutMs: t.duration("timeout", MAX_CHECK_MS) ?? 2_000,
    gracePeriodMs: t.duration("grace_period", MAX_CHECK_MS) ?? 1_000,
    method: (t.string("method", { max: 16, pattern: METHOD, rule: "an HTTP method like GET" }) ?? "GET").toUpperCase(),
    path: t.string("path", { max: 1024, pattern: URL_PATH, rule: 'a path starting with "/"' }) ?? "/",
    protocol: t.choice("protocol", ["http", "https"]) ?? "http",
    tlsSkipVerify: t.bool("tls_skip_verify") ?? false,
    headers: stringMap(t.table("headers"), { scalars: false }),
  };
  t.finish();
  return check;
}

type GroupList = (t: TableReader) => string[];

/** Reads a required port key; records "missing" when absent. */
function requiredPort(t: TableReader, key: string): number {
  if (t.raw(key) === undefined) {
    t.error(key, "missing (an integer 1-65535)");
    return 0;
  }
  return t.int(key, PORT) ?? 0;
}

function readHttpService(t: TableReader, groupList: GroupList): HttpService {
  const s: HttpService = {
    internalPort: requiredPort(t, "internal_port"),
    forceHttps: t.bool("force_https") ?? false,
    processes: groupList(t),
    concurrency: readConcurrency(t),
    checks: t.tables("checks").map(readCheck),
  };
  t.finish();
  return s;
}

function readServicePort(t: TableReader): ServicePort {
  const p: ServicePort = {
    port: t.int("port", PORT) ?? null,
    startPort: t.int("start_port", PORT) ?? null,
    endPort: t.int("end_port", PORT) ?? null,
    handlers: t.strings("handlers", (h) => (h.length > 0 && h.length <= 32 ? undefined : `bad handler "${h}"`)) ?? [],
    forceHttps: t.bool("force_https") ?? false,
  };
  const given = (k: string) => t.raw(k) !== undefined;
  if (!given("port") && !(given("start_port") && given("end_port"))) {
    t.error("", "missing port (or start_port and end_port)");
  }
  if (p.startPort !== null && p.endPort !== null && p.startPort > p.endPort) {
    t.error("end_port", `must not be below start_port (${p.startPort}), got ${p.endPort}`);
  }
  t.finish();
  return p;
}

function readService(t: TableReader, groupList: GroupList): Service {
  const s: Service = {
    internalPort: requiredPort(t, "internal_port"),
    protocol: t.choice("protocol", ["tcp", "udp"]) ?? "tcp",
    processes: groupList(t),
    ports: t.tables("ports").map(readServicePort),
    concurrency: readConcurrency(t),
  };
  t.finish();
  return s;
}

function readMetrics(t: TableReader, groupList: GroupList): MetricsEndpoint {
  const port = requiredPort(t, "port");
  const path =
    t.string("path", { max: 1024, pattern: URL_PATH, rule: 'a path starting with "/"' }) ?? DEFAULT_METRICS_PATH;
  const processes = groupList(t);
  const sampleLimit = t.int("sample_limit", { min: 1, max: SCRAPE_SAMPLE_LIMIT });
  const bodyLimitBytes = t.bytes("body_size_limit", SCRAPE_BODY_LIMIT_BYTES);
  t.finish();
  return {
    port,
    path,
    processes,
    ...(sampleLimit === undefined ? {} : { sampleLimit }),
    ...(bodyLimitBytes === undefined ? {} : { bodyLimitBytes }),
  };
}

/**
 * `[metrics]` or every `[[metrics]]`. Two entries may not both apply to one process group with the same port and
 * path: the group's instances would be scraped twice for the same series.
 */
function readMetricsTables(root: TableReader, groupList: GroupList, all: readonly string[]): MetricsEndpoint[] {
  const tables = root.tables("metrics", { single: true });
  const endpoints = tables.map((t) => readMetrics(t, groupList));
  // An entry with a bad key may look like another one; its own error says what to fix first.
  if (root.issues.errors.length > 0) return endpoints;
  endpoints.forEach((m, i) => {
    const groups = m.processes.length === 0 ? all : m.processes;
    const earlier = endpoints.findIndex(
      (e, j) =>
        j < i &&
        e.port === m.port &&
        e.path === m.path &&
        (e.processes.length === 0 ? all : e.processes).some((g) => groups.includes(g)),
    );
    if (earlier >= 0) {
      tables[i].error(
        "",
        `scrapes port ${m.port} path ${m.path} as ${tables[earlier].path} does, for the same processes`,
      );
    }
  });
  return endpoints;
}

function readVm(t: TableReader, groupList: GroupList): VmConfig {
  let memoryMb = t.int("memory_mb", { min: 1, max: 1 << 20 }) ?? null;
  const memory = t.raw("memory");
  if (typeof memory === "number" && Number.isInteger(memory) && memory > 0) memoryMb = memory;
  else if (typeof memory === "string" && MEMORY.test(memory)) {
    const [, n, unit] = MEMORY.exec(memory)!;
    memoryMb = Number(n) * (unit.toLowerCase() === "gb" ? 1024 : 1);
  } else if (memory !== undefined) {
    t.error("memory", `expected megabytes or a size like "512mb" or "1gb", got ${describe(memory)}`);
  }
  const vm: VmConfig = {
    size: t.string("size", { max: 64 }) ?? null,
    memoryMb,
    cpus: t.int("cpus", { min: 1, max: 64 }) ?? null,
    cpuKind: t.choice("cpu_kind", ["shared", "performance"]) ?? null,
    processes: groupList(t),
  };
  t.finish();
  return vm;
}
