// Series records: the label set behind each series reference. Layout: docs/format/records.md.

import { ContrailError } from "../../model/errors.ts";
import type { StringInterner } from "../../model/intern.ts";
import { compareStrings, Labels } from "../../model/labels.ts";
import { Decbuf } from "../encoding/decbuf.ts";
import type { Encbuf } from "../encoding/encbuf.ts";
import { checkDone, checkRef, expectType, RecordType } from "./record.ts";

/** Read-only series columns: entry `i` says series refs[i] has labels[i]. */
export interface SeriesColumns {
  readonly length: number;
  readonly refs: ArrayLike<number>;
  readonly labels: ArrayLike<Labels>;
}

/** Reusable columns of decoded series; `decodeSeries` overwrites them (the Labels themselves are new objects). */
export class SeriesBatch implements SeriesColumns {
  length = 0;
  refs: number[] = [];
  labels: Labels[] = [];

  /** Empties the batch, keeping its arrays (but not the label sets: they are released for collection). */
  clear(): void {
    this.labels.fill(Labels.EMPTY, 0, this.length);
    this.length = 0;
  }

  /** Appends one series. */
  push(ref: number, labels: Labels): void {
    const i = this.length++;
    this.refs[i] = ref;
    this.labels[i] = labels;
  }
}

/** Appends one Series record holding `s` to `out`: per series its ref as 8-byte big-endian, then its labels. */
export function encodeSeries(out: Encbuf, s: SeriesColumns): void {
  out.putByte(RecordType.Series);
  for (let i = 0; i < s.length; i++) {
    out.putBE64(s.refs[i]);
    encodeLabels(out, s.labels[i]);
  }
}

/** Writes a label set as Prometheus does in records: uvarint count, then name and value as uvarint-prefixed UTF-8. */
export function encodeLabels(out: Encbuf, labels: Labels): void {
  out.putUvarint(labels.size);
  labels.forEach((name, value) => {
    out.putUvarintStr(name);
    out.putUvarintStr(value);
  });
}

/**
 * Decodes a Series record into `into`, replacing its contents; throws `corruption` when malformed. With `interner`,
 * label names and values are replaced by its canonical copies (replay passes the head's interner).
 */
export function decodeSeries(rec: Uint8Array, into: SeriesBatch, interner?: StringInterner): SeriesBatch {
  const dec = new Decbuf(rec);
  expectType(dec, "series", RecordType.Series);
  into.clear();
  while (dec.remaining() > 0 && dec.err() === null) {
    const ref = dec.be64();
    const labels = decodeLabels(dec, interner);
    if (dec.err() !== null) break;
    checkRef(ref, "series");
    into.push(ref, labels);
  }
  checkDone(dec, "series", into.length);
  return into;
}

/**
 * Reads a label set written by `encodeLabels`. Writers store labels sorted by name; a set that is not (or has an
 * empty value or a repeated name) is normalised the way `Labels.fromPairs` does, a repeated name being corruption.
 * On a decoder error the result is meaningless and the caller must check `dec.err()`. Strings go through `interner`
 * when one is given.
 */
export function decodeLabels(dec: Decbuf, interner?: StringInterner): Labels {
  const n = dec.uvarint();
  // Each label takes at least two bytes (two empty strings), which bounds a corrupt count.
  if (dec.err() !== null || n * 2 > dec.remaining()) {
    dec.skip(dec.remaining() + 1); // records the decoder's "invalid size" error
    return Labels.EMPTY;
  }
  const flat: string[] = new Array(2 * n);
  let ordered = true;
  for (let i = 0; i < n; i++) {
    let name = dec.uvarintStr();
    let value = dec.uvarintStr();
    if (interner !== undefined) {
      name = interner.intern(name);
      value = interner.intern(value);
    }
    flat[2 * i] = name;
    flat[2 * i + 1] = value;
    if (value === "" || (i > 0 && compareStrings(flat[2 * i - 2], name) >= 0)) ordered = false;
  }
  if (dec.err() !== null) return Labels.EMPTY;
  if (ordered) return interner !== undefined ? Labels.fromInternedUnchecked(flat) : Labels.fromSortedUnchecked(flat);
  const pairs: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i], flat[i + 1]]);
  try {
    return Labels.fromPairs(pairs);
  } catch (e) {
    throw new ContrailError("corruption", `decode series record: ${(e as Error).message}`, { cause: e });
  }
}
