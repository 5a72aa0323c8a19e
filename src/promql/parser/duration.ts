// Prometheus durations (`1h30m`, `5m`, `1ms`, `0`): model.ParseDuration's grammar (units y w d h m s ms, each at
// most once, largest first) and model.Duration's printed form. Internally nanoseconds as BigInt, so the range
// checks match Go's int64 time.Duration exactly.

import { ContrailError } from "../../model/errors.ts";
import { quoteString } from "./literals.ts";

const UNITS: ReadonlyMap<string, { readonly order: number; readonly ns: bigint }> = new Map([
  ["ms", { order: 7, ns: 1_000_000n }],
  ["s", { order: 6, ns: 1_000_000_000n }],
  ["m", { order: 5, ns: 60_000_000_000n }],
  ["h", { order: 4, ns: 3_600_000_000_000n }],
  ["d", { order: 3, ns: 86_400_000_000_000n }],
  ["w", { order: 2, ns: 604_800_000_000_000n }],
  ["y", { order: 1, ns: 31_536_000_000_000_000n }],
]);

const MAX_NS = (1n << 63n) - 1n;

function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}

/** Parses a duration into nanoseconds; returns Prometheus's error text instead when it is invalid. */
export function parseDurationNs(s: string): bigint | { readonly error: string } {
  if (s === "0") return 0n;
  if (s === "") return { error: "empty duration string" };
  const invalid = { error: `not a valid duration string: ${quoteString(s)}` };
  let rest = s;
  let total = 0n;
  let lastOrder = 0;
  while (rest !== "") {
    if (!isDigit(rest[0])) return invalid;
    let i = 0;
    while (i < rest.length && isDigit(rest[i])) i++;
    const v = BigInt(rest.slice(0, i));
    if (v > 0xffff_ffff_ffff_ffffn) return invalid;
    rest = rest.slice(i);
    let j = 0;
    while (j < rest.length && !isDigit(rest[j])) j++;
    if (j === 0) return invalid;
    const u = rest.slice(0, j);
    rest = rest.slice(j);
    const unit = UNITS.get(u);
    if (unit === undefined) return { error: `unknown unit ${quoteString(u)} in duration ${quoteString(s)}` };
    if (unit.order <= lastOrder) return invalid;
    lastOrder = unit.order;
    if (v > (1n << 63n) / unit.ns) return { error: "duration out of range" };
    total += v * unit.ns;
    if (total > MAX_NS) return { error: "duration out of range" };
  }
  return total;
}

/** Parses a Prometheus duration (`1h30m`, `90s`, `0`) to milliseconds; throws ContrailError `bad_data`. */
export function parseDuration(s: string): number {
  const ns = parseDurationNs(s);
  if (typeof ns !== "bigint") throw new ContrailError("bad_data", ns.error);
  return Number(ns / 1_000_000n);
}

/** Seconds of a duration in nanoseconds, computed as Go's Duration.Seconds() does. */
export function nsToSeconds(ns: bigint): number {
  return Number(ns / 1_000_000_000n) + Number(ns % 1_000_000_000n) / 1e9;
}

const FORMAT_UNITS: readonly { readonly unit: string; readonly ms: number; readonly exact: boolean }[] = [
  { unit: "y", ms: 31_536_000_000, exact: true },
  { unit: "w", ms: 604_800_000, exact: true },
  { unit: "d", ms: 86_400_000, exact: false },
  { unit: "h", ms: 3_600_000, exact: false },
  { unit: "m", ms: 60_000, exact: false },
  { unit: "s", ms: 1000, exact: false },
  { unit: "ms", ms: 1, exact: false },
];

/**
 * Prometheus's model.Duration String() of a duration in ms (truncated to whole ms): `1h30m`, `5m`, `1ms`, `0s`.
 * Years and weeks are used only when they divide the rest evenly. Negative durations print as "" (as in Go).
 */
export function formatDuration(ms: number): string {
  let rest = Math.trunc(ms);
  if (rest === 0) return "0s";
  let out = "";
  for (const { unit, ms: mult, exact } of FORMAT_UNITS) {
    if (exact && rest % mult !== 0) continue;
    const v = Math.trunc(rest / mult);
    if (v > 0) {
      out += `${v}${unit}`;
      rest -= v * mult;
    }
  }
  return out;
}

/** Milliseconds of a duration literal given in seconds (float), as Prometheus converts it: ns rounded, then ms. */
export function secondsToMs(seconds: number): number {
  const x = seconds * 1e9;
  // Go's math.Round: halves away from zero.
  const ns = x < 0 ? -Math.round(-x) : Math.round(x);
  if (Math.abs(ns) <= Number.MAX_SAFE_INTEGER) return (ns - (ns % 1e6)) / 1e6;
  return Number(BigInt(ns) / 1_000_000n);
}
