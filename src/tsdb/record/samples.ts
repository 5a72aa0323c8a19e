// Samples records: float samples as columns (series ref, timestamp ms, value). Contrail writes the V1 layout (type 2)
// and reads V1 and Prometheus's V2 (type 11, which adds a start time Contrail ignores). Layout: docs/format/records.md.

import { Decbuf } from "../encoding/decbuf.ts";
import type { Encbuf } from "../encoding/encbuf.ts";
import { checkDone, checkRef, expectType, growFloat64, RecordType } from "./record.ts";

/** Read-only sample columns: entry `i` is (refs[i], ts[i] in ms, vs[i]) for i < length. */
export interface SampleColumns {
  readonly length: number;
  readonly refs: ArrayLike<number>;
  readonly ts: ArrayLike<number>;
  readonly vs: ArrayLike<number>;
}

/** Reusable columns of decoded samples; `decodeSamples` overwrites them. The arrays may be longer than `length`. */
export class SampleBatch implements SampleColumns {
  length = 0;
  refs = new Float64Array(64);
  ts = new Float64Array(64);
  vs = new Float64Array(64);

  /** Empties the batch, keeping its arrays. */
  clear(): void {
    this.length = 0;
  }

  /** Makes room for `n` samples in total, keeping the current ones. */
  reserve(n: number): void {
    this.refs = growFloat64(this.refs, n, this.length);
    this.ts = growFloat64(this.ts, n, this.length);
    this.vs = growFloat64(this.vs, n, this.length);
  }

  /** Appends one sample. */
  push(ref: number, t: number, v: number): void {
    if (this.length === this.refs.length) this.reserve(this.length + 1);
    const i = this.length++;
    this.refs[i] = ref;
    this.ts[i] = t;
    this.vs[i] = v;
  }
}

/**
 * Appends one Samples (V1) record holding `s` to `out`: the first ref and timestamp as 8-byte big-endian, then per
 * sample the varint deltas from them and the value's float64 bits. Refs must be safe non-negative integers.
 */
export function encodeSamples(out: Encbuf, s: SampleColumns): void {
  out.putByte(RecordType.Samples);
  if (s.length === 0) return;
  const ref0 = s.refs[0];
  const t0 = s.ts[0];
  out.putBE64(ref0);
  out.putBE64Int(t0);
  out.putSampleDeltas(s.refs, s.ts, s.vs, s.length, ref0, t0);
}

/** Decodes a Samples record (V1 or V2) into `into`, replacing its contents; throws `corruption` when malformed. */
export function decodeSamples(rec: Uint8Array, into: SampleBatch): SampleBatch {
  const dec = new Decbuf(rec);
  const typ = expectType(dec, "samples", RecordType.Samples, RecordType.SamplesV2);
  into.clear();
  if (dec.remaining() === 0) return into;
  // Each sample takes at least 10 bytes (two one-byte varints and the value).
  into.reserve(Math.ceil(dec.remaining() / 10));
  if (typ === RecordType.Samples) decodeV1(dec, into);
  else decodeV2(dec, into);
  checkDone(dec, "samples", into.length);
  return into;
}

function decodeV1(dec: Decbuf, into: SampleBatch): void {
  const ref0 = dec.be64();
  const t0 = dec.be64Int();
  while (dec.remaining() > 0 && dec.err() === null) {
    const ref = ref0 + dec.varint();
    const t = t0 + dec.varint();
    const v = dec.be64Float();
    if (dec.err() !== null) break;
    checkRef(ref, "samples");
    into.push(ref, t, v);
  }
}

// V2 start-time markers: 0 none, 1 same as the previous sample; any other value is followed by a varint delta.
const ST_NONE = 0;
const ST_SAME = 1;

function decodeV2(dec: Decbuf, into: SampleBatch): void {
  let prevRef = 0;
  let t0 = 0;
  while (dec.remaining() > 0 && dec.err() === null) {
    let ref: number;
    let t: number;
    if (into.length === 0) {
      ref = dec.varint();
      t0 = dec.varint();
      t = t0;
      dec.varint(); // first start time
    } else {
      ref = prevRef + dec.varint();
      t = t0 + dec.varint();
      const marker = dec.byte();
      if (marker !== ST_NONE && marker !== ST_SAME) dec.varint();
    }
    const v = dec.be64Float();
    if (dec.err() !== null) break;
    checkRef(ref, "samples");
    into.push(ref, t, v);
    prevRef = ref;
  }
}
