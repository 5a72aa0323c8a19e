// The list of evals (and file problems) known to fail, so a run can fail only on regressions. One entry a line:
//   <file>:<line>  <query> — <reason>
// `#` lines and blank lines are ignored. An entry matches the eval at that file and line when the query is the
// same too, so an entry left behind by an edited test file does not hide a new failure.

import { type FileResult, problemQuery } from "./report.ts";

/** One known failure. `query` is the eval's query text, or `<load>` / `<syntax>` for a file problem. */
export interface KnownFailure {
  readonly file: string;
  readonly line: number;
  readonly query: string;
  readonly reason: string;
}

const SEPARATOR = " — ";
const ENTRY = /^(\S+):(\d+)\s+(.*)$/;

/** The key of an entry or an eval: `file:line`. */
export function failureKey(file: string, line: number): string {
  return `${file}:${line}`;
}

/** Parses a known-failures file; malformed lines are returned in `invalid` (1-based line numbers). */
export function parseKnownFailures(text: string): { entries: Map<string, KnownFailure>; invalid: number[] } {
  const entries = new Map<string, KnownFailure>();
  const invalid: number[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (l === "" || l.startsWith("#")) continue;
    const m = ENTRY.exec(l);
    if (!m) {
      invalid.push(i + 1);
      continue;
    }
    const rest = m[3];
    const sep = rest.indexOf(SEPARATOR);
    const query = (sep < 0 ? rest : rest.slice(0, sep)).trim();
    const reason = sep < 0 ? "" : rest.slice(sep + SEPARATOR.length).trim();
    const entry: KnownFailure = { file: m[1], line: Number(m[2]), query, reason };
    entries.set(failureKey(entry.file, entry.line), entry);
  }
  return { entries, invalid };
}

const HEADER = [
  "# Evals of the shared PromQL test suite that Contrail's engine does not pass yet.",
  "# Format: <file>:<line>  <query> — <reason>. A run with --known-failures fails only on evals not listed here.",
  "# Regenerate with: contrail promqltest --write-known-failures <this file> <test files...>",
];

/** Renders entries sorted by file and line, with the explanatory header. */
export function formatKnownFailures(entries: Iterable<KnownFailure>): string {
  const sorted = [...entries].sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  const lines = sorted.map(
    (e) => `${failureKey(e.file, e.line)}  ${e.query}${e.reason === "" ? "" : `${SEPARATOR}${e.reason}`}`,
  );
  return `${[...HEADER, ...lines].join("\n")}\n`;
}

/** A failing item of a run in known-failure terms: a failed eval or a file problem. */
export interface RunFailure {
  readonly file: string;
  readonly line: number;
  readonly query: string;
  /** First line of the failure. */
  readonly reason: string;
}

/** Every failure of `results`: failed evals and file problems. */
export function runFailures(results: readonly FileResult[]): RunFailure[] {
  const out: RunFailure[] = [];
  for (const r of results) {
    for (const p of r.problems) {
      out.push({ file: r.file, line: p.line, query: problemQuery(p), reason: p.message });
    }
    for (const e of r.evals) {
      if (e.status === "failed") out.push({ file: r.file, line: e.line, query: e.query, reason: e.detail[0] ?? "" });
    }
  }
  return out;
}

/** True when `entry` stands for this failure (same place, same query). */
export function isListed(
  entries: ReadonlyMap<string, KnownFailure>,
  f: { file: string; line: number; query: string },
): boolean {
  const e = entries.get(failureKey(f.file, f.line));
  return e !== undefined && e.query === f.query;
}

/** How a run compares with the list. */
export interface KnownFailureCheck {
  /** Failures not listed: these fail the run. */
  readonly regressions: readonly RunFailure[];
  /** Listed evals that passed this time: the list can shrink. */
  readonly nowPassing: readonly { readonly file: string; readonly line: number; readonly query: string }[];
}

/** Compares a run's failures with the list, looking only at the files of this run. */
export function checkKnownFailures(
  results: readonly FileResult[],
  entries: ReadonlyMap<string, KnownFailure>,
): KnownFailureCheck {
  const regressions = runFailures(results).filter((f) => !isListed(entries, f));
  const nowPassing: { file: string; line: number; query: string }[] = [];
  for (const r of results) {
    for (const e of r.evals) {
      const at = { file: r.file, line: e.line, query: e.query };
      if (e.status === "passed" && isListed(entries, at)) nowPassing.push(at);
    }
  }
  return { regressions, nowPassing };
}

/** The list after a run: entries of files not run are kept; for files run, exactly the current failures, with the
 * old reason when the entry existed, else the failure's first line. */
export function updateKnownFailures(
  results: readonly FileResult[],
  entries: ReadonlyMap<string, KnownFailure>,
): KnownFailure[] {
  const ran = new Set(results.map((r) => r.file));
  const out: KnownFailure[] = [...entries.values()].filter((e) => !ran.has(e.file));
  for (const f of runFailures(results)) {
    const old = entries.get(failureKey(f.file, f.line));
    const reason = old !== undefined && old.query === f.query && old.reason !== "" ? old.reason : f.reason;
    out.push({ file: f.file, line: f.line, query: f.query, reason: oneLine(reason) });
  }
  return out;
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, " ").trim();
  return flat.length > 240 ? `${flat.slice(0, 240)}…` : flat;
}
