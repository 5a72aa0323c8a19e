// What the scraper scrapes: one target per running instance and metrics endpoint of an app, with the platform
// labels its samples carry, a stable hash that spreads scrapes over the interval and splits targets among shards,
// and the source interface the wiring layer fills from the control plane.

import { ContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import { xxh64 } from "../model/xxhash.ts";

/**
 * One scrape target: an instance's metrics endpoint. `id` is stable for as long as the target means the same
 * endpoint (e.g. instance id, port and path); every other field is part of its identity too, so a change of any
 * field replaces the target (stale markers for the old one, a fresh cache for the new one).
 */
export interface ScrapeTarget {
  /** Stable identifier, unique among the targets of one source. */
  readonly id: string;
  /** The organization whose database receives the samples. */
  readonly org: string;
  /** Platform labels put on every sample (they override the app's own labels of the same names). */
  readonly app: string;
  readonly region: string;
  readonly host: string;
  readonly instance: string;
  /** Absolute http(s) URL of the metrics endpoint. */
  readonly url: string;
  /** Limits the app set for this endpoint; the scraper's own apply too, and the lower one wins. */
  readonly limits?: TargetLimits;
}

/** An app's own limits on one endpoint's scrapes (fly.toml `sample_limit`, `body_size_limit`); absent: none. */
export interface TargetLimits {
  /** Most samples one scrape may expose. */
  readonly sampleLimit?: number;
  /** Largest response body, compressed and decompressed, in bytes. */
  readonly bodyLimitBytes?: number;
}

/** Where the scrape manager gets its targets from; the wiring layer fills it from the control plane. */
export interface TargetSource {
  /** The current targets. Called periodically; may be async (a control-plane query). */
  targets(): readonly ScrapeTarget[] | Promise<readonly ScrapeTarget[]>;
}

/** The platform label names, in the order they are applied. */
export const PLATFORM_LABELS = ["app", "region", "host", "instance"] as const;

/** This scraper's share of the targets when several run side by side: the targets whose hash % count == index. */
export interface ShardSpec {
  readonly index: number;
  readonly count: number;
}

/** Parses `--shard i/n` (0 <= i < n); throws `bad_data` otherwise. */
export function parseShard(text: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m === null ? Number.NaN : Number(m[1]);
  const count = m === null ? Number.NaN : Number(m[2]);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index >= count) {
    throw new ContrailError("bad_data", `invalid shard ${JSON.stringify(text)}: expected i/n with 0 <= i < n`);
  }
  return { index, count };
}

const encoder = new TextEncoder();

/**
 * A stable 52-bit hash of the target's identity (id and URL), the same in every process and on every run, so
 * that all scrapers agree on the sharding and a target keeps its place in the interval across restarts.
 */
export function targetHash(t: Pick<ScrapeTarget, "id" | "url">): number {
  const hex = xxh64(encoder.encode(`${t.id}\xff${t.url}`));
  // The low 52 bits fit a double exactly.
  return Number.parseInt(hex.slice(3), 16);
}

/** True when `hash` belongs to `shard` (every target does without sharding). */
export function inShard(hash: number, shard: ShardSpec | undefined): boolean {
  return shard === undefined || hash % shard.count === shard.index;
}

/** Where in every interval the target is scraped: ms after each multiple of `intervalMs` since the epoch. */
export function scrapeOffset(hash: number, intervalMs: number): number {
  return hash % intervalMs;
}

/** The first scrape time strictly after `afterMs` that is `offsetMs` past a multiple of `intervalMs`. */
export function nextScrapeTime(afterMs: number, intervalMs: number, offsetMs: number): number {
  // The latest such time at or before `afterMs`, then one interval on.
  return Math.floor((afterMs - offsetMs) / intervalMs) * intervalMs + offsetMs + intervalMs;
}

/** The platform labels of a target as a label set (no `__name__`). */
export function targetLabels(t: ScrapeTarget): Labels {
  return Labels.fromStrings("app", t.app, "region", t.region, "host", t.host, "instance", t.instance);
}

/** The platform labels as name/value pairs in `PLATFORM_LABELS` order; empty values are skipped. */
export function targetLabelPairs(t: ScrapeTarget): readonly (readonly [string, string])[] {
  const values = [t.app, t.region, t.host, t.instance];
  const out: [string, string][] = [];
  for (let i = 0; i < PLATFORM_LABELS.length; i++) {
    if (values[i] !== "") out.push([PLATFORM_LABELS[i], values[i]]);
  }
  return out;
}

/** True when both describe the same target in every field. */
export function sameTarget(a: ScrapeTarget, b: ScrapeTarget): boolean {
  return (
    a.id === b.id &&
    a.org === b.org &&
    a.app === b.app &&
    a.region === b.region &&
    a.host === b.host &&
    a.instance === b.instance &&
    a.url === b.url &&
    a.limits?.sampleLimit === b.limits?.sampleLimit &&
    a.limits?.bodyLimitBytes === b.limits?.bodyLimitBytes
  );
}
