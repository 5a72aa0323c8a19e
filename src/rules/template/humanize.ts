// Prometheus's humanize template functions (template/template.go): SI and binary prefixes, durations, percentages
// and timestamps, each formatting with Go's `%.4g`.

import { formatG } from "./gofmt.ts";
import { type TValue, typeName } from "./values.ts";

/** Significant digits the humanize functions print (Go's `%.4g`). */
const HUMAN_DIGITS = 4;
const SI_UP = ["k", "M", "G", "T", "P", "E", "Z", "Y"];
const SI_DOWN = ["m", "u", "n", "p", "f", "a", "z", "y"];
const BINARY_UP = ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"];
const SECONDS_PER_MINUTE = 60;
const SECONDS_PER_HOUR = 3600;
const SECONDS_PER_DAY = 86_400;

function g4(v: number): string {
  return formatG(v, HUMAN_DIGITS);
}

/** Prometheus's convertToFloat: floats, ints and numeric strings; Go's error otherwise. */
export function toFloat(v: TValue): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string") {
    const t = v.trim();
    const f = /^[+-]?(inf(inity)?)$/i.test(t) ? (t.startsWith("-") ? -Infinity : Infinity) : Number(t);
    if (t === "" || t !== v || (Number.isNaN(f) && !/^[+-]?nan$/i.test(t))) {
      throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
    }
    return f;
  }
  throw new Error(`can't convert ${typeName(v)} to float`);
}

/** Scales down by 1000 while |v| < 1 through m, u, n, ...; returns the scaled value and its prefix. */
function scaleDown(v: number): [number, string] {
  let prefix = "";
  for (const p of SI_DOWN) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return [v, prefix];
}

/** `humanize`: SI prefixes, e.g. 1234567 → "1.235M", 0.0123 → "12.3m". */
export function humanize(x: TValue): string {
  let v = toFloat(x);
  if (v === 0 || !Number.isFinite(v)) return g4(v);
  if (Math.abs(v) >= 1) {
    let prefix = "";
    for (const p of SI_UP) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return g4(v) + prefix;
  }
  const [scaled, prefix] = scaleDown(v);
  return g4(scaled) + prefix;
}

/** `humanize1024`: binary prefixes, e.g. 1048576 → "1Mi". */
export function humanize1024(x: TValue): string {
  let v = toFloat(x);
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return g4(v);
  let prefix = "";
  for (const p of BINARY_UP) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return g4(v) + prefix;
}

/** `humanizeDuration` of seconds, e.g. 90061 → "1d 1h 1m 1s", 0.0123 → "12.3ms". */
export function humanizeDuration(x: TValue): string {
  let v = toFloat(x);
  if (!Number.isFinite(v)) return g4(v);
  if (v === 0) return `${g4(v)}s`;
  if (Math.abs(v) >= 1) {
    const sign = v < 0 ? "-" : "";
    v = Math.abs(v);
    const total = Math.trunc(v);
    const seconds = total % SECONDS_PER_MINUTE;
    const minutes = Math.trunc(total / SECONDS_PER_MINUTE) % 60;
    const hours = Math.trunc(total / SECONDS_PER_HOUR) % 24;
    const days = Math.trunc(total / SECONDS_PER_DAY);
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${g4(v)}s`;
  }
  const [scaled, prefix] = scaleDown(v);
  return `${g4(scaled)}${prefix}s`;
}

/** `humanizePercentage` of a ratio, e.g. 0.1234 → "12.34%". */
export function humanizePercentage(x: TValue): string {
  return `${g4(toFloat(x) * 100)}%`;
}

/** `humanizeTimestamp` of Unix seconds, printed as Go prints a UTC time at ms precision. */
export function humanizeTimestamp(x: TValue): string {
  const v = toFloat(x);
  if (!Number.isFinite(v)) return g4(v);
  const ms = Math.trunc(v * 1000);
  const d = new Date(ms);
  if (Number.isNaN(d.getTime()))
    throw new Error(`${v} cannot be represented as a nanoseconds timestamp since it overflows int64`);
  const iso = d.toISOString();
  const frac = iso.slice(20, 23).replace(/0+$/, "");
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac === "" ? "" : `.${frac}`} +0000 UTC`;
}
