// Metadata records: the TYPE, UNIT and HELP of series, as scraped. Layout: docs/format/records.md.

import { Decbuf } from "../encoding/decbuf.ts";
import type { Encbuf } from "../encoding/encbuf.ts";
import { checkDone, checkRef, expectType, RecordType } from "./record.ts";

/** A metric type as the Prometheus API names it. */
export type MetricType =
  | "unknown"
  | "counter"
  | "gauge"
  | "histogram"
  | "gaugehistogram"
  | "summary"
  | "info"
  | "stateset";

// Index = the type byte stored in the record.
const TYPES: readonly MetricType[] = [
  "unknown",
  "counter",
  "gauge",
  "histogram",
  "gaugehistogram",
  "summary",
  "info",
  "stateset",
];

/** The type byte stored for `t`. */
export function metricTypeByte(t: MetricType): number {
  switch (t) {
    case "unknown":
      return 0;
    case "counter":
      return 1;
    case "gauge":
      return 2;
    case "histogram":
      return 3;
    case "gaugehistogram":
      return 4;
    case "summary":
      return 5;
    case "info":
      return 6;
    case "stateset":
      return 7;
  }
}

/** The metric type of a stored type byte; bytes Contrail does not know read as "unknown", as in Prometheus. */
export function metricTypeFromByte(b: number): MetricType {
  return TYPES[b] ?? "unknown";
}

/** Field names of the name/value list in a metadata entry. */
const UNIT = "UNIT";
const HELP = "HELP";

/** Read-only metadata columns: entry `i` is the metadata of series refs[i]. */
export interface MetadataColumns {
  readonly length: number;
  readonly refs: ArrayLike<number>;
  readonly types: ArrayLike<MetricType>;
  readonly units: ArrayLike<string>;
  readonly helps: ArrayLike<string>;
}

/** Reusable columns of decoded metadata; `decodeMetadata` overwrites them. */
export class MetadataBatch implements MetadataColumns {
  length = 0;
  refs: number[] = [];
  types: MetricType[] = [];
  units: string[] = [];
  helps: string[] = [];

  /** Empties the batch, keeping its arrays. */
  clear(): void {
    this.length = 0;
  }

  /** Appends one entry. */
  push(ref: number, type: MetricType, unit: string, help: string): void {
    const i = this.length++;
    this.refs[i] = ref;
    this.types[i] = type;
    this.units[i] = unit;
    this.helps[i] = help;
  }
}

/**
 * Appends one Metadata record holding `m` to `out`. Each entry: uvarint ref, type byte, then a counted list of
 * name/value string pairs, always UNIT and HELP (in that order) as Prometheus writes them.
 */
export function encodeMetadata(out: Encbuf, m: MetadataColumns): void {
  out.putByte(RecordType.Metadata);
  for (let i = 0; i < m.length; i++) {
    out.putUvarint(m.refs[i]);
    out.putByte(metricTypeByte(m.types[i]));
    out.putUvarint(2);
    out.putUvarintStr(UNIT);
    out.putUvarintStr(m.units[i]);
    out.putUvarintStr(HELP);
    out.putUvarintStr(m.helps[i]);
  }
}

/**
 * Decodes a Metadata record into `into`, replacing its contents; fields other than UNIT and HELP are skipped (newer
 * writers may add some). Throws `corruption` when malformed.
 */
export function decodeMetadata(rec: Uint8Array, into: MetadataBatch): MetadataBatch {
  const dec = new Decbuf(rec);
  expectType(dec, "metadata", RecordType.Metadata);
  into.clear();
  while (dec.remaining() > 0 && dec.err() === null) {
    const ref = dec.uvarint();
    const typ = dec.byte();
    const fields = dec.uvarint();
    let unit = "";
    let help = "";
    for (let f = 0; f < fields && dec.err() === null; f++) {
      const name = dec.uvarintStr();
      const value = dec.uvarintStr();
      if (name === UNIT) unit = value;
      else if (name === HELP) help = value;
    }
    if (dec.err() !== null) break;
    checkRef(ref, "metadata");
    into.push(ref, metricTypeFromByte(typ), unit, help);
  }
  checkDone(dec, "metadata", into.length);
  return into;
}
