// Snappy block-format decompression (the format of Go's snappy.Encode, which Prometheus uses for WAL records when
// WAL compression is on). A block is: uvarint length of the decoded bytes, then a run of elements, each a literal
// or a back-reference copy. Only decoding is needed: Contrail writes its WAL uncompressed.

/** Growable output buffer reused across calls; `decode` returns a view into it. */
export class SnappyDecoder {
  private out = new Uint8Array(64 * 1024);

  /**
   * Decodes the snappy block `src[start, end)`. The returned view is valid until the next call. Throws an `Error`
   * whose message says what is malformed; callers turn it into a corruption report.
   */
  decode(src: Uint8Array, start = 0, end: number = src.length): Uint8Array {
    let p = start;
    // Decoded length: a uvarint of at most 32 bits.
    let dLen = 0;
    let shift = 0;
    for (;;) {
      if (p >= end) throw new Error("snappy: truncated length header");
      const b = src[p++];
      if (shift === 28 && b > 0x0f) throw new Error("snappy: decoded length too large");
      dLen += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      shift += 7;
    }
    if (this.out.length < dLen) this.out = new Uint8Array(Math.max(dLen, this.out.length * 2));
    const out = this.out;
    let d = 0;
    while (p < end) {
      const tag = src[p++];
      let len: number;
      let offset: number;
      switch (tag & 3) {
        case 0: {
          // Literal: length-1 in the upper six bits, or in the 1..4 little-endian bytes that follow (60..63).
          let n = tag >>> 2;
          if (n >= 60) {
            const extra = n - 59;
            if (p + extra > end) throw new Error("snappy: truncated literal length");
            n = 0;
            for (let i = 0; i < extra; i++) n += src[p + i] * 2 ** (8 * i);
            p += extra;
          }
          len = n + 1;
          if (len > end - p) throw new Error("snappy: literal runs past the input");
          if (len > dLen - d) throw new Error("snappy: literal overflows the decoded length");
          out.set(src.subarray(p, p + len), d);
          p += len;
          d += len;
          continue;
        }
        case 1:
          // Copy, 1-byte offset: length 4..11 in bits 2-4, offset's high 3 bits in bits 5-7.
          if (p + 1 > end) throw new Error("snappy: truncated copy");
          len = 4 + ((tag >>> 2) & 7);
          offset = ((tag >>> 5) << 8) | src[p];
          p += 1;
          break;
        case 2:
          // Copy, 2-byte little-endian offset: length 1..64 in the upper six bits.
          if (p + 2 > end) throw new Error("snappy: truncated copy");
          len = 1 + (tag >>> 2);
          offset = src[p] | (src[p + 1] << 8);
          p += 2;
          break;
        default:
          // Copy, 4-byte little-endian offset.
          if (p + 4 > end) throw new Error("snappy: truncated copy");
          len = 1 + (tag >>> 2);
          offset = (src[p] | (src[p + 1] << 8) | (src[p + 2] << 16) | (src[p + 3] << 24)) >>> 0;
          p += 4;
          break;
      }
      if (offset === 0 || offset > d) throw new Error(`snappy: copy offset ${offset} out of range at ${d}`);
      if (len > dLen - d) throw new Error("snappy: copy overflows the decoded length");
      // Overlapping copies (offset < len) repeat the pattern, so copy byte by byte in that case.
      if (offset >= len) {
        out.copyWithin(d, d - offset, d - offset + len);
        d += len;
      } else {
        for (let i = 0; i < len; i++, d++) out[d] = out[d - offset];
      }
    }
    if (d !== dLen) throw new Error(`snappy: decoded ${d} bytes, header says ${dLen}`);
    return out.subarray(0, dLen);
  }
}
