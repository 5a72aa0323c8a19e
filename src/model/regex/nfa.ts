// A Thompson NFA run as a Pike VM over code points: full-match in O(input length x program size), whatever the
// pattern. Used for patterns V8's linear engine refuses (large counted repetitions, multi-line anchors), where a
// backtracking engine could take exponential time.

import type { AssertKind, Node } from "./ast.ts";
import { UNBOUNDED } from "./ast.ts";
import { type Ranges, rangesContain } from "./charclass.ts";

const CHAR = 0;
const SPLIT = 1;
const JMP = 2;
const ASSERT = 3;
const MATCH = 4;

const ASSERTS: readonly AssertKind[] = [
  "line_start",
  "line_end",
  "text_start",
  "text_end",
  "word_boundary",
  "not_word_boundary",
];

/** A compiled program; `test` is safe to call repeatedly (it owns its scratch lists, not reentrant). */
export class Nfa {
  private readonly op: Int32Array;
  private readonly x: Int32Array;
  private readonly y: Int32Array;
  private readonly classes: readonly Ranges[];
  private readonly start: number;
  // Thread lists with generation marks, reused across calls.
  private clist: Int32Array;
  private nlist: Int32Array;
  private readonly mark: Uint32Array;
  private gen = 0;
  private readonly stack: Int32Array;

  constructor(node: Node) {
    const b = new Builder();
    const f = b.frag(node);
    const m = b.emit(MATCH);
    b.patch(f.holes, m);
    this.op = Int32Array.from(b.op);
    this.x = Int32Array.from(b.x);
    this.y = Int32Array.from(b.y);
    this.classes = b.classes;
    this.start = f.start;
    const n = b.op.length;
    this.clist = new Int32Array(n);
    this.nlist = new Int32Array(n);
    this.mark = new Uint32Array(n);
    this.stack = new Int32Array(2 * n + 2);
  }

  // Starts a new thread list: marks from older generations no longer count.
  private nextGen(): void {
    if (this.gen === 0xffffffff) {
      this.mark.fill(0);
      this.gen = 0;
    }
    this.gen++;
  }

  /** True when the whole of `s` matches. */
  test(s: string): boolean {
    let clist = this.clist;
    let nlist = this.nlist;
    this.nextGen();
    let cn = this.add(clist, 0, this.start, s, 0);
    let i = 0;
    while (i < s.length) {
      if (cn === 0) return false;
      let cp = s.codePointAt(i)!;
      const w = cp > 0xffff ? 2 : 1;
      if (cp >= 0xd800 && cp <= 0xdfff) cp = -1;
      const next = i + w;
      this.nextGen();
      let nn = 0;
      for (let k = 0; k < cn; k++) {
        const pc = clist[k];
        if (this.op[pc] === CHAR && cp >= 0 && rangesContain(this.classes[this.x[pc]], cp)) {
          nn = this.add(nlist, nn, this.y[pc], s, next);
        }
      }
      const t = clist;
      clist = nlist;
      nlist = t;
      cn = nn;
      i = next;
    }
    for (let k = 0; k < cn; k++) if (this.op[clist[k]] === MATCH) return true;
    return false;
  }

  // Adds the thread at `pc` and everything reachable without input at position `pos` to `list` (one list per
  // generation).
  private add(list: Int32Array, n: number, pc0: number, s: string, pos: number): number {
    const gen = this.gen;
    const stack = this.stack;
    let sp = 0;
    stack[sp++] = pc0;
    while (sp > 0) {
      const pc = stack[--sp];
      if (this.mark[pc] === gen) continue;
      this.mark[pc] = gen;
      switch (this.op[pc]) {
        case JMP:
          stack[sp++] = this.x[pc];
          break;
        case SPLIT:
          stack[sp++] = this.y[pc];
          stack[sp++] = this.x[pc];
          break;
        case ASSERT:
          if (holds(ASSERTS[this.x[pc]], s, pos)) stack[sp++] = this.y[pc];
          break;
        default:
          list[n++] = pc;
      }
    }
    return n;
  }
}

function isWordUnit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

function holds(at: AssertKind, s: string, pos: number): boolean {
  switch (at) {
    case "text_start":
      return pos === 0;
    case "text_end":
      return pos === s.length;
    case "line_start":
      return pos === 0 || s.charCodeAt(pos - 1) === 0x0a;
    case "line_end":
      return pos === s.length || s.charCodeAt(pos) === 0x0a;
    case "word_boundary":
    case "not_word_boundary": {
      const before = pos > 0 && isWordUnit(s.charCodeAt(pos - 1));
      const after = pos < s.length && isWordUnit(s.charCodeAt(pos));
      return (before !== after) === (at === "word_boundary");
    }
  }
}

// A program fragment: its entry and the unset jump targets (pc * 2 + 0 for x, + 1 for y) to patch later.
interface Frag {
  readonly start: number;
  readonly holes: number[];
}

class Builder {
  readonly op: number[] = [];
  readonly x: number[] = [];
  readonly y: number[] = [];
  readonly classes: Ranges[] = [];

  emit(op: number, x = -1, y = -1): number {
    this.op.push(op);
    this.x.push(x);
    this.y.push(y);
    return this.op.length - 1;
  }

  patch(holes: readonly number[], target: number): void {
    for (const h of holes) {
      if (h & 1) this.y[h >> 1] = target;
      else this.x[h >> 1] = target;
    }
  }

  frag(n: Node): Frag {
    switch (n.kind) {
      case "empty": {
        const pc = this.emit(JMP);
        return { start: pc, holes: [pc * 2] };
      }
      case "literal": {
        let first = -1;
        let prev = -1;
        for (const ch of n.text) {
          const cp = ch.codePointAt(0)!;
          const pc = this.char([cp, cp]);
          if (prev >= 0) this.y[prev] = pc;
          else first = pc;
          prev = pc;
        }
        return { start: first, holes: [prev * 2 + 1] };
      }
      case "class": {
        const pc = this.char(n.ranges);
        return { start: pc, holes: [pc * 2 + 1] };
      }
      case "assert": {
        const pc = this.emit(ASSERT, ASSERTS.indexOf(n.at));
        return { start: pc, holes: [pc * 2 + 1] };
      }
      case "capture":
        return this.frag(n.sub);
      case "concat": {
        let f = this.frag(n.subs[0]);
        const start = f.start;
        for (let k = 1; k < n.subs.length; k++) {
          const g = this.frag(n.subs[k]);
          this.patch(f.holes, g.start);
          f = g;
        }
        return { start, holes: f.holes };
      }
      case "alternate": {
        const holes: number[] = [];
        let start = -1;
        let prevSplit = -1;
        for (let k = 0; k < n.subs.length; k++) {
          const last = k === n.subs.length - 1;
          const split = last ? -1 : this.emit(SPLIT);
          const f = this.frag(n.subs[k]);
          holes.push(...f.holes);
          const entry = last ? f.start : split;
          if (split >= 0) this.x[split] = f.start;
          if (prevSplit >= 0) this.y[prevSplit] = entry;
          else start = entry;
          prevSplit = split;
        }
        return { start, holes };
      }
      case "repeat":
        return this.repeat(
          n.sub,
          n.op === "plus" ? 1 : n.min,
          n.op === "quest" ? 1 : n.op === "counted" ? n.max : UNBOUNDED,
        );
    }
  }

  private char(r: Ranges): number {
    this.classes.push(r);
    return this.emit(CHAR, this.classes.length - 1);
  }

  // `sub` at least `min` times and at most `max` (UNBOUNDED: no limit), each copy compiled afresh.
  private repeat(sub: Node, min: number, max: number): Frag {
    let start = -1;
    let holes: number[] = [];
    const append = (f: Frag) => {
      if (start < 0) start = f.start;
      else this.patch(holes, f.start);
      holes = f.holes;
    };
    for (let k = 0; k < min; k++) append(this.frag(sub));
    if (max === UNBOUNDED) {
      const loop = this.emit(SPLIT);
      const f = this.frag(sub);
      this.x[loop] = f.start;
      this.patch(f.holes, loop);
      append({ start: loop, holes: [loop * 2 + 1] });
    } else {
      // x{2,5} = xx(x(x(x)?)?)?: every optional copy may exit.
      const exits: number[] = [];
      for (let k = min; k < max; k++) {
        const split = this.emit(SPLIT);
        const f = this.frag(sub);
        this.x[split] = f.start;
        exits.push(split * 2 + 1);
        append({ start: split, holes: f.holes });
      }
      if (start < 0) {
        const pc = this.emit(JMP);
        return { start: pc, holes: [pc * 2] };
      }
      holes = holes.concat(exits);
    }
    return { start, holes };
  }
}
