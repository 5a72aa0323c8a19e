import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import { throwOnRejection } from "../storage/commit.ts";
import { Block } from "./block.ts";
import { numSamples, XorIterator } from "./chunkenc/xor.ts";
import { BLOCK_SAMPLES_PER_CHUNK, compactBlockDirs, headBlockMeta, writeBlock } from "./compact.ts";
import { floatHi, floatLo, STALE_NAN } from "./encoding/float-bits.ts";
import { Head } from "./head/head.ts";

const HOUR = 3_600_000;
const STEP = 15_000;

const temps: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "contrail-long-chunks-"));
  temps.push(d);
  return d;
}
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

const SERIES = [
  Labels.fromStrings("__name__", "requests_total", "job", "api"),
  Labels.fromStrings("__name__", "load", "job", "api"),
  Labels.fromStrings("__name__", "up", "job", "api"),
];

/** A head holding [from, to) ms of jittered 15 s samples: a counter, a noisy gauge, and a gauge with markers. */
function headWith(from: number, to: number): Head {
  const head = Head.open({ dir: tempDir() });
  // Values are functions of the step number, so heads over parts of a range hold the samples of the whole one.
  for (let t = from; t < to; t += STEP) {
    const k = t / STEP;
    const app = head.appender();
    const jitter = ((k * 7919) % 11) - 5;
    app.append(SERIES[0], t + 2000 + jitter, 1e6 + 37 * k + ((k * k) % 13));
    app.append(SERIES[1], t + 3000 - jitter, Math.round(Math.sin(k) * 400) / 100);
    app.append(SERIES[2], t + 4000, k % 100 === 99 ? STALE_NAN : k % 57 === 0 ? Number.NaN : 1);
    throwOnRejection(app.commit());
  }
  return head;
}

/** Every series of `block` as its labels, its chunks' sample counts and every sample with exact value bits. */
function contents(block: Block): { labels: string; chunks: number[]; samples: string[] }[] {
  const ix = block.index();
  const out: { labels: string; chunks: number[]; samples: string[] }[] = [];
  for (const ref of Array.from(ix.allPostings())) {
    const s = ix.series(ref);
    assert.ok(s !== null);
    const chunks: number[] = [];
    const samples: string[] = [];
    for (const meta of s.chunks) {
      const data = block.chunks().chunk(meta).data;
      chunks.push(numSamples(data));
      const it = new XorIterator(data);
      while (it.next() !== "none") samples.push(`${it.atT()}=${floatHi(it.atV())}:${floatLo(it.atV())}`);
      assert.equal(it.err(), null);
    }
    out.push({ labels: s.labels.toString(), chunks, samples });
  }
  return out;
}

function cut(head: Head, dest: string, mint: number, maxt: number, samplesPerChunk?: number): Block {
  const meta = writeBlock({
    dest,
    readers: [head.rangeReader(mint, maxt - 1)],
    meta: headBlockMeta(mint, maxt),
    samplesPerChunk,
  });
  assert.ok(meta !== null);
  return Block.open(join(dest, meta.ulid));
}

test("a block with long chunks holds exactly the samples of the head's 120-sample chunks", () => {
  const head = headWith(0, 2 * HOUR);
  const dest = tempDir();
  const short = cut(head, dest, 0, 2 * HOUR, 0);
  const long = cut(head, dest, 0, 2 * HOUR);
  head.close();
  const a = contents(short);
  const b = contents(long);
  assert.deepEqual(
    b.map((s) => s.labels),
    a.map((s) => s.labels),
  );
  for (let i = 0; i < a.length; i++) {
    assert.deepEqual(b[i].samples, a[i].samples, a[i].labels);
    assert.equal(a[i].samples.length, 480);
    assert.ok(a[i].chunks.length >= 4, "the head cuts 2 h of 15 s samples into 120-sample chunks");
    assert.deepEqual(b[i].chunks, [480], "one chunk of BLOCK_SAMPLES_PER_CHUNK samples");
  }
  assert.equal(BLOCK_SAMPLES_PER_CHUNK, 480);
  assert.equal(long.meta.stats.numChunks, SERIES.length);
  assert.equal(long.meta.stats.numSamples, short.meta.stats.numSamples);
  short.close();
  long.close();
});

test("compacting blocks joins their chunks up to the limit, in order, without losing a sample", () => {
  const dest = tempDir();
  const parts = [0, 1, 2, 3].map((i) => {
    const head = headWith(i * HOUR, (i + 1) * HOUR);
    const b = cut(head, dest, i * HOUR, (i + 1) * HOUR, 0);
    head.close();
    return b;
  });
  const whole = headWith(0, 4 * HOUR);
  const reference = cut(whole, tempDir(), 0, 4 * HOUR, 0);
  whole.close();
  const meta = compactBlockDirs({ dest, dirs: parts.map((b) => b.dir), open: parts, samplesPerChunk: 600 });
  assert.ok(meta !== null);
  const merged = Block.open(join(dest, meta.ulid));
  const got = contents(merged);
  const want = contents(reference);
  for (let i = 0; i < want.length; i++) {
    assert.deepEqual(got[i].samples, want[i].samples, want[i].labels);
    for (const n of got[i].chunks) assert.ok(n <= 600);
    assert.ok(got[i].chunks.length < want[i].chunks.length);
  }
  for (const b of [...parts, reference, merged]) b.close();
});

test("samples per chunk is bounded by the chunk format", () => {
  const head = headWith(0, HOUR);
  assert.throws(
    () => cut(head, tempDir(), 0, HOUR, 70_000),
    (e) => isContrailError(e) && e.code === "bad_data" && /0\.\.65535/.test(e.message),
  );
  head.close();
});
