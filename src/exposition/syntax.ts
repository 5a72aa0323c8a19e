// Character-level pieces shared by both text parsers: character classes, quoted strings, unescaping, and the
// error path, which re-reads the offending token the way Prometheus's lexers see it so messages carry
// Prometheus's wording: `expected equal, got "}0" ("BCLOSE") while parsing: "{A}0"`.

import { ContrailError } from "../model/errors.ts";
import { quoteGo } from "../model/quote.ts";

export const NUL = 0x00;
export const TAB = 0x09;
export const LF = 0x0a;
export const SP = 0x20;
export const QUOTE = 0x22;
export const HASH = 0x23;
export const COMMA = 0x2c;
export const EQUAL = 0x3d;
export const BSLASH = 0x5c;
export const LBRACE = 0x7b;
export const RBRACE = 0x7d;

/** True for a character that may start a legacy metric name: `[a-zA-Z_:]`. */
export function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a;
}

/** True for a character inside a legacy metric name: `[a-zA-Z0-9_:]`. */
export function isNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a || (c >= 0x30 && c <= 0x39);
}

/** True for a character that may start a legacy label name: `[a-zA-Z_]`. */
export function isLabelStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}

/** True for a character inside a legacy label name: `[a-zA-Z0-9_]`. */
export function isLabelChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || (c >= 0x30 && c <= 0x39);
}

// Scanning loops of the hot path are written out per character class (not through `runEnd` and a predicate)
// so each stays monomorphic and inlinable.

/** Index of the first character at or after `i` that is not a space or tab. */
export function skipBlanks(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c !== SP && c !== TAB) return i;
    i++;
  }
}

/** End (exclusive) of the legacy metric name characters from `i`. */
export function metricNameEnd(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (
      !((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a || (c >= 0x30 && c <= 0x39))
    ) {
      return i;
    }
    i++;
  }
}

/** End (exclusive) of the legacy label name characters from `i`. */
export function labelNameEnd(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || (c >= 0x30 && c <= 0x39))) return i;
    i++;
  }
}

/** End (exclusive) of the decimal digits from `i`. */
export function digitsEnd(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return i;
    i++;
  }
}

/** End (exclusive) of the run from `i` that stops at a space, newline, NUL or the end; and, when `blanksAndBrace`,
 * also at a tab or `{` (a Prometheus text value) — otherwise an OpenMetrics value or timestamp token. */
export function tokenEnd(s: string, i: number, blanksAndBrace: boolean): number {
  const n = s.length;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === SP || c === LF || c === NUL) return i;
    if (blanksAndBrace && (c === TAB || c === LBRACE)) return i;
  }
  return i;
}

/** End (exclusive) of the run of characters from `i` for which `pred` holds. */
export function runEnd(s: string, i: number, pred: (c: number) => boolean): number {
  const n = s.length;
  while (i < n && pred(s.charCodeAt(i))) i++;
  return i;
}

/**
 * Scans the quoted string whose opening quote is at `pos`. Returns the index just past the closing quote, or the
 * bitwise complement (`~i`, negative) of the index where the string broke: end of input, or a raw newline or NUL
 * the format does not allow there. A backslash escapes any next character but a newline.
 */
export function scanQuoted(s: string, pos: number, allowNewline: boolean, allowNul: boolean): number {
  const n = s.length;
  let i = pos + 1;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c === BSLASH) {
      if (++i >= n) break;
      const d = s.charCodeAt(i);
      if (d === LF || (d === NUL && !allowNul)) return ~i;
    } else if ((c === LF && !allowNewline) || (c === NUL && !allowNul)) {
      return ~i;
    }
    i++;
  }
  return ~n;
}

/** `s` with `\\` and `\n` (and `\"` when `quotes`) replaced; any other backslash stays as written. */
export function unescapeText(s: string, quotes: boolean): string {
  const first = s.indexOf("\\");
  if (first < 0) return s;
  let out = s.slice(0, first);
  let i = first;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === BSLASH && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d === BSLASH) {
        out += "\\";
        i += 2;
        continue;
      }
      if (d === 0x6e) {
        out += "\n";
        i += 2;
        continue;
      }
      if (d === QUOTE && quotes) {
        out += '"';
        i += 2;
        continue;
      }
    }
    out += s[i];
    i++;
  }
  return out;
}

/** 1-based line number of offset `pos` in `s`. */
export function lineOf(s: string, pos: number): number {
  let line = 1;
  for (let i = s.indexOf("\n"); i >= 0 && i < pos; i = s.indexOf("\n", i + 1)) line++;
  return line;
}

/** A bad_data error for the entry starting at `entryStart`: `line N: <message>`. */
export function syntaxError(s: string, entryStart: number, message: string): ContrailError {
  return new ContrailError("bad_data", `line ${lineOf(s, entryStart)}: ${message}`);
}

/** Where in a line a token is read, named after the lexer states of Prometheus's parsers. */
export type LexState =
  | "start"
  | "meta"
  | "labels"
  | "lvalue"
  | "value"
  | "timestamp"
  | "exemplar"
  | "evalue"
  | "etimestamp";

/** A token as the error path sees it: its Prometheus name and where the lexer stopped (just past a token it
 * recognised, at the offending character of one it did not). */
interface Token {
  readonly name: string;
  readonly stop: number;
}

function quoted(name: string, r: number): Token {
  return r >= 0 ? { name, stop: r } : { name: "INVALID", stop: ~r };
}

// OpenMetrics tokens that start with one space: ` 1.5`, ` 1520879607.789`.
function spaced(s: string, pos: number, name: string): Token {
  let j = pos + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === SP || c === LF || c === NUL) break;
    j++;
  }
  return j === pos + 1 ? { name: "INVALID", stop: pos + 1 } : { name, stop: j };
}

// OpenMetrics lines starting with `#`: only `# HELP `, `# TYPE `, `# UNIT ` and `# EOF` exist.
function omHash(s: string, pos: number): Token {
  if (s.charCodeAt(pos + 1) !== SP) return { name: "INVALID", stop: pos + 1 };
  const j = pos + 2;
  const word = ["HELP ", "TYPE ", "UNIT ", "EOF"].find((w) => w.charCodeAt(0) === s.charCodeAt(j));
  if (word === undefined) return { name: "INVALID", stop: j };
  for (let k = 1; k < word.length; k++) {
    if (s.charCodeAt(j + k) !== word.charCodeAt(k)) return { name: "INVALID", stop: j + k };
  }
  return { name: word === "EOF" ? "EOFWORD" : word.trim(), stop: j + word.length };
}

/** Re-reads the token at `pos` in lexer state `state` of the Prometheus (`om` false) or OpenMetrics lexer. */
function lexToken(s: string, pos: number, state: LexState, om: boolean): Token {
  if (pos >= s.length) return { name: "EOF", stop: s.length };
  const c = s.charCodeAt(pos);
  switch (state) {
    case "start":
      if (c === LBRACE) return { name: "BOPEN", stop: pos + 1 };
      if (isNameStart(c)) return { name: "MNAME", stop: runEnd(s, pos, isNameChar) };
      if (c === HASH && om) return omHash(s, pos);
      if (c === LF && !om) return { name: "LINEBREAK", stop: pos + 1 };
      return { name: "INVALID", stop: pos };
    case "meta":
      if (c === QUOTE) return quoted("MNAME", scanQuoted(s, pos, true, false));
      if (isNameStart(c)) return { name: "MNAME", stop: runEnd(s, pos, isNameChar) };
      return { name: "INVALID", stop: pos };
    case "labels":
    case "exemplar":
      if (c === QUOTE) return quoted("QSTRING", scanQuoted(s, pos, !(om && state === "exemplar"), false));
      if (isLabelStart(c)) return { name: "LNAME", stop: runEnd(s, pos, isLabelChar) };
      if (c === COMMA) return { name: "COMMA", stop: pos + 1 };
      if (c === EQUAL) return { name: "EQUAL", stop: pos + 1 };
      if (c === RBRACE) return { name: "BCLOSE", stop: pos + 1 };
      return { name: "INVALID", stop: pos };
    case "lvalue":
      if (c === QUOTE) return quoted("LVALUE", scanQuoted(s, pos, !om, true));
      return { name: "INVALID", stop: pos };
    case "evalue":
      if (c === QUOTE) return quoted("LVALUE", scanQuoted(s, pos, false, false));
      if (c === SP) return spaced(s, pos, "VALUE");
      return { name: "INVALID", stop: pos };
    case "value":
      if (c === LBRACE) return { name: "BOPEN", stop: pos + 1 };
      if (om) return c === SP ? spaced(s, pos, "VALUE") : { name: "INVALID", stop: pos };
      if (c !== SP && c !== TAB && c !== LF && c !== NUL) {
        return {
          name: "VALUE",
          stop: runEnd(s, pos, (d) => d !== SP && d !== TAB && d !== LF && d !== NUL && d !== LBRACE),
        };
      }
      return { name: "INVALID", stop: pos };
    case "timestamp":
      if (c === LF) return { name: "LINEBREAK", stop: pos + 1 };
      if (om) {
        if (c !== SP) return { name: "INVALID", stop: pos };
        if (s.charCodeAt(pos + 1) === HASH && s.charCodeAt(pos + 2) === SP) {
          return s.charCodeAt(pos + 3) === LBRACE
            ? { name: "COMMENT", stop: pos + 4 }
            : { name: "INVALID", stop: pos + 3 };
        }
        return spaced(s, pos, "TIMESTAMP");
      }
      if (c >= 0x30 && c <= 0x39) return { name: "TIMESTAMP", stop: runEnd(s, pos, (d) => d >= 0x30 && d <= 0x39) };
      return { name: "INVALID", stop: pos };
    case "etimestamp":
      if (c === LF) return { name: "LINEBREAK", stop: pos + 1 };
      if (c === SP) return spaced(s, pos, "TIMESTAMP");
      return { name: "INVALID", stop: pos };
  }
}

/**
 * The error for an unexpected token at `pos`: `<expected>, got "<text>" ("<TOKEN>") while parsing: "<line>"`.
 * `prevStart` is where the previous token began; Prometheus shows that token when the input ends early.
 */
export function unexpectedToken(opts: {
  s: string;
  entryStart: number;
  expected: string;
  state: LexState;
  pos: number;
  om: boolean;
  prevStart?: number;
}): ContrailError {
  const { s, entryStart, expected, state, pos, om } = opts;
  const t = lexToken(s, pos, state, om);
  const start = t.name === "EOF" ? (opts.prevStart ?? pos) : pos;
  const stop = Math.min(s.length, t.stop + 1);
  const got = `got ${quoteGo(s.slice(start, stop))} (${quoteGo(t.name)})`;
  return syntaxError(s, entryStart, `${expected}, ${got} while parsing: ${quoteGo(s.slice(entryStart, stop))}`);
}
