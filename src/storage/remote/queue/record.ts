// The framing of one record in a remote-write queue segment (docs/format/remote-queue.md):
//
//   ┌───────────────────┬────────────────────┬────────────────────┬──────────────────────────┐
//   │ length u32 (LE)   │ CRC32C u32 (LE)    │ samples u32 (LE)   │ payload (length-4 bytes) │
//   └───────────────────┴────────────────────┴────────────────────┴──────────────────────────┘
//
// `length` counts the samples field and the payload; the CRC32C (Castagnoli) covers those same bytes. The payload is
// opaque here (the store puts an encoded `prometheus.WriteRequest` in it); `samples` is how many samples it holds, so
// the queue can count and batch without decoding. A record whose length runs past the file or whose checksum does not
// match is where the valid part of a segment ends.

import { crc32c } from "../../../tsdb/encoding/crc32c.ts";

/** Bytes before a record's payload: length, checksum, sample count. */
export const RECORD_HEADER_BYTES = 12;

/** Largest payload a record may carry, bytes: far above any one commit, small enough to refuse a garbage length. */
export const MAX_RECORD_PAYLOAD_BYTES = 256 * 1024 * 1024;

/** The 12-byte header of a record carrying `payload` with `samples` samples. */
export function recordHeader(samples: number, payload: Uint8Array): Uint8Array {
  const header = new Uint8Array(RECORD_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(8, samples, true);
  view.setUint32(0, payload.length + 4, true);
  view.setUint32(4, crc32c(payload, 0, payload.length, crc32c(header, 8, 12)), true);
  return header;
}

/** What a record header says, once read: the sizes it declares and its checksum, not yet verified. */
export interface RecordHead {
  /** Payload bytes. */
  readonly payloadBytes: number;
  /** Whole record on disk, header included, bytes. */
  readonly totalBytes: number;
  readonly crc: number;
}

/** Reads the header at `buf[0, 12)`; null when its length is impossible (a torn or garbage header). */
export function readRecordHead(buf: Uint8Array): RecordHead | null {
  const view = new DataView(buf.buffer, buf.byteOffset, RECORD_HEADER_BYTES);
  const length = view.getUint32(0, true);
  if (length < 4 || length - 4 > MAX_RECORD_PAYLOAD_BYTES) return null;
  return { payloadBytes: length - 4, totalBytes: RECORD_HEADER_BYTES + length - 4, crc: view.getUint32(4, true) };
}

/**
 * The sample count of a whole record in `buf` (header at offset 0, payload after it) when its checksum matches,
 * else null.
 */
export function verifyRecord(buf: Uint8Array, head: RecordHead): number | null {
  if (crc32c(buf, 8, head.totalBytes) !== head.crc) return null;
  return new DataView(buf.buffer, buf.byteOffset + 8, 4).getUint32(0, true);
}
