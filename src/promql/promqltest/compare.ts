// The reference runner's comparison rules: floats within a relative epsilon (NaN equals NaN, StaleNaN equals only
// StaleNaN), results matched by label hash (in order for ordered evals), range results point by point, annotations
// against `expect warn|info|no_warn|no_info`, errors against `expect fail` / `expected_fail_*`.
// Each check returns null when it passes, else the reason as one line of text.

import { Labels } from "../../model/labels.ts";
import { formatG } from "../engine/format.ts";
import type { MatrixSeries, QueryValue, VectorSample } from "../engine/index.ts";
import type { SeriesValue } from "../parser/index.ts";
import { almostEqual, isStaleNaN } from "./almost.ts";
import type { EvalCommand, MessageMatcher, TimeRange } from "./dsl.ts";
import { expectsOrder } from "./dsl.ts";
import { histogramsMatch, histogramTestExpression } from "./histograms.ts";

export { almostEqual, EPSILON, isStaleNaN } from "./almost.ts";

/** A float as Go's `%v` prints it. */
export function fmtFloat(v: number): string {
  return formatG(v);
}

/** A value sequence item as the reference runner prints it. */
export function fmtSeriesValue(v: SeriesValue): string {
  switch (v.kind) {
    case "omitted":
      return "_";
    case "float":
      return isStaleNaN(v.value) ? "stale" : fmtFloat(v.value);
    case "histogram":
      return v.text;
  }
}

function fmtValues(vals: readonly SeriesValue[]): string {
  return `[${vals.map(fmtSeriesValue).join(" ")}]`;
}

/** Float points `[v@t ...]` of a matrix series, like Go's `%v` of FPoints. */
export function fmtPoints(t: ArrayLike<number>, v: ArrayLike<number>): string {
  const parts: string[] = [];
  for (let i = 0; i < t.length; i++) parts.push(`${fmtFloat(v[i])} @[${t[i]}]`);
  return `[${parts.join(" ")}]`;
}

function fmtSeriesResult(s: MatrixSeries): string {
  const ft: number[] = [];
  const fv: number[] = [];
  const hs: string[] = [];
  for (let i = 0; i < s.t.length; i++) {
    const h = s.h?.[i];
    if (h === undefined) {
      ft.push(s.t[i]);
      fv.push(s.v[i]);
    } else hs.push(`${histogramTestExpression(h)} @[${s.t[i]}]`);
  }
  return `${ft.length} float point${ft.length === 1 ? "" : "s"} ${fmtPoints(ft, fv)} and ${hs.length} histogram point${hs.length === 1 ? "" : "s"} [${hs.join(" ")}]`;
}

/** A sample's value as the runner prints it: the float, or the histogram in test notation. */
function fmtSample(s: VectorSample): string {
  return s.h === undefined ? fmtFloat(s.v) : histogramTestExpression(s.h);
}

/** The part of an eval's expectations a matrix is laid out against: start + i × step, up to end (ms).
 * Null when the eval gives no range (an instant eval without `expect range vector`): no point can be expected. */
export function matrixWindow(ev: EvalCommand): TimeRange | null {
  return ev.range ?? ev.rangeVector;
}

/** Checks that a matrix is sorted by labels (`Labels.compare`); null when it is. */
export function checkMatrixSorted(series: readonly { labels: Labels }[]): string | null {
  for (let i = 0; i + 1 < series.length; i++) {
    if (Labels.compare(series[i].labels, series[i + 1].labels) > 0) {
      return `matrix results should always be sorted by labels, but matrix is not sorted: series at index ${i + 1} with labels ${series[i + 1].labels} sorts before series at index ${i} with labels ${series[i].labels}`;
    }
  }
  return null;
}

/** Compares a query result with the eval's expectations; null when equal, else the first difference. */
export function compareResult(ev: EvalCommand, value: QueryValue): string | null {
  const exp = ev.expected;
  switch (value.type) {
    case "matrix": {
      if (expectsOrder(ev)) return "expected ordered result, but query returned a matrix";
      if (exp.kind === "scalar") return `expected scalar result, but got matrix of ${value.series.length} series`;
      const unsorted = checkMatrixSorted(value.series);
      if (unsorted !== null) return unsorted;
      const window = matrixWindow(ev);
      const seen = new Set<string>();
      for (const s of value.series) {
        const hash = s.labels.hash();
        const e = exp.series.get(hash);
        if (e === undefined) return `unexpected metric ${s.labels} in result, has ${fmtSeriesResult(s)}`;
        seen.add(hash);
        const diff = compareMatrixSeries(e.labels, e.values, window, s);
        if (diff !== null) return diff;
      }
      for (const [hash, e] of exp.series) {
        if (!seen.has(hash)) return `expected metric ${e.labels} not found`;
      }
      return null;
    }
    case "vector":
      return compareVector(ev, value.samples);
    case "scalar": {
      if (exp.kind !== "scalar") return `expected vector or matrix result, but got scalar: ${fmtFloat(value.v)}`;
      if (!almostEqual(exp.value, value.v))
        return `expected scalar ${fmtFloat(exp.value)} but got ${fmtFloat(value.v)}`;
      return null;
    }
    case "string": {
      const want = ev.expectedString ?? "";
      if (want !== value.v) return `expected string "${want}" but got "${value.v}"`;
      return null;
    }
  }
}

// Compares one result series with its expected values laid out on `window`.
function compareMatrixSeries(
  labels: Labels,
  values: readonly SeriesValue[],
  window: TimeRange | null,
  s: MatrixSeries,
): string | null {
  const expT: number[] = [];
  const exp: SeriesValue[] = [];
  let expFloats = 0;
  for (let i = 0; i < values.length; i++) {
    const ts = window === null ? Number.NaN : window.start + i * window.step;
    if (window === null || ts > window.end) {
      return `expected ${values.length} points for ${labels}, but query time range cannot return this many points`;
    }
    const item = values[i];
    if (item.kind === "omitted") continue;
    if (item.kind === "float") expFloats++;
    expT.push(ts);
    exp.push(item);
  }
  let gotFloats = 0;
  for (let i = 0; i < s.t.length; i++) if (s.h?.[i] === undefined) gotFloats++;
  if (expT.length !== s.t.length || expFloats !== gotFloats) {
    return `expected ${expFloats} float points and ${expT.length - expFloats} histogram points for ${labels}, but got ${fmtSeriesResult(s)}`;
  }
  for (let i = 0; i < expT.length; i++) {
    if (expT[i] !== s.t[i]) {
      return `expected value at index ${i} for ${labels} to have timestamp ${expT[i]}, but it had timestamp ${s.t[i]} (result has ${fmtSeriesResult(s)})`;
    }
    const want = exp[i];
    const h = s.h?.[i];
    if (want.kind === "histogram") {
      if (h === undefined || !histogramsMatch(want.value, h, want.hintSet)) {
        const got = h === undefined ? fmtFloat(s.v[i]) : histogramTestExpression(h);
        return `expected histogram value at index ${i} (t=${s.t[i]}) for ${labels} to be ${want.text}, but got ${got}`;
      }
    } else if (want.kind === "float") {
      if (h !== undefined || !almostEqual(s.v[i], want.value)) {
        const got = h === undefined ? fmtFloat(s.v[i]) : histogramTestExpression(h);
        return `expected float value at index ${i} (t=${s.t[i]}) for ${labels} to be ${fmtFloat(want.value)}, but got ${got} (result has ${fmtSeriesResult(s)})`;
      }
    }
  }
  return null;
}

/** Compares an instant vector with the eval's expectations (also used for the range-mode re-run). */
export function compareVector(ev: EvalCommand, samples: readonly VectorSample[]): string | null {
  const exp = ev.expected;
  if (exp.kind === "scalar") return `expected scalar result, but got vector of ${samples.length} samples`;
  const ordered = expectsOrder(ev);
  const seen = new Set<string>();
  for (let pos = 0; pos < samples.length; pos++) {
    const s = samples[pos];
    const hash = s.labels.hash();
    const e = exp.series.get(hash);
    if (e === undefined) return `unexpected metric ${s.labels} in result, has value ${fmtSample(s)}`;
    if (ordered && e.pos !== pos + 1) {
      return `expected metric ${s.labels} with ${fmtValues(e.values)} at position ${e.pos} but was at ${pos + 1}`;
    }
    const first = e.values[0];
    if (first === undefined) return `expected metric ${e.labels} has no value`;
    if (first.kind === "histogram") {
      if (s.h === undefined)
        return `expected histogram ${first.text} for ${s.labels} but got float value ${fmtFloat(s.v)}`;
      if (!histogramsMatch(first.value, s.h, first.hintSet)) {
        return `expected ${first.text} for ${s.labels} but got ${histogramTestExpression(s.h)}`;
      }
    } else {
      const want = first.kind === "float" ? first.value : 0;
      if (s.h !== undefined) {
        return `expected float value ${fmtFloat(want)} for ${s.labels} but got histogram ${histogramTestExpression(s.h)}`;
      }
      if (!almostEqual(want, s.v)) return `expected ${fmtFloat(want)} for ${s.labels} but got ${fmtFloat(s.v)}`;
    }
    seen.add(hash);
  }
  for (const [hash, e] of exp.series) {
    if (!seen.has(hash)) return `expected metric ${e.labels} with ${fmtValues(e.values)} not found`;
  }
  return null;
}

/** True when `text` satisfies an `expect` line's matcher. */
export function messageMatches(m: MessageMatcher, text: string): boolean {
  switch (m.kind) {
    case "any":
      return true;
    case "msg":
      return m.text === text;
    case "regex":
      return m.re.test(text);
  }
}

function describeMatcher(m: MessageMatcher): string {
  switch (m.kind) {
    case "any":
      return 'pattern "^.*$"';
    case "msg":
      return `message ${JSON.stringify(m.text)}`;
    case "regex":
      return `pattern ${JSON.stringify(m.source)}`;
  }
}

function checkLevel(level: string, expected: readonly MessageMatcher[], actual: readonly string[]): string | null {
  if (expected.length === 0) return null;
  if (actual.length === 0) return `expected ${level} annotations but none were found`;
  for (const m of expected) {
    if (!actual.some((a) => messageMatches(m, a))) {
      return `expected ${level} annotation matching ${describeMatcher(m)} but no matching annotation was found, found: [${actual.join(", ")}]`;
    }
  }
  for (const a of actual) {
    if (!expected.some((m) => messageMatches(m, a))) return `unexpected ${level} annotation ${JSON.stringify(a)} found`;
  }
  return null;
}

/** Checks the annotations of a successful query against the eval's expect lines (and `eval_warn`/`eval_info`). */
export function checkAnnotations(
  ev: EvalCommand,
  annotations: { readonly warnings: readonly string[]; readonly infos: readonly string[] },
): string | null {
  const { warnings, infos } = annotations;
  if (ev.legacy === "warn" && warnings.length === 0) return "expected warnings but got none";
  if (ev.legacy === "info" && infos.length === 0) return "expected info annotations but got none";
  const warn = checkLevel("warn", ev.warn, warnings);
  if (warn !== null) return warn;
  const info = checkLevel("info", ev.info, infos);
  if (info !== null) return info;
  if (ev.noWarn && warnings.length > 0) return `unexpected warning annotations: [${warnings.join(", ")}]`;
  if (ev.noInfo && infos.length > 0) return `unexpected info annotations: [${infos.join(", ")}]`;
  return null;
}

/** Checks a query error against `expected_fail_message`, `expected_fail_regexp` and `expect fail`. */
export function checkExpectedFailure(ev: EvalCommand, message: string): string | null {
  if (ev.failMessage) {
    if (ev.failMessage !== message) return `expected error ${JSON.stringify(ev.failMessage)}, but got: ${message}`;
  }
  if (ev.failRegexp !== null && !ev.failRegexp.test(message)) {
    return `expected error matching pattern ${JSON.stringify(ev.failRegexp.source)}, but got: ${message}`;
  }
  if (ev.expectFail !== null && !messageMatches(ev.expectFail, message)) {
    return `expected error matching ${describeMatcher(ev.expectFail)}, but got: ${message}`;
  }
  return null;
}
