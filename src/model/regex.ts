// RE2 regular expressions for label matchers, with Prometheus semantics: Go regexp syntax, matched against the
// whole value (as `^(?:pattern)$`), `.` matching newline, and linear time whatever the pattern or input.
//
// A pattern is parsed by our own RE2 parser (regex/parse.ts: Go's syntax, limits and error messages), then run by
// the cheapest of: a fast path (exact strings, sets, `prefix.*`-style globs; regex/fast.ts), V8's regex engine
// on translated source (regex/emit.ts), or our NFA (regex/nfa.ts) when V8 could not guarantee linear time.
//
// Process-wide effect: at load this module enables two V8 flags. One lets V8 move a regex that backtracks too much
// to its linear-time engine (only regexes without the `u`/`i` flags qualify, which is why the translation avoids
// them); the other enables the `l` flag, which we use only to ask V8 whether a regex qualifies.
// Inputs are JS strings from UTF-8 text; a string with lone surrogates is ill-formed and may match differently.

import v8 from "node:v8";
import { ContrailError } from "./errors.ts";
import type { Node } from "./regex/ast.ts";
import { emitAnchored } from "./regex/emit.ts";
import { analyze, type GlobPart, globMatch } from "./regex/fast.ts";
import { Nfa } from "./regex/nfa.ts";
import { parseRegex } from "./regex/parse.ts";

v8.setFlagsFromString("--enable-experimental-regexp-engine-on-excessive-backtracks");
v8.setFlagsFromString("--enable-experimental-regexp-engine");

/** How a compiled regex decides a match (exposed for tests and diagnostics). */
export type RegexStrategy = "set" | "glob" | "v8" | "nfa";

/** A compiled, fully anchored RE2 matcher. Immutable and shared (compiled patterns are cached). */
export interface CompiledRegex {
  /** The RE2 pattern as written. */
  readonly source: string;
  /** The translated JavaScript regex source (no flags), for diagnostics. */
  readonly jsSource: string;
  /** Which engine `test` uses. */
  readonly strategy: RegexStrategy;
  /** Every matching value starts with this (possibly ""). */
  readonly prefix: string;
  /** True when the whole of `value` matches. */
  test(value: string): boolean;
  /** The complete, non-empty-valued list of values the pattern matches when it is a small finite set
   * (like Prometheus's SetMatches: at most 256, and null if one of them is ""), else null. */
  setMatches(): readonly string[] | null;
}

// Whether V8's linear engine accepts a source (asked once per compile through the `l` flag).
function linearSafe(src: string): boolean {
  try {
    new RegExp(src, "l");
    return true;
  } catch {
    return false;
  }
}

// Above this source size (large Unicode classes), V8's linear-time engine is slow enough per character that our
// NFA is the better fallback; measured: `\pL*\pL*\pL*!` on 10,000 letters took 1.5 s in V8, 1 ms in the NFA.
const V8_SOURCE_LIMIT = 4096;

function build(pattern: string): CompiledRegex {
  const node: Node = parseRegex(pattern);
  const info = analyze(node);
  const jsSource = emitAnchored(node);
  const base = { source: pattern, jsSource, prefix: info.prefix };
  const setMatches = info.set !== null && !info.set.includes("") ? Object.freeze(info.set.slice()) : null;
  if (info.set !== null) {
    const values = info.set;
    if (values.length === 1) {
      const only = values[0];
      return { ...base, strategy: "set", test: (v) => v === only, setMatches: () => setMatches };
    }
    const set = new Set(values);
    return { ...base, strategy: "set", test: (v) => set.has(v), setMatches: () => setMatches };
  }
  if (info.glob !== null) {
    const parts: readonly GlobPart[] = info.glob;
    if (parts.length === 1) {
      // `.*` matches everything, `.+` everything but "".
      const min = parts[0].kind === "any" ? parts[0].min : 0;
      return { ...base, strategy: "glob", test: (v) => v.length >= min, setMatches: () => null };
    }
    return { ...base, strategy: "glob", test: (v) => globMatch(parts, v), setMatches: () => null };
  }
  const { prefix, suffix } = info;
  let strategy: RegexStrategy;
  let full: (v: string) => boolean;
  if (jsSource.length <= V8_SOURCE_LIMIT && linearSafe(jsSource)) {
    const re = new RegExp(jsSource);
    strategy = "v8";
    full = (v) => re.test(v);
  } else {
    const nfa = new Nfa(node);
    strategy = "nfa";
    full = (v) => nfa.test(v);
  }
  const test =
    prefix === "" && suffix === ""
      ? full
      : (v: string) =>
          v.startsWith(prefix) && v.endsWith(suffix) && v.length >= prefix.length + suffix.length && full(v);
  return { ...base, strategy, test, setMatches: () => null };
}

// Compiled patterns by source, oldest evicted first. Queries repeat the same matchers constantly.
const CACHE_LIMIT = 1024;
const cache = new Map<string, CompiledRegex>();

/** Compiles an RE2 pattern matched against whole values; throws ContrailError `invalid_regex` with Go's message.
 * Results are cached and shared. */
export function compileRegex(pattern: string): CompiledRegex {
  const hit = cache.get(pattern);
  if (hit !== undefined) return hit;
  let compiled: CompiledRegex;
  try {
    compiled = build(pattern);
  } catch (err) {
    if (err instanceof ContrailError) throw err;
    throw new ContrailError("invalid_regex", `error parsing regexp: ${(err as Error).message}: \`${pattern}\``, {
      cause: err,
    });
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(pattern, compiled);
  return compiled;
}

/** A regex that reports submatches, for label_replace. `names[i]` names group i (index 0 is the whole match). */
export interface CaptureRegex {
  readonly names: readonly (string | null)[];
  /** The submatches of a whole-value match (undefined for groups that did not take part), or null. */
  exec(value: string): readonly (string | undefined)[] | null;
}

function collectNames(n: Node, out: (string | null)[]): void {
  switch (n.kind) {
    case "capture":
      out.push(n.name);
      collectNames(n.sub, out);
      return;
    case "repeat":
      collectNames(n.sub, out);
      return;
    case "concat":
    case "alternate":
      for (const k of n.subs) collectNames(k, out);
      return;
    case "empty":
    case "literal":
    case "class":
    case "assert":
      return;
  }
}

/**
 * Compiles an RE2 pattern, anchored at both ends, for submatch extraction; throws `invalid_regex` with Go's message.
 * Runs on V8 with the same translation as `compileRegex` (no `u`/`i` flags, so V8 falls back to its linear-time
 * engine when backtracking grows).
 */
export function compileCaptureRegex(pattern: string): CaptureRegex {
  let node: Node;
  try {
    node = parseRegex(pattern);
  } catch (err) {
    if (err instanceof ContrailError) throw err;
    throw new ContrailError("invalid_regex", `error parsing regexp: ${(err as Error).message}: \`${pattern}\``, {
      cause: err,
    });
  }
  const names: (string | null)[] = [null];
  collectNames(node, names);
  const re = new RegExp(emitAnchored(node, { captures: true }));
  return { names, exec: (v) => re.exec(v) };
}
