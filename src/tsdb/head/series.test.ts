import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Labels } from "../../model/labels.ts";
import { MAX_BYTES_PER_XOR_CHUNK } from "../chunkenc/chunk.ts";
import { XorIterator } from "../chunkenc/xor.ts";
import { HeadChunkFiles } from "../chunks/head-chunks.ts";
import { ByteArena } from "../encoding/byte-arena.ts";
import { SeriesColumns } from "./columns.ts";
import {
  type ChunkOptions,
  computeChunkEndTime,
  MemSeries,
  packHeadChunkId,
  rangeForTimestamp,
  unpackHeadChunkId,
} from "./series.ts";

const HOUR = 3_600_000;
const root = mkdtempSync(join(tmpdir(), "head-series-"));
const files = HeadChunkFiles.open({ dir: join(root, "chunks_head") });
after(() => {
  files.close();
  rmSync(root, { recursive: true, force: true });
});
const opts: ChunkOptions = { chunkRange: 2 * HOUR, samplesPerChunk: 120, files };
const columns = new SeriesColumns(new ByteArena());
let nextRef = 1;

function series(): MemSeries {
  return MemSeries.create(nextRef++, Labels.fromStrings("__name__", "x", "n", String(nextRef)), columns);
}

/** [mint, maxt, samples] of every chunk, full ones read back from the files. */
function layout(s: MemSeries): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (const c of s.mmappedChunks()) {
    const it = new XorIterator(files.chunk(c.ref).data);
    let n = 0;
    while (it.next() !== "none") n++;
    out.push([c.mint, c.maxt, n]);
  }
  if (s.openSamples > 0) out.push([s.openMint, s.openMaxt, s.openSamples]);
  return out;
}

test("range ends and predicted chunk ends follow Prometheus's arithmetic", () => {
  const cases: [number, number, number][] = [
    [0, 2 * HOUR, 2 * HOUR],
    [2 * HOUR - 1, 2 * HOUR, 2 * HOUR],
    [2 * HOUR, 2 * HOUR, 4 * HOUR],
    [-1, 2 * HOUR, 2 * HOUR], // Go's division truncates toward zero
    [1_700_000_123_456, 2 * HOUR, 1_700_006_400_000],
  ];
  for (const [t, w, want] of cases) assert.equal(rangeForTimestamp(t, w), want, `${t}`);
  // 30 samples at 15 s from a range start: four chunks of 120 fit the 2 h range.
  assert.equal(computeChunkEndTime(0, 29 * 15_000, 2 * HOUR, 4), 1_800_000);
  // Too few samples to fill even one chunk: end at the range end.
  assert.equal(computeChunkEndTime(0, 29 * 15_000, 500_000, 4), 500_000);
});

test("regular 15 s samples are cut every 120 samples", () => {
  const s = series();
  for (let i = 0; i < 480; i++) assert.ok(s.append(i * 15_000, i, opts));
  assert.deepEqual(layout(s), [
    [0, 119 * 15_000, 120],
    [120 * 15_000, 239 * 15_000, 120],
    [240 * 15_000, 359 * 15_000, 120],
    [360 * 15_000, 479 * 15_000, 120],
  ]);
});

test("a chunk is cut at the 2 h boundary even when it is not full", () => {
  const s = series();
  // 10 samples either side of the boundary at 7200000.
  for (let i = -10; i < 10; i++) s.append(2 * HOUR + i * 60_000, i, opts);
  assert.deepEqual(layout(s), [
    [2 * HOUR - 600_000, 2 * HOUR - 60_000, 10],
    [2 * HOUR, 2 * HOUR + 540_000, 10],
  ]);
});

test("a sample rate rising after the prediction is cut at twice the target", () => {
  const s = series();
  // 30 samples a minute apart predict a late end; then samples every millisecond.
  for (let i = 0; i < 30; i++) s.append(i * 60_000, 0, opts);
  for (let i = 0; i < 300; i++) s.append(30 * 60_000 + i, 0, opts);
  assert.deepEqual(
    layout(s).map((c) => c[2]),
    [240, 90],
  );
});

test("a chunk is cut before it would exceed 1 KiB", () => {
  const s = series();
  // Random-looking values need about 8 bytes each: the size limit cuts long before 120 samples.
  for (let i = 0; i < 200; i++) s.append(i * 1000, Math.sin(i) * 1e6 + i / 7, opts);
  const l = layout(s);
  assert.ok(l.length >= 2);
  assert.ok(l[0][2] < 120, `first chunk holds ${l[0][2]} samples`);
  for (const c of s.mmappedChunks()) assert.ok(files.chunk(c.ref).data.length <= MAX_BYTES_PER_XOR_CHUNK);
  assert.equal(
    l.reduce((n, c) => n + c[2], 0),
    200,
  );
});

test("append refuses samples not newer than the chunks", () => {
  const s = series();
  assert.ok(s.append(1000, 1, opts));
  assert.equal(s.append(1000, 2, opts), false);
  assert.equal(s.append(999, 2, opts), false);
  assert.equal(s.lastT, 1000);
  assert.equal(s.lastV, 1);
});

test("truncation drops whole chunks before mint and keeps chunk ids stable", () => {
  const s = series();
  for (let i = 0; i < 360; i++) s.append(i * 15_000, i, opts);
  const idOfThird = s.firstChunkId + 2;
  assert.equal(s.truncateBefore(120 * 15_000 + 1), 1);
  assert.equal(s.firstChunkId, 1);
  assert.equal(s.numMmapped + 1, 2);
  assert.equal(s.openChunkId, idOfThird);
  assert.equal(s.minTime(), 120 * 15_000);
  assert.equal(s.truncateBefore(Number.POSITIVE_INFINITY), 2);
  assert.ok(s.isEmpty());
});

test("head chunk ids pack series ref and chunk id", () => {
  for (const [ref, id] of [
    [1, 0],
    [2 ** 32 - 1, 2 ** 21 - 1],
    [77, 5],
  ]) {
    const packed = packHeadChunkId(ref, id);
    assert.ok(Number.isSafeInteger(packed));
    assert.deepEqual(unpackHeadChunkId(packed), { seriesRef: ref, chunkId: id });
  }
  assert.deepEqual(unpackHeadChunkId(packHeadChunkId(3, 2 ** 21 + 4)), { seriesRef: 3, chunkId: 4 });
});

test("a dropped series reads as an empty one with its labels, and its row serves the next series afresh", () => {
  const a = series();
  const labels = a.labels;
  assert.ok(a.append(1000, 1, opts));
  a.logged = true;
  a.histograms = { last: null, endComputed: false, open: null };
  const used = columns.used;
  const slot = a.slot;
  a.drop();
  assert.equal(columns.used, used - 1);
  const empty = (s: MemSeries) => [s.openSamples, s.isEmpty(), s.lastT, s.logged, s.pending, s.histograms];
  assert.deepEqual(empty(a), [0, true, Number.NEGATIVE_INFINITY, false, 0, null]);
  assert.ok(a.labels.equals(labels));
  const b = series();
  assert.equal(b.slot, slot);
  assert.equal(columns.used, used);
  assert.deepEqual(empty(b), empty(a));
  assert.ok(b.append(5000, 2, opts));
  b.logged = true;
  b.pending = 2;
  assert.deepEqual(empty(a), [0, true, Number.NEGATIVE_INFINITY, false, 0, null]);
  assert.deepEqual(layout(b), [[5000, 5000, 1]]);
  assert.ok(a.labels.equals(labels));
  b.pending = 0;
});

test("the newest sample's time outlives the open chunk: cut, truncated or replaced by stored chunks", () => {
  const s = series();
  for (let i = 0; i < 3; i++) assert.ok(s.append(1000 * (i + 1), i, opts));
  assert.equal(s.lastT, 3000);
  // At the 2 h boundary a new chunk starts; its first sample is encoded on its own.
  assert.ok(s.append(2 * HOUR, 9, opts));
  assert.equal(s.lastT, 2 * HOUR);
  assert.ok(s.append(2 * HOUR + 15_000, 10, opts));
  assert.deepEqual(layout(s), [
    [1000, 3000, 3],
    [2 * HOUR, 2 * HOUR + 15_000, 2],
  ]);
  assert.equal(s.truncateBefore(3 * HOUR), 2);
  assert.ok(s.isEmpty());
  assert.equal(s.lastT, 2 * HOUR + 15_000);
  assert.equal(s.append(2 * HOUR + 15_000, 1, opts), true, "the chunks are gone; callers check lastT");
  assert.deepEqual(layout(s), [[2 * HOUR + 15_000, 2 * HOUR + 15_000, 1]]);
});

test("the newest value outlives the open chunk too: cut, released, or set after replay; a new series reads 0", () => {
  const s = series();
  assert.equal(s.lastV, 0);
  assert.ok(s.append(1000, 1.5, opts));
  assert.ok(s.append(2000, -7.25, opts));
  assert.equal(s.lastV, -7.25);
  // A new chunk at the 2 h boundary: its first sample is the newest value.
  assert.ok(s.append(2 * HOUR, 42, opts));
  assert.equal(s.lastV, 42);
  assert.equal(s.truncateBefore(3 * HOUR), 2);
  assert.ok(s.isEmpty());
  assert.equal(s.lastV, 42, "kept when the open chunk is released");
  s.lastV = 9.5;
  assert.equal(s.lastV, 9.5);
  assert.ok(s.append(3 * HOUR, 3, opts));
  assert.deepEqual(layout(s), [[3 * HOUR, 3 * HOUR, 1]]);
  assert.equal(s.lastV, 3);
  const t = series();
  assert.equal(t.lastV, 0);
});
