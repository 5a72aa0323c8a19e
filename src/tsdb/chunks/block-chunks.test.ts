import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { type Chunk, Encoding } from "../chunkenc/chunk.ts";
import { XorAppender, XorIterator } from "../chunkenc/xor.ts";
import { ChunkReader, ChunkWriter, chunkRef } from "./block-chunks.ts";
import { refOffset, refSegment } from "./segment-files.ts";

const root = mkdtempSync(join(tmpdir(), "block-chunks-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirNo = 0;
const newDir = () => join(root, `b${dirNo++}`, "chunks");
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function xorChunk(n: number, seed: number): Chunk {
  const a = new XorAppender();
  for (let i = 0; i < n; i++) a.append(1_700_000_000_000 + i * 15_000 + (i % 3), Math.sin(i + seed) * 100);
  return { encoding: Encoding.xor, data: a.bytes().slice() };
}

test("a one-chunk segment is byte-identical to Prometheus's layout", () => {
  const dir = newDir();
  const a = new XorAppender();
  a.append(1000, 1);
  a.append(16000, 1);
  const w = new ChunkWriter({ dir });
  const refs = w.writeChunks([{ encoding: Encoding.xor, data: a.bytes() }]);
  w.close();
  assert.deepEqual(refs, [chunkRef(0, 8)]);
  assert.deepEqual(readdirSync(dir), ["000001"]);
  // magic | version | padding | len 15 | XOR | data | crc32c(encoding + data)
  assert.equal(hex(readFileSync(join(dir, "000001"))), "85bd40dd010000000f010002d00f3ff000000000000098750042df714e");
});

test("chunks round trip through writer and reader", () => {
  const dir = newDir();
  const w = new ChunkWriter({ dir });
  const written: { ref: number; chunk: Chunk }[] = [];
  for (let s = 0; s < 50; s++) {
    const chunks = [xorChunk(120, s), xorChunk(1 + (s % 7), s + 0.5)];
    const refs = w.writeChunks(chunks);
    refs.forEach((ref, i) => {
      written.push({ ref, chunk: chunks[i] });
    });
  }
  assert.deepEqual(w.writeChunks([]), []);
  w.close();
  w.close();
  const r = ChunkReader.open(dir);
  assert.equal(r.numSegments, 1);
  assert.equal(r.size, statSync(join(dir, "000001")).size);
  for (const { ref, chunk } of written) {
    const got = r.chunk(ref as ReturnType<typeof chunkRef>);
    assert.equal(got.encoding, chunk.encoding);
    assert.deepEqual(got.data, chunk.data);
  }
  const it = new XorIterator(r.chunk(written[0].ref as ReturnType<typeof chunkRef>).data);
  let n = 0;
  while (it.next() === "float") n++;
  assert.equal(n, 120);
  r.close();
});

test("a new segment starts when the next chunk would overflow the current one", () => {
  const dir = newDir();
  const w = new ChunkWriter({ dir, segmentSize: 1000 });
  const chunk = xorChunk(30, 1); // a few hundred bytes
  const record = (chunk.data.length < 128 ? 1 : 2) + 1 + chunk.data.length + 4;
  const all: number[] = [];
  for (let i = 0; i < 8; i++) all.push(...w.writeChunks([chunk, chunk]));
  w.close();
  const files = readdirSync(dir).sort();
  assert.deepEqual(
    files,
    files.map((_, i) => String(i + 1).padStart(6, "0")),
  );
  const perSegment = Math.floor((1000 - 8) / record);
  assert.equal(files.length, Math.ceil(16 / perSegment));
  for (const f of files) assert.ok(statSync(join(dir, f)).size <= 1000);
  all.forEach((ref, i) => {
    assert.equal(refSegment(ref), Math.floor(i / perSegment), `segment of chunk ${i}`);
    assert.equal(refOffset(ref), 8 + (i % perSegment) * record, `offset of chunk ${i}`);
  });
  const r = ChunkReader.open(dir);
  for (const ref of all) assert.deepEqual(r.chunk(ref as ReturnType<typeof chunkRef>).data, chunk.data);
  r.close();
});

test("a chunk larger than the scratch read is read in full", () => {
  const dir = newDir();
  const big = xorChunk(2000, 3);
  assert.ok(big.data.length > 512);
  const w = new ChunkWriter({ dir });
  const [ref] = w.writeChunks([big]);
  w.close();
  const r = ChunkReader.open(dir);
  assert.deepEqual(r.chunk(ref).data, big.data);
  r.close();
});

test("damage is reported as corruption", () => {
  const dir = newDir();
  const w = new ChunkWriter({ dir });
  const [ref] = w.writeChunks([xorChunk(10, 0)]);
  w.close();
  const path = join(dir, "000001");
  const good = readFileSync(path);

  const flipped = Buffer.from(good);
  flipped[20] ^= 0x01;
  writeFileSync(path, flipped);
  let r = ChunkReader.open(dir);
  assert.throws(
    () => r.chunk(ref),
    (e) => isContrailError(e, "corruption") && /checksum/.test(e.message),
  );
  assert.throws(
    () => r.chunk(chunkRef(3, 8)),
    (e) => isContrailError(e, "corruption"),
  );
  assert.throws(
    () => r.chunk(chunkRef(0, good.length - 2)),
    (e) => isContrailError(e, "corruption"),
  );
  r.close();

  writeFileSync(path, good.subarray(0, good.length - 3));
  r = ChunkReader.open(dir);
  assert.throws(
    () => r.chunk(ref),
    (e) => isContrailError(e, "corruption"),
  );
  r.close();

  const badMagic = Buffer.from(good);
  badMagic[0] = 0;
  writeFileSync(path, badMagic);
  assert.throws(
    () => ChunkReader.open(dir),
    (e) => isContrailError(e, "corruption") && /magic/.test(e.message),
  );
  writeFileSync(path, good.subarray(0, 5));
  assert.throws(
    () => ChunkReader.open(dir),
    (e) => isContrailError(e, "corruption"),
  );
});

test("chunks read through the page cache: across page boundaries, in any order, more pages than are kept", () => {
  const dir = newDir();
  const w = new ChunkWriter({ dir });
  const written: { ref: number; chunk: Chunk }[] = [];
  // 3,500 chunks of 30 to 5,000 bytes: some 10 MiB over 40 pages of 256 KiB, so chunks straddle page ends.
  for (let s = 0; s < 3500; s++) {
    const chunk = xorChunk(5 + ((s * 37) % 600), s);
    written.push({ ref: w.writeChunks([chunk])[0], chunk });
  }
  w.close();
  const r = ChunkReader.open(dir);
  assert.ok(r.size > 8 * 1024 * 1024, `segment of ${r.size} bytes`);
  const order = written.map((_, i) => i);
  const passes = [order, [...order].reverse(), order.map((i) => (i * 7919) % order.length)];
  for (const pass of passes) {
    for (const i of pass) {
      const got = r.chunk(written[i].ref as ReturnType<typeof chunkRef>);
      assert.equal(got.encoding, Encoding.xor);
      assert.deepEqual(got.data, written[i].chunk.data, `chunk ${i}`);
    }
  }
  r.close();
});

test("a damaged chunk inside a cached page fails its checksum", () => {
  const dir = newDir();
  const w = new ChunkWriter({ dir });
  const refs = w.writeChunks([xorChunk(50, 1), xorChunk(50, 2), xorChunk(50, 3)]);
  w.close();
  const path = join(dir, "000001");
  const bytes = readFileSync(path);
  // Flip a data byte of the second chunk (past its length and encoding bytes).
  bytes[refOffset(refs[1]) + 4] ^= 0x10;
  writeFileSync(path, bytes);
  const r = ChunkReader.open(dir);
  assert.equal(r.chunk(refs[0]).data.length > 0, true);
  assert.throws(
    () => r.chunk(refs[1]),
    (err) => isContrailError(err, "corruption") && /checksum mismatch in chunk at/.test(err.message),
  );
  assert.equal(r.chunk(refs[2]).data.length > 0, true);
  r.close();
});
