// A streaming reader of OpenMetrics text with timestamps: the input of `contrail tsdb import` (and of
// `promtool tsdb create-blocks-from openmetrics`). Lines are parsed one at a time as OpenMetrics 1.0 defines them
// (`# HELP|TYPE|UNIT`, samples `name{labels} value [timestamp] [# exemplar]`, a final `# EOF`), with the quoted
// UTF-8 names Prometheus 3 also accepts. Timestamps are seconds (floats) and become ms as Prometheus converts them
// (multiplied by 1000, truncated). Every problem throws `parse_error` naming the line.

import { isUtf8 } from "node:buffer";
import { createReadStream } from "node:fs";
import { ContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { floatFromBits } from "../encoding/float-bits.ts";

/** The NaN Prometheus stores for a parsed "NaN" (bits 0x7ff8000000000001), distinct from the staleness marker. */
export const NORMAL_NAN = floatFromBits(0x7ff80000, 0x00000001);

const METRIC_TYPES = new Set([
  "counter",
  "gauge",
  "histogram",
  "gaugehistogram",
  "summary",
  "info",
  "stateset",
  "unknown",
]);

/** Receives each sample: its labels (shared between samples of one series), time in ms, value, 1-based line. */
export type SampleSink = (labels: Labels, tMs: number, value: number, line: number) => void;

/** Options of `readOpenMetricsFile`. */
export interface ReadOptions {
  /** Called for every sample, in file order. */
  readonly onSample: SampleSink;
  /** Reject samples without a timestamp (the import needs them). Default true. */
  readonly requireTimestamps?: boolean;
  /** Called after each chunk of the file with the bytes read so far. */
  readonly onProgress?: (bytesRead: number) => void;
}

/** Totals of one read. */
export interface ReadSummary {
  readonly lines: number;
  readonly samples: number;
  readonly bytes: number;
}

/** Reads the OpenMetrics file `path` from start to `# EOF`, streaming, and hands every sample to `onSample`. */
export async function readOpenMetricsFile(path: string, opts: ReadOptions): Promise<ReadSummary> {
  const parser = new OpenMetricsLineParser(opts.requireTimestamps ?? true);
  let rest: Buffer | null = null;
  let bytes = 0;
  let line = 0;
  let samples = 0;
  const sink = opts.onSample;
  const handle = (buf: Buffer, start: number, end: number) => {
    line++;
    if (!isUtf8(buf.subarray(start, end))) throw lineError(line, "invalid UTF-8");
    const e = parser.parse(buf.toString("utf8", start, end), line);
    if (e !== null) {
      samples++;
      sink(e.labels, e.t, e.v, line);
    }
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    let buf = chunk as Buffer;
    bytes += buf.length;
    if (rest !== null) {
      buf = Buffer.concat([rest, buf]);
      rest = null;
    }
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      handle(buf, start, nl);
      start = nl + 1;
    }
    if (start < buf.length) rest = buf.subarray(start);
    opts.onProgress?.(bytes);
  }
  if (rest !== null && rest.length > 0) {
    // Only "# EOF" may end without a newline.
    handle(rest, 0, rest.length);
  }
  if (!parser.sawEof) throw lineError(line + 1, "data does not end with # EOF");
  return { lines: line, samples, bytes };
}

function lineError(line: number, msg: string, text?: string): ContrailError {
  const shown = text === undefined ? "" : `: ${JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text)}`;
  return new ContrailError("parse_error", `line ${line}: ${msg}${shown}`);
}

/** One parsed sample. */
export interface ParsedSample {
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
}

/**
 * Parses OpenMetrics lines in order, keeping what spans lines: whether `# EOF` was seen and a cache of the label
 * sets of series already met (their text maps to one shared Labels).
 */
export class OpenMetricsLineParser {
  /** True once the `# EOF` line was parsed. */
  sawEof = false;
  private readonly requireTs: boolean;
  private readonly seen = new Map<string, Labels>();
  private line = 0;
  private text = "";
  private pos = 0;

  /** A parser; with `requireTimestamps` a sample without a timestamp is an error. */
  constructor(requireTimestamps: boolean) {
    this.requireTs = requireTimestamps;
  }

  /** Parses one line (without its newline); returns the sample it holds, or null for metadata and `# EOF`. */
  parse(text: string, line: number): ParsedSample | null {
    this.line = line;
    this.text = text;
    this.pos = 0;
    if (this.sawEof) throw this.fail("unexpected data after # EOF");
    if (text.length === 0) throw this.fail("empty line");
    if (text.charCodeAt(0) === 0x23) {
      this.comment();
      return null;
    }
    return this.sample();
  }

  private fail(msg: string): ContrailError {
    return lineError(this.line, msg, this.text);
  }

  private comment(): void {
    const t = this.text;
    if (t === "# EOF") {
      this.sawEof = true;
      return;
    }
    const m = /^# (HELP|TYPE|UNIT) /.exec(t);
    if (m === null) throw this.fail("expected # HELP, # TYPE, # UNIT or # EOF");
    this.pos = m[0].length;
    let name: string;
    if (t.charCodeAt(this.pos) === 0x22) name = this.quoted("metric name");
    else name = this.token(isMetricNameChar);
    if (name === "") throw this.fail(`expected metric name after ${m[1]}`);
    if (this.pos === t.length) {
      if (m[1] === "HELP" || m[1] === "UNIT") return;
      throw this.fail(`expected text in ${m[1]}`);
    }
    if (t.charCodeAt(this.pos) !== 0x20) throw this.fail(`expected text in ${m[1]}`);
    const rest = t.slice(this.pos + 1);
    if (m[1] === "TYPE" && !METRIC_TYPES.has(rest)) throw this.fail(`invalid metric type ${JSON.stringify(rest)}`);
    if (m[1] === "UNIT" && rest !== "" && !(name.endsWith(`_${rest}`) && name.length > rest.length + 1)) {
      throw this.fail(`unit ${JSON.stringify(rest)} not a suffix of metric ${JSON.stringify(name)}`);
    }
  }

  private sample(): ParsedSample {
    const t = this.text;
    // The series part: a name and optional labels, or labels holding a quoted name.
    let end: number;
    if (t.charCodeAt(0) === 0x7b) {
      end = this.seriesEnd(0);
    } else {
      this.token(isMetricNameChar);
      if (this.pos === 0) throw this.fail("expected a metric name, a label set or a comment");
      end = t.charCodeAt(this.pos) === 0x7b ? this.seriesEnd(this.pos) : this.pos;
    }
    const series = t.slice(0, end);
    let labels = this.seen.get(series);
    if (labels === undefined) {
      labels = this.parseSeries(series);
      this.seen.set(series, labels);
    }
    this.pos = end;
    if (t.charCodeAt(this.pos) !== 0x20) throw this.fail("expected a space and a value after the series");
    this.pos++;
    const v = parseGoFloat(this.field(), "value", this);
    let ts: number | null = null;
    if (this.pos < t.length && !t.startsWith(" # ", this.pos)) {
      if (t.charCodeAt(this.pos) !== 0x20) throw this.fail("expected a space before the timestamp");
      this.pos++;
      const sec = parseGoFloat(this.field(), "timestamp", this);
      if (!Number.isFinite(sec)) throw this.fail(`invalid timestamp ${sec}`);
      ts = Math.trunc(sec * 1000);
      if (!Number.isSafeInteger(ts)) throw this.fail("timestamp out of range");
    }
    if (this.pos < t.length) this.exemplar();
    if (ts === null) {
      if (this.requireTs) throw this.fail(`expected a timestamp for series ${labels.toString()}`);
      ts = Number.NaN;
    }
    return { labels, t: ts, v: Number.isNaN(v) ? NORMAL_NAN : v };
  }

  // The index just after the `}` closing the label set that opens at `open`, honouring quoted strings.
  private seriesEnd(open: number): number {
    const t = this.text;
    let inQuote = false;
    for (let i = open + 1; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (inQuote) {
        if (c === 0x5c) i++;
        else if (c === 0x22) inQuote = false;
      } else if (c === 0x22) {
        inQuote = true;
      } else if (c === 0x7d) {
        return i + 1;
      }
    }
    throw this.fail("unterminated label set");
  }

  private parseSeries(series: string): Labels {
    const saved = this.pos;
    this.pos = 0;
    const pairs: [string, string][] = [];
    let name = "";
    if (series.charCodeAt(0) !== 0x7b) name = this.token(isMetricNameChar);
    if (this.pos < series.length) {
      const quotedName = this.labelSet(pairs, true);
      if (quotedName !== null) {
        if (name !== "") throw this.fail("metric name given twice");
        name = quotedName;
      }
    }
    if (name === "") throw this.fail("metric name not set");
    this.pos = saved;
    const seen = new Set<string>(["__name__"]);
    for (const [n] of pairs) {
      if (seen.has(n)) throw this.fail(`duplicate label name ${JSON.stringify(n)}`);
      seen.add(n);
    }
    pairs.push(["__name__", name]);
    return Labels.fromPairs(pairs);
  }

  // Parses `{a="x",…}` at pos into `out`; returns a bare quoted metric name found inside (when allowed), else null.
  private labelSet(out: [string, string][], allowName: boolean): string | null {
    const t = this.text;
    if (t.charCodeAt(this.pos) !== 0x7b) throw this.fail("expected {");
    this.pos++;
    let metricName: string | null = null;
    for (;;) {
      if (t.charCodeAt(this.pos) === 0x7d) {
        this.pos++;
        return metricName;
      }
      let name: string;
      const quoted = t.charCodeAt(this.pos) === 0x22;
      if (quoted) name = this.quoted("label name");
      else name = this.token(isLabelNameChar);
      if (name === "") throw this.fail("expected label name");
      if (!quoted && name.charCodeAt(0) >= 0x30 && name.charCodeAt(0) <= 0x39) throw this.fail("expected label name");
      const c = t.charCodeAt(this.pos);
      if (quoted && (c === 0x2c || c === 0x7d)) {
        if (!allowName) throw this.fail("expected label name");
        if (metricName !== null) throw this.fail("metric name already set");
        metricName = name;
      } else {
        if (c !== 0x3d) throw this.fail("expected equal");
        this.pos++;
        if (t.charCodeAt(this.pos) !== 0x22) throw this.fail("expected label value");
        out.push([name, this.quoted("label value")]);
      }
      const d = t.charCodeAt(this.pos);
      if (d === 0x2c) this.pos++;
      else if (d !== 0x7d) throw this.fail("expected comma or brace close");
    }
  }

  // ` # {labels} value [timestamp]` after a sample.
  private exemplar(): void {
    const t = this.text;
    if (!t.startsWith(" # ", this.pos)) throw this.fail("expected next entry after timestamp");
    this.pos += 3;
    this.labelSet([], false);
    if (t.charCodeAt(this.pos) !== 0x20) throw this.fail("expected a space and a value after the exemplar labels");
    this.pos++;
    parseGoFloat(this.field(), "exemplar value", this);
    if (this.pos < t.length) {
      if (t.charCodeAt(this.pos) !== 0x20) throw this.fail("expected timestamp or end of line after the exemplar");
      this.pos++;
      const ts = parseGoFloat(this.field(), "exemplar timestamp", this);
      if (!Number.isFinite(ts)) throw this.fail(`invalid exemplar timestamp ${ts}`);
      if (this.pos < t.length) throw this.fail("expected end of line after the exemplar timestamp");
    }
  }

  // A run of non-space characters at pos.
  private field(): string {
    const t = this.text;
    const start = this.pos;
    while (this.pos < t.length && t.charCodeAt(this.pos) !== 0x20) this.pos++;
    return t.slice(start, this.pos);
  }

  private token(ok: (c: number, first: boolean) => boolean): string {
    const t = this.text;
    const start = this.pos;
    while (this.pos < t.length && ok(t.charCodeAt(this.pos), this.pos === start)) this.pos++;
    return t.slice(start, this.pos);
  }

  // A double-quoted string at pos with OpenMetrics escapes (\\, \", \n); other escapes stay as written.
  private quoted(what: string): string {
    const t = this.text;
    let out = "";
    let from = ++this.pos;
    for (; this.pos < t.length; this.pos++) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        out += t.slice(from, this.pos);
        this.pos++;
        return out;
      }
      if (c === 0x5c) {
        const n = t.charCodeAt(this.pos + 1);
        if (Number.isNaN(n)) break;
        out += t.slice(from, this.pos);
        out += n === 0x6e ? "\n" : n === 0x5c ? "\\" : n === 0x22 ? '"' : t.slice(this.pos, this.pos + 2);
        this.pos++;
        from = this.pos + 1;
      }
    }
    throw this.fail(`unterminated ${what}`);
  }

  /** Error for the current line (used by the float parser). */
  error(msg: string): ContrailError {
    return this.fail(msg);
  }
}

function isMetricNameChar(c: number, first: boolean): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    c === 0x5f ||
    c === 0x3a ||
    (!first && c >= 0x30 && c <= 0x39)
  );
}

function isLabelNameChar(c: number, first: boolean): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || (!first && c >= 0x30 && c <= 0x39);
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INF = /^[+-]?(?:inf|infinity)$/i;
const NAN = /^[+-]?nan$/i;

/** Parses a float the way Prometheus's text parsers do (Go's ParseFloat without hex floats or underscores). */
export function parseGoFloat(s: string, what: string, p: { error(msg: string): ContrailError }): number {
  if (DECIMAL.test(s)) {
    const v = Number(s);
    if (!Number.isFinite(v)) throw p.error(`${what} ${JSON.stringify(s)} out of range`);
    return v;
  }
  if (INF.test(s)) return s.charCodeAt(0) === 0x2d ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (NAN.test(s)) return Number.NaN;
  throw p.error(s === "" ? `expected ${what}` : `invalid ${what} ${JSON.stringify(s)}`);
}
