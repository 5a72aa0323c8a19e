// Chunk encodings and the chunk value passed between the head, the chunk files and the block readers. The numeric
// codes are the encoding byte stored in Prometheus's chunk files and must not change.

/** Encoding byte of a chunk, as Prometheus numbers them. Contrail produces and reads `xor` and the two histograms. */
export const Encoding = {
  none: 0,
  xor: 1,
  histogram: 2,
  floatHistogram: 3,
  xor2: 4,
  histogramST: 5,
  floatHistogramST: 6,
} as const;

/** One of the `Encoding` codes. */
export type Encoding = (typeof Encoding)[keyof typeof Encoding];

/** True when `e` is an encoding byte Prometheus may write into a chunk file (everything but `none`). */
export function isValidEncoding(e: number): e is Encoding {
  return e >= Encoding.xor && e <= Encoding.floatHistogramST;
}

/** Human-readable name of an encoding byte, as Prometheus prints it ("XOR", "histogram", ...). */
export function encodingName(e: number): string {
  switch (e) {
    case Encoding.none:
      return "none";
    case Encoding.xor:
      return "XOR";
    case Encoding.histogram:
      return "histogram";
    case Encoding.floatHistogram:
      return "floathistogram";
    case Encoding.xor2:
      return "XOR2";
    case Encoding.histogramST:
      return "histogramST";
    case Encoding.floatHistogramST:
      return "floathistogramST";
    default:
      return "<unknown>";
  }
}

/**
 * An encoded chunk: its encoding byte and its bytes (for XOR, header included). `data` may be a view into a larger
 * buffer (a read file); its owner documents how long it stays valid.
 */
export interface Chunk {
  readonly encoding: Encoding;
  readonly data: Uint8Array;
}

/** Largest XOR chunk Prometheus produces, in bytes; it cuts a new chunk before a sample could cross it. */
export const MAX_BYTES_PER_XOR_CHUNK = 1024;
/** Size above which Prometheus cuts a new XOR chunk before the next append (room for one worst-case sample). */
export const MAX_BYTES_PER_XOR_CHUNK_BEFORE_APPEND = MAX_BYTES_PER_XOR_CHUNK - 19;
/** Target number of samples per head chunk (Prometheus's default). */
export const SAMPLES_PER_CHUNK = 120;
