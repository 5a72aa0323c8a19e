// The states of the PromQL lexer (see lexer.ts), one function per state as in Prometheus's lexer.

import { scanEscape } from "./lex-escape.ts";
import type { Lexer, StateFn } from "./lexer.ts";
import { quoteRune, quoteString } from "./literals.ts";
import {
  COUNTER_RESET_HINTS,
  DIGITS,
  EOF_RUNE,
  HISTOGRAM_DESC,
  HistogramState,
  inSet,
  isAlpha,
  isAlphaNumeric,
  isDigit,
  isSpace,
  KEYWORDS,
  RUNE_ERROR,
} from "./tokens.ts";

/** The initial state: anything outside braces, strings and brackets. */
export function lexStatements(l: Lexer): StateFn | null {
  if (l.histogramState !== HistogramState.None) return lexHistogram;
  if (l.braceOpen) return lexInsideBraces;
  if (l.startsWith(0x23)) return lexLineComment;
  const r = l.next();
  if (r === EOF_RUNE) {
    if (l.parenDepth !== 0) return l.errorf("unclosed left parenthesis");
    if (l.bracketOpen) return l.errorf("unclosed left bracket");
    l.emit("EOF");
    return null;
  }
  if (isSpace(r)) return lexSpace;
  if (isDigit(r) || (r === 0x2e && isDigit(l.peek()))) {
    l.backup();
    return lexNumberOrDuration;
  }
  if (isAlpha(r) || r === 0x3a) {
    if (!l.bracketOpen) {
      l.backup();
      return lexKeywordOrIdentifier;
    }
    if (r === 0x3a) {
      if (l.gotColon) return l.errorf(`unexpected colon ${quoteRune(r)}`);
      l.emit("COLON");
      l.gotColon = true;
      return lexStatements;
    }
    if (isDurationKeywordStart(r) && l.scanDurationKeyword()) return lexStatements;
    return l.errorf(`unexpected character: ${quoteRune(r)}, expected ':'`);
  }
  switch (r) {
    case 0x2c:
      l.emit("COMMA");
      break;
    case 0x2a:
      l.emit("MUL");
      break;
    case 0x2f:
      l.emit("DIV");
      break;
    case 0x25:
      l.emit("MOD");
      break;
    case 0x2b:
      l.emit("ADD");
      break;
    case 0x2d:
      l.emit("SUB");
      break;
    case 0x5e:
      l.emit("POW");
      break;
    case 0x3d: {
      const t = l.peek();
      if (t === 0x3d) {
        l.next();
        l.emit("EQLC");
      } else if (t === 0x7e) {
        return l.errorf(`unexpected character after '=': ${quoteRune(t)}`);
      } else {
        l.emit("EQL");
      }
      break;
    }
    case 0x21: {
      const t = l.next();
      if (t !== 0x3d) return l.errorf(`unexpected character after '!': ${quoteRune(t)}`);
      l.emit("NEQ");
      break;
    }
    case 0x3c:
    case 0x3e: {
      const t = l.peek();
      if (t === 0x3d) {
        l.next();
        l.emit(r === 0x3c ? "LTE" : "GTE");
      } else if (t === 0x2f) {
        l.next();
        l.emit(r === 0x3c ? "TRIM_UPPER" : "TRIM_LOWER");
      } else {
        l.emit(r === 0x3c ? "LSS" : "GTR");
      }
      break;
    }
    case 0x22:
    case 0x27:
      l.stringOpen = r;
      return lexString;
    case 0x60:
      l.stringOpen = r;
      return lexRawString;
    case 0x28:
      l.emit("LEFT_PAREN");
      l.parenDepth++;
      break;
    case 0x29:
      l.emit("RIGHT_PAREN");
      l.parenDepth--;
      if (l.parenDepth < 0) return l.errorf(`unexpected right parenthesis ${quoteRune(r)}`);
      break;
    case 0x7b:
      l.emit("LEFT_BRACE");
      l.braceOpen = true;
      return lexInsideBraces;
    case 0x5b:
      if (l.bracketOpen) return l.errorf(`unexpected left bracket ${quoteRune(r)}`);
      l.gotColon = false;
      l.emit("LEFT_BRACKET");
      if (isSpace(l.peek())) skipSpaces(l);
      l.bracketOpen = true;
      return lexDurationExpr;
    case 0x5d:
      if (!l.bracketOpen) return l.errorf(`unexpected right bracket ${quoteRune(r)}`);
      l.emit("RIGHT_BRACKET");
      l.bracketOpen = false;
      break;
    case 0x40:
      l.emit("AT");
      break;
    default:
      return l.errorf(`unexpected character: ${quoteRune(r)}`);
  }
  return lexStatements;
}

function isDurationKeywordStart(r: number): boolean {
  return inSet("srmSRM", r);
}

function lexHistogram(l: Lexer): StateFn | null {
  switch (l.histogramState) {
    case HistogramState.Mul:
    case HistogramState.Add:
    case HistogramState.Sub: {
      const type =
        l.histogramState === HistogramState.Mul ? "TIMES" : l.histogramState === HistogramState.Add ? "ADD" : "SUB";
      l.histogramState = HistogramState.None;
      l.next();
      l.emit(type);
      return lexValueSequence;
    }
    case HistogramState.None:
    case HistogramState.Open:
      break;
  }
  if (l.bracketOpen) return lexBuckets;
  const r = l.next();
  if (isSpace(r)) {
    l.emit("SPACE");
    return lexSpace;
  }
  if (isAlpha(r)) {
    l.backup();
    return lexHistogramDescriptor;
  }
  if (r === 0x3a) {
    l.emit("COLON");
    return lexHistogram;
  }
  if (r === 0x2d) {
    l.emit("SUB");
    return lexHistogram;
  }
  if (isDigit(r)) {
    l.backup();
    return lexNumber;
  }
  if (r === 0x5b) {
    l.bracketOpen = true;
    l.gotColon = false;
    l.gotDuration = false;
    l.emit("LEFT_BRACKET");
    return lexBuckets;
  }
  if (r === 0x7d && l.peek() === 0x7d) {
    l.next();
    l.emit("CLOSE_HIST");
    switch (l.peek()) {
      case 0x78:
        l.histogramState = HistogramState.Mul;
        return lexHistogram;
      case 0x2b:
        l.histogramState = HistogramState.Add;
        return lexHistogram;
      case 0x2d:
        l.histogramState = HistogramState.Sub;
        return lexHistogram;
      default:
        l.histogramState = HistogramState.None;
        return lexValueSequence;
    }
  }
  return l.errorf(`histogram description incomplete unexpected: ${quoteRune(r)}`);
}

function lexHistogramDescriptor(l: Lexer): StateFn | null {
  while (isAlpha(l.next())) {
    // absorb
  }
  l.backup();
  const word = l.text(l.start, l.pos).toLowerCase();
  const desc = HISTOGRAM_DESC.get(word);
  if (desc !== undefined) {
    if (l.peek() === 0x3a) {
      l.emit(desc);
      return lexHistogram;
    }
    l.errorf("missing `:` for histogram descriptor");
    return lexStatements;
  }
  if (KEYWORDS.get(word) === "NUMBER") {
    l.emit("NUMBER");
    return lexHistogram;
  }
  const hint = COUNTER_RESET_HINTS.get(word);
  if (hint !== undefined) {
    l.emit(hint);
    return lexHistogram;
  }
  l.errorf(`bad histogram descriptor found: ${quoteString(l.text(l.start, l.pos))}`);
  return lexStatements;
}

function lexBuckets(l: Lexer): StateFn | null {
  const r = l.next();
  if (isSpace(r)) {
    l.emit("SPACE");
    return lexSpace;
  }
  if (r === 0x2d) {
    l.emit("SUB");
    return lexNumber;
  }
  if (isDigit(r)) {
    l.backup();
    return lexNumber;
  }
  if (r === 0x5d) {
    l.bracketOpen = false;
    l.emit("RIGHT_BRACKET");
    return lexHistogram;
  }
  if (isAlpha(r)) {
    // Accumulates letters until the word is Inf or NaN.
    if (KEYWORDS.get(l.text(l.start, l.pos).toLowerCase()) === "NUMBER") {
      l.emit("NUMBER");
      return lexStatements;
    }
    return lexBuckets;
  }
  return l.errorf(`invalid character in buckets description: ${quoteRune(r)}`);
}

function lexInsideBraces(l: Lexer): StateFn | null {
  if (l.startsWith(0x23)) return lexLineComment;
  const r = l.next();
  if (r === EOF_RUNE) return l.errorf("unexpected end of input inside braces");
  if (isSpace(r)) return lexSpace;
  if (isAlpha(r)) {
    l.backup();
    return lexIdentifier;
  }
  switch (r) {
    case 0x2c:
      l.emit("COMMA");
      break;
    case 0x22:
    case 0x27:
      l.stringOpen = r;
      return lexString;
    case 0x60:
      l.stringOpen = r;
      return lexRawString;
    case 0x3d:
      if (l.next() === 0x7e) {
        l.emit("EQL_REGEX");
        break;
      }
      l.backup();
      l.emit("EQL");
      break;
    case 0x21: {
      const nr = l.next();
      if (nr === 0x7e) l.emit("NEQ_REGEX");
      else if (nr === 0x3d) l.emit("NEQ");
      else return l.errorf(`unexpected character after '!' inside braces: ${quoteRune(nr)}`);
      break;
    }
    case 0x7b:
      return l.errorf(`unexpected left brace ${quoteRune(r)}`);
    case 0x7d:
      l.emit("RIGHT_BRACE");
      l.braceOpen = false;
      return l.seriesDesc ? lexValueSequence : lexStatements;
    default:
      return l.errorf(`unexpected character inside braces: ${quoteRune(r)}`);
  }
  return lexInsideBraces;
}

function lexValueSequence(l: Lexer): StateFn | null {
  if (l.histogramState !== HistogramState.None) return lexHistogram;
  const r = l.next();
  if (r === EOF_RUNE) return lexStatements;
  if (r === 0x7b && l.peek() === 0x7b) {
    l.histogramState = HistogramState.Open;
    l.next();
    l.emit("OPEN_HIST");
    return lexHistogram;
  }
  if (isSpace(r)) {
    l.emit("SPACE");
    lexSpace(l);
    return lexValueSequence;
  }
  switch (r) {
    case 0x2b:
      l.emit("ADD");
      return lexValueSequence;
    case 0x2d:
      l.emit("SUB");
      return lexValueSequence;
    case 0x78:
      l.emit("TIMES");
      return lexValueSequence;
    case 0x5f:
      l.emit("BLANK");
      return lexValueSequence;
  }
  if (isDigit(r) || (r === 0x2e && isDigit(l.peek()))) {
    l.backup();
    lexNumber(l);
    return lexValueSequence;
  }
  if (isAlpha(r)) {
    l.backup();
    return lexKeywordOrIdentifier;
  }
  return l.errorf(`unexpected character in series sequence: ${quoteRune(r)}`);
}

function skipSpaces(l: Lexer): void {
  while (isSpace(l.peek())) l.next();
  l.ignore();
}

function lexString(l: Lexer): StateFn | null {
  for (;;) {
    const r = l.next();
    if (r === 0x5c) {
      // An invalid escape stops this call at its ERROR token; lexing goes on inside the string.
      if (!scanEscape(l)) return lexString;
      continue;
    }
    if (r === RUNE_ERROR) {
      l.errorf("invalid UTF-8 rune");
      return lexString;
    }
    if (r === EOF_RUNE || r === 0x0a) return l.errorf("unterminated quoted string");
    if (r === l.stringOpen) break;
  }
  l.emit("STRING");
  return lexStatements;
}

function lexRawString(l: Lexer): StateFn | null {
  for (;;) {
    const r = l.next();
    if (r === RUNE_ERROR) {
      l.errorf("invalid UTF-8 rune");
      return lexRawString;
    }
    // Prometheus keeps reporting this error forever; stopping here is the same for every caller.
    if (r === EOF_RUNE) return l.errorf("unterminated raw string");
    if (r === l.stringOpen) break;
  }
  l.emit("STRING");
  return lexStatements;
}

function lexSpace(l: Lexer): StateFn | null {
  while (isSpace(l.peek())) l.next();
  l.ignore();
  return lexStatements;
}

function lexLineComment(l: Lexer): StateFn | null {
  l.pos += 1;
  let r = l.next();
  while (r !== 0x0d && r !== 0x0a && r !== EOF_RUNE) r = l.next();
  l.backup();
  l.emit("COMMENT");
  return lexStatements;
}

function lexNumber(l: Lexer): StateFn | null {
  if (!l.scanNumber()) return l.errorf(`bad number syntax: ${quoteString(l.text(l.start, l.pos))}`);
  l.emit("NUMBER");
  return lexStatements;
}

function lexNumberOrDuration(l: Lexer): StateFn | null {
  if (l.scanNumber()) {
    l.emit("NUMBER");
    return lexStatements;
  }
  if (acceptRemainingDuration(l)) {
    l.backup();
    l.emit("DURATION");
    return lexStatements;
  }
  return l.errorf(`bad number or duration syntax: ${quoteString(l.text(l.start, l.pos))}`);
}

// After the digits of a duration: a unit, then any further digit/unit groups (`1h30m`, `5m30s10ms`).
function acceptRemainingDuration(l: Lexer): boolean {
  if (!l.accept("smhdwy")) return false;
  l.accept("s");
  while (l.accept(DIGITS)) {
    while (l.accept(DIGITS)) {
      // consume
    }
    if (!l.accept("smhdw")) return false;
    l.accept("s");
  }
  return !isAlphaNumeric(l.next());
}

function lexIdentifier(l: Lexer): StateFn | null {
  while (isAlphaNumeric(l.next())) {
    // absorb
  }
  l.backup();
  l.emit("IDENTIFIER");
  return lexStatements;
}

function lexKeywordOrIdentifier(l: Lexer): StateFn | null {
  for (;;) {
    const r = l.next();
    if (isAlphaNumeric(r) || r === 0x3a) continue;
    l.backup();
    break;
  }
  const word = l.text(l.start, l.pos);
  const kw = KEYWORDS.get(word.toLowerCase());
  if (kw !== undefined) {
    // fill, fill_left and fill_right are keywords only before "(", so they stay usable as metric names.
    if ((kw === "FILL" || kw === "FILL_LEFT" || kw === "FILL_RIGHT") && !l.peekFollowedByLeftParen()) {
      l.emit("IDENTIFIER");
    } else {
      l.emit(kw);
    }
  } else {
    l.emit(word.includes(":") ? "METRIC_IDENTIFIER" : "IDENTIFIER");
  }
  if (l.seriesDesc && l.peek() !== 0x7b) return lexValueSequence;
  return lexStatements;
}

function lexDurationExpr(l: Lexer): StateFn | null {
  const r = l.next();
  if (r === EOF_RUNE) return l.errorf("unexpected end of input in duration expression");
  if (isSpace(r)) {
    skipSpaces(l);
    return lexDurationExpr;
  }
  if (isDigit(r) || (r === 0x2e && isDigit(l.peek()))) {
    l.backup();
    l.gotDuration = true;
    return lexNumberOrDuration;
  }
  if (isDurationKeywordStart(r)) {
    if (l.scanDurationKeyword()) return lexDurationExpr;
    return l.errorf(`unexpected character in duration expression: ${quoteRune(r)}`);
  }
  switch (r) {
    case 0x5d:
      l.emit("RIGHT_BRACKET");
      l.bracketOpen = false;
      l.gotColon = false;
      return lexStatements;
    case 0x3a:
      l.emit("COLON");
      if (!l.gotDuration) return l.errorf("unexpected colon before duration in duration expression");
      if (l.gotColon) return l.errorf("unexpected repeated colon in duration expression");
      l.gotColon = true;
      return lexDurationExpr;
    case 0x28:
      l.emit("LEFT_PAREN");
      l.parenDepth++;
      return lexDurationExpr;
    case 0x29:
      l.emit("RIGHT_PAREN");
      l.parenDepth--;
      if (l.parenDepth < 0) return l.errorf(`unexpected right parenthesis ${quoteRune(r)}`);
      return lexDurationExpr;
    case 0x2b:
      l.emit("ADD");
      return lexDurationExpr;
    case 0x2d:
      l.emit("SUB");
      return lexDurationExpr;
    case 0x2a:
      l.emit("MUL");
      return lexDurationExpr;
    case 0x2f:
      l.emit("DIV");
      return lexDurationExpr;
    case 0x25:
      l.emit("MOD");
      return lexDurationExpr;
    case 0x5e:
      l.emit("POW");
      return lexDurationExpr;
    case 0x2c:
      l.emit("COMMA");
      return lexDurationExpr;
    default:
      return l.errorf(`unexpected character in duration expression: ${quoteRune(r)}`);
  }
}
