// Escape sequences inside the lexer's quoted strings, checked as Prometheus's lexer checks them (Go's escapes).

import type { Lexer } from "./lexer.ts";
import { unicodeRune } from "./literals.ts";
import { EOF_RUNE } from "./tokens.ts";

/** Reads one escape sequence of a quoted string (its backslash already read); false after an ERROR token for a bad one. */
export function scanEscape(l: Lexer): boolean {
  let ch = l.next();
  let n: number;
  let base: number;
  let max: number;
  switch (ch) {
    case 0x61:
    case 0x62:
    case 0x66:
    case 0x6e:
    case 0x72:
    case 0x74:
    case 0x76:
    case 0x5c:
      return true;
    case 0x78:
      ch = l.next();
      n = 2;
      base = 16;
      max = 255;
      break;
    case 0x75:
      ch = l.next();
      n = 4;
      base = 16;
      max = 0x10ffff;
      break;
    case 0x55:
      ch = l.next();
      n = 8;
      base = 16;
      max = 0x10ffff;
      break;
    case EOF_RUNE:
      l.errorf("escape sequence not terminated");
      return false;
    default:
      if (ch === l.stringOpen) return true;
      if (ch >= 0x30 && ch <= 0x37) {
        n = 3;
        base = 8;
        max = 255;
        break;
      }
      l.errorf(`unknown escape sequence ${unicodeRune(ch)}`);
      return false;
  }
  let x = 0;
  while (n > 0) {
    const d = digitVal(ch);
    if (d >= base) {
      if (ch === EOF_RUNE) {
        l.errorf("escape sequence not terminated");
        return false;
      }
      l.errorf(`illegal character ${unicodeRune(ch)} in escape sequence`);
      return false;
    }
    x = x * base + d;
    n--;
    if (n > 0) ch = l.next();
  }
  if (x > max || (x >= 0xd800 && x < 0xe000)) {
    l.errorf("escape sequence is an invalid Unicode code point");
    return false;
  }
  return true;
}

function digitVal(ch: number): number {
  if (ch >= 0x30 && ch <= 0x39) return ch - 0x30;
  if (ch >= 0x61 && ch <= 0x66) return ch - 0x61 + 10;
  if (ch >= 0x41 && ch <= 0x46) return ch - 0x41 + 10;
  return 16;
}
