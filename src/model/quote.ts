// Go's strconv.Quote for JS strings, so label values, matchers and PromQL strings print exactly as Prometheus
// prints them: printable characters stay as they are, everything else becomes an escape.

import { isEscapedByte } from "./utf8.ts";

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
// Strings made only of these need no escaping at all (the common case).
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

const SHORT_ESCAPES: Record<number, string> = {
  7: "\\a",
  8: "\\b",
  12: "\\f",
  10: "\\n",
  13: "\\r",
  9: "\\t",
  11: "\\v",
  92: "\\\\",
  34: '\\"',
};

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** Quotes `s` as Go's strconv.Quote does (double quotes; lone surrogates print as the bytes Go would see). */
export function quoteGo(s: string): string {
  if (PLAIN.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.codePointAt(i)!;
    if (c > 0xffff) i++;
    const short = SHORT_ESCAPES[c];
    if (short !== undefined) {
      out += short;
    } else if (c < 0x20 || c === 0x7f) {
      out += `\\x${hex(c, 2)}`;
    } else if (isEscapedByte(c)) {
      // A stray byte carried as a surrogate escape (utf8.ts): Go prints the byte itself.
      out += `\\x${hex(c - 0xdc00, 2)}`;
    } else if (c >= 0xd800 && c < 0xe000) {
      // Any other lone surrogate: invalid UTF-8 in Go, escaped byte by byte.
      out += `\\x${hex(0xe0 | (c >>> 12), 2)}\\x${hex(0x80 | ((c >>> 6) & 0x3f), 2)}\\x${hex(0x80 | (c & 0x3f), 2)}`;
    } else if (c < 0x80 || PRINTABLE.test(String.fromCodePoint(c))) {
      out += String.fromCodePoint(c);
    } else if (c <= 0xffff) {
      out += `\\u${hex(c, 4)}`;
    } else {
      out += `\\U${hex(c, 8)}`;
    }
  }
  return `${out}"`;
}
