import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { type Chunk, Encoding } from "../chunkenc/chunk.ts";
import { XorAppender } from "../chunkenc/xor.ts";
import {
  HeadChunkFileReader,
  HeadChunkFiles,
  type HeadChunkMeta,
  type HeadChunkRef,
  headChunkRef,
  headChunkRefOffset,
  headChunkRefSeq,
} from "./head-chunks.ts";

const root = mkdtempSync(join(tmpdir(), "head-chunks-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirNo = 0;
const newDir = () => join(root, `h${dirNo++}`);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function xorChunk(n: number, t0: number): Chunk {
  const a = new XorAppender();
  for (let i = 0; i < n; i++) a.append(t0 + i * 15_000, i * 1.5);
  return { encoding: Encoding.xor, data: a.bytes().slice() };
}

function collect(h: HeadChunkFiles): HeadChunkMeta[] {
  const out: HeadChunkMeta[] = [];
  const res = h.iterate((m) => {
    out.push(m);
  });
  assert.deepEqual(res, { ok: true });
  return out;
}

test("a head chunk file is byte-identical to Prometheus's layout", () => {
  const dir = newDir();
  const h = HeadChunkFiles.open({ dir });
  const a = new XorAppender();
  a.append(1000, 1);
  a.append(16000, 1);
  const ref = h.write({ seriesRef: 7, mint: 1000, maxt: 16000, chunk: { encoding: Encoding.xor, data: a.bytes() } });
  h.close();
  assert.equal(ref, headChunkRef(1, 8));
  assert.deepEqual(readdirSync(dir), ["000001"]);
  assert.equal(
    hex(readFileSync(join(dir, "000001"))),
    "0130bc9101000000" + // magic, version, padding
      "0000000000000007" + // series ref
      "00000000000003e8" + // mint
      "0000000000003e80" + // maxt
      "01" + // encoding XOR
      "0f" + // data length
      "0002d00f3ff0000000000000987500" + // data
      "7c0afee4", // crc32c of everything above from the series ref on
  );
});

test("out-of-order bit, large series refs and negative times", () => {
  const dir = newDir();
  const h = HeadChunkFiles.open({ dir });
  const a = new XorAppender();
  a.append(1000, 1);
  a.append(16000, 1);
  const chunk: Chunk = { encoding: Encoding.xor, data: a.bytes().slice() };
  h.write({ seriesRef: 2 ** 40 + 3, mint: -5, maxt: -1, chunk, outOfOrder: true });
  h.close();
  const file = readFileSync(join(dir, "000001"));
  assert.equal(
    hex(file.subarray(8)),
    "0000010000000003fffffffffffffffbffffffffffffffff810f0002d00f3ff0000000000000987500a095a1ba",
  );
  const r = HeadChunkFiles.open({ dir });
  assert.deepEqual(collect(r), [
    {
      ref: headChunkRef(1, 8),
      seriesRef: 2 ** 40 + 3,
      mint: -5,
      maxt: -1,
      numSamples: 2,
      encoding: Encoding.xor,
      outOfOrder: true,
    },
  ]);
  assert.deepEqual(r.chunk(headChunkRef(1, 8)), chunk);
  r.close();
});

test("write, read back (buffered and flushed), replay after reopen", () => {
  const dir = newDir();
  const h = HeadChunkFiles.open({ dir, writeBufferSize: 4096 });
  const written: { ref: HeadChunkRef; series: number; chunk: Chunk; mint: number; maxt: number }[] = [];
  for (let i = 0; i < 200; i++) {
    const n = 1 + (i % 120);
    const chunk = xorChunk(n, i * 1_000_000);
    const mint = i * 1_000_000;
    const maxt = mint + (n - 1) * 15_000;
    const ref = h.write({ seriesRef: (i % 17) + 1, mint, maxt, chunk });
    written.push({ ref, series: (i % 17) + 1, chunk, mint, maxt });
    // Every chunk is readable right away, whether still buffered or already written out.
    assert.deepEqual(h.chunk(ref), chunk);
  }
  for (const w of written) assert.deepEqual(h.chunk(w.ref), w.chunk);
  h.flush();
  for (const w of written) assert.deepEqual(h.chunk(w.ref), w.chunk);
  const replay = collect(h);
  assert.equal(replay.length, 200);
  h.close();

  const r = HeadChunkFiles.open({ dir });
  const metas = collect(r);
  assert.deepEqual(
    metas.map((m) => [m.ref, m.seriesRef, m.mint, m.maxt, m.numSamples]),
    written.map((w) => [w.ref, w.series, w.mint, w.maxt, 1 + (written.indexOf(w) % 120)]),
  );
  for (const w of written) assert.deepEqual(r.chunk(w.ref), w.chunk);
  // A reopened directory never appends to an old file.
  const ref = r.write({ seriesRef: 1, mint: 0, maxt: 0, chunk: xorChunk(1, 0) });
  assert.equal(headChunkRefSeq(ref), 2);
  assert.equal(headChunkRefOffset(ref), 8);
  r.close();
});

test("a float chunk's sample count is read from its header where its bytes are in memory, else -1", () => {
  const dir = newDir();
  const h = HeadChunkFiles.open({ dir, writeBufferSize: 1 << 20 });
  // Counts past 127 take two header bytes, and long chunks a two-byte length: both are skipped right.
  const counts = [1, 2, 119, 120, 127, 128, 300, 1000];
  const refs = counts.map((n, i) => h.write({ seriesRef: i + 1, mint: 0, maxt: n, chunk: xorChunk(n, 0) }));
  const histogram = h.write({
    seriesRef: 99,
    mint: 0,
    maxt: 1,
    chunk: { encoding: Encoding.histogram, data: new Uint8Array([0, 1, 0, 0]) },
  });
  const ooo = h.write({ seriesRef: 100, mint: 0, maxt: 1, chunk: xorChunk(7, 0), outOfOrder: true });
  // In the write buffer.
  assert.deepEqual(
    refs.map((r) => h.sampleCount(r)),
    counts,
  );
  assert.equal(h.sampleCount(histogram), -1);
  assert.equal(h.sampleCount(ooo), 7);
  h.flush();
  // Written out, its page not read yet: not at hand.
  assert.deepEqual(
    refs.map((r) => h.sampleCount(r)),
    counts.map(() => -1),
  );
  h.close();
  const r = HeadChunkFiles.open({ dir });
  // Once a query read a chunk, its page is cached: the counts of its neighbours are at hand too.
  assert.equal(r.chunk(refs[0]).data.length > 0, true);
  assert.deepEqual(
    refs.slice(0, 3).map((ref) => r.sampleCount(ref)),
    counts.slice(0, 3),
  );
  r.close();
});

test("files are cut at the size limit and on request; truncate removes old files", () => {
  const dir = newDir();
  const h = HeadChunkFiles.open({ dir, maxFileSize: 500 });
  const chunk = xorChunk(40, 0);
  const refs: HeadChunkRef[] = [];
  for (let i = 0; i < 20; i++) refs.push(h.write({ seriesRef: i + 1, mint: 0, maxt: 1, chunk }));
  const seqs = h.fileSeqs();
  assert.ok(seqs.length > 3, `files: ${seqs}`);
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => i + 1),
  );
  h.cutNewFile();
  const next = h.write({ seriesRef: 99, mint: 0, maxt: 1, chunk });
  assert.equal(headChunkRefSeq(next), seqs[seqs.length - 1] + 1);
  assert.equal(h.currentSeq, headChunkRefSeq(next));

  h.truncate(3);
  assert.deepEqual(h.fileSeqs().slice(0, 1), [3]);
  assert.throws(
    () => h.chunk(refs[0]),
    (e) => isContrailError(e, "corruption"),
  );
  for (const ref of refs.filter((r) => headChunkRefSeq(r) >= 3)) assert.deepEqual(h.chunk(ref), chunk);
  // Truncating past the open file keeps it but starts a new one at the next write.
  h.truncate(1000);
  assert.deepEqual(h.fileSeqs(), [headChunkRefSeq(next)]);
  const after = h.write({ seriesRef: 100, mint: 0, maxt: 1, chunk });
  assert.equal(headChunkRefSeq(after), headChunkRefSeq(next) + 1);
  assert.equal(collect(h).length, 2);
  h.close();
});

test("a read-only reader serves flushed chunks while the writer goes on; release closes without deleting", () => {
  const dir = newDir();
  const h = HeadChunkFiles.open({ dir, maxFileSize: 500 });
  const chunks = Array.from({ length: 12 }, (_, i) => xorChunk(10 + i, i * 1000));
  const refs = chunks.map((chunk, i) => h.write({ seriesRef: i + 1, mint: 0, maxt: 1, chunk }));
  h.flush();
  const reader = new HeadChunkFileReader(dir);
  // The writer appends to the newest file meanwhile; what was flushed stays readable.
  const more = h.write({ seriesRef: 50, mint: 0, maxt: 1, chunk: xorChunk(30, 0) });
  refs.forEach((ref, i) => {
    assert.deepEqual(reader.chunk(ref), chunks[i]);
  });
  h.flush();
  assert.deepEqual(reader.chunk(more), xorChunk(30, 0));
  assert.throws(
    () => reader.chunk(headChunkRef(999, 8)),
    (e) => isContrailError(e, "corruption") && e.message.includes("000999"),
  );

  const released = h.release(headChunkRefSeq(refs[refs.length - 1]));
  assert.ok(released.length > 0);
  for (const p of released) assert.ok(existsSync(p), `${p} is left for the caller to delete`);
  assert.throws(
    () => h.chunk(refs[0]),
    (e) => isContrailError(e, "corruption"),
    "the writer no longer serves them",
  );
  assert.deepEqual(reader.chunk(refs[0]), chunks[0], "an open reader still does");
  reader.close();
  h.close();
});

test("replay stops at zero padding and reports corruption with the file number", () => {
  const dir = newDir();
  const h = HeadChunkFiles.open({ dir });
  h.write({ seriesRef: 1, mint: 0, maxt: 10, chunk: xorChunk(5, 0) });
  h.write({ seriesRef: 2, mint: 0, maxt: 10, chunk: xorChunk(5, 0) });
  h.cutNewFile();
  h.write({ seriesRef: 3, mint: 0, maxt: 10, chunk: xorChunk(5, 0) });
  h.close();

  // Preallocated tail of zeros, as Prometheus leaves it.
  const p1 = join(dir, "000001");
  const good1 = readFileSync(p1);
  writeFileSync(p1, Buffer.concat([good1, Buffer.alloc(100)]));
  let r = HeadChunkFiles.open({ dir });
  assert.deepEqual(
    collect(r).map((m) => m.seriesRef),
    [1, 2, 3],
  );
  r.close();

  const bad = Buffer.from(good1);
  bad[good1.length - 10] ^= 0xff;
  writeFileSync(p1, bad);
  r = HeadChunkFiles.open({ dir });
  const seen: number[] = [];
  const res = r.iterate((m) => {
    seen.push(m.seriesRef);
  });
  assert.equal(res.ok, false);
  assert.equal(res.ok ? 0 : res.fileSeq, 1);
  assert.deepEqual(seen, [1]);
  r.deleteFrom(1);
  assert.deepEqual(r.fileSeqs(), []);
  assert.deepEqual(readdirSync(dir), []);
  const ref = r.write({ seriesRef: 1, mint: 0, maxt: 0, chunk: xorChunk(1, 0) });
  assert.equal(headChunkRefSeq(ref), 1);
  r.close();
});

test("opening repairs a last file without magic and rejects gaps and bad headers", () => {
  const dir = newDir();
  const h = HeadChunkFiles.open({ dir });
  h.write({ seriesRef: 1, mint: 0, maxt: 10, chunk: xorChunk(5, 0) });
  h.close();
  writeFileSync(join(dir, "000002"), Buffer.alloc(16));
  const r = HeadChunkFiles.open({ dir });
  assert.deepEqual(r.fileSeqs(), [1]);
  assert.deepEqual(readdirSync(dir), ["000001"]);
  r.close();

  writeFileSync(join(dir, "000003"), readFileSync(join(dir, "000001")));
  assert.throws(
    () => HeadChunkFiles.open({ dir }),
    (e) => isContrailError(e, "corruption") && /sequential/.test(e.message),
  );
  rmSync(join(dir, "000003"));
  const bad = readFileSync(join(dir, "000001"));
  bad[4] = 9;
  writeFileSync(join(dir, "000001"), bad);
  assert.throws(
    () => HeadChunkFiles.open({ dir }),
    (e) => isContrailError(e, "corruption") && /version/.test(e.message),
  );
});

test("reads from cached pages: a page of the file being written once it is complete, never a deleted file's", () => {
  const dir = newDir();
  const h = HeadChunkFiles.open({ dir, writeBufferSize: 4096 });
  // A bit over one page of 256 KiB in one file: the first page is complete, the tail page still grows.
  const written: [HeadChunkRef, Chunk][] = [];
  for (let i = 0; headChunkRefOffset(written[written.length - 1]?.[0] ?? (0 as HeadChunkRef)) < 300_000; i++) {
    const c = xorChunk(120, i * 1_800_000);
    written.push([h.write({ seriesRef: i + 1, mint: i * 1_800_000, maxt: i * 1_800_000 + 119 * 15_000, chunk: c }), c]);
  }
  h.flush();
  for (let pass = 0; pass < 2; pass++) {
    for (const [ref, c] of written) assert.equal(hex(h.chunk(ref).data), hex(c.data), `pass ${pass} ref ${ref}`);
  }
  // The tail page grows: chunks written after it was read are found too.
  const more = xorChunk(10, 1e12);
  const late = h.write({ seriesRef: 9999, mint: 1e12, maxt: 1e12 + 9 * 15_000, chunk: more });
  h.flush();
  assert.equal(hex(h.chunk(late).data), hex(more.data));
  // A file deleted after corruption is replaced by one with the same number: its chunks are the new ones, also
  // once it is finished (and its pages cacheable).
  h.deleteFrom(1);
  const fresh = xorChunk(50, 5);
  const again = h.write({ seriesRef: 1, mint: 5, maxt: 5 + 49 * 15_000, chunk: fresh });
  h.cutNewFile();
  h.write({ seriesRef: 2, mint: 5, maxt: 5, chunk: xorChunk(1, 5) });
  assert.deepEqual([headChunkRefSeq(again), headChunkRefOffset(again)], [1, headChunkRefOffset(written[0][0])]);
  assert.equal(hex(h.chunk(again).data), hex(fresh.data));
  h.close();
});
