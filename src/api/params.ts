// Request parameters as Prometheus reads them: one form merged from a url-encoded POST body and the URL query
// (body values first, as Go's Request.FormValue does), times as RFC 3339 or float seconds, durations as float
// seconds or Prometheus durations (`1m15s`), limits, and `match[]` series selectors. Error texts are Prometheus's.

import { ContrailError } from "../model/errors.ts";
import type { Matcher } from "../model/matcher.ts";
import { parseExpr, parseDuration as parsePromDuration } from "../promql/parser/index.ts";

/** The parameters of one request: url-encoded body values first, then URL query values. */
export class Form {
  private readonly values = new Map<string, string[]>();

  /** Builds the form from the raw body (url-encoded, or "" when there is none) and the raw URL query. */
  constructor(body: string, query: string) {
    for (const source of [body, query]) {
      if (source === "") continue;
      for (const [k, v] of new URLSearchParams(source)) {
        const list = this.values.get(k);
        if (list === undefined) this.values.set(k, [v]);
        else list.push(v);
      }
    }
  }

  /** The first value of `name`, or "" (Go's FormValue). */
  get(name: string): string {
    return this.values.get(name)?.[0] ?? "";
  }

  /** Every value of `name`, body values first. */
  all(name: string): readonly string[] {
    return this.values.get(name) ?? [];
  }
}

/** Earliest and latest times of an open range, in ms: Prometheus's MinTime and MaxTime (the latter rounded to
 * the nearest double, 1 ms past Prometheus's value; both lie far beyond any sample). */
export const MIN_TIME_MS = -9_223_309_901_258_000;
export const MAX_TIME_MS = 9_223_309_901_259_000;

// Prometheus's formatted MinTime and MaxTime, which clients send for open ranges.
const MIN_TIME_TEXT = "-292273086-05-16T16:47:06Z";
const MAX_TIME_TEXT = "292277026596-12-04T15:30:07.999999999Z";

const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** A number in Go's float syntax (decimal, optional exponent), or null. Rejects hex, blanks and the empty string. */
function parseGoFloat(s: string): number | null {
  if (FLOAT.test(s)) return Number(s);
  const lower = s.toLowerCase().replace(/^[+-]/, "");
  if (lower === "inf" || lower === "infinity") return s.startsWith("-") ? -Infinity : Infinity;
  if (lower === "nan") return Number.NaN;
  return null;
}

// Go's math.Round: halves away from zero.
function goRound(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** Float seconds a time may be: beyond them Prometheus's conversion to int64 milliseconds overflows. */
const MAX_TIME_SECONDS = 2 ** 63 / 1000;

/**
 * Parses a time (float seconds since the epoch or RFC 3339) to ms, as Prometheus's parseTime; throws bad_data.
 * Seconds beyond ±MAX_TIME_SECONDS, which Prometheus turns into garbage, are refused.
 */
export function parseTime(s: string): number {
  const f = parseGoFloat(s);
  if (f !== null) {
    if (!Number.isFinite(f))
      throw new ContrailError("bad_data", `cannot parse ${JSON.stringify(s)} to a valid timestamp`);
    if (Math.abs(f) > MAX_TIME_SECONDS) {
      throw new ContrailError(
        "bad_data",
        `cannot parse ${JSON.stringify(s)} to a valid timestamp: it lies beyond the range of int64 milliseconds (±9.2e15 s)`,
      );
    }
    const whole = Math.trunc(f);
    return whole * 1000 + goRound((f - whole) * 1000);
  }
  const m = RFC3339.exec(s);
  if (m !== null) {
    const [, y, mo, d, h, mi, sec, frac, , sign, oh, om] = m;
    const month = Number(mo);
    const day = Number(d);
    if (month >= 1 && month <= 12 && day >= 1 && day <= 31 && Number(h) < 24 && Number(mi) < 60 && Number(sec) < 60) {
      let ms = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(sec));
      if (new Date(ms).getUTCDate() === day) {
        if (frac !== undefined) ms += Number(frac.padEnd(9, "0").slice(0, 3));
        if (sign !== undefined) ms -= (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
        return ms;
      }
    }
  }
  if (s === MIN_TIME_TEXT) return MIN_TIME_MS;
  if (s === MAX_TIME_TEXT) return MAX_TIME_MS;
  throw new ContrailError("bad_data", `cannot parse ${JSON.stringify(s)} to a valid timestamp`);
}

/** Parses a duration (float seconds or a Prometheus duration such as `1m15s`) to ms; throws bad_data. NaN, which
 * Prometheus turns into garbage, is refused. */
export function parseDurationParam(s: string): number {
  const invalid = () => new ContrailError("bad_data", `cannot parse ${JSON.stringify(s)} to a valid duration`);
  const f = parseGoFloat(s);
  if (f === null) {
    try {
      return parsePromDuration(s);
    } catch {
      throw invalid();
    }
  }
  if (Number.isNaN(f)) throw invalid();
  const ns = f * 1e9;
  if (!(Math.abs(ns) <= 9.223372036854775e18)) {
    throw new ContrailError("bad_data", `cannot parse ${JSON.stringify(s)} to a valid duration. It overflows int64`);
  }
  return Math.trunc(Math.trunc(ns) / 1e6);
}

/** `invalid parameter "name": <reason>`, Prometheus's wrapping of a bad parameter (bad_data). */
export function invalidParam(name: string, err: unknown): ContrailError {
  const reason = err instanceof Error ? err.message : String(err);
  return new ContrailError("bad_data", `invalid parameter ${JSON.stringify(name)}: ${reason}`, { cause: err });
}

/** The time parameter `name` in ms, or `fallback` when absent; throws the wrapped bad_data Prometheus returns. */
export function timeParam(form: Form, name: string, fallback: number): number {
  const v = form.get(name);
  if (v === "") return fallback;
  try {
    return parseTime(v);
  } catch (err) {
    throw invalidParam(name, `invalid time value for '${name}': ${(err as Error).message}`);
  }
}

/** Largest integer Go's strconv.Atoi reads on a 64-bit machine. */
const MAX_INT64 = (1n << 63n) - 1n;

/** The `limit` parameter: 0 when absent (no limit); throws bad_data for a negative or non-integer value, or one
 * beyond int64 (Prometheus's strconv.Atoi errors). */
export function limitParam(form: Form): number {
  const s = form.get("limit");
  if (s === "") return 0;
  if (!/^[+-]?\d+$/.test(s)) throw invalidParam("limit", `strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  const big = BigInt(s);
  if (big > MAX_INT64 || big < -MAX_INT64 - 1n) {
    throw invalidParam("limit", `strconv.Atoi: parsing ${JSON.stringify(s)}: value out of range`);
  }
  const n = Number(s);
  if (n < 0) throw invalidParam("limit", "limit must be non-negative");
  return n;
}

/**
 * Parses `match[]` selectors into matcher sets. Each must be a series selector with at least one matcher that does
 * not match the empty string. Throws bad_data with the parser's message.
 */
export function parseMatcherSets(selectors: readonly string[]): Matcher[][] {
  const sets: Matcher[][] = [];
  for (const s of selectors) {
    const expr = parseExpr(s);
    if (expr.kind !== "VectorSelector") {
      throw new ContrailError("bad_data", `1:1: parse error: match[] ${JSON.stringify(s)} is not a series selector`);
    }
    if (expr.matchers.every((m) => m.matches(""))) {
      throw new ContrailError("bad_data", "match[] must contain at least one non-empty matcher");
    }
    sets.push([...expr.matchers]);
  }
  return sets;
}
