// The PromQL lexer: a state machine over the UTF-8 bytes of the query, token for token the same as Prometheus's
// (the same item types, the same byte positions, the same error texts), including the series-description mode of
// the test notation (`{} 1+2x3 _ {{sum:1}}`). Positions are byte offsets, so error columns match Prometheus's.
// The states live in lex-states.ts.

import { lexStatements } from "./lex-states.ts";
import {
  DIGITS,
  DURATION_KEYWORDS,
  EOF_RUNE,
  HEX_DIGITS,
  HistogramState,
  inSet,
  isAlpha,
  isAlphaNumeric,
  isSpace,
  RUNE_ERROR,
  type SpannedToken,
  type Token,
  type TokenType,
} from "./tokens.ts";

export { describeToken, isAggregatorToken, type SpannedToken, type Token, type TokenType } from "./tokens.ts";

/** One state of the lexer: it scans some input and returns the next state (null: lexing is over). */
export type StateFn = (l: Lexer) => StateFn | null;

const utf8Decoder = new TextDecoder();

/** The lexer over one input. Call `nextToken()` until it returns EOF (or a fatal ERROR, after which it returns EOF). */
export class Lexer {
  readonly src: Uint8Array;
  private state: StateFn | null = lexStatements;
  pos = 0;
  start = 0;
  private width = 0;
  private item: SpannedToken | null = null;

  parenDepth = 0;
  braceOpen = false;
  bracketOpen = false;
  gotColon = false;
  gotDuration = false;
  stringOpen = 0;
  readonly seriesDesc: boolean;
  histogramState: number = HistogramState.None;
  /** Number of tokens produced so far (a work counter for tests). */
  tokens = 0;

  constructor(src: Uint8Array, opts: { seriesDesc?: boolean } = {}) {
    this.src = src;
    this.seriesDesc = opts.seriesDesc === true;
  }

  /** The next token. After the input ends (or lexing stopped at an error) it keeps returning EOF. */
  nextToken(): SpannedToken {
    this.item = null;
    this.tokens++;
    if (this.state === null) {
      this.emit("EOF");
    } else {
      while (this.item === null && this.state !== null) this.state = this.state(this);
      if (this.item === null) this.emit("EOF");
    }
    return this.item!;
  }

  /** True when the lexer has stopped (the last token was EOF or a fatal error). */
  get done(): boolean {
    return this.state === null;
  }

  /** The input bytes [from, to) as a string. */
  text(from: number, to: number): string {
    let ascii = true;
    for (let i = from; i < to; i++) {
      if (this.src[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (!ascii) return utf8Decoder.decode(this.src.subarray(from, to));
    let s = "";
    for (let i = from; i < to; i++) s += String.fromCharCode(this.src[i]);
    return s;
  }

  /** Reads the next code point (U+FFFD for an invalid byte, EOF_RUNE at the end). */
  next(): number {
    const src = this.src;
    const p = this.pos;
    if (p >= src.length) {
      this.width = 0;
      return EOF_RUNE;
    }
    const b0 = src[p];
    let r = RUNE_ERROR;
    let w = 1;
    if (b0 < 0x80) {
      r = b0;
    } else if (b0 >= 0xc2 && b0 <= 0xdf && p + 1 < src.length && (src[p + 1] & 0xc0) === 0x80) {
      r = ((b0 & 0x1f) << 6) | (src[p + 1] & 0x3f);
      w = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef && p + 2 < src.length) {
      const b1 = src[p + 1];
      const b2 = src[p + 2];
      const lo = b0 === 0xe0 ? 0xa0 : 0x80;
      const hi = b0 === 0xed ? 0x9f : 0xbf;
      if (b1 >= lo && b1 <= hi && (b2 & 0xc0) === 0x80) {
        r = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
        w = 3;
      }
    } else if (b0 >= 0xf0 && b0 <= 0xf4 && p + 3 < src.length) {
      const b1 = src[p + 1];
      const lo = b0 === 0xf0 ? 0x90 : 0x80;
      const hi = b0 === 0xf4 ? 0x8f : 0xbf;
      if (b1 >= lo && b1 <= hi && (src[p + 2] & 0xc0) === 0x80 && (src[p + 3] & 0xc0) === 0x80) {
        r = ((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((src[p + 2] & 0x3f) << 6) | (src[p + 3] & 0x3f);
        w = 4;
      }
    }
    this.width = w;
    this.pos = p + w;
    return r;
  }

  /** The next code point, not consumed. */
  peek(): number {
    const r = this.next();
    this.backup();
    return r;
  }

  /** Steps back over the code point just read (once per `next`). */
  backup(): void {
    this.pos -= this.width;
  }

  /** Produces a token of `type` from the pending input. */
  emit(type: TokenType): void {
    this.item = { type, pos: this.start, end: this.pos, val: this.text(this.start, this.pos) };
    this.start = this.pos;
  }

  /** Drops the pending input. */
  ignore(): void {
    this.start = this.pos;
  }

  /** Consumes the next code point when it is in `valid`. */
  accept(valid: string): boolean {
    if (inSet(valid, this.next())) return true;
    this.backup();
    return false;
  }

  /** True when the next code point is in `valid`. */
  is(valid: string): boolean {
    return inSet(valid, this.peek());
  }

  /** Consumes a run of code points from `valid`. */
  acceptRun(valid: string): void {
    while (inSet(valid, this.next())) {
      // consume
    }
    this.backup();
  }

  /** Produces an ERROR token at the current item start; the caller decides whether lexing goes on. */
  errorf(message: string): null {
    this.item = { type: "ERROR", pos: this.start, end: this.start, val: message };
    return null;
  }

  /** True when the remaining input starts with the ASCII `byte`. */
  startsWith(byte: number): boolean {
    return this.src[this.pos] === byte;
  }

  /** Scans a number (decimal, hex, octal-looking, float, with `_` separators); false when malformed. */
  scanNumber(): boolean {
    const initial = this.pos;
    let digits = DIGITS;
    // Hexadecimal is not allowed in series descriptions, where `0x5` means "0 repeated 5 times".
    if (!this.seriesDesc && this.accept("0") && this.accept("xX")) {
      this.accept("_");
      digits = HEX_DIGITS;
    }
    this.accept(".");
    this.accept(digits);
    let dotConsumed = false;
    let expConsumed = false;
    while (this.is(`${digits}._eE`)) {
      if (this.is(".") && dotConsumed) {
        this.accept(".");
        return false;
      }
      if (this.is("eE") && expConsumed) {
        this.accept("eE");
        return false;
      }
      if (this.accept(".")) {
        dotConsumed = true;
        if (this.accept("_.")) return false;
        if (digits === HEX_DIGITS) return false;
        continue;
      }
      if (this.accept("eE")) {
        expConsumed = true;
        this.accept("+-");
        if (this.accept("._eE") || this.peek() === EOF_RUNE) return false;
        continue;
      }
      if (this.accept("_")) {
        if (this.accept("._eE") || this.peek() === EOF_RUNE) return false;
        continue;
      }
      this.acceptRun(digits);
    }
    if (this.pos === initial) return false;
    const r = this.peek();
    return (this.seriesDesc && r === 0x78) || !isAlphaNumeric(r);
  }

  /** Scans `step`, `range`, `min_of` or `max_of` inside brackets; false for any other word. */
  scanDurationKeyword(): boolean {
    for (;;) {
      const r = this.next();
      if (isAlpha(r)) continue;
      this.backup();
      const tok = DURATION_KEYWORDS.get(this.text(this.start, this.pos).toLowerCase());
      if (tok === undefined) return false;
      this.emit(tok);
      return true;
    }
  }

  /** True when the next non-space character is "(". */
  peekFollowedByLeftParen(): boolean {
    for (let p = this.pos; p < this.src.length; p++) {
      const c = this.src[p];
      if (!isSpace(c)) return c === 0x28;
    }
    return false;
  }
}

const utf8Encoder = new TextEncoder();

/** The UTF-8 bytes of a query (positions in tokens and errors are offsets into these bytes). */
export function toBytes(input: string | Uint8Array): Uint8Array {
  return typeof input === "string" ? utf8Encoder.encode(input) : input;
}

/** Lexes a whole input: every token up to and including the final EOF, or up to the error that stopped lexing. */
export function lex(input: string | Uint8Array, opts: { seriesDesc?: boolean } = {}): Token[] {
  const l = new Lexer(toBytes(input), opts);
  const out: Token[] = [];
  for (;;) {
    const t = l.nextToken();
    out.push({ type: t.type, pos: t.pos, val: t.val });
    if (l.done) break;
  }
  return out;
}
