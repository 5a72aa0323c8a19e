// CRC32 with the Castagnoli polynomial (CRC32C), the checksum of every Prometheus TSDB file format. Table-driven,
// slicing-by-8: eight 256-entry tables let the main loop consume eight bytes per step.

const POLY = 0x82f63b78; // Castagnoli, bit-reversed

// Int32Array, not Uint32Array: every value the loops handle is then a signed 32-bit integer, whereas unsigned loads
// above 2^31 made V8 deoptimize this function over and over ("lost precision").
const TABLES: Int32Array[] = (() => {
  const t: Int32Array[] = [];
  for (let k = 0; k < 8; k++) t.push(new Int32Array(256));
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let j = 0; j < 8; j++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[0][i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    let c = t[0][i];
    for (let k = 1; k < 8; k++) {
      c = t[0][c & 0xff] ^ (c >>> 8);
      t[k][i] = c >>> 0;
    }
  }
  return t;
})();

const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES;

/**
 * CRC32C of `buf[start, end)` as an unsigned 32-bit number. `seed` is the CRC of the preceding bytes (0 to start
 * fresh), so a checksum can be computed over several pieces: crc32c(b, 0, n, crc32c(a)) === crc32c(a ++ b).
 */
export function crc32c(buf: Uint8Array, start = 0, end: number = buf.length, seed = 0): number {
  let crc = ~seed | 0;
  let i = start;
  const end8 = end - ((end - start) & 7);
  while (i < end8) {
    const a = crc ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
    crc =
      T7[a & 0xff] ^
      T6[(a >>> 8) & 0xff] ^
      T5[(a >>> 16) & 0xff] ^
      T4[a >>> 24] ^
      T3[buf[i + 4]] ^
      T2[buf[i + 5]] ^
      T1[buf[i + 6]] ^
      T0[buf[i + 7]];
    i += 8;
  }
  while (i < end) {
    crc = T0[(crc ^ buf[i]) & 0xff] ^ (crc >>> 8);
    i++;
  }
  return ~crc >>> 0;
}

// Run every path once at load, with checksums beyond the small-integer range. Otherwise the first call may be a long
// one that V8 compiles mid-loop (on-stack replacement) before the tail loop and the final steps have type feedback,
// and that code then deoptimized on every later entry.
for (const n of [0, 5, 8, 21]) crc32c(new Uint8Array(n).fill(0xa5), 0, n, 0x9abcdef0);
