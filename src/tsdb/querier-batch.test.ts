// `readInto` of the block and merge queriers' iterators must give exactly what `seek(mint)` and `next()` give, and
// fail where they fail. Checked on crafted blocks: several chunks per series (some overlapping or out of order),
// chunk metadata narrower than the chunk's samples (as the head hands out), deleted intervals and damaged chunks.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import { SampleBuffer } from "../model/sample.ts";
import type { SampleIterator, Series } from "../storage/interface.ts";
import type { BlockReader, BlockSeries, ChunkMeta } from "./block-reader.ts";
import { type Chunk, Encoding } from "./chunkenc/chunk.ts";
import { XorAppender } from "./chunkenc/xor.ts";
import { Db } from "./db.ts";
import { blockQuerier, mergeQuerier } from "./querier.ts";
import type { Interval } from "./tombstones/tombstones.ts";

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

interface FakeSeries {
  labels: Labels;
  chunks: { meta: ChunkMeta; chunk: Chunk }[];
  deleted: Interval[];
}

/** A BlockReader over series held in memory; chunk refs index a flat list. */
function fakeBlock(series: FakeSeries[]): BlockReader {
  const chunks: Chunk[] = [];
  const metas = series.map((s) =>
    s.chunks.map((c) => {
      chunks.push(c.chunk);
      return { ...c.meta, ref: chunks.length - 1 };
    }),
  );
  const refs = series.map((_, i) => i);
  return {
    minTime: -1e15,
    maxTime: 1e15,
    index: () => ({
      labelValues: () => [],
      postings: () => refs,
      allPostings: () => refs,
      series: (ref: number): BlockSeries | null => ({ labels: series[ref].labels, chunks: metas[ref] }),
      labelNames: () => [],
      sortedPostings: (r) => Array.from(r),
    }),
    chunks: () => ({ chunk: (meta: ChunkMeta) => chunks[meta.ref] }),
    tombstones: () => ({ get: (ref: number) => series[ref].deleted }),
  };
}

// Samples of a chunk: mostly increasing timestamps, now and then one going back or repeating.
function randomChunk(rnd: () => number, t0: number, n: number): { meta: ChunkMeta; chunk: Chunk } {
  const a = new XorAppender();
  let t = t0;
  let mint = Number.POSITIVE_INFINITY;
  let maxt = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const r = rnd();
    t += r < 0.05 ? -Math.floor(rnd() * 40) : r < 0.08 ? 0 : 1 + Math.floor(rnd() * 20);
    a.append(t, Math.floor(rnd() * 100));
    mint = Math.min(mint, t);
    maxt = Math.max(maxt, t);
  }
  // Metadata sometimes narrower than the data, as for a head chunk cut to a range.
  if (rnd() < 0.3) mint += Math.floor(rnd() * 10);
  if (rnd() < 0.3) maxt -= Math.floor(rnd() * 10);
  return { meta: { mint, maxt, ref: 0 }, chunk: { encoding: Encoding.xor, data: a.bytes().slice() } };
}

function randomSeries(rnd: () => number, name: string): FakeSeries {
  const chunks: FakeSeries["chunks"] = [];
  let t = Math.floor(rnd() * 100);
  const count = 1 + Math.floor(rnd() * 4);
  for (let c = 0; c < count; c++) {
    const ch = randomChunk(rnd, t - (rnd() < 0.2 ? 30 : 0), 1 + Math.floor(rnd() * 30));
    if (rnd() < 0.1) {
      // A damaged chunk: cut short.
      ch.chunk = { encoding: Encoding.xor, data: ch.chunk.data.slice(0, Math.floor(rnd() * ch.chunk.data.length)) };
    }
    chunks.push(ch);
    t = ch.meta.maxt + 1 + Math.floor(rnd() * 20);
  }
  const deleted: Interval[] = [];
  let d = Math.floor(rnd() * 50);
  while (rnd() < 0.5) {
    const len = Math.floor(rnd() * 40);
    deleted.push({ mint: d, maxt: d + len });
    d += len + 1 + Math.floor(rnd() * 100);
  }
  return { labels: Labels.fromStrings("__name__", name), chunks, deleted };
}

const hints = (start: number, end: number) => ({ start, end });

/** What an iterator gives, as text: the samples, then the error code if it threw. */
function bySeek(it: SampleIterator, mint: number, maxt: number): string[] {
  const out: string[] = [];
  try {
    for (let k = it.seek(mint); k !== "none"; k = it.next()) {
      if (it.atT() > maxt) break;
      out.push(`${it.atT()}=${it.atV()}`);
    }
  } catch (err) {
    out.push(isContrailError(err) ? `error ${err.code}: ${err.message}` : String(err));
  }
  return out;
}

function byBatch(it: SampleIterator, mint: number, maxt: number): string[] {
  assert.ok(it.readInto !== undefined);
  const buf = new SampleBuffer(1);
  let error: string | null = null;
  try {
    it.readInto(mint, maxt, buf);
  } catch (err) {
    error = isContrailError(err) ? `error ${err.code}: ${err.message}` : String(err);
  }
  const out: string[] = [];
  for (let i = 0; i < buf.n; i++) out.push(`${buf.t[i]}=${buf.v[i]}`);
  if (error !== null) out.push(error);
  return out;
}

// An iterator handed back for reuse, as the engine does from series to series.
let reused: SampleIterator | undefined;

function check(series: Series, mint: number, maxt: number, what: string): boolean {
  const want = bySeek(series.iterator(), mint, maxt);
  reused = series.iterator(reused);
  const got = byBatch(reused, mint, maxt);
  assert.deepEqual(got, want, what);
  return want.length > 0 && want[want.length - 1].startsWith("error");
}

test("block series: readInto gives seek/next's samples and errors", () => {
  const rnd = lcg(3);
  let errors = 0;
  for (let trial = 0; trial < 300; trial++) {
    const block = fakeBlock([randomSeries(rnd, "a")]);
    const qMint = Math.floor(rnd() * 200) - 20;
    const qMaxt = qMint + Math.floor(rnd() * 400);
    let series: Series | undefined;
    try {
      [series] = [...blockQuerier(block, qMint, qMaxt).select([newMatcher("=", "__name__", "a")], hints(qMint, qMaxt))];
    } catch {
      continue; // selecting reads the first sample of a series whose chunks may be empty; that one failed
    }
    if (series === undefined) continue;
    for (let k = 0; k < 5; k++) {
      const mint = qMint + Math.floor(rnd() * 200) - 50;
      const maxt = mint + Math.floor(rnd() * 300);
      if (check(series, mint, maxt, `trial ${trial} [${mint}, ${maxt}]`)) errors++;
    }
  }
  assert.ok(errors > 10, `only ${errors} reads met a damaged chunk`);
});

test("merged series: readInto merges the parts as the merge iterator does", () => {
  const rnd = lcg(8);
  for (let trial = 0; trial < 200; trial++) {
    const parts = [0, 1, 2].map(() => fakeBlock([randomSeries(rnd, "m")]));
    const q = mergeQuerier(parts.map((b) => blockQuerier(b, -1e15, 1e15)));
    let series: Series | undefined;
    try {
      [series] = [...q.select([newMatcher("=", "__name__", "m")], hints(-1e15, 1e15))];
    } catch {
      continue;
    }
    if (series === undefined) continue;
    const mint = Math.floor(rnd() * 200) - 50;
    check(series, mint, mint + Math.floor(rnd() * 400), `trial ${trial}`);
  }
});

test("head series over ranges that cut their stored chunks: exactly the samples in the range, either way", () => {
  const dir = mkdtempSync(join(tmpdir(), "querier-batch-head-"));
  const db = Db.open({ dir, autoCompact: false, walFsync: "never" });
  try {
    // 1,000 samples a series at 15 s: several full chunks in the head chunk files, and an open one.
    const app = db.appender();
    for (let i = 0; i < 1000; i++) {
      app.append(Labels.fromStrings("__name__", "h", "s", "a"), i * 15_000, i * 1.5);
      app.append(Labels.fromStrings("__name__", "h", "s", "b"), i * 15_000 + 7_000, (i % 17) - 8);
    }
    app.commit();
    const rnd = lcg(11);
    for (let trial = 0; trial < 60; trial++) {
      const mint = Math.floor(rnd() * 16_000_000) - 500_000;
      const maxt = mint + Math.floor(rnd() * 6_000_000);
      const q = db.querier(mint, maxt);
      try {
        const selected = [...q.select([newMatcher("=", "__name__", "h")], hints(mint, maxt))];
        for (const series of selected) {
          const offset = series.labels.get("s") === "a" ? 0 : 7_000;
          const want: string[] = [];
          for (let i = 0; i < 1000; i++) {
            const t = i * 15_000 + offset;
            if (t >= mint && t <= maxt) want.push(`${t}=${offset === 0 ? i * 1.5 : (i % 17) - 8}`);
          }
          assert.deepEqual(bySeek(series.iterator(), mint, maxt), want, `[${mint}, ${maxt}]`);
          assert.deepEqual(byBatch(series.iterator(), mint, maxt), want, `[${mint}, ${maxt}] in batches`);
        }
      } finally {
        q.close();
      }
    }
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
