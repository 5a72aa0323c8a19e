// Re-encoding, at compaction, overlapping or trimmed chunks when some of them hold native histograms: every sample
// is decoded with its kind, merged by time (the earlier input wins on equal timestamps) and written again, floats
// into XOR chunks and histograms through the histogram appenders, a new chunk at each change of kind.

import { ContrailError } from "../model/errors.ts";
import type { Histogram } from "../model/histogram.ts";
import { type Chunk, Encoding, SAMPLES_PER_CHUNK } from "./chunkenc/chunk.ts";
import {
  appendHistogramSample,
  type HistogramChunkAppender,
  newHistogramAppender,
} from "./chunkenc/histogram-append.ts";
import { chunkIterator } from "./chunkenc/iterators.ts";
import { XorAppender } from "./chunkenc/xor.ts";

/** One input chunk to re-encode: its bytes, the range of it to keep (ms inclusive) and which samples are deleted. */
export interface MixedPart {
  readonly chunk: Chunk;
  /** Input order: on equal timestamps the lower wins. */
  readonly rank: number;
  readonly mint: number;
  readonly maxt: number;
  readonly isDeleted: (t: number) => boolean;
  /** The chunk in error messages. */
  readonly name: string;
}

/** A re-encoded chunk and its sample range, ms inclusive. */
export interface MixedOut {
  readonly chunk: Chunk;
  readonly mint: number;
  readonly maxt: number;
}

interface Sample {
  readonly t: number;
  readonly rank: number;
  readonly v: number;
  readonly h: Histogram | null;
}

/** The kept samples of `parts` merged by time and re-encoded, appended to `out`. */
export function reencodeMixed(parts: readonly MixedPart[], out: MixedOut[]): void {
  const samples: Sample[] = [];
  for (const p of parts) {
    const c = p.chunk;
    const it = chunkIterator(c);
    if (it === null) throw new ContrailError("bad_data", `cannot re-encode a chunk with encoding ${c.encoding}`);
    for (let k = it.seek(p.mint); k !== "none"; k = it.next()) {
      const t = it.atT();
      if (t > p.maxt) break;
      if (p.isDeleted(t)) continue;
      samples.push({ t, rank: p.rank, v: it.atV(), h: k === "histogram" ? (it.atH?.() ?? null) : null });
    }
    const e = it.err();
    if (e !== null) throw new ContrailError("corruption", `chunk ${p.name}: ${e}`);
  }
  samples.sort((a, b) => a.t - b.t || a.rank - b.rank);
  let xor: XorAppender | null = null;
  let hist: HistogramChunkAppender | null = null;
  let cmint = 0;
  let prevT = Number.NaN;
  const flush = () => {
    if (xor !== null && xor.numSamples > 0) {
      out.push({ chunk: { encoding: Encoding.xor, data: xor.bytes().slice() }, mint: cmint, maxt: prevT });
    }
    if (hist !== null && hist.numSamples > 0) {
      const encoding = hist.float ? Encoding.floatHistogram : Encoding.histogram;
      out.push({ chunk: { encoding, data: hist.bytes().slice() }, mint: cmint, maxt: prevT });
    }
    xor = null;
    hist = null;
  };
  for (const s of samples) {
    if (s.t === prevT) continue;
    if (s.h === null) {
      if (hist !== null || (xor !== null && xor.numSamples >= SAMPLES_PER_CHUNK)) flush();
      if (xor === null) {
        xor = new XorAppender();
        cmint = s.t;
      }
      xor.append(s.t, s.v);
    } else {
      const float = !s.h.integer;
      if (xor !== null || (hist !== null && (hist.float !== float || hist.numSamples >= SAMPLES_PER_CHUNK))) flush();
      if (hist === null) {
        hist = newHistogramAppender(float);
        cmint = s.t;
      }
      const r = appendHistogramSample(hist, null, s.t, s.h);
      if (r.kind === "cut") {
        flush();
        cmint = s.t;
      }
      hist = r.appender;
    }
    prevT = s.t;
  }
  flush();
}
