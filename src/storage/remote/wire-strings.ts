// Strings and label sets read from protobuf bytes. Label sets of remote-write requests repeat from one request to
// the next (a sender resends the same series every scrape interval), so the 1.0 decoder caches them by their raw
// bytes: a repeated series costs one string key and one map lookup instead of decoding, validating and hashing
// every label again.

import { Buffer, isUtf8 } from "node:buffer";
import { StringInterner } from "../../model/intern.ts";
import { Labels } from "../../model/labels.ts";
import { limitName } from "../../model/limits.ts";
import { quoteGo } from "../../model/quote.ts";
import { decodeUtf8Escaped } from "../../model/utf8.ts";

/** Label names and values in error messages are cut to this many bytes, so no message grows with its input. */
export const PREVIEW_BYTES = 64;
/** Error messages name at most this many labels of a refused series. */
export const PREVIEW_LABELS = 8;

/** A Buffer over the same memory as `u` (no copy), for its native string decoding. */
export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Decodes `b[start, end)` as UTF-8; null when the bytes are not valid UTF-8. */
export function wireString(b: Buffer, start: number, end: number): string | null {
  for (let i = start; i < end; i++) {
    if (b[i] >= 0x80) return isUtf8(b.subarray(start, end)) ? b.toString("utf8", start, end) : null;
  }
  return b.toString("latin1", start, end);
}

/** Compares `b[a0, a1)` with `b[b0, b1)` bytewise (UTF-8 order, as Go compares strings): -1, 0 or 1. */
export function compareBytes(b: Uint8Array, a0: number, a1: number, b0: number, b1: number): number {
  const n = Math.min(a1 - a0, b1 - b0);
  for (let i = 0; i < n; i++) {
    const x = b[a0 + i];
    const y = b[b0 + i];
    if (x !== y) return x < y ? -1 : 1;
  }
  const la = a1 - a0;
  const lb = b1 - b0;
  return la === lb ? 0 : la < lb ? -1 : 1;
}

/** The end of the longest prefix of `b[start, end)` that is at most `max` bytes and cuts no UTF-8 sequence. */
export function utf8PrefixEnd(b: Uint8Array, start: number, end: number, max: number): number {
  if (end - start <= max) return end;
  let stop = start + max;
  // A continuation byte (10xxxxxx) at the cut belongs to the sequence before it: cut before that sequence.
  while (stop > start && (b[stop] & 0xc0) === 0x80) stop--;
  return stop;
}

/**
 * `b[start, end)` as text for an error message: at most PREVIEW_BYTES bytes, invalid UTF-8 escaped, and a cut
 * marked with the full length. Costs the same however long the input is.
 */
export function previewText(b: Buffer, start: number, end: number): string {
  const stop = utf8PrefixEnd(b, start, end, PREVIEW_BYTES);
  const s = wireString(b, start, stop) ?? decodeUtf8Escaped(b.subarray(start, stop));
  return stop === end ? s : `${s}…(${end - start} bytes)`;
}

/**
 * The label text of a refused series from its raw name/value pairs (flat, as previews), values quoted: at most
 * PREVIEW_LABELS of them, then how many the series has in all (`total`, default: as many as given).
 */
export function rawLabelsText(pairs: readonly string[], total: number = pairs.length / 2): string {
  const parts: string[] = [];
  for (let i = 0; i < pairs.length && i < 2 * PREVIEW_LABELS; i += 2) {
    parts.push(`${pairs[i]}=${JSON.stringify(pairs[i + 1])}`);
  }
  if (total > parts.length) parts.push(`…${total} labels in all`);
  return `{${parts.join(", ")}}`;
}

/** Reasons a label set is refused, worded for the sender's log. */
export const LabelProblem = {
  emptyName: () => "empty label name",
  notUtf8: (what: "name" | "value", text: string) => `label ${what} ${quoteGo(text)} is not valid UTF-8`,
  duplicate: (name: string) => `duplicate label name ${quoteGo(name)}`,
  unsorted: (prev: string, name: string) => `label names not sorted: ${quoteGo(prev)} before ${quoteGo(name)}`,
  noMetricName: () => "no metric name: the __name__ label is missing or empty",
  tooMany: (n: number, limit: number) =>
    `${n} labels, more than the limit of ${limit} (${limitName("maxLabelNamesPerSeries")})`,
  nameTooLong: (name: string, bytes: number, limit: number) =>
    `label name ${quoteGo(name)} is ${bytes} bytes long, more than the limit of ${limit} ` +
    `(${limitName("maxLabelNameLength")})`,
  valueTooLong: (name: string, bytes: number, limit: number) =>
    `the value of label ${quoteGo(name)} is ${bytes} bytes long, more than the limit of ${limit} ` +
    `(${limitName("maxLabelValueLength")})`,
} as const;

/** Options of {@link LabelsCache}. */
export interface LabelsCacheOptions {
  /** Entries kept before the cache starts over; default 200,000. */
  readonly maxEntries?: number;
  /** Total key length (bytes of encoded labels) kept before the cache starts over; default 32 MiB. */
  readonly maxKeyBytes?: number;
}

/** Keys longer than this (label sets of over 4 KiB encoded) are not cached: rare, and costly to keep. */
const MAX_KEY = 4096;

/**
 * Label sets by the raw bytes that encoded them (as a latin1 string key). Bounded by entries and by key bytes: when
 * full it is cleared and refilled by the next requests, which costs one round of decoding, never correctness.
 * Holds only valid label sets, their names and values interned: decoded afresh for each series, the same few
 * thousand strings ("instance", "region", each app's name ...) would otherwise be held once per series.
 */
export class LabelsCache {
  private readonly map = new Map<string, Labels>();
  private readonly strings = new StringInterner();
  private readonly maxEntries: number;
  private readonly maxKeyBytes: number;
  private keyBytes = 0;

  /** An empty cache; see {@link LabelsCacheOptions}. */
  constructor(opts: LabelsCacheOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 200_000;
    this.maxKeyBytes = opts.maxKeyBytes ?? 32 * 1024 * 1024;
  }

  /** True when a key of `length` bytes would be cached; callers skip building longer keys. */
  static cacheable(length: number): boolean {
    return length <= MAX_KEY;
  }

  /** The label set cached for `key`, or undefined. */
  get(key: string): Labels | undefined {
    return this.map.get(key);
  }

  /**
   * Caches a copy of `labels` under `key` and returns it, for the caller to use instead of `labels`; a key too long
   * to cache is ignored and `labels` returned.
   */
  set(key: string, labels: Labels): Labels {
    if (!LabelsCache.cacheable(key.length)) return labels;
    if (this.map.size >= this.maxEntries || this.keyBytes + key.length > this.maxKeyBytes) {
      this.map.clear();
      this.strings.clear();
      this.keyBytes = 0;
    }
    const flat: string[] = [];
    labels.forEach((name, value) => {
      flat.push(this.strings.intern(name), this.strings.intern(value));
    });
    const copy = Labels.fromSortedUnchecked(flat);
    this.map.set(key, copy);
    this.keyBytes += key.length;
    return copy;
  }

  /** Number of cached label sets. */
  get size(): number {
    return this.map.size;
  }
}
