// Go's literal rules as PromQL inherits them: number literals (strconv.ParseInt base 0, then ParseFloat), quoted
// strings (Prometheus's strutil.Unquote, i.e. Go escapes with single quotes allowed for whole strings), and the
// float and rune formats Prometheus uses in its printed forms and error messages (%q, %#U, 'f' -1, %g, %f).

import { quoteGo } from "../../model/quote.ts";
import { decodeUtf8Escaped } from "../../model/utf8.ts";

/** A number literal that does not parse; `message` is Go's strconv error text. */
export interface NumberSyntaxError {
  readonly error: string;
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function isPrint(cp: number): boolean {
  if (cp < 0x20 || cp === 0x7f) return false;
  if (cp < 0x7f) return true;
  return PRINTABLE.test(String.fromCodePoint(cp));
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** Go's `%q` of a rune: `'x'`, with Go escapes; negative or invalid code points print as U+FFFD. */
export function quoteRune(cp: number): string {
  if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) cp = 0xfffd;
  if (cp === 0x27) return "'\\''";
  if (cp === 0x5c) return "'\\\\'";
  if (isPrint(cp)) return `'${String.fromCodePoint(cp)}'`;
  switch (cp) {
    case 7:
      return "'\\a'";
    case 8:
      return "'\\b'";
    case 12:
      return "'\\f'";
    case 10:
      return "'\\n'";
    case 13:
      return "'\\r'";
    case 9:
      return "'\\t'";
    case 11:
      return "'\\v'";
  }
  if (cp < 0x20 || cp === 0x7f) return `'\\x${hex(cp, 2)}'`;
  if (cp <= 0xffff) return `'\\u${hex(cp, 4)}'`;
  return `'\\U${hex(cp, 8)}'`;
}

/** Go's `%#U` of a rune: `U+002E '.'` (the quoted character only when printable). */
export function unicodeRune(cp: number): string {
  const code = `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  return cp >= 0 && isPrint(cp) ? `${code} '${String.fromCodePoint(cp)}'` : code;
}

/** Go's `%q` of a string. */
export function quoteString(s: string): string {
  return quoteGo(s);
}

/** Go's `%.10q...` used for long token values in syntax errors: the first 10 characters quoted, then `...`. */
export function quoteTruncated(s: string): string {
  const chars = Array.from(s);
  return chars.length > 10 ? `${quoteGo(chars.slice(0, 10).join(""))}...` : quoteGo(s);
}

// ---- numbers -------------------------------------------------------------------------------------------------

// Underscores may only separate digits (or follow a base prefix), as in Go's number literal syntax.
function underscoreOK(s: string): boolean {
  let saw = "^";
  let i = 0;
  if (s.length >= 1 && (s[0] === "-" || s[0] === "+")) s = s.slice(1);
  let isHex = false;
  if (s.length >= 2 && s[0] === "0" && "bBoOxX".includes(s[1])) {
    i = 2;
    saw = "0";
    isHex = s[1] === "x" || s[1] === "X";
  }
  for (; i < s.length; i++) {
    const c = s[i];
    if ((c >= "0" && c <= "9") || (isHex && /[a-fA-F]/.test(c))) {
      saw = "0";
      continue;
    }
    if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
      continue;
    }
    if (saw === "_") return false;
    saw = "!";
  }
  return saw !== "_";
}

const INT_BASE0 = /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|0[0-7_]*|[1-9][0-9_]*)$/;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** Go's strconv.ParseInt(s, 0, 64) as a float64, or null when it fails (syntax or range). */
function parseIntBase0(s: string): number | null {
  if (!INT_BASE0.test(s) || !underscoreOK(s)) return null;
  let body = s.replaceAll("_", "");
  let neg = false;
  if (body[0] === "+" || body[0] === "-") {
    neg = body[0] === "-";
    body = body.slice(1);
  }
  let digits: string;
  if (/^0[xXbBoO]/.test(body)) {
    digits = `0${body[1].toLowerCase()}${body.slice(2)}`;
  } else if (body.length > 1 && body[0] === "0") {
    digits = `0o${body.slice(1)}`;
  } else {
    digits = body;
  }
  if (digits.length === 2 && digits[0] === "0") return null;
  let n = BigInt(digits);
  if (neg) n = -n;
  if (n > INT64_MAX || n < INT64_MIN) return null;
  return Number(n);
}

const DEC_FLOAT = /^[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?$/;
const HEX_FLOAT = /^([+-]?)0[xX]([0-9a-fA-F_]*)(?:\.([0-9a-fA-F_]*))?[pP]([+-]?[0-9_]+)$/;

/** Go's strconv.ParseFloat(s, 64): the value, or the error text Go reports. */
export function parseGoFloat(s: string): number | NumberSyntaxError {
  const syntax = { error: `strconv.ParseFloat: parsing ${quoteGo(s)}: invalid syntax` };
  const range = { error: `strconv.ParseFloat: parsing ${quoteGo(s)}: value out of range` };
  const lower = s.toLowerCase();
  const unsigned = lower.replace(/^[+-]/, "");
  if (unsigned === "inf" || unsigned === "infinity") return lower[0] === "-" ? -Infinity : Infinity;
  if (lower === "nan") return Number.NaN;
  let value: number;
  const h = HEX_FLOAT.exec(s);
  if (h) {
    if (!underscoreOK(s)) return syntax;
    const mant = (h[2] + (h[3] ?? "")).replaceAll("_", "");
    if (mant === "") return syntax;
    const fracDigits = (h[3] ?? "").replaceAll("_", "").length;
    const exp = Number.parseInt(h[4].replaceAll("_", ""), 10) - 4 * fracDigits;
    value = Number(BigInt(`0x${mant}`)) * 2 ** exp;
    if (!Number.isFinite(value)) value = Number(BigInt(`0x${mant}`)) * 2 ** (exp / 2) * 2 ** (exp - exp / 2);
    if (h[1] === "-") value = -value;
  } else {
    if (!DEC_FLOAT.test(s) || !/[0-9]/.test(s.replace(/[eE].*$/, "")) || !underscoreOK(s)) return syntax;
    value = Number(s.replaceAll("_", ""));
    if (Number.isNaN(value)) return syntax;
  }
  if (!Number.isFinite(value)) return range;
  return value;
}

/** A NUMBER token's value as Prometheus computes it: ParseInt base 0 first (so `0755` is octal), then ParseFloat. */
export function parseNumberLiteral(s: string): number | NumberSyntaxError {
  const n = parseIntBase0(s);
  return n !== null ? n : parseGoFloat(s);
}

// ---- strings -------------------------------------------------------------------------------------------------

const encoder = new TextEncoder();

/** Prometheus's strutil.Unquote: `"…"` and `'…'` with Go escapes, `` `…` `` raw. Throws an Error on bad syntax. */
export function unquote(s: string): string {
  const n = s.length;
  if (n < 2) throw new Error("invalid syntax");
  const quote = s[0];
  if (quote !== s[n - 1]) throw new Error("invalid syntax");
  const body = s.slice(1, n - 1);
  if (quote === "`") {
    if (body.includes("`")) throw new Error("invalid syntax");
    return body;
  }
  if (quote !== '"' && quote !== "'") throw new Error("invalid syntax");
  if (body.includes("\n")) throw new Error("invalid syntax");
  if (!body.includes("\\") && !body.includes(quote)) return body;
  // Escapes produce bytes (\xff, \377) as well as runes; collect UTF-8 bytes and decode once at the end.
  const bytes: number[] = [];
  const pushRune = (cp: number) => {
    for (const b of encoder.encode(String.fromCodePoint(cp))) bytes.push(b);
  };
  let i = 0;
  while (i < body.length) {
    const cp = body.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    if (cp === quote.charCodeAt(0)) throw new Error("invalid syntax");
    if (cp !== 0x5c) {
      pushRune(cp);
      i += width;
      continue;
    }
    const c = body[i + 1];
    if (c === undefined) throw new Error("invalid syntax");
    i += 2;
    switch (c) {
      case "a":
        bytes.push(7);
        break;
      case "b":
        bytes.push(8);
        break;
      case "f":
        bytes.push(12);
        break;
      case "n":
        bytes.push(10);
        break;
      case "r":
        bytes.push(13);
        break;
      case "t":
        bytes.push(9);
        break;
      case "v":
        bytes.push(11);
        break;
      case "\\":
        bytes.push(0x5c);
        break;
      case "'":
      case '"':
        if (c !== quote) throw new Error("invalid syntax");
        bytes.push(c.charCodeAt(0));
        break;
      case "x":
      case "u":
      case "U": {
        const len = c === "x" ? 2 : c === "u" ? 4 : 8;
        const digits = body.slice(i, i + len);
        if (digits.length < len || !/^[0-9a-fA-F]+$/.test(digits)) throw new Error("invalid syntax");
        i += len;
        const v = Number.parseInt(digits, 16);
        if (c === "x") {
          bytes.push(v);
        } else {
          if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) throw new Error("invalid syntax");
          pushRune(v);
        }
        break;
      }
      default: {
        if (c >= "0" && c <= "7") {
          const digits = body.slice(i - 1, i + 2);
          if (!/^[0-7]{3}$/.test(digits)) throw new Error("invalid syntax");
          const v = Number.parseInt(digits, 8);
          if (v > 255) throw new Error("invalid syntax");
          bytes.push(v);
          i += 2;
          break;
        }
        throw new Error("invalid syntax");
      }
    }
  }
  return decodeUtf8Escaped(bytes);
}

// ---- float formatting ------------------------------------------------------------------------------------------

/** Expands JS's exponent notation (`1e+21`, `5e-7`) into plain decimal digits. */
function plainDecimal(v: number): string {
  const s = String(Math.abs(v));
  const sign = v < 0 || Object.is(v, -0) ? "-" : "";
  const e = s.indexOf("e");
  if (e < 0) return sign + s;
  const mant = s.slice(0, e).replace(".", "");
  const dot = s.indexOf(".");
  const intLen = (dot < 0 || dot > e ? e : dot) + Number(s.slice(e + 1));
  if (intLen <= 0) return `${sign}0.${"0".repeat(-intLen)}${mant}`;
  if (intLen >= mant.length) return sign + mant + "0".repeat(intLen - mant.length);
  return `${sign}${mant.slice(0, intLen)}.${mant.slice(intLen)}`;
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent; `+Inf`, `-Inf`, `NaN`. */
export function formatFloatShortest(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return plainDecimal(v);
}

/** Go's `%v` / `%g` of a float64: shortest digits, exponent form when the exponent is < -4 or >= 6 (`1e+06`). */
export function formatFloatG(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const [mant, expText] = Math.abs(v).toExponential().split("e");
  const exp = Number(expText);
  const sign = v < 0 ? "-" : "";
  if (exp < -4 || exp >= 6) {
    const e = Math.abs(exp);
    return `${sign}${mant}e${exp < 0 ? "-" : "+"}${e < 10 ? `0${e}` : e}`;
  }
  return plainDecimal(v);
}

/** Go's `%f` (six decimals) of a float64, exact for large values as Go prints them. */
export function formatFloatFixed6(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Math.abs(v) < 1e21) return v.toFixed(6);
  return `${BigInt(v).toString()}.000000`;
}
