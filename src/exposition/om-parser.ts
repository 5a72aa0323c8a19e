// OpenMetrics 1.0 text, read the way Prometheus reads it: single spaces between tokens, no free comments,
// `# HELP` / `# TYPE` / `# UNIT` lines, float timestamps in seconds, an optional exemplar after `# `, and a
// required `# EOF` with nothing after it. Format: https://prometheus.io/docs/specs/om/open_metrics_spec/

import { quoteGo } from "../model/quote.ts";
import { floatError, scanFloat } from "./float.ts";
import { TextParser } from "./parser-base.ts";
import type { LabelRanges } from "./ranges.ts";
import {
  COMMA,
  EQUAL,
  HASH,
  isLabelStart,
  isNameStart,
  LBRACE,
  LF,
  labelNameEnd,
  metricNameEnd,
  QUOTE,
  RBRACE,
  SP,
  scanQuoted,
  syntaxError,
  tokenEnd,
  unescapeText,
} from "./syntax.ts";
import { hasInvalid } from "./text.ts";
import type { EntryKind, MetricType } from "./types.ts";

const OM_TYPES: ReadonlyMap<string, MetricType> = new Map<string, MetricType>(
  (["counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown"] as const).map((t) => [
    t,
    t,
  ]),
);

// Go's %f for the non-finite timestamps Prometheus rejects.
function nonFinite(v: number): string {
  return Number.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
}

/** Reads an OpenMetrics 1.0 body. Construct through `parserForContentType` or directly. */
export class OpenMetricsParser extends TextParser {
  readonly format = "openmetrics" as const;
  private done = false;

  /** `body`: the (decompressed) scrape body, or its text. */
  constructor(body: Uint8Array | string) {
    super(body, false);
  }

  next(): EntryKind {
    if (this.done) return "eof";
    const s = this.s;
    const i = this.pos;
    if (i >= s.length) throw syntaxError(s, i, "data does not end with # EOF");
    const c = s.charCodeAt(i);
    if (c === HASH) {
      this.kind = this.readHash(i);
    } else if (c === LBRACE || isNameStart(c)) {
      this.kind = this.readSeries(i);
    } else {
      throw this.unexpected(i, "expected a valid start token", "start", i);
    }
    return this.kind;
  }

  // `# HELP `, `# TYPE `, `# UNIT ` or `# EOF` at `i`; OpenMetrics has no other comments.
  private readHash(i: number): EntryKind {
    const s = this.s;
    if (s.charCodeAt(i + 1) === SP) {
      const j = i + 2;
      if (s.startsWith("EOF", j)) {
        let k = j + 3;
        if (s.charCodeAt(k) === LF) k++;
        if (k < s.length) throw syntaxError(s, i, "unexpected data after # EOF");
        this.pos = k;
        this.done = true;
        return "eof";
      }
      if (s.startsWith("HELP ", j)) return this.readMeta(i, j + 5, "help");
      if (s.startsWith("TYPE ", j)) return this.readMeta(i, j + 5, "type");
      if (s.startsWith("UNIT ", j)) return this.readMeta(i, j + 5, "unit");
    }
    throw this.unexpected(i, "expected a valid start token", "start", i);
  }

  // The name and text of a metadata line; `j` is just past `# HELP ` (or TYPE, UNIT).
  private readMeta(entryStart: number, j: number, kind: "help" | "type" | "unit"): EntryKind {
    const s = this.s;
    const keyword = kind.toUpperCase();
    const k = this.metaNameAt(entryStart, j, keyword);
    const name = this.metaName;
    const eol = s.indexOf("\n", k);
    if (s.charCodeAt(k) !== SP || eol < 0) throw syntaxError(s, entryStart, `expected text in ${keyword}`);
    const raw = s.slice(k + 1, eol);
    switch (kind) {
      case "type": {
        const type = OM_TYPES.get(raw);
        if (type === undefined) throw syntaxError(s, entryStart, `invalid metric type ${quoteGo(raw)}`);
        this.metaType = type;
        this.families.setType(name, type);
        break;
      }
      case "help":
        if (hasInvalid(this.invalid, k + 1, eol)) {
          throw syntaxError(s, entryStart, `help text ${quoteGo(raw)} is not a valid utf8 string`);
        }
        this.metaText = unescapeText(raw, true);
        this.families.setHelp(name, this.metaText);
        break;
      case "unit":
        if (raw !== "" && !name.endsWith(`_${raw}`)) {
          throw syntaxError(s, entryStart, `unit ${quoteGo(raw)} not a suffix of metric ${quoteGo(name)}`);
        }
        this.metaText = raw;
        this.families.setUnit(name, raw);
        break;
    }
    this.pos = eol + 1;
    return kind;
  }

  // A sample line starting at `i`: name and labels, ` value`, optional ` timestamp`, optional ` # {exemplar}`.
  private readSeries(i: number): EntryKind {
    const s = this.s;
    const n = s.length;
    this.beginSeries(i);
    let j: number;
    if (s.charCodeAt(i) === LBRACE) {
      j = this.readLabels(i, i + 1, this.lbls, false);
    } else {
      j = metricNameEnd(s, i);
      this.nameStart = i;
      this.nameEnd = j;
      if (s.charCodeAt(j) === LBRACE) j = this.readLabels(i, j + 1, this.lbls, false);
    }
    this.end = j;
    const ve = s.charCodeAt(j) === SP ? tokenEnd(s, j + 1, false) : j;
    if (this.nameStart < 0) {
      throw syntaxError(s, i, `metric name not set while parsing: ${quoteGo(s.slice(i, ve))}`);
    }
    if (ve <= j + 1) {
      const prevStart = s.charCodeAt(j - 1) === RBRACE ? j - 1 : i;
      throw this.unexpected(i, "expected value after metric", "value", j, prevStart);
    }
    this.val = this.floatAt(i, j + 1, ve);
    let k = ve;
    if (k < n && s.charCodeAt(k) === SP && !this.exemplarAt(k)) {
      const te = tokenEnd(s, k + 1, false);
      if (te === k + 1) {
        throw this.unexpected(i, "expected timestamp or new record", "timestamp", k);
      }
      const t = this.floatAt(i, k + 1, te);
      if (!Number.isFinite(t)) throw syntaxError(s, i, `invalid timestamp ${nonFinite(t)}`);
      // Seconds to milliseconds, truncated toward zero as Prometheus does.
      this.ts = Math.trunc(t * 1000);
      this.hasTs = true;
      k = te;
      if (k < n && s.charCodeAt(k) !== LF && !this.exemplarAt(k)) {
        throw this.unexpected(i, "expected next entry after timestamp", "timestamp", k);
      }
    }
    if (k < n && this.exemplarAt(k)) k = this.readExemplar(i, k + 4);
    if (k >= n) throw syntaxError(s, i, "data does not end with # EOF");
    if (s.charCodeAt(k) !== LF) {
      throw this.unexpected(i, "expected timestamp or new record", "timestamp", k);
    }
    this.pos = k + 1;
    return "series";
  }

  // True when ` # {` starts at k.
  private exemplarAt(k: number): boolean {
    const s = this.s;
    return (
      s.charCodeAt(k) === SP &&
      s.charCodeAt(k + 1) === HASH &&
      s.charCodeAt(k + 2) === SP &&
      s.charCodeAt(k + 3) === LBRACE
    );
  }

  // The float in [start, end) of the line at entryStart, or a bad_data error in Prometheus's words.
  private floatAt(entryStart: number, start: number, end: number): number {
    const v = scanFloat(this.s, start, end);
    if (v !== undefined) return v;
    const s = this.s;
    throw syntaxError(
      s,
      entryStart,
      `${floatError(s.slice(start, end))} while parsing: ${quoteGo(s.slice(entryStart, end))}`,
    );
  }

  // The exemplar after ` # {` (j is just past the brace); returns the offset of the character after it.
  private readExemplar(entryStart: number, j: number): number {
    const s = this.s;
    const n = s.length;
    this.xLbls.reset();
    let k = this.readLabels(entryStart, j, this.xLbls, true);
    const ve = s.charCodeAt(k) === SP ? tokenEnd(s, k + 1, false) : k;
    if (ve <= k + 1) {
      throw this.unexpected(entryStart, "expected value after exemplar labels", "evalue", k, k - 1);
    }
    this.xVal = this.floatAt(entryStart, k + 1, ve);
    this.xHasTs = false;
    k = ve;
    if (k < n && s.charCodeAt(k) === SP) {
      const te = tokenEnd(s, k + 1, false);
      if (te === k + 1) {
        throw this.unexpected(entryStart, "expected timestamp or comment", "etimestamp", k);
      }
      const t = this.floatAt(entryStart, k + 1, te);
      if (!Number.isFinite(t)) throw syntaxError(s, entryStart, `invalid exemplar timestamp ${nonFinite(t)}`);
      this.xTs = Math.trunc(t * 1000);
      this.xHasTs = true;
      k = te;
      if (k < n && s.charCodeAt(k) !== LF) {
        throw this.unexpected(entryStart, "expected next entry after exemplar timestamp", "etimestamp", k);
      }
    } else if (k < n && s.charCodeAt(k) !== LF) {
      throw this.unexpected(entryStart, "expected timestamp or comment", "etimestamp", k);
    }
    this.hasExemplar = true;
    return k;
  }

  // The label list after `{` (j is just past it) into `into`; returns the offset just past the closing `}`.
  // Exemplar labels allow no quoted metric name and no raw NUL.
  private readLabels(entryStart: number, j: number, into: LabelRanges, exemplar: boolean): number {
    const s = this.s;
    const state = exemplar ? "exemplar" : "labels";
    for (;;) {
      const c = s.charCodeAt(j);
      if (c === RBRACE) return j + 1;
      const quoted = c === QUOTE;
      // Bare names, the common case, without the call.
      const end = isLabelStart(c) ? labelNameEnd(s, j) : this.labelNameAt(entryStart, j, state, !exemplar);
      const ns = quoted ? j + 1 : j;
      const ne = quoted ? end - 1 : end;
      const c2 = s.charCodeAt(end);
      if (quoted && (c2 === COMMA || c2 === RBRACE)) {
        // A lone quoted string is the metric name: {"my.metric",a="b"}.
        if (exemplar) throw this.unexpected(entryStart, "expected label name", state, end);
        this.setQuotedName(entryStart, ns, ne, end);
        if (c2 === RBRACE) return end + 1;
        j = end + 1;
        continue;
      }
      if (c2 !== EQUAL) throw this.unexpected(entryStart, "expected equal", state, end);
      const k = end + 1;
      const vend = s.charCodeAt(k) === QUOTE ? scanQuoted(s, k, false, !exemplar) : -1;
      if (vend < 0) {
        const vstate = exemplar ? "evalue" : "lvalue";
        throw this.unexpected(entryStart, "expected label value", vstate, k);
      }
      this.checkLabelValue(entryStart, k, vend);
      into.push(ns, ne, k + 1, vend - 1);
      const c3 = s.charCodeAt(vend);
      if (c3 === RBRACE) return vend + 1;
      if (c3 !== COMMA) {
        throw this.unexpected(entryStart, "expected comma or brace close", state, vend);
      }
      j = vend + 1;
    }
  }
}
