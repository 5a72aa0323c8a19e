// An RE2 (Go regexp/syntax) parser with the flags Prometheus uses: Perl syntax, `.` matching newline, `^`/`$` at
// text edges unless (?m). It accepts and rejects what Go accepts and rejects, with Go's error messages
// ("error parsing regexp: <problem>: `<text>`"), and enforces Go's limits: repeat counts up to 1000 (also as
// the product of nested counts), nesting depth 1000 and program size.

import type { AssertKind, Node, RepeatOp } from "./ast.ts";
import { UNBOUNDED } from "./ast.ts";
import { cleanRanges, MAX_RUNE, negateRanges, PERL_CLASSES, POSIX_CLASSES, type Ranges } from "./charclass.ts";
import { regexError as fail, Limits, MAX_REPEAT, MAX_RUNES, repeatIsValid } from "./limits.ts";
import { foldOrbit, foldRanges, unicodeTable } from "./unicode.ts";

const FOLD_CASE = 1;
const DOT_NL = 2;
const ONE_LINE = 4;
const NON_GREEDY = 8;
const ALL_FLAGS = 0xffff;

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function unhex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

// One open group: finished alternatives, the current concatenation, and what to restore at `)`.
interface Frame {
  readonly alts: Node[];
  cur: Node[];
  readonly outerFlags: number;
  readonly capture: boolean;
  /** Name of a named capture (`(?P<name>...)`), else null. */
  readonly name: string | null;
}

/** Parses an RE2 pattern; throws ContrailError `invalid_regex` with Go's message when it is not valid. */
export function parseRegex(pattern: string): Node {
  return new Parser(pattern).parse();
}

class Parser {
  private readonly s: string;
  private i = 0;
  private flags = DOT_NL | ONE_LINE;
  private readonly frames: Frame[] = [{ alts: [], cur: [], outerFlags: 0, capture: false, name: null }];
  private readonly limits: Limits;
  private runes = 0;

  constructor(s: string) {
    this.s = s;
    this.limits = new Limits(s);
  }

  parse(): Node {
    const s = this.s;
    let lastRepeat = -1;
    while (this.i < s.length) {
      let repeat = -1;
      const ch = s[this.i];
      switch (ch) {
        case "(":
          if (s[this.i + 1] === "?") this.parsePerlFlags();
          else {
            this.open(true);
            this.i++;
          }
          break;
        case "|":
          this.top().alts.push(this.concat(this.top().cur));
          this.top().cur = [];
          this.i++;
          break;
        case ")":
          this.close();
          this.i++;
          break;
        case "^":
          this.pushAssert(this.flags & ONE_LINE ? "text_start" : "line_start");
          this.i++;
          break;
        case "$":
          this.pushAssert(this.flags & ONE_LINE ? "text_end" : "line_end");
          this.i++;
          break;
        case ".":
          this.pushClass(this.flags & DOT_NL ? [0, MAX_RUNE] : [0, 0x09, 0x0b, MAX_RUNE]);
          this.i++;
          break;
        case "[":
          this.parseClass();
          break;
        case "*":
        case "+":
        case "?": {
          repeat = this.i;
          const op: RepeatOp = ch === "*" ? "star" : ch === "+" ? "plus" : "quest";
          this.i++;
          this.repeat(op, ch === "+" ? 1 : 0, ch === "?" ? 1 : UNBOUNDED, repeat, lastRepeat);
          break;
        }
        case "{": {
          const start = this.i;
          const r = this.parseRepeatBounds();
          if (r === null) {
            this.literal(0x7b);
            this.i++;
            break;
          }
          const [min, max] = r;
          if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) {
            fail("invalid repeat count", s.slice(start, this.i));
          }
          repeat = start;
          this.repeat("counted", min, max, start, lastRepeat);
          break;
        }
        case "\\":
          this.parseBackslash();
          break;
        default:
          this.literal(this.nextRune());
      }
      lastRepeat = repeat;
    }
    if (this.frames.length > 1) fail("missing closing )", s);
    const root = this.frames[0];
    root.alts.push(this.concat(root.cur));
    return this.alternate(root.alts);
  }

  private top(): Frame {
    return this.frames[this.frames.length - 1];
  }

  // Reads the code point at i and advances; a lone surrogate is Go's invalid UTF-8.
  private nextRune(): number {
    const c = this.s.codePointAt(this.i)!;
    if (c >= 0xd800 && c <= 0xdfff) fail("invalid UTF-8", this.s.slice(this.i));
    this.i += c > 0xffff ? 2 : 1;
    return c;
  }

  private push(n: Node): void {
    this.limits.measure(n);
    this.top().cur.push(n);
  }

  private literal(c: number): void {
    if (this.flags & FOLD_CASE) {
      const orbit = foldOrbit(c);
      if (orbit.length > 1) {
        const r: Ranges = [];
        for (const m of orbit) r.push(m, m);
        this.pushClass(cleanRanges(r));
        return;
      }
    }
    this.push({ kind: "literal", text: String.fromCodePoint(c) });
  }

  private pushClass(ranges: Ranges): void {
    this.runes += ranges.length;
    if (this.runes > MAX_RUNES) fail("expression too large", this.s);
    this.push({ kind: "class", ranges });
  }

  private pushAssert(at: AssertKind): void {
    this.push({ kind: "assert", at });
  }

  private open(capture: boolean, name: string | null = null): void {
    this.frames.push({ alts: [], cur: [], outerFlags: this.flags, capture, name });
  }

  private close(): void {
    if (this.frames.length === 1) fail("unexpected )", this.s);
    const f = this.frames.pop()!;
    f.alts.push(this.concat(f.cur));
    const body = this.alternate(f.alts);
    this.flags = f.outerFlags;
    this.push(f.capture ? { kind: "capture", sub: body, name: f.name } : body);
  }

  // Applies a repetition to the last atom. `start` is where the operator began; the optional lazy `?` follows.
  private repeat(op: RepeatOp, min: number, max: number, start: number, lastRepeat: number): void {
    if (this.s[this.i] === "?") this.i++;
    if (lastRepeat >= 0) fail("invalid nested repetition operator", this.s.slice(lastRepeat, this.i));
    const cur = this.top().cur;
    if (cur.length === 0) fail("missing argument to repetition operator", this.s.slice(start, this.i));
    const n: Node = { kind: "repeat", op, sub: cur[cur.length - 1], min, max };
    this.limits.measure(n);
    cur[cur.length - 1] = n;
    if (op === "counted" && (min >= 2 || max >= 2) && !repeatIsValid(n, MAX_REPEAT)) {
      fail("invalid repeat count", this.s.slice(start, this.i));
    }
  }

  // Parses `{min}`, `{min,}` or `{min,max}` at i (advancing past it); null when the text is not of that form.
  // A count too large to read comes back as -1.
  private parseRepeatBounds(): [number, number] | null {
    const s = this.s;
    let j = this.i + 1;
    const readInt = (): number | null => {
      const start = j;
      if (j >= s.length || s[j] < "0" || s[j] > "9") return null;
      if (s[j] === "0" && j + 1 < s.length && s[j + 1] >= "0" && s[j + 1] <= "9") return null;
      while (j < s.length && s[j] >= "0" && s[j] <= "9") j++;
      const digits = s.slice(start, j);
      return digits.length > 9 ? -1 : Number(digits);
    };
    let min = readInt();
    if (min === null || j >= s.length) return null;
    let max: number;
    if (s[j] !== ",") {
      max = min;
    } else {
      j++;
      if (j >= s.length) return null;
      if (s[j] === "}") {
        max = UNBOUNDED;
      } else {
        const m = readInt();
        if (m === null) return null;
        max = m;
        if (m < 0) min = -1;
      }
    }
    if (j >= s.length || s[j] !== "}") return null;
    this.i = j + 1;
    return [min, max];
  }

  // At "(?": flags, non-capturing groups and named captures.
  private parsePerlFlags(): void {
    const s = this.s;
    const t = s.slice(this.i);
    const withP = t.length > 4 && t[2] === "P" && t[3] === "<";
    const withName = t.length > 3 && t[2] === "<";
    if (withP || withName) {
      const end = t.indexOf(">");
      if (end < 0) fail("invalid named capture", t);
      const name = t.slice(withP ? 4 : 3, end);
      if (name === "" || ![...name].every((ch) => ch === "_" || isAlnum(ch.codePointAt(0)!))) {
        fail("invalid named capture", t.slice(0, end + 1));
      }
      this.open(true, name);
      this.i += end + 1;
      return;
    }
    let flags = this.flags;
    let sign = 1;
    let sawFlag = false;
    this.i += 2;
    while (this.i < s.length) {
      const c = this.nextRune();
      switch (c) {
        case 0x69: // i
          flags |= FOLD_CASE;
          sawFlag = true;
          continue;
        case 0x6d: // m
          flags &= ~ONE_LINE;
          sawFlag = true;
          continue;
        case 0x73: // s
          flags |= DOT_NL;
          sawFlag = true;
          continue;
        case 0x55: // U
          flags |= NON_GREEDY;
          sawFlag = true;
          continue;
        case 0x2d: // -
          if (sign < 0) break;
          sign = -1;
          // Inverting makes the settings above clear flags; inverted back at the end.
          flags = ~flags & ALL_FLAGS;
          sawFlag = false;
          continue;
        case 0x3a: // :
        case 0x29: // )
          if (sign < 0) {
            if (!sawFlag) break;
            flags = ~flags & ALL_FLAGS;
          }
          if (c === 0x3a) this.open(false);
          this.flags = flags;
          return;
      }
      break;
    }
    fail("invalid or unsupported Perl syntax", t.slice(0, this.i - (s.length - t.length)));
  }

  private parseBackslash(): void {
    const s = this.s;
    const next = s[this.i + 1];
    switch (next) {
      case "A":
        this.pushAssert("text_start");
        this.i += 2;
        return;
      case "b":
        this.pushAssert("word_boundary");
        this.i += 2;
        return;
      case "B":
        this.pushAssert("not_word_boundary");
        this.i += 2;
        return;
      case "C":
        fail("invalid escape sequence", "\\C");
        break;
      case "Q": {
        // Everything up to \E (or the end) is literal.
        let end = s.indexOf("\\E", this.i + 2);
        if (end < 0) end = s.length;
        this.i += 2;
        while (this.i < end) this.literal(this.nextRune());
        this.i = Math.min(end + 2, s.length);
        return;
      }
      case "z":
        this.pushAssert("text_end");
        this.i += 2;
        return;
      case "p":
      case "P":
        this.pushClass(this.parseUnicodeClass());
        return;
    }
    const perl = this.parsePerlClass();
    if (perl !== null) {
      this.pushClass(perl);
      return;
    }
    this.literal(this.parseEscape());
  }

  // `\d \D \s \S \w \W` at i, or null.
  private parsePerlClass(): Ranges | null {
    const letter = this.s[this.i + 1];
    if (this.s[this.i] !== "\\" || letter === undefined) return null;
    const table = PERL_CLASSES[letter.toLowerCase()];
    if (table === undefined || !"dDsSwW".includes(letter)) return null;
    this.i += 2;
    return this.group(table, letter !== letter.toLowerCase());
  }

  // A fixed class, case-folded under (?i), then negated when asked (Go's appendGroup).
  private group(table: Ranges, negate: boolean): Ranges {
    const r = this.flags & FOLD_CASE ? cleanRanges(foldRanges(table)) : table.slice();
    return negate ? negateRanges(r) : r;
  }

  // `\pL`, `\p{Greek}`, `\PL`, `\p{^Greek}` at i.
  private parseUnicodeClass(): Ranges {
    const s = this.s;
    const start = this.i;
    let sign = s[start + 1] === "P" ? -1 : 1;
    this.i = start + 2;
    let seq: string;
    let name: string;
    if (this.i < s.length && s[this.i] === "{") {
      const end = s.indexOf("}", start);
      if (end < 0) {
        this.checkUtf8(start);
        fail("invalid character class range", s.slice(start));
      }
      seq = s.slice(start, end + 1);
      name = s.slice(start + 3, end);
      this.checkUtf8(start + 3, end);
      this.i = end + 1;
    } else {
      if (this.i < s.length) this.nextRune();
      seq = s.slice(start, this.i);
      name = seq.slice(2);
    }
    if (name.startsWith("^")) {
      sign = -sign;
      name = name.slice(1);
    }
    const table = unicodeTable(name);
    if (table === null) fail("invalid character class range", seq);
    const r = this.flags & FOLD_CASE ? cleanRanges(foldRanges(table)) : table.slice();
    return sign < 0 ? negateRanges(r) : r;
  }

  private checkUtf8(from: number, to = this.s.length): void {
    for (let k = from; k < to; k++) {
      const c = this.s.codePointAt(k)!;
      if (c >= 0xd800 && c <= 0xdfff) fail("invalid UTF-8", this.s.slice(k));
      if (c > 0xffff) k++;
    }
  }

  // A single-character escape at i (after the Perl class and assertion checks); returns the code point.
  private parseEscape(): number {
    const s = this.s;
    const start = this.i;
    this.i++;
    if (this.i >= s.length) fail("trailing backslash at end of expression", "");
    const c = this.nextRune();
    const bad = (): never => fail("invalid escape sequence", s.slice(start, this.i));
    if (c < 0x80 && !isAlnum(c)) return c;
    const isOctal = (k: number) => k < s.length && s[k] >= "0" && s[k] <= "7";
    if ((c >= 0x31 && c <= 0x37 && isOctal(this.i)) || c === 0x30) {
      // Up to three octal digits; a lone non-zero digit would be a backreference, which RE2 lacks.
      let r = c - 0x30;
      for (let k = 1; k < 3 && isOctal(this.i); k++) r = r * 8 + s.charCodeAt(this.i++) - 0x30;
      return r;
    }
    switch (c) {
      case 0x78: {
        // \xFF or \x{10FFFF}
        if (this.i >= s.length) return bad();
        const d = this.nextRune();
        if (d === 0x7b) {
          let n = 0;
          let r = 0;
          for (;;) {
            if (this.i >= s.length) return bad();
            const h = this.nextRune();
            if (h === 0x7d) break;
            const v = unhex(h);
            if (v < 0) return bad();
            r = r * 16 + v;
            if (r > MAX_RUNE) return bad();
            n++;
          }
          return n === 0 ? bad() : r;
        }
        const x = unhex(d);
        const y = this.i < s.length ? unhex(this.nextRune()) : -1;
        return x < 0 || y < 0 ? bad() : x * 16 + y;
      }
      case 0x61:
        return 0x07;
      case 0x66:
        return 0x0c;
      case 0x6e:
        return 0x0a;
      case 0x72:
        return 0x0d;
      case 0x74:
        return 0x09;
      case 0x76:
        return 0x0b;
    }
    return bad();
  }

  // A bracket class at i.
  private parseClass(): void {
    const s = this.s;
    const whole = s.slice(this.i);
    this.i++;
    let negate = false;
    if (s[this.i] === "^") {
      negate = true;
      this.i++;
    }
    const fold = (this.flags & FOLD_CASE) !== 0;
    let r: Ranges = [];
    let first = true;
    while (this.i >= s.length || s[this.i] !== "]" || first) {
      first = false;
      if (s.length - this.i > 2 && s[this.i] === "[" && s[this.i + 1] === ":") {
        const end = s.indexOf(":]", this.i + 2);
        if (end >= 0) {
          const name = s.slice(this.i, end + 2);
          const inner = name.slice(2, -2);
          const neg = inner.startsWith("^");
          const table = Object.hasOwn(POSIX_CLASSES, neg ? inner.slice(1) : inner)
            ? POSIX_CLASSES[neg ? inner.slice(1) : inner]
            : undefined;
          if (table === undefined) fail("invalid character class range", name);
          r = r.concat(this.group(table, neg));
          this.i = end + 2;
          continue;
        }
      }
      if (s[this.i] === "\\" && (s[this.i + 1] === "p" || s[this.i + 1] === "P")) {
        r = r.concat(this.parseUnicodeClass());
        continue;
      }
      const perl = this.parsePerlClass();
      if (perl !== null) {
        r = r.concat(perl);
        continue;
      }
      const rangeStart = this.i;
      const lo = this.parseClassChar(whole);
      let hi = lo;
      if (s.length - this.i >= 2 && s[this.i] === "-" && s[this.i + 1] !== "]") {
        this.i++;
        hi = this.parseClassChar(whole);
        if (hi < lo) fail("invalid character class range", s.slice(rangeStart, this.i));
      }
      if (fold) {
        for (const x of foldRanges([lo, hi])) r.push(x);
      } else {
        r.push(lo, hi);
      }
    }
    this.i++;
    cleanRanges(r);
    this.pushClass(negate ? negateRanges(r) : r);
  }

  private parseClassChar(whole: string): number {
    if (this.i >= this.s.length) fail("missing closing ]", whole);
    if (this.s[this.i] === "\\") return this.parseEscape();
    return this.nextRune();
  }

  // Concatenation of the current atoms: nested concatenations flattened, adjacent literals joined.
  private concat(items: Node[]): Node {
    const subs: Node[] = [];
    // A run of adjacent literals becomes one literal node.
    let run: string[] = [];
    let single: Node | null = null;
    const flush = () => {
      if (run.length === 1 && single !== null) subs.push(single);
      else if (run.length > 1) subs.push(this.measured({ kind: "literal", text: run.join("") }));
      run = [];
      single = null;
    };
    for (const n of items) {
      const parts = n.kind === "concat" ? n.subs : [n];
      for (const p of parts) {
        if (p.kind === "literal") {
          run.push(p.text);
          single = p;
        } else if (p.kind !== "empty") {
          flush();
          subs.push(p);
        }
      }
    }
    flush();
    if (subs.length === 0) return this.measured({ kind: "empty" });
    if (subs.length === 1) return subs[0];
    return this.measured({ kind: "concat", subs });
  }

  private alternate(alts: Node[]): Node {
    if (alts.length === 1) return alts[0];
    const subs: Node[] = [];
    for (const a of alts) {
      if (a.kind === "alternate") subs.push(...a.subs);
      else subs.push(a);
    }
    return this.measured({ kind: "alternate", subs });
  }

  private measured(n: Node): Node {
    this.limits.measure(n);
    return n;
  }
}
