// Text output of a test run: what an eval expected and what a query returned, in the DSL's own notation, and the
// per-file and total summary lines.

import type { QueryValue } from "../engine/index.ts";
import { fmtFloat, fmtSeriesValue } from "./compare.ts";
import { type EvalCommand, expectsFailure } from "./dsl.ts";
import { histogramTestExpression } from "./histograms.ts";

/** Outcome of one eval. `detail` explains a failure (first line = the reason) or a skip. */
export interface EvalOutcome {
  readonly line: number;
  readonly query: string;
  readonly status: "passed" | "failed" | "skipped";
  readonly detail: readonly string[];
}

/** A problem outside any eval (a syntax error, a load that storage rejected), 1-based line. */
export interface FileProblem {
  readonly line: number;
  readonly kind: "syntax" | "load";
  readonly message: string;
}

/** The stand-in query text of a file problem in reports and the known-failures list: `<syntax>` or `<load>`. */
export function problemQuery(p: FileProblem): string {
  return `<${p.kind}>`;
}

/** Everything one test file produced. `file` is the name used in reports (the file's base name). */
export interface FileResult {
  readonly file: string;
  readonly evals: readonly EvalOutcome[];
  readonly problems: readonly FileProblem[];
}

/** Pass/fail/skip counts. */
export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/** Counts the outcomes of `evals`. */
export function countOutcomes(evals: readonly EvalOutcome[]): Counts {
  const c: Counts = { passed: 0, failed: 0, skipped: 0 };
  for (const e of evals) c[e.status]++;
  return c;
}

/** `P passed, F failed, S skipped`. */
export function formatCounts(c: Counts): string {
  return `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;
}

/** The eval's expectation as DSL lines (series with values, a scalar, a string, an error, or an empty result). */
export function renderExpected(ev: EvalCommand): string[] {
  if (expectsFailure(ev)) {
    if (ev.failMessage) return [`error ${JSON.stringify(ev.failMessage)}`];
    if (ev.failRegexp) return [`error matching /${ev.failRegexp.source}/`];
    const m = ev.expectFail;
    if (m?.kind === "msg") return [`error ${JSON.stringify(m.text)}`];
    if (m?.kind === "regex") return [`error matching /${m.source}/`];
    return ["an error"];
  }
  if (ev.expectedString !== null) return [`string ${JSON.stringify(ev.expectedString)}`];
  const exp = ev.expected;
  if (exp.kind === "scalar") return [`scalar ${fmtFloat(exp.value)}`];
  if (exp.series.size === 0) return ["(empty result)"];
  return [...exp.series.values()]
    .sort((a, b) => a.pos - b.pos)
    .map((s) => `${s.labels.toMetricString()} ${s.values.map(fmtSeriesValue).join(" ")}`);
}

/** A query result as DSL-like lines: `labels value` per sample, `labels v@t ...` per matrix series. */
export function renderValue(value: QueryValue): string[] {
  switch (value.type) {
    case "scalar":
      return [`scalar ${fmtFloat(value.v)}`];
    case "string":
      return [`string ${JSON.stringify(value.v)}`];
    case "vector":
      if (value.samples.length === 0) return ["(empty vector)"];
      return value.samples.map(
        (s) => `${s.labels.toMetricString()} ${s.h === undefined ? fmtFloat(s.v) : histogramTestExpression(s.h)}`,
      );
    case "matrix":
      if (value.series.length === 0) return ["(empty matrix)"];
      return value.series.map((s) => {
        const pts: string[] = [];
        for (let i = 0; i < s.t.length; i++) {
          const h = s.h?.[i];
          pts.push(`${h === undefined ? fmtFloat(s.v[i]) : histogramTestExpression(h)}@${s.t[i] / 1000}s`);
        }
        return `${s.labels.toMetricString()} ${pts.join(" ")}`;
      });
  }
}

/** Caps `lines` at `max`, saying how many were left out. */
export function truncateLines(lines: readonly string[], max: number, width = 200): string[] {
  const cut = (l: string) => (l.length > width ? `${l.slice(0, width)}…` : l);
  if (lines.length <= max) return lines.map(cut);
  return [...lines.slice(0, max).map(cut), `… ${lines.length - max} more`];
}

/** The report block of a failed eval: `file:line  query`, then its detail indented (capped unless `full`). */
export function formatFailure(file: string, e: EvalOutcome, full: boolean): string[] {
  const out = [`${file}:${e.line}  ${e.query}`];
  const detail = full ? e.detail : truncateLines(e.detail, 9);
  for (const d of detail) out.push(`    ${d}`);
  return out;
}

/** The report of one file: its summary line, then each failure (only those `isNew` accepts, unless `verbose`);
 * with `verbose` also every passed and skipped eval. */
export function formatFileResult(
  r: FileResult,
  opts: { verbose: boolean; isNew: (e: { line: number; query: string }) => boolean },
): string[] {
  const counts = countOutcomes(r.evals);
  const known = r.evals.filter((e) => e.status === "failed" && !opts.isNew(e)).length;
  const out = [`${r.file}: ${formatCounts(counts)}${known > 0 ? ` (${known} known failures)` : ""}`];
  for (const p of r.problems) {
    if (opts.verbose || opts.isNew({ line: p.line, query: problemQuery(p) })) {
      out.push(`  ${r.file}:${p.line}  ${p.message}`);
    }
  }
  for (const e of r.evals) {
    if (e.status === "failed") {
      const isNew = opts.isNew(e);
      if (!isNew && !opts.verbose) continue;
      const block = formatFailure(r.file, e, opts.verbose);
      out.push(`  ${isNew ? "FAIL" : "known"} ${block[0]}`, ...block.slice(1).map((l) => `  ${l}`));
    } else if (opts.verbose) {
      const why = e.status === "skipped" ? ` (${e.detail[0]})` : "";
      out.push(`  ${e.status === "passed" ? "ok" : "skip"} ${r.file}:${e.line}  ${e.query}${why}`);
    }
  }
  return out;
}
