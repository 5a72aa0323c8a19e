// Checks both remote-write decoders make while they read a request: counts against the request limits (which stop
// the decoding: the request is refused whole with 413), a body of the other protocol version than its Content-Type
// declares (refused whole with 400, never stored as nothing), and metadata texts against their length limit.

import { ContrailError } from "../../model/errors.ts";
import { limitName } from "../../model/limits.ts";
import { PROTO_NAMES, type WriteProto } from "./types.ts";
import { previewText, utf8PrefixEnd, wireString } from "./wire-strings.ts";

/** Throws `too_large` when a request holds `count` series, more than `limit`. */
export function checkSeriesCount(count: number, limit: number): void {
  if (count > limit) {
    throw new ContrailError(
      "too_large",
      `the request holds more than ${limit} series, the limit (${limitName("maxSeriesPerWrite")}); ` +
        "send fewer per request (Prometheus: queue_config.max_samples_per_send)",
    );
  }
}

/** Throws `too_large` when a request holds `count` samples, more than `limit`. */
export function checkSampleCount(count: number, limit: number): void {
  if (count > limit) {
    throw new ContrailError(
      "too_large",
      `the request holds more than ${limit} samples, the limit (${limitName("maxSamplesPerWrite")}); ` +
        "send fewer per request (Prometheus: queue_config.max_samples_per_send)",
    );
  }
}

const FIELD_NAMES: Readonly<Record<WriteProto, Readonly<Record<number, string>>>> = {
  v1: { 1: "timeseries", 3: "metadata" },
  v2: { 4: "symbols", 5: "timeseries" },
};

/**
 * The refusal of a body that carries field `field` of the `other` message at its top level, where the declared
 * message has no such field: a 1.0 body sent as 2.0 or the reverse, which would otherwise decode to nothing.
 */
export function otherVersion(other: WriteProto, field: number): ContrailError {
  const declared: WriteProto = other === "v1" ? "v2" : "v1";
  const type = (p: WriteProto) =>
    p === "v1"
      ? "application/x-protobuf (or proto=prometheus.WriteRequest)"
      : `application/x-protobuf;proto=${PROTO_NAMES.v2}`;
  return new ContrailError(
    "bad_data",
    `the body looks like a Remote-Write ${other === "v1" ? "1.0" : "2.0"} ${PROTO_NAMES[other]} (its top-level ` +
      `field ${field} is ${other === "v1" ? "1.0" : "2.0"}'s ${FIELD_NAMES[other][field]}), but ` +
      `the Content-Type declares ${PROTO_NAMES[declared]}; send it with Content-Type ${type(other)}`,
  );
}

/** A metadata text refused for its length, with the reason for people. */
export interface MetadataRefusal {
  readonly refused: string;
}

/**
 * Reads the metadata text `b[start, end)` (`what`: name, help or unit) under `limit` bytes: a help text is cut to
 * it (at a UTF-8 boundary), a longer name or unit is refused. Null for invalid UTF-8.
 */
export function metadataText(
  b: Buffer,
  start: number,
  end: number,
  what: "name" | "help" | "unit",
  limit: number,
): string | null | MetadataRefusal {
  if (end - start <= limit) return wireString(b, start, end);
  if (what === "help") return wireString(b, start, utf8PrefixEnd(b, start, end, limit));
  return {
    refused:
      `metadata ${what} ${JSON.stringify(previewText(b, start, end))} is ${end - start} bytes long, more than ` +
      `the limit of ${limit} (${limitName("maxMetadataLength")})`,
  };
}
