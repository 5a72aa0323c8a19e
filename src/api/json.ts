// JSON text of Prometheus API responses, written by hand for speed and exactness: sample values as quoted strings
// in Go's shortest 'f' form ("NaN", "+Inf", "-Inf"), sample timestamps as plain decimal seconds with at most three
// fraction digits (never an exponent, which promtool cannot read), label sets as objects in label order.
// Envelopes take their data in pieces. A native histogram is written as Prometheus writes it,
// `{"count","sum","buckets":[[boundary rule,lower,upper,count],...]}`. A query's result itself is written in bytes
// by json-bytes.ts with these formats.

import type { Histogram } from "../model/histogram.ts";
import { allBuckets } from "../model/histogram-buckets.ts";
import type { Labels } from "../model/labels.ts";

/** Magnitudes JavaScript's `String(number)` writes without an exponent: [PLAIN_MIN, PLAIN_LIMIT). */
const PLAIN_MIN = 1e-6;
const PLAIN_LIMIT = 1e21;

/** Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent. */
export function formatFloatF(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const s = String(v);
  // JavaScript writes an exponent exactly outside [1e-6, 1e21), so the text needs no search inside it.
  const abs = v < 0 ? -v : v;
  if (abs >= PLAIN_MIN && abs < PLAIN_LIMIT) return s;
  // Exponent form (|v| < 1e-6 or >= 1e21): lay the same digits out without it.
  const neg = v < 0;
  const [mant, expText] = (neg ? s.slice(1) : s).split("e");
  const exp = Number(expText);
  const digits = mant.replace(".", "");
  const point = (mant.indexOf(".") === -1 ? mant.length : mant.indexOf(".")) + exp;
  let out: string;
  if (point <= 0) out = `0.${"0".repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + "0".repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return neg ? `-${out}` : out;
}

/** A sample timestamp (ms) as JSON seconds the way Prometheus writes it: `1712345678.123`, `4`, `-1.5`. */
export function formatTimestamp(t: number): string {
  const neg = t < 0;
  const abs = neg ? -t : t;
  const secs = Math.floor(abs / 1000);
  const frac = abs - secs * 1000;
  let s = neg ? `-${secs}` : String(secs);
  if (frac !== 0) s += frac < 10 ? `.00${frac}` : frac < 100 ? `.0${frac}` : `.${frac}`;
  return s;
}

/** A label set as a JSON object: `{"__name__":"up","job":"x"}`. */
export function labelsJson(labels: Labels): string {
  let s = "{";
  let first = true;
  labels.forEach((name, value) => {
    if (!first) s += ",";
    first = false;
    s += `${JSON.stringify(name)}:${JSON.stringify(value)}`;
  });
  return `${s}}`;
}

// Prometheus's boundary rule of a bucket: 0 open below, 1 open above, 2 open on both sides, 3 closed.
function boundaryRule(lowerInclusive: boolean, upperInclusive: boolean): number {
  if (lowerInclusive) return upperInclusive ? 3 : 1;
  return upperInclusive ? 0 : 2;
}

/** A native histogram as Prometheus's API writes it; empty buckets are left out. */
export function histogramJson(h: Histogram): string {
  let s = `{"count":"${formatFloatF(h.count)}","sum":"${formatFloatF(h.sum)}"`;
  const buckets = allBuckets(h, true);
  if (buckets.length > 0) {
    s += `,"buckets":[`;
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i];
      s += `${i > 0 ? "," : ""}[${boundaryRule(b.lowerInclusive, b.upperInclusive)},"${formatFloatF(b.lower)}","${formatFloatF(b.upper)}","${formatFloatF(b.count)}"]`;
    }
    s += "]";
  }
  return `${s}}`;
}

/** A list of strings as a JSON array. */
export function stringsJson(values: readonly string[]): string {
  return JSON.stringify(values);
}

/** Prometheus's `stats` object for a query: timings in seconds and sample counts. */
export interface QueryStatsJson {
  readonly timings: {
    readonly evalTotalTime: number;
    readonly resultSortTime: number;
    readonly queryPreparationTime: number;
    readonly innerEvalTime: number;
    readonly execQueueTime: number;
    readonly execTotalTime: number;
  };
  readonly samples: { readonly totalQueryableSamples: number; readonly peakSamples: number };
}

/** The envelope around `data`: `{"status":"success","data":<data>[,"warnings":[...]][,"infos":[...]]}`. */
export function* successJson(
  data: Iterable<string>,
  notes: { readonly warnings?: readonly string[]; readonly infos?: readonly string[] } = {},
): Generator<string> {
  yield `{"status":"success","data":`;
  yield* data;
  let tail = "";
  if (notes.warnings !== undefined && notes.warnings.length > 0) tail += `,"warnings":${stringsJson(notes.warnings)}`;
  if (notes.infos !== undefined && notes.infos.length > 0) tail += `,"infos":${stringsJson(notes.infos)}`;
  yield `${tail}}`;
}

/** The error envelope: `{"status":"error","errorType":...,"error":...}`. */
export function errorJson(errorType: string, message: string): string {
  return `{"status":"error","errorType":${JSON.stringify(errorType)},"error":${JSON.stringify(message)}}`;
}

/** A sample value as the API writes it (Go's float formatting, "+Inf", "-Inf" and "NaN" spelled out), read back. */
export function parseSampleValue(text: string): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(text);
}
