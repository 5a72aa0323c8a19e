// Batch reads of a series' samples from its chunks: the chain of one source (a block, or the head) and the merge of
// several sources. The block querier's iterators read with these, and so do query workers, which receive a series'
// chunks as bytes (storage/interface.ts `Series.chunks`): both give the same samples because they run this code.

import { ContrailError } from "../model/errors.ts";
import { SampleBuffer } from "../model/sample.ts";
import { type Chunk, Encoding } from "./chunkenc/chunk.ts";
import { XorBatchDecoder } from "./chunkenc/xor-batch.ts";
import type { Interval } from "./tombstones/tombstones.ts";

/**
 * The chunks of one source of a series, in time order, by index. Its samples: those of its chunks in order, each
 * within the chunk's range and the source's, outside the deleted intervals, skipping a sample not newer than the
 * last one taken; the source ends at its first such sample past `maxt`. These batch reads are for float-only
 * series: chunks of other encodings than XOR are skipped (series that may hold histograms are read one sample at a
 * time, with their kinds: chain-iterator.ts).
 */
export interface Chain {
  /** The source's sample range, ms inclusive. */
  readonly mint: number;
  readonly maxt: number;
  /** Deleted intervals, sorted and disjoint. */
  readonly deleted: readonly Interval[];
  /** Number of chunks. */
  readonly length: number;
  /** Start of chunk `i`'s range, ms inclusive: metadata, known without reading the chunk. */
  chunkMint(i: number): number;
  /** End of chunk `i`'s range, ms inclusive. */
  chunkMaxt(i: number): number;
  /** Chunk `i`'s encoding and bytes, read now. */
  chunkData(i: number): Chunk;
  /** Chunk `i` in error messages (its reference). */
  chunkName(i: number): string;
}

/**
 * Reads chains into sample buffers. Holds the decoder and scratch buffers, reused from read to read: one per
 * reader (an iterator, a worker's series), not shared by reads in progress at once.
 */
export class ChainReader {
  private readonly dec = new XorBatchDecoder();
  private readonly decoded = new SampleBuffer(128);
  private readonly parts: SampleBuffer[] = [];
  private readonly errors: unknown[] = [];

  /**
   * Appends to `out` the samples of `chain` that seeking to `mint` and moving on up to `maxt` (ms) would give, a
   * chunk at a time: each chunk is batch-decoded, then its samples are judged (a chunk's leading samples before
   * the seek target are skipped while no sample has been taken yet, as a seek skips them). Throws `corruption`
   * for a chunk that does not decode, after appending the samples before the damage.
   */
  read(chain: Chain, mint: number, maxt: number, out: SampleBuffer): void {
    const deleted = chain.deleted;
    const target = Math.max(mint, chain.mint);
    const dec = this.dec;
    const buf = this.decoded;
    let seeking = true;
    let lastT = Number.NEGATIVE_INFINITY;
    let di = 0;
    for (let ci = 0; ci < chain.length; ci++) {
      const cMint = chain.chunkMint(ci);
      const cMaxt = chain.chunkMaxt(ci);
      if (cMint > chain.maxt) return;
      if ((seeking && cMaxt < target) || cMaxt < chain.mint) continue;
      const chunk = chain.chunkData(ci);
      if (chunk.encoding !== Encoding.xor) continue;
      const stopT = Math.min(chain.maxt, cMaxt);
      // Fast path: a chunk starting inside the read, after the samples taken, with nothing deleted, is decoded
      // straight into `out` up to the read's end; kept when its samples pass every test the loop below makes (they
      // normally do). A stop at a sample the loop below would have decoded (at or before `stopT`) is past `maxt`:
      // there the loop ends the read.
      if (deleted.length === 0 && cMint >= target && cMint >= chain.mint && cMint > lastT && cMint <= maxt) {
        const before = out.n;
        dec.decode(chunk.data, out, Math.min(stopT, maxt));
        // Decoded in increasing time order, the samples pass when their first does.
        const first = out.n > before ? out.t[before] : Number.POSITIVE_INFINITY;
        if (dec.increasing ? first >= cMint && first > lastT : inOrder(out, before, cMint, lastT)) {
          if (out.n > before) {
            lastT = out.t[out.n - 1];
            seeking = false;
          }
          if (dec.stoppedAt <= stopT || dec.stoppedAt > chain.maxt) return;
          if (!Number.isNaN(dec.stoppedAt)) continue;
          if (dec.error !== null) throw new ContrailError("corruption", `chunk ${chain.chunkName(ci)}: ${dec.error}`);
          continue;
        }
        out.n = before;
      }
      buf.n = 0;
      dec.decode(chunk.data, buf, stopT);
      const t = buf.t;
      const v = buf.v;
      const n = buf.n;
      let i = 0;
      if (seeking) while (i < n && t[i] < target) i++;
      out.reserve(n - i);
      const outT = out.t;
      const outV = out.v;
      let m = out.n;
      for (; i < n; i++) {
        const st = t[i];
        if (st < chain.mint || st < cMint || st <= lastT) continue;
        while (di < deleted.length && deleted[di].maxt < st) di++;
        if (di < deleted.length && deleted[di].mint <= st) continue;
        if (st > maxt) break;
        outT[m] = st;
        outV[m++] = v[i];
        lastT = st;
        seeking = false;
      }
      out.n = m;
      if (i < n) return;
      // Stopped before a sample past the range (the series ends) or past the chunk (the next chunk follows).
      if (dec.stoppedAt > chain.maxt) return;
      if (!Number.isNaN(dec.stoppedAt)) continue;
      if (dec.error !== null) throw new ContrailError("corruption", `chunk ${chain.chunkName(ci)}: ${dec.error}`);
    }
  }

  /**
   * Appends to `out` the samples of `chains` in [mint, maxt] ms merged by time, at equal timestamps the earlier
   * chain's: what {@link read} gives for each, merged as {@link mergeParts} merges them.
   */
  readMerged(chains: readonly Chain[], mint: number, maxt: number, out: SampleBuffer): void {
    const k = chains.length;
    if (k === 1) {
      this.read(chains[0], mint, maxt, out);
      return;
    }
    // Chains whose chunks follow each other in time (blocks of consecutive ranges) give their samples in order, so
    // each is read straight into `out`, as the merge would concatenate them. A failed read starts over below,
    // where the merge decides which error shows and after which samples.
    if (inSequence(chains)) {
      const before = out.n;
      try {
        for (let i = 0; i < k; i++) this.read(chains[i], mint, maxt, out);
        return;
      } catch {
        out.n = before;
      }
    }
    const parts = this.parts;
    const errors = this.errors;
    while (parts.length < k) parts.push(new SampleBuffer(64));
    for (let i = 0; i < k; i++) {
      parts[i].n = 0;
      errors[i] = undefined;
      try {
        this.read(chains[i], mint, maxt, parts[i]);
      } catch (err) {
        errors[i] = err ?? new ContrailError("internal", "merge: a part failed");
      }
    }
    mergeParts(parts, errors, k, out);
  }
}

// True when every sample `read` can take from a chain comes before any of the next chain's: the latest chunk end
// of each chain is before the earliest chunk start of the next (a read takes only samples inside their chunk's
// range, whose bounds are sample times).
function inSequence(chains: readonly Chain[]): boolean {
  let prevMaxt = Number.NEGATIVE_INFINITY;
  for (const c of chains) {
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < c.length; i++) {
      first = Math.min(first, c.chunkMint(i));
      last = Math.max(last, c.chunkMaxt(i));
    }
    if (c.length === 0) continue;
    if (first <= prevMaxt) return false;
    prevMaxt = last;
  }
  return true;
}

// True when the samples of `out` from `from` on are all at or after `mint`, after `lastT`, and strictly increasing.
function inOrder(out: SampleBuffer, from: number, mint: number, lastT: number): boolean {
  const t = out.t;
  let prev = lastT;
  for (let i = from; i < out.n; i++) {
    const st = t[i];
    if (st <= prev || st < mint) return false;
    prev = st;
  }
  return true;
}

/**
 * Appends to `out` the first `k` sample buffers merged by time; at equal timestamps the earliest part wins. Part
 * `i` may have failed with `errors[i]` after its samples: the error is thrown where the merge meets the failure, at
 * once when the part gave no sample, otherwise when the merge moves that part past its last good sample.
 */
export function mergeParts(parts: readonly SampleBuffer[], errors: readonly unknown[], k: number, out: SampleBuffer) {
  for (let i = 0; i < k; i++) if (errors[i] !== undefined && parts[i].n === 0) throw errors[i];
  // Fast path: parts that follow each other in time (blocks of consecutive ranges) are simply concatenated.
  let last = Number.NEGATIVE_INFINITY;
  let ordered = true;
  for (let i = 0; i < k && ordered; i++) {
    const b = parts[i];
    if (b.n === 0) continue;
    if (b.t[0] <= last) ordered = false;
    last = b.t[b.n - 1];
  }
  if (ordered) {
    for (let i = 0; i < k; i++) {
      const b = parts[i];
      out.reserve(b.n);
      out.t.set(b.t.subarray(0, b.n), out.n);
      out.v.set(b.v.subarray(0, b.n), out.n);
      out.n += b.n;
      if (errors[i] !== undefined) throw errors[i];
    }
    return;
  }
  const pos = new Int32Array(k);
  for (;;) {
    let best = -1;
    let bestT = Number.POSITIVE_INFINITY;
    for (let i = 0; i < k; i++) {
      if (pos[i] < parts[i].n && parts[i].t[pos[i]] < bestT) {
        best = i;
        bestT = parts[i].t[pos[i]];
      }
    }
    if (best < 0) return;
    out.push(bestT, parts[best].v[pos[best]]);
    for (let i = 0; i < k; i++) {
      if (pos[i] < parts[i].n && parts[i].t[pos[i]] === bestT) {
        pos[i]++;
        if (pos[i] === parts[i].n && errors[i] !== undefined) throw errors[i];
      }
    }
  }
}
