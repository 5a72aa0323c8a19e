import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { mulberry32 } from "../../testkit/random.ts";
import { WalReader } from "./reader.ts";
import { HEADER_SIZE, listSegments, PAGE_SIZE, segmentPath } from "./segment.ts";
import { type FsyncPolicy, Wal } from "./wal.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "contrail-wal-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A record of `size` bytes whose content identifies it (`id`) and the PRNG state. */
function makeRecord(id: number, size: number, rand: () => number): Uint8Array {
  const r = new Uint8Array(size);
  for (let i = 0; i < size; i++) r[i] = (rand() * 256) | 0;
  if (size >= 4) new DataView(r.buffer).setUint32(0, id);
  return r;
}

interface Read {
  recs: Uint8Array[];
  where: { segment: number; start: number; end: number }[];
}

function readAll(dir: string): Read {
  const r = WalReader.open(dir);
  const out: Read = { recs: [], where: [] };
  while (r.next()) {
    out.recs.push(r.record().slice());
    out.where.push({ segment: r.segment, start: r.recordOffset, end: r.offset });
  }
  assert.equal(r.corruption(), null, JSON.stringify(r.corruption()));
  r.close();
  return out;
}

const SEG = 4 * PAGE_SIZE;

describe("WAL write and read", () => {
  test("records of random sizes round trip across pages and segments", () => {
    const dir = tempDir();
    const rand = mulberry32(1);
    const special = [0, 1, 6, 7, PAGE_SIZE - HEADER_SIZE, PAGE_SIZE - HEADER_SIZE - 1, PAGE_SIZE - 6, PAGE_SIZE];
    const sizes: number[] = [...special];
    for (let i = 0; i < 400; i++) {
      const k = rand();
      // Mostly small records, some over a page, a few over several pages, two over a whole segment.
      sizes.push(
        k < 0.8 ? (rand() * 300) | 0 : k < 0.95 ? PAGE_SIZE + ((rand() * PAGE_SIZE) | 0) : (rand() * 3 * PAGE_SIZE) | 0,
      );
    }
    sizes.splice(100, 0, SEG + 12_345);
    sizes.splice(300, 0, 2 * SEG);
    const recs = sizes.map((s, i) => makeRecord(i, s, rand));

    const w = Wal.open(dir, { segmentSize: SEG });
    for (let i = 0; i < recs.length; ) {
      const n = 1 + ((rand() * 5) | 0);
      w.log(...recs.slice(i, i + n));
      i += n;
    }
    w.close();

    const got = readAll(dir);
    assert.equal(got.recs.length, recs.length);
    for (let i = 0; i < recs.length; i++) assert.deepEqual(got.recs[i], recs[i], `record ${i}`);

    const segs = listSegments(dir);
    assert.ok(segs.length > 10, `only ${segs.length} segments`);
    let prev = -1;
    for (const w0 of got.where) {
      assert.ok(w0.segment >= prev, "records come in segment order");
      prev = w0.segment;
    }
    for (const s of segs) {
      const size = statSync(segmentPath(dir, s)).size;
      assert.equal(size % PAGE_SIZE, 0, `segment ${s} is page aligned after close`);
      if (size > SEG) {
        // Only a record too large for any segment may push a segment past its size, and it starts that segment.
        const first = got.where.findIndex((x) => x.segment === s);
        assert.equal(got.where[first].start, 0);
        assert.ok(recs[first].length > SEG - HEADER_SIZE * 4, `segment ${s} overflows for record ${first}`);
      }
    }
  });

  test("fragment placement follows the page rules", () => {
    const dir = tempDir();
    const w = Wal.open(dir, { segmentSize: SEG });
    const rand = mulberry32(2);
    // 1: fills page 0 exactly. 2: leaves 3 bytes on page 1, which become padding. 3: split over pages 2 and 3.
    // 4: empty record.
    const r1 = makeRecord(1, PAGE_SIZE - HEADER_SIZE, rand);
    const r2 = makeRecord(2, PAGE_SIZE - HEADER_SIZE - 3, rand);
    const r3 = makeRecord(3, PAGE_SIZE, rand);
    const r4 = new Uint8Array(0);
    w.log(r1, r2, r3, r4);
    w.close();
    const b = readFileSync(segmentPath(dir, 0));
    assert.equal(b.length, 4 * PAGE_SIZE);
    assert.equal(b[0], 1); // full
    assert.equal(b.readUInt16BE(1), PAGE_SIZE - HEADER_SIZE);
    assert.equal(b[PAGE_SIZE], 1);
    assert.deepEqual([...b.subarray(2 * PAGE_SIZE - 3, 2 * PAGE_SIZE)], [0, 0, 0]);
    assert.equal(b[2 * PAGE_SIZE], 2); // first
    assert.equal(b.readUInt16BE(2 * PAGE_SIZE + 1), PAGE_SIZE - HEADER_SIZE);
    assert.equal(b[3 * PAGE_SIZE], 4); // last
    assert.equal(b.readUInt16BE(3 * PAGE_SIZE + 1), HEADER_SIZE);
    const r4at = 3 * PAGE_SIZE + 2 * HEADER_SIZE;
    assert.deepEqual([...b.subarray(r4at, r4at + HEADER_SIZE)], [1, 0, 0, 0, 0, 0, 0]); // empty full record, CRC 0
    const got = readAll(dir);
    assert.deepEqual(
      got.where.map((x) => x.start),
      [0, PAGE_SIZE, 2 * PAGE_SIZE, r4at],
    );
    assert.deepEqual(got.recs, [r1, r2, r3, r4]);
  });

  test("a record that does not fit the rest of the segment starts the next one", () => {
    const dir = tempDir();
    const w = Wal.open(dir, { segmentSize: 2 * PAGE_SIZE });
    const rand = mulberry32(3);
    const a = makeRecord(1, 100, rand);
    // Room left in segment 0 after `a`: (PAGE - 107 - 7) + (PAGE - 7); one byte more does not fit.
    const room = PAGE_SIZE - 107 - HEADER_SIZE + PAGE_SIZE - HEADER_SIZE;
    const fits = makeRecord(2, room, rand);
    const tooBig = makeRecord(3, room + 1, rand);
    w.log(a, fits);
    assert.equal(w.activeSegment, 0);
    w.log(a);
    w.log(tooBig);
    assert.equal(w.activeSegment, 2);
    w.close();
    const got = readAll(dir);
    assert.deepEqual(
      got.where.map((x) => [x.segment, x.start]),
      [
        [0, 0],
        [0, 107],
        [1, 0],
        [2, 0],
      ],
    );
    assert.equal(statSync(segmentPath(dir, 1)).size, PAGE_SIZE, "segment 1 padded to its page");
  });

  test("records are readable while the writer is open (partial last page)", () => {
    const dir = tempDir();
    const w = Wal.open(dir);
    const rand = mulberry32(4);
    const recs = [makeRecord(1, 10, rand), makeRecord(2, 40_000, rand), makeRecord(3, 5, rand)];
    w.log(...recs);
    assert.equal(statSync(segmentPath(dir, 0)).size, w.activeOffset);
    assert.notEqual(w.activeOffset % PAGE_SIZE, 0);
    assert.deepEqual(readAll(dir).recs, recs);
    w.close();
    assert.deepEqual(readAll(dir).recs, recs);
  });

  test("reopening starts a new segment after the last", () => {
    const dir = tempDir();
    const w1 = Wal.open(dir);
    w1.log(new Uint8Array([1, 2, 3]));
    w1.close();
    const w2 = Wal.open(dir);
    assert.equal(w2.activeSegment, 1);
    w2.log(new Uint8Array([4]));
    w2.close();
    const got = readAll(dir);
    assert.deepEqual(got.recs, [new Uint8Array([1, 2, 3]), new Uint8Array([4])]);
    assert.deepEqual(
      got.where.map((x) => x.segment),
      [0, 1],
    );
  });

  test("nextSegment, segments and truncate", () => {
    const dir = tempDir();
    const w = Wal.open(dir);
    w.log(new Uint8Array([1]));
    assert.equal(w.nextSegment(), 1);
    w.log(new Uint8Array([2]));
    assert.equal(w.nextSegment(), 2);
    w.log(new Uint8Array([3]));
    assert.deepEqual(w.segments(), [0, 1, 2]);
    assert.equal(statSync(segmentPath(dir, 0)).size, PAGE_SIZE);
    w.truncate(2);
    assert.deepEqual(w.segments(), [2]);
    assert.throws(
      () => w.truncate(3),
      (e) => isContrailError(e, "bad_data"),
    );
    w.close();
    assert.deepEqual(readAll(dir).recs, [new Uint8Array([3])]);
    assert.throws(
      () => w.log(new Uint8Array(1)),
      (e) => isContrailError(e, "internal"),
    );
  });

  test("the fsync policy does not change the bytes", () => {
    const outputs = (["segment", "always", "never"] as FsyncPolicy[]).map((fsync) => {
      const dir = tempDir();
      const rand = mulberry32(5);
      const w = Wal.open(dir, { fsync, segmentSize: SEG });
      for (let i = 0; i < 50; i++) w.log(makeRecord(i, (rand() * 20_000) | 0, rand));
      w.close();
      return listSegments(dir).map((s) => readFileSync(segmentPath(dir, s)));
    });
    assert.deepEqual(outputs[1], outputs[0]);
    assert.deepEqual(outputs[2], outputs[0]);
  });

  test("syncLater takes over syncing finished segments, but not the last one at close", () => {
    const syncs = (fsync: FsyncPolicy) => {
      const dir = tempDir();
      const handed: string[] = [];
      const w = Wal.open(dir, { fsync, segmentSize: SEG, syncLater: (p) => handed.push(p) });
      const rand = mulberry32(7);
      for (let i = 0; i < 50; i++) w.log(makeRecord(i, (rand() * 20_000) | 0, rand));
      w.nextSegment();
      w.close();
      const segs = listSegments(dir);
      return { handed, expected: segs.slice(0, -1).map((s) => segmentPath(dir, s)) };
    };
    const segment = syncs("segment");
    assert.ok(segment.expected.length >= 2);
    assert.deepEqual(segment.handed, segment.expected, "every finished segment, in order, none at close");
    assert.deepEqual(syncs("always").handed, [], "synced after every log anyway");
    assert.deepEqual(syncs("never").handed, []);
  });

  test("bad segment sizes and gaps between segments are rejected", () => {
    assert.throws(
      () => Wal.open(tempDir(), { segmentSize: 1000 }),
      (e) => isContrailError(e, "bad_data"),
    );
    const dir = tempDir();
    writeFileSync(segmentPath(dir, 0), new Uint8Array(0));
    writeFileSync(segmentPath(dir, 2), new Uint8Array(0));
    writeFileSync(join(dir, "checkpoint.00000001"), "");
    assert.throws(
      () => WalReader.open(dir),
      (e) => isContrailError(e, "corruption"),
    );
    assert.throws(
      () => Wal.open(dir),
      (e) => isContrailError(e, "corruption"),
    );
  });
});
