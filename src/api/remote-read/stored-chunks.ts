// Which chunks of a series a streamed remote read sends as stored, and which time it re-encodes from samples. As
// Prometheus's chunk querier does, a stored chunk (of a block, of the head chunk files, or the head's open chunk at
// its current bytes) goes whole when it lies inside the read's range, and a chunk crossing an end of the range is
// re-encoded with only the samples inside it. Here a chunk is also re-encoded when its sample count is unknown
// (the open head chunk grown past what the read selected) or when another chunk of the series reaches into its
// time, so the client decodes exactly the samples the series' iterator gives, which SAMPLES sends.
//
// Why whole chunks give exactly the iterator's samples: the sources of a series (its blocks, oldest first, then the
// head) merge by time, and each source takes its chunks in order, skipping a sample not newer than the last one
// taken (storage/interface.ts, ChunkSource). A chunk whose samples all lie in its range [mint, maxt] (count known;
// maxt is its last sample's time, as chunk metadata records it), after everything given so far, inside the read's
// range and before the first chunk of every later source, holds exactly the merged samples of its time: a later
// chunk of its own source reaching into that time has those samples skipped, as none is newer than maxt. Any
// other stretch of time is read from the iterator, which is exact by definition.

import type { EncodedChunk, Series } from "../../storage/interface.ts";
import { Encoding } from "../../tsdb/chunkenc/chunk.ts";
import { isHistogramEncoding } from "../../tsdb/chunkenc/iterators.ts";

/** Where the chunks of a series go, and what reads the rest of its time. */
export interface StoredChunkTarget {
  /** Takes a stored chunk as it is; `c.data` may be a view the store keeps writing: copy it before returning. */
  stored(c: EncodedChunk): void;
  /** Gives the series' samples in [from, to] ms from its iterator (re-encoded), pausing as it needs. */
  samples(from: number, to: number): Promise<void>;
  /** Pauses when the current slice has taken its time. */
  breathe(): Promise<void>;
}

/**
 * Gives the samples of `s` in [mint, maxt] ms to `out`: as its stored chunks where they can go whole, the rest of
 * its time from its iterator. A series whose store gives no chunks is read from its iterator alone.
 */
export async function streamSeriesChunks(s: Series, mint: number, maxt: number, out: StoredChunkTarget): Promise<void> {
  const sources = s.chunks?.() ?? null;
  if (sources === null) {
    await out.samples(mint, maxt);
    return;
  }
  // before[k]: no sample of the sources after k is older than this (ms), from each source's first chunk.
  const before = new Float64Array(sources.length).fill(Number.POSITIVE_INFINITY);
  for (let k = sources.length - 2; k >= 0; k--) {
    const next = sources[k + 1];
    const start = next.length > 0 ? Math.max(next.mint, next.chunk(0).mint) : Number.POSITIVE_INFINITY;
    before[k] = Math.min(start, before[k + 1]);
  }
  // Every sample of the series at or before `done` (ms) has been given.
  let done = mint - 1;
  for (let k = 0; k < sources.length; k++) {
    const src = sources[k];
    const lo = Math.max(mint, src.mint);
    const hi = Math.min(maxt, src.maxt);
    for (let i = 0; i < src.length; i++) {
      const c = src.chunk(i);
      if (c.mint > hi) break;
      // Chunks of encodings the iterators do not read are skipped, as they skip them.
      if (c.maxt <= done || (c.encoding !== Encoding.xor && !isHistogramEncoding(c.encoding))) continue;
      if (c.maxt >= before[k]) {
        // The sources overlap in time here: the merge's order is the iterator's to tell.
        await out.samples(done + 1, maxt);
        return;
      }
      if (c.samples > 0 && c.mint > done && c.mint >= lo && c.maxt <= hi) {
        out.stored(c);
        done = c.maxt;
      } else {
        // A source ends at its first sample past its range: a chunk crossing `hi` is its last.
        const to = Math.min(c.maxt, hi);
        await out.samples(done + 1, to);
        done = to;
        if (c.maxt > hi) break;
      }
      await out.breathe();
    }
  }
}
