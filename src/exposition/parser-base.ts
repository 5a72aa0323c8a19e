// State and accessors both text parsers share. A subclass reads lines in `next()` and records where the parts
// of the current line sit; the accessors here turn those offsets into values only when asked, so the scrape hot
// path (next, series, value, timestamp) builds no label set and no substrings beyond the series key.

import { ContrailError } from "../model/errors.ts";
import type { Histogram } from "../model/histogram.ts";
import { Labels, type LabelsBuilder, METRIC_NAME } from "../model/labels.ts";
import { quoteGo } from "../model/quote.ts";
import { Families } from "./families.ts";
import { formatOpenMetricsFloat, scanFloat } from "./float.ts";
import { LabelRanges, labelNameProblem } from "./ranges.ts";
import {
  isLabelStart,
  isNameStart,
  type LexState,
  labelNameEnd,
  metricNameEnd,
  QUOTE,
  scanQuoted,
  syntaxError,
  unescapeText,
  unexpectedToken,
} from "./syntax.ts";
import { bodyText, detachString, hasInvalid } from "./text.ts";
import type { EntryKind, Exemplar, ExpositionFormat, ExpositionParser, MetricMetadata, MetricType } from "./types.ts";

const CREATED = "_created";

/** Lines with more labels than this build their label set by sorting once instead of through the builder. */
const MANY_LABELS = 64;

/** Shared base of the Prometheus text and OpenMetrics parsers; see ExpositionParser for the contract. */
export abstract class TextParser implements ExpositionParser {
  abstract readonly format: ExpositionFormat;

  /** The body being read. */
  protected readonly s: string;
  /** Offsets of replacement characters that stand for invalid UTF-8 (null when the body was valid). */
  protected readonly invalid: readonly number[] | null;
  /** Offset of the next unread character. */
  protected pos = 0;
  /** Kind of the current entry. */
  protected kind: EntryKind = "eof";
  protected readonly families = new Families();

  // Current series line: [start, end) is the raw series text; the metric name sits in [nameStart, nameEnd)
  // (inside the quotes when quoted, nameStart -1 until seen).
  protected start = 0;
  protected end = 0;
  protected nameStart = -1;
  protected nameEnd = -1;
  protected nameQuoted = false;
  protected readonly lbls = new LabelRanges();
  protected val = 0;
  protected ts = 0;
  protected hasTs = false;

  // Exemplar of the current line (OpenMetrics).
  protected readonly xLbls = new LabelRanges();
  protected hasExemplar = false;
  protected xVal = 0;
  protected xTs = 0;
  protected xHasTs = false;

  // Current metadata or comment line.
  protected metaName = "";
  protected metaType: MetricType = "unknown";
  protected metaText = "";
  protected textStart = 0;
  protected textEnd = 0;

  // Reused scratch for label-name checks on the cache-miss path.
  private readonly names: string[] = [];

  /** Decodes `body`; `ensureNewline` makes the text end with a newline (Prometheus text reads it that way). */
  constructor(body: Uint8Array | string, ensureNewline: boolean) {
    const { text, invalid } = bodyText(body);
    this.s = ensureNewline && !text.endsWith("\n") ? `${text}\n` : text;
    this.invalid = invalid;
  }

  abstract next(): EntryKind;

  /** The bad_data error for an unexpected token at `pos` of the entry at `entryStart` (Prometheus's wording);
   * `prevStart` is where the previous token began, shown when the input ends early. */
  protected unexpected(entryStart: number, expected: string, state: LexState, pos: number, prevStart?: number) {
    const om = this.format === "openmetrics";
    return unexpectedToken({ s: this.s, entryStart, expected, state, pos, om, prevStart });
  }

  /** Starts a new series entry at `start`. */
  protected beginSeries(start: number): void {
    this.start = start;
    this.nameStart = -1;
    this.nameEnd = -1;
    this.nameQuoted = false;
    this.lbls.reset();
    this.hasTs = false;
    this.hasExemplar = false;
  }

  /**
   * Reads the metric name of a `# HELP`/`# TYPE`/`# UNIT` line at `j` (bare, or quoted with escapes) into `metaName`;
   * returns the offset just past it. `keyword` names the line in the error.
   */
  protected metaNameAt(entryStart: number, j: number, keyword: string): number {
    const s = this.s;
    const c = s.charCodeAt(j);
    if (c === QUOTE) {
      const k = scanQuoted(s, j, true, false);
      if (k < 0 || hasInvalid(this.invalid, j, k)) {
        throw this.unexpected(entryStart, `expected metric name after ${keyword}`, "meta", j);
      }
      this.metaName = unescapeText(s.slice(j + 1, k - 1), true);
      return k;
    }
    if (isNameStart(c)) {
      const k = metricNameEnd(s, j);
      this.metaName = s.slice(j, k);
      return k;
    }
    throw this.unexpected(entryStart, `expected metric name after ${keyword}`, "meta", j);
  }

  /**
   * Reads a label name at `j` inside braces: bare, or quoted (`allowNewline` lets a quoted one hold a raw newline).
   * Returns the offset just past it; the name itself is [j, end) when bare and [j + 1, end - 1) when quoted.
   */
  protected labelNameAt(entryStart: number, j: number, state: LexState, allowNewline: boolean): number {
    const s = this.s;
    const c = s.charCodeAt(j);
    if (isLabelStart(c)) return labelNameEnd(s, j);
    if (c === QUOTE) {
      const end = scanQuoted(s, j, allowNewline, false);
      if (end < 0) throw this.unexpected(entryStart, "expected label name", state, j);
      if (hasInvalid(this.invalid, j + 1, end - 1)) {
        throw syntaxError(s, entryStart, `invalid UTF-8 label name: ${quoteGo(s.slice(j, end))}`);
      }
      return end;
    }
    throw this.unexpected(entryStart, "expected label name", state, j);
  }

  /**
   * Takes the quoted string [ns, ne) inside braces as the metric name (`{"my.metric", a="b"}`); fails when the line
   * already has one. `through` is the offset of the `,` or `}` after it, the end of the text the error quotes.
   */
  protected setQuotedName(entryStart: number, ns: number, ne: number, through: number): void {
    if (this.nameStart >= 0) {
      const s = this.s;
      throw syntaxError(
        s,
        entryStart,
        `metric name already set while parsing: ${quoteGo(s.slice(entryStart, through + 1))}`,
      );
    }
    this.nameStart = ns;
    this.nameEnd = ne;
    this.nameQuoted = true;
  }

  /** Fails when the label value [start, end) (with its quotes) holds invalid UTF-8. */
  protected checkLabelValue(entryStart: number, start: number, end: number): void {
    if (hasInvalid(this.invalid, start, end)) {
      throw syntaxError(this.s, entryStart, `invalid UTF-8 label value: ${quoteGo(this.s.slice(start, end))}`);
    }
  }

  series(): string {
    return this.s.slice(this.start, this.end);
  }

  ownedSeries(): string {
    return detachString(this.s.slice(this.start, this.end));
  }

  metricName(): string {
    if (this.kind !== "series") return this.kind === "comment" || this.kind === "eof" ? "" : this.metaName;
    const raw = this.s.slice(this.nameStart, this.nameEnd);
    return this.nameQuoted ? unescapeText(raw, true) : raw;
  }

  value(): number {
    return this.val;
  }

  histogram(): Histogram {
    throw new ContrailError("internal", `the ${this.format} text format has no native histograms`);
  }

  timestamp(): number | undefined {
    return this.hasTs ? this.ts : undefined;
  }

  labels(builder: LabelsBuilder): Labels {
    const s = this.s;
    const name = this.metricName();
    if (name === "") throw syntaxError(s, this.start, "empty metric name");
    const r = this.lbls;
    const names = this.names;
    names.length = r.count;
    for (let i = 0; i < r.count; i++) names[i] = r.name(s, i);
    const problem = labelNameProblem(names, METRIC_NAME);
    if (problem !== undefined) throw syntaxError(s, this.start, problem);
    // Prometheus 3 stores bucket bounds and quantiles in OpenMetrics float form (`le="1.0"`).
    const type = this.families.typeOf(s, this.nameStart, this.nameEnd);
    const normalize = type === "histogram" ? "le" : type === "summary" ? "quantile" : "";
    // The builder searches its pairs on each set: fine for real lines, quadratic for a hostile one with thousands
    // of labels, which goes through one sort instead (the names are known to be unique by now).
    if (r.count > MANY_LABELS) {
      const pairs: [string, string][] = [[METRIC_NAME, name]];
      for (let i = 0; i < r.count; i++) pairs.push([names[i], this.labelValue(i, normalize)]);
      return Labels.fromPairs(pairs);
    }
    builder.reset(Labels.EMPTY);
    builder.set(METRIC_NAME, name);
    for (let i = 0; i < r.count; i++) builder.set(names[i], this.labelValue(i, normalize));
    return builder.labels();
  }

  // The value of label `i`, in OpenMetrics float form when the label is `normalize` (`le` or `quantile`).
  private labelValue(i: number, normalize: string): string {
    const v = this.lbls.value(this.s, i);
    if (this.names[i] !== normalize) return v;
    const f = scanFloat(v, 0, v.length);
    return f === undefined ? v : formatOpenMetricsFloat(f);
  }

  labelCount(): number {
    return this.kind === "series" ? this.lbls.count : 0;
  }

  exemplar(): Exemplar | undefined {
    if (!this.hasExemplar) return undefined;
    const s = this.s;
    const r = this.xLbls;
    const pairs: [string, string][] = [];
    for (let i = 0; i < r.count; i++) pairs.push([r.name(s, i), r.value(s, i)]);
    const problem = labelNameProblem(pairs.map((p) => p[0]));
    if (problem !== undefined) throw syntaxError(s, this.start, `exemplar: ${problem}`);
    return { labels: Labels.fromPairs(pairs), value: this.xVal, timestamp: this.xHasTs ? this.xTs : undefined };
  }

  isCreated(): boolean {
    if (this.kind !== "series") return false;
    const s = this.s;
    const at = this.nameEnd - CREATED.length;
    if (at <= this.nameStart || !s.startsWith(CREATED, at)) return false;
    const t = this.families.typeOf(s, this.nameStart, this.nameEnd);
    return t === "counter" || t === "histogram" || t === "summary";
  }

  type(): MetricType {
    if (this.kind === "type") return this.metaType;
    if (this.kind === "series") return this.families.typeOf(this.s, this.nameStart, this.nameEnd);
    return "unknown";
  }

  help(): string {
    return this.kind === "help" ? this.metaText : "";
  }

  unit(): string {
    return this.kind === "unit" ? this.metaText : "";
  }

  comment(): string {
    return this.kind === "comment" ? this.s.slice(this.textStart, this.textEnd) : "";
  }

  metadata(): ReadonlyMap<string, MetricMetadata> {
    return this.families.metadata;
  }
}
