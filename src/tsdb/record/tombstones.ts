// Tombstones records: deleted time ranges of series, one (ref, mint, maxt) entry per interval. Layout:
// docs/format/records.md.

import { Decbuf } from "../encoding/decbuf.ts";
import type { Encbuf } from "../encoding/encbuf.ts";
import { checkDone, checkRef, expectType, growFloat64, RecordType } from "./record.ts";

/**
 * Read-only tombstone columns: entry `i` deletes samples of series refs[i] with mints[i] <= t <= maxts[i] (ms).
 * ±2^63 stand for Prometheus's MinInt64 / MaxInt64 (open-ended deletions) and round-trip exactly.
 */
export interface TombstoneColumns {
  readonly length: number;
  readonly refs: ArrayLike<number>;
  readonly mints: ArrayLike<number>;
  readonly maxts: ArrayLike<number>;
}

/** Reusable columns of decoded tombstones; `decodeTombstones` overwrites them. */
export class TombstoneBatch implements TombstoneColumns {
  length = 0;
  refs = new Float64Array(16);
  mints = new Float64Array(16);
  maxts = new Float64Array(16);

  /** Empties the batch, keeping its arrays. */
  clear(): void {
    this.length = 0;
  }

  /** Appends one deleted interval. */
  push(ref: number, mint: number, maxt: number): void {
    if (this.length === this.refs.length) {
      const n = this.length + 1;
      this.refs = growFloat64(this.refs, n, this.length);
      this.mints = growFloat64(this.mints, n, this.length);
      this.maxts = growFloat64(this.maxts, n, this.length);
    }
    const i = this.length++;
    this.refs[i] = ref;
    this.mints[i] = mint;
    this.maxts[i] = maxt;
  }
}

/** Appends one Tombstones record holding `s` to `out`: per entry the ref as 8-byte big-endian and two varints. */
export function encodeTombstones(out: Encbuf, s: TombstoneColumns): void {
  out.putByte(RecordType.Tombstones);
  for (let i = 0; i < s.length; i++) {
    out.putBE64(s.refs[i]);
    out.putVarint(s.mints[i]);
    out.putVarint(s.maxts[i]);
  }
}

/** Decodes a Tombstones record into `into`, replacing its contents; throws `corruption` when malformed. */
export function decodeTombstones(rec: Uint8Array, into: TombstoneBatch): TombstoneBatch {
  const dec = new Decbuf(rec);
  expectType(dec, "tombstones", RecordType.Tombstones);
  into.clear();
  while (dec.remaining() > 0 && dec.err() === null) {
    const ref = dec.be64();
    const mint = dec.varint();
    const maxt = dec.varint();
    if (dec.err() !== null) break;
    checkRef(ref, "tombstones");
    into.push(ref, mint, maxt);
  }
  checkDone(dec, "tombstones", into.length);
  return into;
}
