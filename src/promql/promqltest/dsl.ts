// Parser of Prometheus's PromQL test DSL (`*.test` files) into commands: load, clear and eval, each with its
// 1-based line number. The line rules follow the reference runner (promql/promqltest/test.go): lines are trimmed, a
// `#` line counts as blank, a blank line ends a block. Series lines go through the PromQL series parser; queries
// are kept as text (the runner parses them).
//
// Unlike the reference runner, a syntax error does not abandon the file: an error inside an eval block marks that
// eval (so it is counted as failed), any other error is reported and parsing resumes after the block.

import type { Labels } from "../../model/labels.ts";
import { parseDuration, parseSeriesDesc, type SeriesValue } from "../parser/index.ts";
import { parseNumberLiteral, unquote } from "../parser/literals.ts";
import { isStartTimestampLine, parseStartTimestampLine, type StartOffset } from "./st-lines.ts";

/** How an `expect` line matches a message: exactly, by an unanchored regex, or anything. */
export type MessageMatcher =
  | { readonly kind: "any" }
  | { readonly kind: "msg"; readonly text: string }
  | { readonly kind: "regex"; readonly source: string; readonly re: RegExp };

/** One series of a `load` block. `startOffsets` (ms from each sample's time, null = none) comes from an `@st` line. */
export interface LoadSeries {
  readonly line: number;
  readonly labels: Labels;
  readonly values: readonly SeriesValue[];
  readonly startOffsets: readonly StartOffset[] | null;
  /** True when the line holds native-histogram values (`{{...}}`). */
  readonly hasHistograms: boolean;
}

/** `load <interval>` / `load_with_nhcb <interval>`: series keyed by label hash (a later line replaces an earlier). */
export interface LoadCommand {
  readonly kind: "load";
  readonly line: number;
  /** Sample spacing, ms. */
  readonly interval: number;
  readonly withNhcb: boolean;
  readonly series: readonly LoadSeries[];
}

/** `clear`: drop all stored data. */
export interface ClearCommand {
  readonly kind: "clear";
  readonly line: number;
}

/** An expected result series; `pos` is its 1-based position for ordered comparison. */
export interface ExpectedSeries {
  readonly line: number;
  readonly labels: Labels;
  readonly values: readonly SeriesValue[];
  readonly pos: number;
}

/** The expected value of an eval: series keyed by label hash, or one scalar. */
export type ExpectedResult =
  | { readonly kind: "series"; readonly series: ReadonlyMap<string, ExpectedSeries> }
  | { readonly kind: "scalar"; readonly value: number };

/** Start, end and step of a range, ms. */
export interface TimeRange {
  readonly start: number;
  readonly end: number;
  readonly step: number;
}

/** The deprecated suffix of `eval_fail`, `eval_warn`, `eval_info`, `eval_ordered`. */
export type LegacyMode = "fail" | "warn" | "info" | "ordered" | null;

/** An `eval instant` or `eval range` statement with everything its block expects. */
export interface EvalCommand {
  readonly kind: "eval";
  readonly line: number;
  /** The query text as written. */
  readonly query: string;
  /** Set for `eval range`; null for instant evals. */
  readonly range: TimeRange | null;
  /** Evaluation time of an instant eval, ms (the end of `expect range vector` when given). */
  readonly time: number;
  /** `expect range vector from .. to .. step ..` of an instant eval. */
  readonly rangeVector: TimeRange | null;
  readonly legacy: LegacyMode;
  readonly expectOrdered: boolean;
  /** The `expect fail` line (at most one). */
  readonly expectFail: MessageMatcher | null;
  /** `expected_fail_message` / `expected_fail_regexp` after `eval_fail`. */
  readonly failMessage: string | null;
  readonly failRegexp: RegExp | null;
  readonly warn: readonly MessageMatcher[];
  readonly info: readonly MessageMatcher[];
  readonly noWarn: boolean;
  readonly noInfo: boolean;
  readonly expected: ExpectedResult;
  /** The `expect string` value; null when not given (a string result is then compared with ""). */
  readonly expectedString: string | null;
  /** `expect range vector` or `expect string`: no range-mode re-run. */
  readonly excludeFromRangeQuery: boolean;
  /** A syntax error in the eval's block; the eval then counts as failed. */
  readonly syntaxError: string | null;
}

/** One command of a test file. */
export type Command = LoadCommand | ClearCommand | EvalCommand;

/** A syntax error outside any eval block, with its 1-based line. */
export interface DslError {
  readonly line: number;
  readonly message: string;
}

/** The parsed file: commands in order, plus syntax errors met outside eval blocks. */
export interface TestFile {
  readonly commands: readonly Command[];
  readonly errors: readonly DslError[];
}

const PAT_SPACE = /[\t ]+/;
const PAT_LOAD = /^load(?:_(with_nhcb))?\s+(.+?)$/;
const PAT_EVAL_INSTANT = /^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$/;
const PAT_EVAL_RANGE = /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$/;
const PAT_EXPECT = /^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$/;
const RANGE_VECTOR_PREFIX = "expect range vector";
const PAT_EXPECT_RANGE = /^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$/;
const EXPECT_STRING_PREFIX = "expect string";

// A block-level syntax error; caught by the file loop and turned into a DslError or an eval's syntaxError.
class DslSyntaxError extends Error {}

function fail(message: string): never {
  throw new DslSyntaxError(message);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Splits into trimmed lines; comment lines become blank. */
export function splitLines(text: string): string[] {
  return text.split("\n").map((l) => {
    const t = l.trim();
    return t.startsWith("#") ? "" : t;
  });
}

/** Parses a whole `.test` file. Never throws on bad input: problems land in `errors` or in an eval's `syntaxError`. */
export function parseTestFile(text: string): TestFile {
  const lines = splitLines(text);
  const commands: Command[] = [];
  const errors: DslError[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l === "") continue;
    const word = l.split(PAT_SPACE, 1)[0].toLowerCase();
    if (word === "clear") {
      commands.push({ kind: "clear", line: i + 1 });
    } else if (word.startsWith("load")) {
      try {
        const [end, cmd] = parseLoad(lines, i);
        commands.push(cmd);
        i = end;
      } catch (err) {
        const e = err as DslSyntaxError & { line?: number };
        errors.push({ line: (e.line ?? i) + 1, message: errorText(err) });
        i = blockEnd(lines, i);
      }
    } else if (word.startsWith("eval")) {
      const [end, cmd] = parseEval(lines, i);
      commands.push(cmd);
      i = end;
    } else {
      errors.push({ line: i + 1, message: `invalid command ${JSON.stringify(l)}` });
      i = blockEnd(lines, i);
    }
  }
  return { commands, errors };
}

// Index of the last non-blank line of the block starting at `i`.
function blockEnd(lines: readonly string[], i: number): number {
  while (i + 1 < lines.length && lines[i + 1] !== "") i++;
  return i;
}

function duration(text: string, what: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    return fail(`invalid ${what} ${JSON.stringify(text)}: ${errorText(err)}`);
  }
}

function seriesLine(text: string): { labels: Labels; values: SeriesValue[] } {
  try {
    return parseSeriesDesc(text);
  } catch (err) {
    return fail(errorText(err));
  }
}

function lineError(line: number, message: string): DslSyntaxError & { line: number } {
  return Object.assign(new DslSyntaxError(message), { line });
}

function parseLoad(lines: readonly string[], i: number): [number, LoadCommand] {
  const m = PAT_LOAD.exec(lines[i]);
  if (!m) fail("invalid load command. (load[_with_nhcb] <step:duration>)");
  const line = i + 1;
  const interval = duration(m[2], "step definition");
  const byHash = new Map<string, LoadSeries>();
  let pending: { labels: Labels; offsets: StartOffset[]; line: number } | null = null;
  while (i + 1 < lines.length && lines[i + 1] !== "") {
    i++;
    const def = lines[i];
    try {
      if (isStartTimestampLine(def)) {
        if (pending) throw lineError(pending.line - 1, "@st line has no following sample line");
        pending = { ...parseStartTimestampLine(def), line: i + 1 };
        continue;
      }
      const parsed = parseSeriesDesc(def);
      const hasHistograms = parsed.values.some((v) => v.kind === "histogram");
      if (pending) {
        if (!pending.labels.equals(parsed.labels)) {
          throw lineError(pending.line - 1, "@st metric does not match the following sample line metric");
        }
        if (pending.offsets.length !== parsed.values.length) {
          throw lineError(
            pending.line - 1,
            `@st line has ${pending.offsets.length} values but sample line has ${parsed.values.length}`,
          );
        }
      }
      const series: LoadSeries = {
        line: i + 1,
        labels: parsed.labels,
        values: parsed.values,
        startOffsets: pending ? pending.offsets : null,
        hasHistograms,
      };
      byHash.set(parsed.labels.hash(), series);
      pending = null;
    } catch (err) {
      if (err instanceof DslSyntaxError && "line" in err) throw err;
      throw lineError(i, errorText(err));
    }
  }
  if (pending) throw lineError(pending.line - 1, "@st line has no following sample line");
  return [i, { kind: "load", line, interval, withNhcb: m[1] === "with_nhcb", series: [...byHash.values()] }];
}

function parseMessageMatcher(def: string): { type: string; matcher: MessageMatcher } {
  const m = PAT_EXPECT.exec(def);
  if (!m) fail("invalid expect statement, must match `expect <type> <match_type>: <string>` format");
  const type = m[1];
  if (m[2] === "msg") return { type, matcher: { kind: "msg", text: m[3].trim() } };
  if (m[2] === "regex") {
    const source = m[3].trim();
    try {
      return { type, matcher: { kind: "regex", source, re: new RegExp(source) } };
    } catch {
      return fail(`invalid regex ${source} for ${type}`);
    }
  }
  return { type, matcher: { kind: "any" } };
}

function parseRange(from: string, to: string, step: string): TimeRange {
  const start = duration(from, "start timestamp definition");
  const end = duration(to, "end timestamp definition");
  if (end < start) {
    fail(`invalid test definition, end timestamp (${to}) is before start timestamp (${from})`);
  }
  return { start, end, step: duration(step, "step definition") };
}

/** An EvalCommand under construction (all fields writable). */
export type EvalDraft = {
  -readonly [K in keyof EvalCommand]: EvalCommand[K];
};

/** An instant eval at time 0 with no expect lines and an empty expected result (a base for building evals). */
export function emptyEval(line: number, query: string): EvalDraft {
  return {
    kind: "eval",
    line,
    query,
    range: null,
    time: 0,
    rangeVector: null,
    legacy: null,
    expectOrdered: false,
    expectFail: null,
    failMessage: null,
    failRegexp: null,
    warn: [],
    info: [],
    noWarn: false,
    noInfo: false,
    expected: { kind: "series", series: new Map() },
    expectedString: null,
    excludeFromRangeQuery: false,
    syntaxError: null,
  };
}

function parseEval(lines: readonly string[], i: number): [number, EvalCommand] {
  const header = lines[i];
  const inst = PAT_EVAL_INSTANT.exec(header);
  const rng = inst ? null : PAT_EVAL_RANGE.exec(header);
  const query = inst ? inst[3] : rng ? rng[5] : header.replace(/^\S+\s*/, "");
  const ev = emptyEval(i + 1, query);
  try {
    if (!inst && !rng) {
      fail(
        "invalid evaluation command. Must be either 'eval[_fail|_warn|_ordered] instant [at <offset:duration>] <query>' or 'eval[_fail|_warn] range from <from> to <to> step <step> <query>'",
      );
    }
    if (inst) {
      ev.time = duration(inst[2] ?? "", "timestamp definition");
      ev.legacy = (inst[1] as LegacyMode) ?? null;
    } else if (rng) {
      ev.range = parseRange(rng[2], rng[3], rng[4]);
      ev.legacy = (rng[1] as LegacyMode) ?? null;
    }
    i = parseEvalBody(lines, i, ev);
  } catch (err) {
    if (!(err instanceof DslSyntaxError)) throw err;
    ev.syntaxError = err.message;
    i = blockEnd(lines, i);
  }
  return [i, ev];
}

// Reads the lines after an eval header; returns the index of the block's last consumed line.
function parseEvalBody(lines: readonly string[], i: number, ev: EvalDraft): number {
  const series = new Map<string, ExpectedSeries>();
  let sawRangeVector = false;
  // `pos` counts body lines except plain `expect` lines, as the reference runner does.
  for (let pos = 1; i + 1 < lines.length; pos++) {
    i++;
    const def = lines[i];
    if (def === "") {
      i--;
      break;
    }
    if (ev.legacy === "fail" && def.startsWith("expected_fail_message")) {
      ev.failMessage = def.slice("expected_fail_message".length).trim();
      break;
    }
    if (ev.legacy === "fail" && def.startsWith("expected_fail_regexp")) {
      const pattern = def.slice("expected_fail_regexp".length).trim();
      try {
        ev.failRegexp = new RegExp(pattern);
      } catch (err) {
        fail(`invalid regexp '${pattern}' for expected_fail_regexp: ${errorText(err)}`);
      }
      break;
    }
    if (def.startsWith(RANGE_VECTOR_PREFIX)) {
      const m = PAT_EXPECT_RANGE.exec(def);
      if (!m) fail(`invalid range vector definition ${JSON.stringify(def)}`);
      ev.rangeVector = parseRange(m[1], m[2], m[3]);
      ev.time = ev.rangeVector.end;
      ev.excludeFromRangeQuery = true;
      sawRangeVector = true;
      continue;
    }
    if (def.startsWith(EXPECT_STRING_PREFIX)) {
      const rest = def === EXPECT_STRING_PREFIX ? "" : def.slice(EXPECT_STRING_PREFIX.length + 1);
      if (!def.startsWith(`${EXPECT_STRING_PREFIX} `) || rest === "") {
        fail("expected string literal not valid - a quoted string literal is required");
      }
      const s = unquoteGoString(rest);
      if (s === null) fail("expected string literal not valid - check that the string is correctly quoted");
      ev.expectedString = s;
      ev.excludeFromRangeQuery = true;
      continue;
    }
    if (def.split(" ", 1)[0] === "expect") {
      addExpect(ev, def);
      pos--;
      continue;
    }
    const n = parseNumberLiteral(def);
    if (typeof n === "number") {
      ev.expected = { kind: "scalar", value: n };
      return i;
    }
    const { labels, values } = seriesLine(def);
    if (values.length > 1 && ev.range === null && !sawRangeVector) {
      fail(
        "expecting multiple values in instant evaluation not allowed. consider using 'expect range vector' directive to enable a range vector result for an instant query",
      );
    }
    series.set(labels.hash(), { line: i + 1, labels, values, pos });
    ev.expected = { kind: "series", series };
  }
  return i;
}

// Go's strconv.Unquote: like PromQL's unquote, but a single-quoted literal is one character and raw strings lose
// carriage returns.
function unquoteGoString(s: string): string | null {
  let out: string;
  try {
    out = unquote(s);
  } catch {
    return null;
  }
  if (s[0] === "'" && [...out].length !== 1) return null;
  return s[0] === "`" ? out.replaceAll("\r", "") : out;
}

function addExpect(ev: EvalDraft, def: string): void {
  const { type, matcher } = parseMessageMatcher(def);
  switch (type) {
    case "ordered":
      ev.expectOrdered = true;
      break;
    case "fail":
      if (ev.expectFail !== null) fail("invalid expect lines, multiple expect fail lines are not allowed");
      ev.expectFail = matcher;
      break;
    case "warn":
      ev.warn = [...ev.warn, matcher];
      break;
    case "info":
      ev.info = [...ev.info, matcher];
      break;
    case "no_warn":
      ev.noWarn = true;
      break;
    case "no_info":
      ev.noInfo = true;
      break;
  }
  if (ev.info.length > 0 && ev.noInfo) fail("invalid expect lines, info and no_info cannot be used together");
  if (ev.warn.length > 0 && ev.noWarn) fail("invalid expect lines, warn and no_warn cannot be used together");
}

/** True when the eval must fail (`eval_fail` or `expect fail`). */
export function expectsFailure(ev: EvalCommand): boolean {
  return ev.legacy === "fail" || ev.expectFail !== null;
}

/** True when the eval compares results in order (`eval_ordered` or `expect ordered`). */
export function expectsOrder(ev: EvalCommand): boolean {
  return ev.legacy === "ordered" || ev.expectOrdered;
}
