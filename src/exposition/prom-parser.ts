// Prometheus text format 0.0.4 (with Prometheus 3's quoted UTF-8 names), read the way Prometheus's own parser
// reads it: blanks (spaces, tabs) allowed between tokens, free `#` comments, `# HELP` / `# TYPE` lines, and
// integer millisecond timestamps. Format: https://prometheus.io/docs/instrumenting/exposition_formats/

import { quoteGo } from "../model/quote.ts";
import { floatError, scanFloat } from "./float.ts";
import { TextParser } from "./parser-base.ts";
import {
  COMMA,
  digitsEnd,
  EQUAL,
  HASH,
  isLabelStart,
  isNameStart,
  LBRACE,
  LF,
  labelNameEnd,
  metricNameEnd,
  NUL,
  QUOTE,
  RBRACE,
  runEnd,
  SP,
  scanQuoted,
  skipBlanks,
  syntaxError,
  TAB,
  tokenEnd,
  unescapeText,
} from "./syntax.ts";
import { hasInvalid } from "./text.ts";
import type { EntryKind, MetricType } from "./types.ts";

function isBlank(c: number): boolean {
  return c === SP || c === TAB;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

const PROM_TYPES: ReadonlyMap<string, MetricType> = new Map<string, MetricType>([
  ["counter", "counter"],
  ["gauge", "gauge"],
  ["histogram", "histogram"],
  ["summary", "summary"],
  ["untyped", "unknown"],
]);

const INT64_MAX = "9223372036854775807";

/** Reads a Prometheus text 0.0.4 body. Construct through `parserForContentType` or directly. */
export class PromTextParser extends TextParser {
  readonly format = "prometheus" as const;

  /** `body`: the (decompressed) scrape body, or its text. */
  constructor(body: Uint8Array | string) {
    super(body, true);
  }

  next(): EntryKind {
    const s = this.s;
    const n = s.length;
    let i = this.pos;
    for (;;) {
      let c = NUL;
      while (i < n) {
        c = s.charCodeAt(i);
        if (c !== SP && c !== TAB) break;
        i++;
      }
      // A NUL at the start of a line ends the body for Prometheus (C-string terminated output exists).
      if (i >= n || c === NUL) {
        this.pos = n;
        this.kind = "eof";
        return "eof";
      }
      if (c === LF) {
        i++;
        continue;
      }
      if (c === HASH) {
        this.kind = this.readHash(i);
        return this.kind;
      }
      if (c === LBRACE || isNameStart(c)) {
        this.kind = this.readSeries(i);
        return this.kind;
      }
      throw this.unexpected(i, "expected a valid start token", "start", i);
    }
  }

  // A line starting with `#` at `i`: HELP, TYPE, or a comment.
  private readHash(i: number): EntryKind {
    const s = this.s;
    const j = skipBlanks(s, i + 1);
    if (j > i + 1 && isBlank(s.charCodeAt(j + 4))) {
      if (s.startsWith("HELP", j)) return this.readMeta(i, j + 4, "help");
      if (s.startsWith("TYPE", j)) return this.readMeta(i, j + 4, "type");
    }
    const eol = s.indexOf("\n", i);
    this.textStart = i;
    this.textEnd = eol;
    this.pos = eol + 1;
    return "comment";
  }

  // `# HELP name text` or `# TYPE name type`; `j` is just past the keyword.
  private readMeta(entryStart: number, j: number, kind: "help" | "type"): EntryKind {
    const s = this.s;
    const keyword = kind === "help" ? "HELP" : "TYPE";
    j = skipBlanks(s, j);
    const k = this.metaNameAt(entryStart, j, keyword);
    const name = this.metaName;
    const eol = s.indexOf("\n", k);
    // Prometheus drops exactly one character after the name (the separating blank); only blanks mean no text.
    const textStart = skipBlanks(s, k) >= eol ? eol : k + 1;
    const raw = s.slice(textStart, eol);
    if (kind === "type") {
      const type = PROM_TYPES.get(raw);
      if (type === undefined) {
        throw syntaxError(s, entryStart, `invalid metric type ${quoteGo(raw)}`);
      }
      this.metaType = type;
      this.families.setType(name, type);
    } else {
      if (hasInvalid(this.invalid, textStart, eol)) {
        throw syntaxError(s, entryStart, `help text ${quoteGo(raw)} is not a valid utf8 string`);
      }
      this.metaText = unescapeText(raw, false);
      this.families.setHelp(name, this.metaText);
    }
    this.pos = eol + 1;
    return kind;
  }

  // A sample line starting at `i` with a metric name or `{`.
  private readSeries(i: number): EntryKind {
    const s = this.s;
    this.beginSeries(i);
    let j: number;
    if (s.charCodeAt(i) === LBRACE) {
      j = this.readLabels(i, i + 1);
    } else {
      j = metricNameEnd(s, i);
      this.nameStart = i;
      this.nameEnd = j;
      const k = skipBlanks(s, j);
      if (s.charCodeAt(k) === LBRACE) j = this.readLabels(i, k + 1);
    }
    this.end = j;
    const vs = skipBlanks(s, j);
    const ve = tokenEnd(s, vs, true);
    if (this.nameStart < 0) {
      throw syntaxError(s, i, `metric name not set while parsing: ${quoteGo(s.slice(i, ve))}`);
    }
    if (ve === vs) {
      throw this.unexpected(i, "expected value after metric", "value", vs);
    }
    const v = scanFloat(s, vs, ve);
    if (v === undefined) {
      throw syntaxError(s, i, `${floatError(s.slice(vs, ve))} while parsing: ${quoteGo(s.slice(i, ve))}`);
    }
    this.val = v;
    let k = skipBlanks(s, ve);
    let c = s.charCodeAt(k);
    if (isDigit(c)) {
      const te = digitsEnd(s, k);
      this.ts = this.timestampAt(i, k, te);
      this.hasTs = true;
      k = skipBlanks(s, te);
      c = s.charCodeAt(k);
      if (c !== LF) {
        throw this.unexpected(i, "expected next entry after timestamp", "timestamp", k);
      }
    } else if (c !== LF) {
      throw this.unexpected(i, "expected timestamp or new record", "timestamp", k);
    }
    this.pos = k + 1;
    return "series";
  }

  // The integer millisecond timestamp in [k, te); int64 range as Go's ParseInt (beyond 2^53 it is rounded).
  private timestampAt(entryStart: number, k: number, te: number): number {
    const s = this.s;
    if (te - k <= 15) {
      let t = 0;
      for (let p = k; p < te; p++) t = t * 10 + (s.charCodeAt(p) - 0x30);
      return t;
    }
    const digits = s.slice(
      runEnd(s, k, (c) => c === 0x30),
      te,
    );
    if (digits.length > 19 || (digits.length === 19 && digits > INT64_MAX)) {
      const text = s.slice(k, te);
      throw syntaxError(
        s,
        entryStart,
        `strconv.ParseInt: parsing ${quoteGo(text)}: value out of range while parsing: ${quoteGo(s.slice(entryStart, te))}`,
      );
    }
    return Number(digits);
  }

  // The label list after the `{` at j-1; returns the offset just past the closing `}`.
  private readLabels(entryStart: number, j: number): number {
    const s = this.s;
    for (;;) {
      j = skipBlanks(s, j);
      const c = s.charCodeAt(j);
      if (c === RBRACE) return j + 1;
      const quoted = c === QUOTE;
      // Bare names, the common case, without the call.
      const end = isLabelStart(c) ? labelNameEnd(s, j) : this.labelNameAt(entryStart, j, "labels", true);
      const ns = quoted ? j + 1 : j;
      const ne = quoted ? end - 1 : end;
      let k = skipBlanks(s, end);
      const c2 = s.charCodeAt(k);
      if (quoted && (c2 === COMMA || c2 === RBRACE)) {
        // A lone quoted string is the metric name: {"my.metric", a="b"}.
        this.setQuotedName(entryStart, ns, ne, k);
        if (c2 === RBRACE) return k + 1;
        j = k + 1;
        continue;
      }
      if (c2 !== EQUAL) {
        throw this.unexpected(entryStart, "expected equal", "labels", k);
      }
      k = skipBlanks(s, k + 1);
      const vend = s.charCodeAt(k) === QUOTE ? scanQuoted(s, k, true, true) : -1;
      if (vend < 0) {
        throw this.unexpected(entryStart, "expected label value", "lvalue", k);
      }
      this.checkLabelValue(entryStart, k, vend);
      this.lbls.push(ns, ne, k + 1, vend - 1);
      // Like Prometheus, a comma between pairs is optional and one may trail.
      j = skipBlanks(s, vend);
      if (s.charCodeAt(j) === COMMA) j++;
    }
  }
}
