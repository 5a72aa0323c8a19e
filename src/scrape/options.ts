// Scrape settings: interval, timeout, body size, sample and label limits, native histograms. One set applies to every target of a
// manager (a target's app may lower its body and sample limits: `ScrapeTarget.limits`); each violated limit fails
// the scrape with an error that names the limit and the offending series.

import { SCRAPE_ACCEPT_HEADER, SCRAPE_ACCEPT_HEADER_PROTOBUF } from "../exposition/index.ts";
import { ContrailError } from "../model/errors.ts";
import { SCRAPE_BODY_LIMIT_BYTES, SCRAPE_SAMPLE_LIMIT } from "../model/scrape-limits.ts";

/** Limits on every series a scrape exposes; 0 disables one. Lengths count UTF-16 code units ("characters"). */
export interface LabelLimits {
  /** Most labels per series, `__name__` and the platform labels included. */
  readonly maxLabels: number;
  /** Longest label name. */
  readonly maxLabelNameLength: number;
  /** Longest label value. */
  readonly maxLabelValueLength: number;
}

/** Settings of every scrape loop. Times in milliseconds. */
export interface ScrapeOptions {
  /** Time between two scrapes of one target (default 15 s). */
  readonly intervalMs: number;
  /** Deadline of one scrape, connection to last body byte (default 10 s; capped at the interval). */
  readonly timeoutMs: number;
  /** Largest response body, both as sent (compressed) and decompressed, in bytes (default 16 MiB). */
  readonly bodyLimitBytes: number;
  /** Most samples one scrape may expose; more fails the scrape (default 100,000; 0 for none). */
  readonly sampleLimit: number;
  /** Limits on the labels of each series. */
  readonly labelLimits: LabelLimits;
  /**
   * Ask targets for the protobuf exposition format first, and store the native histograms it carries (as
   * Prometheus 3 with `scrape_native_histograms: true`); otherwise only text formats are asked for (default true).
   */
  readonly nativeHistograms: boolean;
  /**
   * Keep the classic buckets of a protobuf histogram that has native buckets too (Prometheus's
   * `always_scrape_classic_histograms`; default false, as in Prometheus 3: such a histogram is stored native only).
   */
  readonly classicHistograms: boolean;
}

/** The body limit: 16 MiB. */
export const DEFAULT_BODY_LIMIT_BYTES = SCRAPE_BODY_LIMIT_BYTES;

/** Defaults of every setting. */
export const DEFAULT_SCRAPE_OPTIONS: ScrapeOptions = {
  intervalMs: 15_000,
  timeoutMs: 10_000,
  bodyLimitBytes: DEFAULT_BODY_LIMIT_BYTES,
  sampleLimit: SCRAPE_SAMPLE_LIMIT,
  labelLimits: { maxLabels: 64, maxLabelNameLength: 256, maxLabelValueLength: 4096 },
  nativeHistograms: true,
  classicHistograms: false,
};

/** Overrides of some settings (label limits may be given in part). */
export type ScrapeOptionsInput = Partial<Omit<ScrapeOptions, "labelLimits">> & {
  readonly labelLimits?: Partial<LabelLimits>;
};

function nonNegativeInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new ContrailError("bad_data", `scrape option ${name} must be a non-negative integer, got ${v}`);
  }
  return v;
}

/** Fills in defaults and checks every value; throws `bad_data` on a bad one. The timeout is capped at the interval. */
export function resolveScrapeOptions(input: ScrapeOptionsInput = {}): ScrapeOptions {
  const d = DEFAULT_SCRAPE_OPTIONS;
  const intervalMs = nonNegativeInt("intervalMs", input.intervalMs ?? d.intervalMs);
  const timeoutMs = nonNegativeInt("timeoutMs", input.timeoutMs ?? d.timeoutMs);
  const bodyLimitBytes = nonNegativeInt("bodyLimitBytes", input.bodyLimitBytes ?? d.bodyLimitBytes);
  if (intervalMs === 0 || timeoutMs === 0 || bodyLimitBytes === 0) {
    throw new ContrailError("bad_data", "scrape interval, timeout and body limit must be > 0");
  }
  const l = input.labelLimits ?? {};
  return {
    intervalMs,
    timeoutMs: Math.min(timeoutMs, intervalMs),
    bodyLimitBytes,
    sampleLimit: nonNegativeInt("sampleLimit", input.sampleLimit ?? d.sampleLimit),
    nativeHistograms: input.nativeHistograms ?? d.nativeHistograms,
    classicHistograms: input.classicHistograms ?? d.classicHistograms,
    labelLimits: {
      maxLabels: nonNegativeInt("maxLabels", l.maxLabels ?? d.labelLimits.maxLabels),
      maxLabelNameLength: nonNegativeInt(
        "maxLabelNameLength",
        l.maxLabelNameLength ?? d.labelLimits.maxLabelNameLength,
      ),
      maxLabelValueLength: nonNegativeInt(
        "maxLabelValueLength",
        l.maxLabelValueLength ?? d.labelLimits.maxLabelValueLength,
      ),
    },
  };
}

/** The Accept header scrapes under `opts` send: protobuf first when they take native histograms. */
export function acceptHeader(opts: Pick<ScrapeOptions, "nativeHistograms">): string {
  return opts.nativeHistograms ? SCRAPE_ACCEPT_HEADER_PROTOBUF : SCRAPE_ACCEPT_HEADER;
}

/** A duration as Prometheus prints one (`15s`, `1m30s`, `500ms`), for the targets API. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  const units: [string, number][] = [
    ["y", 365 * 24 * 3600_000],
    ["w", 7 * 24 * 3600_000],
    ["d", 24 * 3600_000],
    ["h", 3600_000],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1],
  ];
  let rest = Math.round(ms);
  let out = "";
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
