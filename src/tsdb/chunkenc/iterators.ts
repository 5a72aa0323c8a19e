// One iterator type over the chunk encodings Contrail reads: XOR floats and the two histogram encodings.

import type { SampleIterator } from "../../storage/interface.ts";
import { type Chunk, Encoding } from "./chunk.ts";
import { FloatHistogramIterator } from "./float-histogram.ts";
import { IntHistogramIterator } from "./histogram.ts";
import { XorIterator } from "./xor.ts";

/** A chunk decoder: samples in time order, `err()` once a damaged chunk ended the iteration early. */
export type ChunkIterator = SampleIterator & { err(): string | null };

/** True for the histogram encodings (2 and 3). */
export function isHistogramEncoding(e: number): boolean {
  return e === Encoding.histogram || e === Encoding.floatHistogram;
}

/** A new iterator over `c`, or null when its encoding is one Contrail does not read. */
export function chunkIterator(c: Chunk): ChunkIterator | null {
  switch (c.encoding) {
    case Encoding.xor:
      return new XorIterator(c.data);
    case Encoding.histogram:
      return new IntHistogramIterator(c.data);
    case Encoding.floatHistogram:
      return new FloatHistogramIterator(c.data);
    default:
      return null;
  }
}
