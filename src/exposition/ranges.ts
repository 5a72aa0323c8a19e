// Where the labels of the current line sit in the body: four offsets per label (name start/end, value
// start/end, inside any quotes), kept in one reusable typed array so reading a line allocates nothing.

import { quoteGo } from "../model/quote.ts";
import { unescapeText } from "./syntax.ts";

/** Label offsets of one line, reused line after line. Offsets index the parser's body string. */
export class LabelRanges {
  private offs = new Int32Array(64);
  /** Number of labels recorded. */
  count = 0;

  /** Forgets the recorded labels (keeps the storage). */
  reset(): void {
    this.count = 0;
  }

  /** Records one label: the name in [ns, ne), the value in [vs, ve), both still escaped. */
  push(ns: number, ne: number, vs: number, ve: number): void {
    let o = this.offs;
    const k = this.count * 4;
    if (k + 4 > o.length) {
      const grown = new Int32Array(o.length * 2);
      grown.set(o);
      this.offs = grown;
      o = grown;
    }
    o[k] = ns;
    o[k + 1] = ne;
    o[k + 2] = vs;
    o[k + 3] = ve;
    this.count++;
  }

  /** The unescaped name of label `i`. */
  name(s: string, i: number): string {
    return unescapeText(s.slice(this.offs[4 * i], this.offs[4 * i + 1]), true);
  }

  /** The unescaped value of label `i`. */
  value(s: string, i: number): string {
    return unescapeText(s.slice(this.offs[4 * i + 2], this.offs[4 * i + 3]), true);
  }
}

/** Checks decoded label names: none empty, none repeated, none equal to `reserved` (when given). Returns a
 * problem description, or undefined when all is well. */
export function labelNameProblem(names: readonly string[], reserved?: string): string | undefined {
  // Few names (every real line): pairwise, allocating nothing. Many: a set, so a hostile line stays linear.
  const seen = names.length > SMALL_LABEL_COUNT ? new Set<string>() : null;
  for (let i = 0; i < names.length; i++) {
    const n = names[i];
    if (n === "") return "empty label name";
    if (n === reserved) return `duplicate label name ${quoteGo(n)}`;
    if (seen !== null) {
      if (seen.has(n)) return `duplicate label name ${quoteGo(n)}`;
      seen.add(n);
      continue;
    }
    for (let j = 0; j < i; j++) {
      if (names[j] === n) return `duplicate label name ${quoteGo(n)}`;
    }
  }
  return undefined;
}

/** Up to this many labels a pairwise check is cheaper than a set. */
const SMALL_LABEL_COUNT = 16;
