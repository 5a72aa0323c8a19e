// Renders metric families in the protobuf exposition format (delimited MetricFamily messages, client_model's
// metrics.proto; proto-metric.ts has the message layout), as client_golang writes it: one Metric per label set,
// histograms and summaries as one Metric holding their count, sum, buckets or quantiles. A histogram family's
// native histogram samples (`FamilySample.histogram`) go into the Metric of their label set beside its classic
// buckets; the +Inf bucket is left out (readers add it back from the count). Families in name order.

import type { BucketSpan, Histogram } from "../model/histogram.ts";
import { compareStrings, type Labels, LabelsBuilder, METRIC_NAME } from "../model/labels.ts";
import { ProtoWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "../model/protobuf.ts";
import { scanFloat } from "./float.ts";
import type { MetricType } from "./types.ts";
import type { FamilySample, MetricFamily } from "./writer.ts";

/** client_model's MetricType numbers. */
const TYPE_NUMBERS: Readonly<Partial<Record<MetricType, number>>> = {
  counter: 0,
  gauge: 1,
  summary: 2,
  unknown: 3,
  histogram: 4,
  gaugehistogram: 5,
};
const UNTYPED = 3;

/**
 * The parts of one Metric message: its labels (`__name__` is never written), then `extra` label pairs after them;
 * the untyped, gauge or counter `value`; a histogram's count, sum, classic buckets (upper bound, cumulative count;
 * the +Inf bucket is left out) and native histogram; a summary's quantiles.
 */
export interface ProtoMetric {
  readonly labels: Labels;
  readonly extra?: readonly (readonly [string, string])[];
  value: number;
  timestampMs: number | undefined;
  count: number;
  sum: number;
  readonly buckets: [number, number][];
  readonly quantiles: [number, number][];
  native: Histogram | undefined;
}

/** The name, type and texts of one MetricFamily message. */
export interface FamilyHead {
  readonly name: string;
  readonly type: MetricType;
  readonly help?: string;
  readonly unit?: string;
}

function double(w: ProtoWriter, field: number, v: number): void {
  w.tag(field, WIRE_FIXED64);
  w.double(v);
}

function varint(w: ProtoWriter, field: number, v: number): void {
  w.tag(field, WIRE_VARINT);
  w.int64(v);
}

function spans(w: ProtoWriter, field: number, list: readonly BucketSpan[]): void {
  for (const s of list) {
    const m = w.begin(field);
    w.tag(1, WIRE_VARINT);
    w.sint64(s.offset);
    w.tag(2, WIRE_VARINT);
    w.uint32(s.length);
    w.end(m);
  }
}

function counts(
  w: ProtoWriter,
  deltaField: number,
  countField: number,
  h: Histogram,
  buckets: readonly number[],
): void {
  if (buckets.length === 0) return;
  if (h.integer) {
    const m = w.begin(deltaField);
    let prev = 0;
    for (const c of buckets) {
      w.sint64(c - prev);
      prev = c;
    }
    w.end(m);
  } else {
    w.tag(countField, WIRE_LEN);
    w.uint32(buckets.length * 8);
    for (const c of buckets) w.double(c);
  }
}

// The native fields of client_model's Histogram (5..14).
function nativeFields(w: ProtoWriter, h: Histogram): void {
  w.tag(5, WIRE_VARINT);
  w.sint64(h.schema);
  double(w, 6, h.zeroThreshold);
  if (h.integer) varint(w, 7, h.zeroCount);
  else double(w, 8, h.zeroCount);
  spans(w, 9, h.negativeSpans);
  counts(w, 10, 11, h, h.negativeBuckets);
  // A span of no buckets marks a native histogram that has no observation yet and no zero threshold.
  const positive = h.positiveSpans.length === 0 && h.zeroThreshold === 0 ? [{ offset: 0, length: 0 }] : h.positiveSpans;
  spans(w, 12, positive);
  counts(w, 13, 14, h, h.positiveBuckets);
}

function labelPair(w: ProtoWriter, name: string, value: string): void {
  const l = w.begin(1);
  w.tag(1, WIRE_LEN);
  w.string(name);
  w.tag(2, WIRE_LEN);
  w.string(value);
  w.end(l);
}

function writeMetric(w: ProtoWriter, type: MetricType, p: ProtoMetric): void {
  const m = w.begin(4);
  p.labels.forEach((name, value) => {
    if (name !== METRIC_NAME) labelPair(w, name, value);
  });
  for (const [name, value] of p.extra ?? []) labelPair(w, name, value);
  if (type === "histogram" || type === "gaugehistogram") {
    const h = w.begin(7);
    const integer = p.native?.integer ?? Number.isInteger(p.count);
    if (integer) varint(w, 1, p.count);
    else double(w, 4, p.count);
    double(w, 2, p.sum);
    for (const [bound, count] of p.buckets) {
      if (bound === Number.POSITIVE_INFINITY) continue;
      const b = w.begin(3);
      if (Number.isInteger(count)) varint(w, 1, count);
      else double(w, 4, count);
      double(w, 2, bound);
      w.end(b);
    }
    if (p.native !== undefined) nativeFields(w, p.native);
    w.end(h);
  } else if (type === "summary") {
    const s = w.begin(4);
    varint(w, 1, p.count);
    double(w, 2, p.sum);
    for (const [q, v] of p.quantiles) {
      const x = w.begin(3);
      double(w, 1, q);
      double(w, 2, v);
      w.end(x);
    }
    w.end(s);
  } else {
    const field = type === "counter" ? 3 : type === "gauge" ? 2 : 5;
    const v = w.begin(field);
    double(w, 1, p.value);
    w.end(v);
  }
  if (p.timestampMs !== undefined) varint(w, 6, p.timestampMs);
  w.end(m);
}

// The bound of an `le` or `quantile` label, NaN when missing or not a number.
function boundOf(text: string): number {
  return text === "" ? Number.NaN : (scanFloat(text, 0, text.length) ?? Number.NaN);
}

// Groups a family's samples into Metric parts by their labels without `__name__`, `le` and `quantile`.
function group(f: MetricFamily): ProtoMetric[] {
  const b = new LabelsBuilder();
  const byKey = new Map<string, ProtoMetric>();
  const add = (s: FamilySample): void => {
    const labels = b.reset(s.labels).del(METRIC_NAME, "le", "quantile").labels();
    const key = labels.toString();
    let p = byKey.get(key);
    if (p === undefined) {
      p = {
        labels,
        value: 0,
        timestampMs: s.timestampMs,
        count: 0,
        sum: 0,
        buckets: [],
        quantiles: [],
        native: undefined,
      };
      byKey.set(key, p);
    }
    const name = s.name ?? (s.labels.get(METRIC_NAME) || f.name);
    if (s.histogram !== undefined) {
      p.native = s.histogram;
      p.count = s.histogram.count;
      p.sum = s.histogram.sum;
    } else if (name === `${f.name}_bucket`) p.buckets.push([boundOf(s.labels.get("le")), s.value]);
    else if (name === `${f.name}_sum`) p.sum = s.value;
    else if (name === `${f.name}_count`) p.count = s.value;
    else if (f.type === "summary" && s.labels.get("quantile") !== "") {
      p.quantiles.push([boundOf(s.labels.get("quantile")), s.value]);
    } else p.value = s.value;
  };
  for (const s of f.samples) add(s);
  const out = [...byKey.values()];
  for (const p of out) p.buckets.sort((x, y) => x[0] - y[0]);
  return out.sort((x, y) => x.labels.compare(y.labels));
}

/**
 * Builds a body of delimited MetricFamily messages one family at a time, each holding exactly the metrics given, in
 * their order (no grouping, unlike {@link writeProtobuf}). Owns its buffers; `finish` returns a new one.
 */
export class ProtobufFamilyWriter {
  private readonly prefix = new ProtoWriter(16);
  private readonly body = new ProtoWriter(4096);
  private readonly out: Uint8Array[] = [];
  private bytes = 0;

  /** Bytes added so far. */
  get length(): number {
    return this.bytes;
  }

  /** Adds one MetricFamily message of `head` holding `metrics`. */
  add(head: FamilyHead, metrics: readonly ProtoMetric[]): void {
    const body = this.body;
    body.reset();
    body.tag(1, WIRE_LEN);
    body.string(head.name);
    if (head.help !== undefined && head.help !== "") {
      body.tag(2, WIRE_LEN);
      body.string(head.help);
    }
    const type = TYPE_NUMBERS[head.type] ?? UNTYPED;
    varint(body, 3, type);
    const kind: MetricType = type === UNTYPED ? "unknown" : head.type;
    for (const p of metrics) writeMetric(body, kind, p);
    if (head.unit !== undefined && head.unit !== "") {
      body.tag(5, WIRE_LEN);
      body.string(head.unit);
    }
    const msg = body.finish();
    this.prefix.reset();
    this.prefix.uint32(msg.length);
    const prefix = this.prefix.finish().slice();
    this.out.push(prefix, msg.slice());
    this.bytes += prefix.length + msg.length;
  }

  /** The messages added so far, in one new buffer. */
  finish(): Uint8Array {
    return Buffer.concat(this.out, this.bytes);
  }
}

/** Renders `families` as delimited MetricFamily messages. Returns a new buffer. */
export function writeProtobuf(families: readonly MetricFamily[]): Uint8Array {
  const w = new ProtobufFamilyWriter();
  for (const f of [...families].sort((x, y) => compareStrings(x.name, y.name))) w.add(f, group(f));
  return w.finish();
}
