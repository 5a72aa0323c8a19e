// The parsed form of an RE2 pattern. Case folding is already expanded (a folded letter is a class of its orbit),
// `.` is a class, and counted repetitions keep their bounds. Captures group, and keep their name for the one
// consumer that extracts submatches (label_replace).

import type { Ranges } from "./charclass.ts";

/** Zero-width assertions: line (`(?m)^ $`), text (`^ $ \A \z`), and ASCII word boundaries. */
export type AssertKind = "line_start" | "line_end" | "text_start" | "text_end" | "word_boundary" | "not_word_boundary";

/** How a repetition was written; Go's limits treat counted ones (`{n,m}`) apart from `* + ?`. */
export type RepeatOp = "star" | "plus" | "quest" | "counted";

/** One node of a parsed pattern. */
export type Node =
  | { readonly kind: "empty" }
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "class"; readonly ranges: Ranges }
  | { readonly kind: "assert"; readonly at: AssertKind }
  | { readonly kind: "capture"; readonly sub: Node; readonly name: string | null }
  | { readonly kind: "repeat"; readonly op: RepeatOp; readonly sub: Node; readonly min: number; readonly max: number }
  | { readonly kind: "concat"; readonly subs: readonly Node[] }
  | { readonly kind: "alternate"; readonly subs: readonly Node[] };

/** `max` of a repetition without an upper bound. */
export const UNBOUNDED = -1;

/** The node without the capture groups wrapping it. */
export function uncapture(n: Node): Node {
  while (n.kind === "capture") n = n.sub;
  return n;
}
