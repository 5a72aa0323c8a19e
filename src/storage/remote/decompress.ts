// Decompressing a remote-write body under the org's size limit: the size the snappy header declares is checked
// against the limit, and against what the compressed size can hold, before any buffer is allocated. Stateless but
// for the decoder's buffer, so it runs on the thread that owns the storage or in an ingest decode worker alike,
// with the same refusals.

import type { ErrorCode } from "../../model/errors.ts";
import { limitName } from "../../model/limits.ts";
import { type SnappyDecoder, snappyDecodedLength } from "../../tsdb/encoding/snappy.ts";

/**
 * The most a snappy block can expand: its densest element is a 3-byte copy of 64 bytes. A header declaring more
 * than this times the body's size is a lie, refused before its buffer is allocated.
 */
const SNAPPY_MAX_RATIO = 64 / 3;

/** A refusal before decoding: the status, the error code and the message for the sender. */
export interface EarlyRefusal {
  readonly status: 400 | 413 | 415;
  readonly code: ErrorCode;
  readonly message: string;
}

/**
 * Decompresses the snappy `body` with `snappy` under `maxWriteBytes` (the size its header declares is checked
 * before any buffer is allocated). Returns the message (a view `snappy` owns until its next call) or the refusal.
 * Needs no state but the decoder's buffer, so it runs on the main thread or in an ingest decode worker alike.
 */
export function decompressWrite(
  body: Uint8Array,
  maxWriteBytes: number,
  snappy: SnappyDecoder,
): Uint8Array | EarlyRefusal {
  try {
    const size = snappyDecodedLength(body);
    if (size > maxWriteBytes) {
      return {
        status: 413,
        code: "too_large",
        message:
          `decompressed body of ${size} bytes (as its snappy header declares) would exceed the limit of ` +
          `${maxWriteBytes} (${limitName("maxWriteBytes")})`,
      };
    }
    if (size > Math.ceil(body.length * SNAPPY_MAX_RATIO)) {
      return {
        status: 400,
        code: "bad_data",
        message: `invalid snappy block: a body of ${body.length} bytes cannot hold ${size}`,
      };
    }
    return snappy.decode(body);
  } catch (err) {
    return { status: 400, code: "bad_data", message: `invalid snappy block: ${(err as Error).message}` };
  }
}

/** True when `d`, an answer of {@link decompressWrite}, is a refusal. */
export function isEarlyRefusal(d: Uint8Array | EarlyRefusal): d is EarlyRefusal {
  return !(d instanceof Uint8Array);
}
