// A protobuf encoder of ExportMetricsServiceRequest from the plain request of model.ts, for tests and benchmarks:
// what an OpenTelemetry SDK would send for the same data (attributes as string values, times in ns).

import { ProtoWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "../remote/protobuf.ts";
import type {
  Attribute,
  ExpBuckets,
  ExportRequest,
  HistogramPoint,
  Metric,
  NumberPoint,
  PointBase,
  SummaryPoint,
} from "./model.ts";

const NS_PER_MS = 1_000_000n;

/** A request of one gauge point `value` at `timeMs` with point attributes `attrs`, from a resource of service "svc". */
export function gauge(name: string, value: number, timeMs: number, attrs: Attribute[] = []): ExportRequest {
  const point = { attributes: attrs, startMs: 0, timeMs, flags: 0, exemplars: 0, value };
  const metric: Metric = { name, description: "", unit: "", data: { kind: "gauge", points: [point] } };
  return { resources: [{ attributes: [["service.name", "svc"]], scopes: [{ metrics: [metric] }] }] };
}

// Writes the 8 bytes of the unsigned 64-bit `v` (little-endian) through the writer's double, whose bits it keeps.
function raw64(w: ProtoWriter, v: bigint): void {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt.asUintN(64, v), true);
  w.double(view.getFloat64(0, true));
}

function fixed64(w: ProtoWriter, field: number, v: bigint): void {
  w.tag(field, WIRE_FIXED64);
  raw64(w, v);
}

function double(w: ProtoWriter, field: number, v: number): void {
  w.tag(field, WIRE_FIXED64);
  w.double(v);
}

function attributes(w: ProtoWriter, field: number, attrs: readonly Attribute[]): void {
  for (const [k, v] of attrs) {
    const kv = w.begin(field);
    w.tag(1, WIRE_LEN);
    w.string(k);
    const any = w.begin(2);
    w.tag(1, WIRE_LEN);
    w.string(v);
    w.end(any);
    w.end(kv);
  }
}

// Fields every point has; `attrs`, `flags` and `exemplars` are the point type's field numbers.
function base(w: ProtoWriter, p: PointBase, attrs: number, flags: number): void {
  attributes(w, attrs, p.attributes);
  if (p.startMs > 0) fixed64(w, 2, BigInt(p.startMs) * NS_PER_MS);
  fixed64(w, 3, BigInt(p.timeMs) * NS_PER_MS);
  if (p.flags !== 0) {
    w.tag(flags, WIRE_VARINT);
    w.uint32(p.flags);
  }
}

function numberPoint(w: ProtoWriter, p: NumberPoint): void {
  const m = w.begin(1);
  base(w, p, 7, 8);
  if (Number.isInteger(p.value) && Math.abs(p.value) < 2 ** 53) fixed64(w, 6, BigInt(p.value));
  else double(w, 4, p.value);
  w.end(m);
}

function histogramPoint(w: ProtoWriter, p: HistogramPoint): void {
  const m = w.begin(1);
  base(w, p, 9, 10);
  fixed64(w, 4, BigInt(p.count));
  if (p.sum !== undefined) double(w, 5, p.sum);
  if (p.bucketCounts.length > 0) {
    const packed = w.begin(6);
    for (const c of p.bucketCounts) raw64(w, BigInt(c));
    w.end(packed);
  }
  if (p.explicitBounds.length > 0) {
    const packed = w.begin(7);
    for (const b of p.explicitBounds) w.double(b);
    w.end(packed);
  }
  w.end(m);
}

function buckets(w: ProtoWriter, field: number, b: ExpBuckets): void {
  const m = w.begin(field);
  w.tag(1, WIRE_VARINT);
  w.sint64(b.offset);
  const packed = w.begin(2);
  for (const c of b.counts) w.int64(c);
  w.end(packed);
  w.end(m);
}

function summaryPoint(w: ProtoWriter, p: SummaryPoint): void {
  const m = w.begin(1);
  base(w, p, 7, 8);
  fixed64(w, 4, BigInt(p.count));
  double(w, 5, p.sum);
  for (const q of p.quantiles) {
    const qm = w.begin(6);
    double(w, 1, q.quantile);
    double(w, 2, q.value);
    w.end(qm);
  }
  w.end(m);
}

function metric(w: ProtoWriter, m: Metric): void {
  const mm = w.begin(2);
  w.tag(1, WIRE_LEN);
  w.string(m.name);
  if (m.description !== "") {
    w.tag(2, WIRE_LEN);
    w.string(m.description);
  }
  if (m.unit !== "") {
    w.tag(3, WIRE_LEN);
    w.string(m.unit);
  }
  const d = m.data;
  const temporality = (t: number) => {
    w.tag(2, WIRE_VARINT);
    w.uint32(t);
  };
  switch (d.kind) {
    case "gauge": {
      const g = w.begin(5);
      for (const p of d.points) numberPoint(w, p);
      w.end(g);
      break;
    }
    case "sum": {
      const s = w.begin(7);
      for (const p of d.points) numberPoint(w, p);
      temporality(d.temporality);
      w.tag(3, WIRE_VARINT);
      w.uint32(d.monotonic ? 1 : 0);
      w.end(s);
      break;
    }
    case "histogram": {
      const h = w.begin(9);
      for (const p of d.points) histogramPoint(w, p);
      temporality(d.temporality);
      w.end(h);
      break;
    }
    case "exponentialHistogram": {
      const h = w.begin(10);
      for (const p of d.points) {
        const pm = w.begin(1);
        base(w, p, 1, 10);
        fixed64(w, 4, BigInt(p.count));
        if (p.sum !== undefined) double(w, 5, p.sum);
        w.tag(6, WIRE_VARINT);
        w.sint64(p.scale);
        fixed64(w, 7, BigInt(p.zeroCount));
        buckets(w, 8, p.positive);
        buckets(w, 9, p.negative);
        if (p.zeroThreshold !== 0) double(w, 14, p.zeroThreshold);
        w.end(pm);
      }
      temporality(d.temporality);
      w.end(h);
      break;
    }
    case "summary": {
      const s = w.begin(11);
      for (const p of d.points) summaryPoint(w, p);
      w.end(s);
      break;
    }
    case "empty":
      break;
  }
  w.end(mm);
}

/** The protobuf ExportMetricsServiceRequest of `req` (a fresh copy). */
export function encodeExportRequest(req: ExportRequest): Uint8Array {
  const w = new ProtoWriter();
  for (const r of req.resources) {
    const rm = w.begin(1);
    const res = w.begin(1);
    attributes(w, 1, r.attributes);
    w.end(res);
    for (const s of r.scopes) {
      const sm = w.begin(2);
      for (const m of s.metrics) metric(w, m);
      w.end(sm);
    }
    w.end(rm);
  }
  return w.finish().slice();
}
