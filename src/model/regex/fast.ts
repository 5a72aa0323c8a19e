// Fast paths for common label-matcher patterns, found on the parsed form (as Prometheus's FastRegexMatcher does):
// a finite set of strings (`a|b|c`, `foo(bar|baz)`), and "globs" of literals and `.*`/`.+` (`foo.*`, `.*foo`,
// `.*foo.*bar.*`), which string search decides without any regex. Also the literal prefix and suffix every match
// must have, a cheap pre-check for the rest.

import { type Node, UNBOUNDED, uncapture } from "./ast.ts";
import { isAnyRune, rangesSize } from "./charclass.ts";

/** At most this many strings in a set (Prometheus's maxSetMatches). */
export const MAX_SET = 256;

/** A literal, or a run of any characters with at least `min` (0 or 1) of them. */
export type GlobPart = { readonly kind: "lit"; readonly text: string } | { readonly kind: "any"; readonly min: 0 | 1 };

/** What the fast-path analysis found. */
export interface FastInfo {
  /** Every string the pattern matches, when there are at most MAX_SET; else null. */
  readonly set: readonly string[] | null;
  /** The pattern as a glob with at least one wildcard, or null. */
  readonly glob: readonly GlobPart[] | null;
  /** Every match starts with this. */
  readonly prefix: string;
  /** Every match ends with this. */
  readonly suffix: string;
}

/** Analyses a parsed pattern (matched in full). */
export function analyze(root: Node): FastInfo {
  const n = stripTrailing(stripLeading(root));
  const set = literalSet(n);
  if (set !== null) return { set, glob: null, prefix: commonPrefix(set), suffix: "" };
  const parts = concatParts(n);
  const glob = toGlob(parts);
  const first = literalOf(parts[0]);
  const last = parts.length > 1 ? literalOf(parts[parts.length - 1]) : null;
  return { set: null, glob, prefix: first ?? "", suffix: last ?? "" };
}

// In a fully anchored match, `^`/`\A` at the very start and `$`/`\z` at the very end always hold.
function stripLeading(n: Node): Node {
  switch (n.kind) {
    case "assert":
      return n.at === "text_start" ? { kind: "empty" } : n;
    case "capture":
      return stripLeading(n.sub);
    case "alternate":
      return { kind: "alternate", subs: n.subs.map(stripLeading) };
    case "concat": {
      const head = stripLeading(n.subs[0]);
      const rest = n.subs.slice(1);
      return { kind: "concat", subs: head.kind === "empty" ? rest : [head, ...rest] };
    }
    default:
      return n;
  }
}

function stripTrailing(n: Node): Node {
  switch (n.kind) {
    case "assert":
      return n.at === "text_end" ? { kind: "empty" } : n;
    case "capture":
      return stripTrailing(n.sub);
    case "alternate":
      return { kind: "alternate", subs: n.subs.map(stripTrailing) };
    case "concat": {
      const tail = stripTrailing(n.subs[n.subs.length - 1]);
      const rest = n.subs.slice(0, -1);
      return { kind: "concat", subs: tail.kind === "empty" ? rest : [...rest, tail] };
    }
    default:
      return n;
  }
}

// The finite set of strings `n` matches, or null (not finite, too many, or depends on assertions).
function literalSet(n: Node): string[] | null {
  switch (n.kind) {
    case "empty":
      return [""];
    case "literal":
      return [n.text];
    case "class": {
      if (rangesSize(n.ranges) > MAX_SET) return null;
      const out: string[] = [];
      for (let i = 0; i < n.ranges.length; i += 2) {
        for (let c = n.ranges[i]; c <= n.ranges[i + 1]; c++) {
          if (c < 0xd800 || c > 0xdfff) out.push(String.fromCodePoint(c));
        }
      }
      return out;
    }
    case "capture":
      return literalSet(n.sub);
    case "repeat": {
      if (n.op !== "quest" && !(n.op === "counted" && n.min === 0 && n.max === 1)) return null;
      const sub = literalSet(n.sub);
      return sub === null ? null : dedupe(["", ...sub]);
    }
    case "alternate": {
      const out: string[] = [];
      for (const k of n.subs) {
        const sub = literalSet(k);
        if (sub === null) return null;
        out.push(...sub);
        if (out.length > MAX_SET * 4) return null;
      }
      const d = dedupe(out);
      return d.length > MAX_SET ? null : d;
    }
    case "concat": {
      let acc = [""];
      for (const k of n.subs) {
        const sub = literalSet(k);
        if (sub === null || acc.length * sub.length > MAX_SET) return null;
        const next: string[] = [];
        for (const a of acc) for (const b of sub) next.push(a + b);
        acc = dedupe(next);
      }
      return acc;
    }
    case "assert":
      return null;
  }
}

function dedupe(xs: string[]): string[] {
  return [...new Set(xs)];
}

function commonPrefix(xs: readonly string[]): string {
  if (xs.length === 0) return "";
  let p = xs[0];
  for (const x of xs) {
    let k = 0;
    while (k < p.length && k < x.length && p.charCodeAt(k) === x.charCodeAt(k)) k++;
    p = p.slice(0, k);
  }
  // Never end in the middle of a surrogate pair.
  const last = p.charCodeAt(p.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? p.slice(0, -1) : p;
}

function concatParts(n: Node): readonly Node[] {
  const u = uncapture(n);
  return u.kind === "concat" ? u.subs.map(uncapture) : [u];
}

// The string a node matches when it matches exactly one string and contains no wildcard, else null.
function literalOf(n: Node | undefined): string | null {
  if (n === undefined) return null;
  const u = uncapture(n);
  if (u.kind === "literal") return u.text;
  if (u.kind === "class" && u.ranges.length === 2 && u.ranges[0] === u.ranges[1]) {
    return String.fromCodePoint(u.ranges[0]);
  }
  return null;
}

function wildcardMin(n: Node): number | null {
  if (n.kind !== "repeat") return null;
  const sub = uncapture(n.sub);
  if (sub.kind !== "class" || !isAnyRune(sub.ranges) || n.max !== UNBOUNDED) return null;
  return n.op === "plus" ? 1 : n.min;
}

// Literals and any-character runs only, each run needing at most one character; at least one run.
function toGlob(parts: readonly Node[]): GlobPart[] | null {
  const out: GlobPart[] = [];
  let wild = false;
  for (const p of parts) {
    const lit = literalOf(p);
    const prev = out[out.length - 1];
    if (lit !== null) {
      if (prev?.kind === "lit") out[out.length - 1] = { kind: "lit", text: prev.text + lit };
      else out.push({ kind: "lit", text: lit });
      continue;
    }
    const min = wildcardMin(p);
    if (min === null) return null;
    wild = true;
    if (prev?.kind === "any") {
      const sum = prev.min + min;
      if (sum > 1) return null;
      out[out.length - 1] = { kind: "any", min: sum as 0 | 1 };
    } else {
      if (min > 1) return null;
      out.push({ kind: "any", min: min as 0 | 1 });
    }
  }
  return wild ? out : null;
}

/** Matches `s` against a glob from `analyze`: literals in order, leftmost placement, gaps per `min`. */
export function globMatch(parts: readonly GlobPart[], s: string): boolean {
  let pos = 0;
  let gap = -1; // -1: no wildcard since the last literal; else the minimum gap length
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k];
    if (p.kind === "any") {
      gap = p.min;
      continue;
    }
    if (gap < 0) {
      if (!s.startsWith(p.text, pos)) return false;
      pos += p.text.length;
    } else if (k === parts.length - 1) {
      return s.endsWith(p.text) && s.length - p.text.length >= pos + gap;
    } else {
      const at = s.indexOf(p.text, pos + gap);
      if (at < 0) return false;
      pos = at + p.text.length;
    }
    gap = -1;
  }
  return gap < 0 ? pos === s.length : s.length - pos >= gap;
}
