// Settings of the platform's processes (`contrail up`, `serve`, `edge`, `agent`): where the API, each edge and the
// metrics listeners bind, how often to scrape, and the host ids the platform labels carry. Parsing of the
// command-line forms lives here so the command files stay lists of flags.

import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { ContrailError } from "../model/errors.ts";
import { isValidLegacyLabelName } from "../model/labels.ts";
import { parseDuration } from "../promql/parser/duration.ts";

/** The API's default listen address, clear of Prometheus (9090), its exporters (9100…) and VictoriaMetrics (8428). */
export const DEFAULT_API_ADDRESS = "127.0.0.1:9300";

/** A parsed `HOST:PORT` (IPv6 hosts in brackets: `[::1]:9300`). */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Parses `HOST:PORT`; throws bad_data naming the flag (default `--api`) and the expected form. */
export function parseListenAddress(text: string, flag = "--api"): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = m === null ? -1 : Number(m[3]);
  if (m === null || port > 65535) {
    throw new ContrailError(
      "bad_data",
      `${flag}: expected HOST:PORT such as ${DEFAULT_API_ADDRESS}, got ${JSON.stringify(text)}`,
    );
  }
  return { host: m[1] ?? m[2], port };
}

/** Most `--alertmanager` URLs: every batch of alerts is POSTed to each, so a long list multiplies the work. */
export const MAX_ALERTMANAGERS = 10;
/** Longest `--alertmanager` URL, characters. */
const MAX_ALERTMANAGER_URL_LENGTH = 2048;

/**
 * Checks `--alertmanager` URLs (base URLs such as `http://127.0.0.1:9093`, a path prefix allowed): absolute http or
 * https, at most {@link MAX_ALERTMANAGERS}, none twice; throws bad_data naming the flag and the problem.
 */
export function parseAlertmanagerUrls(urls: readonly string[]): string[] {
  if (urls.length > MAX_ALERTMANAGERS) {
    throw new ContrailError("bad_data", `--alertmanager: ${urls.length} given, the limit is ${MAX_ALERTMANAGERS}`);
  }
  for (const text of urls) {
    let url: URL | null = null;
    try {
      url = text.length <= MAX_ALERTMANAGER_URL_LENGTH ? new URL(text) : null;
    } catch {
      url = null;
    }
    if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
      throw new ContrailError(
        "bad_data",
        `--alertmanager: expected an http or https URL such as http://127.0.0.1:9093 (at most ` +
          `${MAX_ALERTMANAGER_URL_LENGTH} characters), got ${JSON.stringify(text.slice(0, 200))}`,
      );
    }
  }
  if (new Set(urls).size !== urls.length) throw new ContrailError("bad_data", "--alertmanager: a URL is given twice");
  return [...urls];
}

/** Most `--external-label` flags. */
export const MAX_EXTERNAL_LABELS = 20;
/** Longest `--external-label` value, characters. */
const MAX_EXTERNAL_LABEL_VALUE = 1024;

/**
 * Parses `--external-label NAME=VALUE` flags into labels added to every alert sent out (unless the alert has its
 * own label of that name). `org` is refused: it always names the alert's org. Throws bad_data naming the flag.
 */
export function parseExternalLabels(pairs: readonly string[]): Record<string, string> {
  if (pairs.length > MAX_EXTERNAL_LABELS) {
    throw new ContrailError("bad_data", `--external-label: ${pairs.length} given, the limit is ${MAX_EXTERNAL_LABELS}`);
  }
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    const name = eq < 0 ? "" : pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (!isValidLegacyLabelName(name) || value.length > MAX_EXTERNAL_LABEL_VALUE) {
      throw new ContrailError(
        "bad_data",
        `--external-label: expected NAME=VALUE with a label name and at most ${MAX_EXTERNAL_LABEL_VALUE} ` +
          `characters of value, such as cluster=eu-1, got ${JSON.stringify(pair.slice(0, 200))}`,
      );
    }
    if (name === "org") throw new ContrailError("bad_data", "--external-label: org is set to each alert's org");
    if (name in out) throw new ContrailError("bad_data", `--external-label: ${name} given twice`);
    out[name] = value;
  }
  return out;
}

/** One edge listener to start: its region code and `HOST:PORT` (port 0 picks a free port). */
export interface EdgeSpec {
  readonly region: string;
  readonly address: string;
  /** `HOST:PORT` of its HTTPS listener; none means the same host on a free port. */
  readonly tlsAddress?: string;
}

/**
 * The edges started when no `--edge` is given: three regions on loopback, on consecutive ports next to the common
 * development port 8080. A default port that is taken falls back to a free one (the printed URLs say which).
 */
export const DEFAULT_EDGES: readonly EdgeSpec[] = [
  { region: "ord", address: "127.0.0.1:8080", tlsAddress: "127.0.0.1:8443" },
  { region: "ams", address: "127.0.0.1:8081", tlsAddress: "127.0.0.1:8444" },
  { region: "syd", address: "127.0.0.1:8082", tlsAddress: "127.0.0.1:8445" },
];

/** The HTTPS address of an edge: the given one, else the HTTP listener's host on a free port. */
export function tlsAddressOf(e: EdgeSpec): string {
  return e.tlsAddress ?? `${e.address.slice(0, e.address.lastIndexOf(":"))}:0`;
}

/** The `--edge` argument that starts `e` again: `REGION=HOST:PORT[,tls=HOST:PORT]`. */
export function formatEdgeSpec(e: EdgeSpec): string {
  return e.tlsAddress === undefined ? `${e.region}=${e.address}` : `${e.region}=${e.address},tls=${e.tlsAddress}`;
}

/** The default scrape interval, as on the seed's platform: 15 s. */
export const DEFAULT_SCRAPE_INTERVAL_MS = 15_000;

/** Where the edge and agent processes serve `/metrics` by default: a free loopback port. */
export const DEFAULT_METRICS_ADDRESS = "127.0.0.1:0";

/** The shortest scrape interval accepted, ms. */
const MIN_SCRAPE_INTERVAL_MS = 1_000;

/** Parses `--scrape-interval`; throws bad_data unless it is a duration of at least one second. */
export function parseScrapeInterval(text: string): number {
  const ms = parseDuration(text);
  if (ms < MIN_SCRAPE_INTERVAL_MS) {
    throw new ContrailError("bad_data", `--scrape-interval: at least 1s, got ${JSON.stringify(text)}`);
  }
  return ms;
}

/** What a metrics node can run: the HTTP API, the scraper, the rule evaluator (`contrail serve --roles`). */
export const SERVE_ROLES = ["api", "scrape", "rules"] as const;
/** One of {@link SERVE_ROLES}. */
export type ServeRole = (typeof SERVE_ROLES)[number];
/** Every role: what `contrail serve` runs without `--roles`. */
export const ALL_SERVE_ROLES: ReadonlySet<ServeRole> = new Set(SERVE_ROLES);

/** Parses `--roles api,scrape,rules` (any non-empty subset, each once); throws bad_data naming the flag. */
export function parseServeRoles(text: string): ReadonlySet<ServeRole> {
  const names = text.split(",").map((r) => r.trim());
  const known = new Set<string>(SERVE_ROLES);
  const bad = names.find((r) => !known.has(r));
  if (bad !== undefined || new Set(names).size !== names.length) {
    throw new ContrailError(
      "bad_data",
      `--roles: a comma-separated list of ${SERVE_ROLES.join(", ")}, each at most once, got ${JSON.stringify(text.slice(0, 200))}`,
    );
  }
  return new Set(names as ServeRole[]);
}

const REGION = /^[a-z]{3}$/;
const LISTEN = /^(?:\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):\d{1,5}$/;

/** True for a listen address `HOST:PORT` with a port up to 65535. */
function isListenAddress(address: string): boolean {
  return LISTEN.test(address) && Number(address.slice(address.lastIndexOf(":") + 1)) <= 65535;
}

/** Parses one `--edge REGION=HOST:PORT[,tls=HOST:PORT]`; throws `bad_data` naming the expected form. */
export function parseEdgeSpec(text: string): EdgeSpec {
  const eq = text.indexOf("=");
  const region = eq < 0 ? "" : text.slice(0, eq);
  const rest = eq < 0 ? "" : text.slice(eq + 1);
  const comma = rest.indexOf(",tls=");
  const address = comma < 0 ? rest : rest.slice(0, comma);
  const tlsAddress = comma < 0 ? undefined : rest.slice(comma + ",tls=".length);
  if (!REGION.test(region) || !isListenAddress(address) || (tlsAddress !== undefined && !isListenAddress(tlsAddress))) {
    throw new ContrailError(
      "bad_data",
      "--edge: expected REGION=HOST:PORT[,tls=HOST:PORT] such as ord=127.0.0.1:8080,tls=127.0.0.1:8443 " +
        `(region: three lower-case letters), got ${JSON.stringify(text)}`,
    );
  }
  return tlsAddress === undefined ? { region, address } : { region, address, tlsAddress };
}

/** Checks a list of edges: regions must differ (each listener stands for one region). */
export function checkEdges(edges: readonly EdgeSpec[]): readonly EdgeSpec[] {
  const seen = new Set<string>();
  for (const e of edges) {
    if (seen.has(e.region)) throw new ContrailError("bad_data", `--edge: region ${e.region} given twice`);
    seen.add(e.region);
  }
  return edges;
}

/**
 * A 4-hex-digit host id derived from this machine's name and `role` (e.g. an edge region), stable across runs, so
 * each edge listener looks like a server of its own and the instances' host stays the same after a restart.
 */
export function hostIdFor(role: string, machine: string = hostname()): string {
  return createHash("sha256").update(`${machine}\0${role}`).digest("hex").slice(0, 4);
}

/**
 * Offset of each edge's TCP service ports: listeners sharing an IP address bind a service's public port P at
 * P + 1000 × (how many listeners on that IP came before), so three loopback edges serve port 5432 at 5432, 6432
 * and 7432.
 */
export function tcpPortOffsets(edges: readonly EdgeSpec[]): number[] {
  const perIp = new Map<string, number>();
  return edges.map((e) => {
    const ip = e.address.slice(0, e.address.lastIndexOf(":"));
    const n = perIp.get(ip) ?? 0;
    perIp.set(ip, n + 1);
    return n * 1000;
  });
}

/** Smallest and largest `--storage-queue-max`, bytes: a queue must hold a few batches, and fit a disk. */
const MIN_QUEUE_MAX_BYTES = 1024 * 1024;
const MAX_QUEUE_MAX_BYTES = 1024 ** 4;
const BYTE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

/**
 * Parses `--storage-queue-max`: a whole number of bytes, optionally with KiB, MiB, GiB or TiB (`512MiB`), from 1 MiB
 * to 1 TiB; throws bad_data naming the flag and the bounds.
 */
export function parseQueueMaxBytes(text: string): number {
  const m = /^(\d{1,13})(KiB|MiB|GiB|TiB)?$/.exec(text.trim());
  const bytes = m === null ? Number.NaN : Number(m[1]) * BYTE_UNITS[m[2] ?? ""];
  if (!(bytes >= MIN_QUEUE_MAX_BYTES && bytes <= MAX_QUEUE_MAX_BYTES)) {
    throw new ContrailError(
      "bad_data",
      `--storage-queue-max: expected a size from 1MiB to 1TiB such as 512MiB (bytes, or KiB, MiB, GiB, TiB), got ` +
        JSON.stringify(text.slice(0, 100)),
    );
  }
  return bytes;
}
