// Go's regexp/syntax limits and error format, shared by the parser: nesting depth, compiled program size, code
// points held by classes, and nested counted repetitions.

import { ContrailError } from "../errors.ts";
import type { Node } from "./ast.ts";
import { UNBOUNDED } from "./ast.ts";

/** Largest count in `{n,m}`, and largest product of nested counts. */
export const MAX_REPEAT = 1000;
const MAX_HEIGHT = 1000;
// Go's limit on the compiled program: 128 MiB of 40-byte instructions.
const MAX_SIZE = Math.floor((128 << 20) / 40);
/** Go's limit on code points held by classes: 128 MiB of 4-byte runes. */
export const MAX_RUNES = (128 << 20) / 4;

/** Throws ContrailError `invalid_regex` with Go's message: error parsing regexp: <code>: `<expr>`. */
export function regexError(code: string, expr: string): never {
  throw new ContrailError("invalid_regex", `error parsing regexp: ${code}: \`${expr}\``);
}

/** Tracks height and program size of the nodes of one pattern as they are built, enforcing Go's limits. */
export class Limits {
  private readonly height = new WeakMap<Node, number>();
  private readonly size = new WeakMap<Node, number>();

  /** `pattern` is what the errors quote. */
  constructor(private readonly pattern: string) {}

  /** Records a new node whose children were already measured; throws when a limit is passed. */
  measure(n: Node): void {
    let h = 1;
    let size: number;
    const sub = (k: Node): number => {
      const hk = this.height.get(k) ?? 1;
      if (hk + 1 > h) h = hk + 1;
      return this.size.get(k) ?? 1;
    };
    switch (n.kind) {
      case "empty":
      case "class":
      case "assert":
        size = 1;
        break;
      case "literal":
        size = [...n.text].length;
        break;
      case "capture":
        size = 2 + sub(n.sub);
        break;
      case "repeat": {
        const inner = sub(n.sub);
        if (n.op === "star") size = 2 + inner;
        else if (n.op === "plus" || n.op === "quest") size = 1 + inner;
        else if (n.max === UNBOUNDED) size = n.min === 0 ? 2 + inner : 1 + n.min * inner;
        else size = n.max * inner + (n.max - n.min);
        break;
      }
      case "concat":
        size = 0;
        for (const k of n.subs) size += sub(k);
        break;
      case "alternate":
        size = n.subs.length - 1;
        for (const k of n.subs) size += sub(k);
        break;
    }
    if (h > MAX_HEIGHT) regexError("expression nests too deeply", this.pattern);
    if (size > MAX_SIZE) regexError("expression too large", this.pattern);
    this.height.set(n, h);
    this.size.set(n, Math.max(1, size));
  }
}

/** Go's rule for a repetition: counted repetitions nested in each other may not multiply past `budget`. */
export function repeatIsValid(n: Node, budget: number): boolean {
  if (n.kind === "repeat" && n.op === "counted") {
    let m = n.max;
    if (m === 0) return true;
    if (m < 0) m = n.min;
    if (m > budget) return false;
    if (m > 0) budget = Math.floor(budget / m);
  }
  switch (n.kind) {
    case "capture":
    case "repeat":
      return repeatIsValid(n.sub, budget);
    case "concat":
    case "alternate":
      return n.subs.every((k) => repeatIsValid(k, budget));
    default:
      return true;
  }
}
