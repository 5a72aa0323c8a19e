// The per-org limits, each defined once: its default, unit, the range an override may take, and what it bounds.
// Every layer reads its limits from here: the query API (concurrency, time, samples, sizes), the remote-write
// and OTLP receivers (labels, request sizes, metadata), the tenant store (active series), the ruler (rule groups, rules, evaluation time), the control database (per-org overrides, checked against the range),
// and the CLI (`contrail orgs limits`). The defaults follow Prometheus and Grafana Mimir where they have one; each
// entry's comment gives the reference and the reason when ours differs.

import { ContrailError } from "./errors.ts";

/** What a limit counts: items, bytes, milliseconds, or samples per second. */
export type LimitUnit = "count" | "bytes" | "ms" | "per_second";

/** One limit: its default, the inclusive range of values an org may be given, its unit and a one-line help. */
export interface LimitSpec {
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly unit: LimitUnit;
  /** Which part of Contrail enforces it. */
  readonly area: "query" | "ingest" | "rules";
  readonly help: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** Every per-org limit by its key. Integers only; the setting name is the key in snake_case (see `limitName`). */
export const LIMIT_SPECS = {
  // Prometheus's --query.max-concurrency is 20 for a whole server; an org gets 8 so a few orgs can share a core.
  maxConcurrentQueries: {
    default: 8,
    min: 1,
    max: 1024,
    unit: "count",
    area: "query",
    help: "queries, series, label and federation lookups of the org evaluated at once; more answer 503",
  },
  // Mimir's querier.max_outstanding_requests_per_tenant is 100 for a whole tenant; 32 waiting PromQL queries cover a
  // dashboard refreshing all its panels at once, and a client that floods gets 503 instead of unbounded waiting.
  maxQueuedQueries: {
    default: 32,
    min: 0,
    max: 10_000,
    unit: "count",
    area: "query",
    help: "PromQL queries of the org waiting for an evaluator; more answer 503",
  },
  // Prometheus's --query.timeout and Mimir's querier.timeout: 2 minutes.
  queryTimeoutMs: {
    default: 120_000,
    min: 1000,
    max: 3_600_000,
    unit: "ms",
    area: "query",
    help: "longest run time of one query; a smaller timeout parameter wins",
  },
  // Prometheus's --query.max-samples is 50,000,000 for a whole server; 20,000,000 (about 320 MB of points) per query
  // keeps one org's query from taking the memory of the process.
  maxSamples: {
    default: 20_000_000,
    min: 1000,
    max: 500_000_000,
    unit: "count",
    area: "query",
    help: "samples one query may hold in memory at once",
  },
  maxQueryLength: {
    default: 128 * KiB,
    min: KiB,
    max: MiB,
    unit: "bytes",
    area: "query",
    help: "longest query text, in UTF-8 bytes",
  },
  maxMatchers: {
    default: 256,
    min: 1,
    max: 10_000,
    unit: "count",
    area: "query",
    help: "most match[] selectors in one request",
  },
  maxSeries: {
    default: 200_000,
    min: 1,
    max: 10_000_000,
    unit: "count",
    area: "query",
    help: "most series one answer may carry (query results, series, federation)",
  },
  // Mimir's max_label_names_per_series: 30 (Prometheus has no default). Real series carry under 15.
  maxLabelNamesPerSeries: {
    default: 30,
    min: 1,
    max: 1000,
    unit: "count",
    area: "ingest",
    help: "most labels of one written series, __name__ included",
  },
  // Mimir's max_label_name_length: 1024 bytes.
  maxLabelNameLength: {
    default: 1024,
    min: 1,
    max: 64 * KiB,
    unit: "bytes",
    area: "ingest",
    help: "longest label name of a written series, in UTF-8 bytes",
  },
  // Mimir's max_label_value_length: 2048 bytes.
  maxLabelValueLength: {
    default: 2048,
    min: 1,
    max: MiB,
    unit: "bytes",
    area: "ingest",
    help: "longest label value of a written series, in UTF-8 bytes",
  },
  // Senders batch far fewer: Prometheus max_samples_per_send is 2,000 (500 before 2.50), vmagent sends at most
  // 10,000 rows per block. 10,000 series take about 100 ms to create in the head, the longest we let one request hold
  // the thread that accepts writes.
  maxSeriesPerWrite: {
    default: 10_000,
    min: 1,
    max: 1_000_000,
    unit: "count",
    area: "ingest",
    help: "most series (and 1.0 metadata entries) in one remote-write request; more answer 413",
  },
  // Five times the largest batch of common senders, for backfills that send several samples per series.
  maxSamplesPerWrite: {
    default: 50_000,
    min: 1,
    max: 10_000_000,
    unit: "count",
    area: "ingest",
    help: "most samples in one remote-write request, and data points in one OTLP request; more answer 413",
  },
  // Mimir's distributor max_recv_msg_size is 100 MiB. 10,000 series of 30 labels at a kilobyte each come to 10 MiB:
  // 32 MiB leaves room and keeps a decompression (checked against the snappy header first) to a few milliseconds.
  maxWriteBytes: {
    default: 32 * MiB,
    min: 64 * KiB,
    max: 256 * MiB,
    unit: "bytes",
    area: "ingest",
    help: "largest remote-write or OTLP body once decompressed (the compressed body may be at most what snappy makes of it)",
  },
  // Mimir's max_metadata_length: 1024. Longer help texts are cut to it; longer names and units are refused.
  maxMetadataLength: {
    default: 1024,
    min: 16,
    max: 64 * KiB,
    unit: "bytes",
    area: "ingest",
    help: "longest metric metadata text (name, help, unit) received by remote write or OTLP, in UTF-8 bytes",
  },
  // Mimir has no default (max_global_metadata_per_user 0); a large Prometheus exposes a few thousand families.
  maxMetadataFamilies: {
    default: 10_000,
    min: 1,
    max: 1_000_000,
    unit: "count",
    area: "ingest",
    help: "metric families whose metadata is kept per org; metadata of further families is dropped",
  },
  // Mimir's max_global_series_per_user: 150,000. A series takes about 3 KB of the metrics node's memory (the
  // `memory` bench), so an org at the default holds under half a GB; series leave the head when it is compacted.
  maxActiveSeries: {
    default: 150_000,
    min: 1,
    max: 100_000_000,
    unit: "count",
    area: "ingest",
    help: "series the org may have in the head at once; samples creating more are refused, existing series still accept",
  },
  // Mimir's ingestion_rate: 10,000 samples/s per tenant, about 2% of a core at the receiver's 460k samples per
  // CPU-second: no org can take the thread that accepts writes from the others. Raise it for big senders.
  ingestionRate: {
    default: 10_000,
    min: 1,
    max: 100_000_000,
    unit: "per_second",
    area: "ingest",
    help: "remote-write and OTLP samples per second an org may send on average; more answer 429 with Retry-After",
  },
  // Mimir's ingestion_burst_size: 200,000 samples.
  ingestionBurstSize: {
    default: 200_000,
    min: 1,
    max: 1_000_000_000,
    unit: "count",
    area: "ingest",
    help: "remote-write and OTLP samples an org may send at once above its rate after a quiet time",
  },
  // Mimir's creation_grace_period: 10 minutes.
  creationGracePeriodMs: {
    default: 600_000,
    min: 0,
    max: 86_400_000,
    unit: "ms",
    area: "ingest",
    help: "how far ahead of the receiver's clock a written sample may be; later ones are refused",
  },
  // Mimir's ruler_max_rule_groups_per_tenant: 70.
  maxRuleGroups: {
    default: 70,
    min: 0,
    max: 10_000,
    unit: "count",
    area: "rules",
    help: "rule groups the org may keep (ruler API, contrail rules sync and enable); more answer 400",
  },
  // Mimir's ruler_max_rules_per_rule_group: 20.
  maxRulesPerGroup: {
    default: 20,
    min: 1,
    max: 2000,
    unit: "count",
    area: "rules",
    help: "rules one rule group of the org may hold; more answer 400",
  },
  // Prometheus has no bound of its own beyond the group's interval; one minute is the query timeout of a dashboard
  // panel and keeps a runaway group from holding query workers that the org's dashboards need.
  maxRuleGroupEvaluationMs: {
    default: 60_000,
    min: 1000,
    max: 600_000,
    unit: "ms",
    area: "rules",
    help: "longest evaluation of one rule group of the org, all its rules together; a longer one is stopped",
  },
} as const satisfies Record<string, LimitSpec>;

/** The key of a limit, as code names it (`maxLabelNamesPerSeries`). */
export type LimitKey = keyof typeof LIMIT_SPECS;

/** A value for every limit: what one org may do. Units as each key's spec says. */
export type OrgLimits = { readonly [K in LimitKey]: number };

/** The keys of every limit, in table order. */
export const LIMIT_KEYS = Object.keys(LIMIT_SPECS) as readonly LimitKey[];

/** The defaults of every limit. */
export const DEFAULT_ORG_LIMITS: OrgLimits = Object.fromEntries(
  LIMIT_KEYS.map((k) => [k, LIMIT_SPECS[k].default]),
) as unknown as OrgLimits;

/** The setting name of a limit key, as the CLI and the control database name it: `max_label_names_per_series`. */
export function limitName(key: LimitKey): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

const KEY_BY_NAME: ReadonlyMap<string, LimitKey> = new Map(LIMIT_KEYS.map((k) => [limitName(k), k]));

/** The key of setting `name`, or undefined when no limit has that name. */
export function limitKeyOf(name: string): LimitKey | undefined {
  return KEY_BY_NAME.get(name);
}

/** The key of setting `name`; throws `bad_data` listing the known names when there is none. */
export function requireLimitKey(name: string): LimitKey {
  const key = limitKeyOf(name);
  if (key === undefined) {
    throw new ContrailError(
      "bad_data",
      `unknown limit ${JSON.stringify(name)}; the limits are ${[...KEY_BY_NAME.keys()].join(", ")}`,
    );
  }
  return key;
}

// Unit suffixes by unit, largest first, as written out; parsing ignores case.
const SUFFIXES: Readonly<Record<LimitUnit, readonly (readonly [string, number])[]>> = {
  bytes: [
    ["GiB", 1024 * MiB],
    ["MiB", MiB],
    ["KiB", KiB],
    ["B", 1],
  ],
  ms: [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1],
  ],
  count: [],
  per_second: [],
};

/** `value` with its unit for people: `32MiB`, `2m`, `30`; always exact (`1500ms`, never `1.5s`). */
export function formatLimit(key: LimitKey, value: number): string {
  for (const [suffix, size] of SUFFIXES[LIMIT_SPECS[key].unit]) {
    if (value > 0 && value % size === 0) return `${value / size}${suffix}`;
  }
  return String(value);
}

/**
 * Parses and checks a value for limit `key`: a non-negative integer, for bytes optionally with B, KiB, MiB or GiB,
 * for durations with ms, s, m or h (`64MiB`, `90s`). Throws `bad_data` naming the limit and its range.
 */
export function parseLimitValue(key: LimitKey, text: string): number {
  const spec = LIMIT_SPECS[key];
  const suffixes = SUFFIXES[spec.unit];
  const m = /^\s*(\d{1,16})\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m?.[2].toLowerCase() ?? "";
  const size = m === null ? undefined : unit === "" ? 1 : suffixes.find(([s]) => s.toLowerCase() === unit)?.[1];
  if (m === null || size === undefined) {
    const units = suffixes.map(([s]) => s);
    const how = units.length === 0 ? "a whole number" : `a whole number, optionally with one of ${units.join(", ")}`;
    throw new ContrailError("bad_data", `${limitName(key)}: expected ${how}, got ${JSON.stringify(text)}`);
  }
  return checkLimitValue(key, Number(m[1]) * size);
}

/** Returns `value` when it is an integer within the range of `key`; throws `bad_data` naming the range otherwise. */
export function checkLimitValue(key: LimitKey, value: number): number {
  const spec = LIMIT_SPECS[key];
  if (!Number.isSafeInteger(value) || value < spec.min || value > spec.max) {
    throw new ContrailError(
      "bad_data",
      `${limitName(key)} must be an integer from ${formatLimit(key, spec.min)} to ${formatLimit(key, spec.max)}, ` +
        `got ${Number.isSafeInteger(value) ? formatLimit(key, value) : String(value)}`,
    );
  }
  return value;
}

/** `value` brought into the range of `key` (a stored override whose range has since narrowed). */
export function clampLimitValue(key: LimitKey, value: number): number {
  const spec = LIMIT_SPECS[key];
  return Math.min(spec.max, Math.max(spec.min, Math.trunc(value)));
}
