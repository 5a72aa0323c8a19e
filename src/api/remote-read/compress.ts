// Snappy compression of a large response without holding the event loop: one snappy block, its input encoded a
// slice at a time with a pause between slices. A snappy block is a length header followed by elements whose copies
// only reach back within the input their encoder saw, so the elements of slices encoded apart, behind one header of
// the whole length, form a valid block (Go's encoder itself encodes 64 KiB fragments independently).

import { SnappyEncoder } from "../../tsdb/encoding/snappy.ts";

/** Input bytes encoded between two pauses: about 4 ms of the encoder's time (it runs near 250 MB/s). */
export const SNAPPY_SLICE_BYTES = 1 << 20;

function uvarint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

// Length of the uvarint header at the start of an encoded block.
function headerLength(block: Uint8Array): number {
  let i = 0;
  while (block[i] >= 0x80) i++;
  return i + 1;
}

/**
 * The snappy block of `pieces` concatenated; awaits `pause()` between slices of about {@link SNAPPY_SLICE_BYTES}.
 * Pieces are gathered into slices as they come, so the whole input is never copied into one buffer.
 */
export async function snappyInSlices(pieces: readonly Uint8Array[], pause: () => Promise<void>): Promise<Buffer> {
  const encoder = new SnappyEncoder();
  let total = 0;
  for (const p of pieces) total += p.length;
  const out: Uint8Array[] = [uvarint(total)];
  let group: Uint8Array[] = [];
  let groupBytes = 0;
  let encoded = false;
  const flush = async () => {
    const input = group.length === 1 ? group[0] : Buffer.concat(group, groupBytes);
    for (let at = 0; at < input.length; at += SNAPPY_SLICE_BYTES) {
      if (encoded) await pause();
      const block = encoder.encode(input.subarray(at, Math.min(input.length, at + SNAPPY_SLICE_BYTES)));
      out.push(block.slice(headerLength(block)));
      encoded = true;
    }
    group = [];
    groupBytes = 0;
  };
  for (const p of pieces) {
    group.push(p);
    groupBytes += p.length;
    if (groupBytes >= SNAPPY_SLICE_BYTES) await flush();
  }
  if (groupBytes > 0) await flush();
  return Buffer.concat(out);
}
