import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { crc32c } from "../encoding/crc32c.ts";
import { type WalCorruption, WalReader } from "./reader.ts";
import { repairSegment } from "./repair.ts";
import { FLAG_SNAPPY, FLAG_ZSTD, HEADER_SIZE, listSegments, PAGE_SIZE, segmentPath } from "./segment.ts";
import { Wal } from "./wal.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "contrail-walc-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const SEG = 8 * PAGE_SIZE;

/** Record `i`: its index in the first four bytes, then a pattern; sizes cycle through small, page-sized and large. */
function record(i: number): Uint8Array {
  const sizes = [20, 300, 5_000, 40_000, 90_000, 64, 33_000];
  const r = new Uint8Array(sizes[i % sizes.length]);
  for (let k = 0; k < r.length; k++) r[k] = (i * 31 + k * 7) & 0xff;
  new DataView(r.buffer).setUint32(0, i);
  return r;
}

interface Pos {
  segment: number;
  start: number;
  end: number;
}

/** Writes `n` records and returns where each landed. */
function writeWal(dir: string, n: number): Pos[] {
  const w = Wal.open(dir, { segmentSize: SEG });
  for (let i = 0; i < n; i++) w.log(record(i));
  w.close();
  const r = WalReader.open(dir);
  const pos: Pos[] = [];
  while (r.next()) pos.push({ segment: r.segment, start: r.recordOffset, end: r.offset });
  assert.equal(r.corruption(), null);
  r.close();
  return pos;
}

/** Reads until the end or the damage; returns the indexes of the records read and the report. */
function readIds(dir: string): { ids: number[]; corruption: WalCorruption | null } {
  const r = WalReader.open(dir);
  const ids: number[] = [];
  while (r.next()) {
    const rec = r.record();
    assert.deepEqual(rec, record(new DataView(rec.buffer, rec.byteOffset).getUint32(0)), "record content intact");
    ids.push(new DataView(rec.buffer, rec.byteOffset).getUint32(0));
  }
  r.close();
  return { ids, corruption: r.corruption() };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Damages the WAL, checks the report, repairs, and checks that exactly the records before `firstLost` survive. */
function damageAndRepair(opts: {
  n: number;
  damage: (dir: string, pos: Pos[]) => { firstLost: number; segment: number; offset: number; reason: RegExp };
}): void {
  const dir = tempDir();
  const pos = writeWal(dir, opts.n);
  assert.ok(listSegments(dir).length >= 3, "the WAL spans several segments");
  const want = opts.damage(dir, pos);

  const before = readIds(dir);
  assert.deepEqual(before.ids, range(want.firstLost), "reader stops right before the damaged record");
  const c = before.corruption;
  assert.ok(c !== null, "the damage is reported");
  assert.equal(c.dir, dir);
  assert.equal(c.segment, want.segment);
  assert.equal(c.offset, want.offset);
  assert.match(c.reason, want.reason);

  // Repair through a writer, as the head does at startup, then keep writing.
  const w = Wal.open(dir, { segmentSize: SEG });
  w.repair(c);
  assert.equal(w.activeSegment, c.segment + 1);
  w.log(record(1000), record(1001));
  w.close();

  const after = readIds(dir);
  assert.equal(after.corruption, null, "the repaired WAL reads cleanly");
  assert.deepEqual(after.ids, [...range(want.firstLost), 1000, 1001]);
  assert.deepEqual(listSegments(dir), range(c.segment + 2));
  assert.equal(statSync(segmentPath(dir, c.segment)).size % PAGE_SIZE, 0);
}

describe("WAL corruption is reported and repaired", () => {
  test("segment truncated in the middle of a fragment", () => {
    damageAndRepair({
      n: 60,
      damage: (dir, pos) => {
        const lastSeg = pos[pos.length - 1].segment;
        // A record split over pages in the last segment; cut inside its second fragment.
        const i = pos.findIndex((p) => p.segment === lastSeg && p.end - p.start > PAGE_SIZE);
        const p = pos[i];
        const cut = (Math.floor(p.start / PAGE_SIZE) + 1) * PAGE_SIZE + 100;
        truncateSync(segmentPath(dir, lastSeg), cut);
        return { firstLost: i, segment: lastSeg, offset: p.start, reason: /fragment truncated/ };
      },
    });
  });

  test("segment truncated at a page boundary inside a split record", () => {
    damageAndRepair({
      n: 60,
      damage: (dir, pos) => {
        const lastSeg = pos[pos.length - 1].segment;
        const i = pos.findIndex((p) => p.segment === lastSeg && p.end - p.start > PAGE_SIZE);
        const p = pos[i];
        truncateSync(segmentPath(dir, lastSeg), (Math.floor(p.start / PAGE_SIZE) + 1) * PAGE_SIZE);
        return { firstLost: i, segment: lastSeg, offset: p.start, reason: /last record is torn/ };
      },
    });
  });

  test("a flipped byte in a middle page of a middle segment", () => {
    damageAndRepair({
      n: 60,
      damage: (dir, pos) => {
        const seg = pos[Math.floor(pos.length / 2)].segment;
        const at = 3 * PAGE_SIZE + 777;
        const i = pos.findIndex((p) => p.segment === seg && p.start <= at && at < p.end);
        assert.ok(i >= 0, "a record covers the flipped byte");
        const path = segmentPath(dir, seg);
        const b = readFileSync(path);
        b[at] ^= 0x40;
        writeFileSync(path, b);
        return { firstLost: i, segment: seg, offset: pos[i].start, reason: /checksum mismatch/ };
      },
    });
  });

  test("the tail of the last segment zeroed from inside a record", () => {
    damageAndRepair({
      n: 60,
      damage: (dir, pos) => {
        const lastSeg = pos[pos.length - 1].segment;
        const i = pos.findIndex((p) => p.segment === lastSeg && p.end - p.start > 1000);
        const p = pos[i];
        const path = segmentPath(dir, lastSeg);
        const b = readFileSync(path);
        b.fill(0, p.start + HEADER_SIZE + 10);
        writeFileSync(path, b);
        return { firstLost: i, segment: lastSeg, offset: p.start, reason: /checksum mismatch/ };
      },
    });
  });

  test("garbage in page padding", () => {
    damageAndRepair({
      n: 60,
      damage: (dir, pos) => {
        // The first segment's last page is padded after its last record; put a stray byte in the padding.
        const last0 = pos.filter((p) => p.segment === 0).length - 1;
        const p = pos[last0];
        const path = segmentPath(dir, 0);
        const b = readFileSync(path);
        assert.ok(b.length - p.end > 10, "there is padding after the last record of segment 0");
        b[b.length - 5] = 0x33;
        writeFileSync(path, b);
        return { firstLost: last0 + 1, segment: 0, offset: p.end, reason: /non-zero byte in page padding/ };
      },
    });
  });
});

describe("repair through a writer", () => {
  test("refuses a report about another directory (e.g. a checkpoint)", () => {
    const dir = tempDir();
    writeWal(dir, 3);
    const w = Wal.open(dir);
    assert.throws(
      () => w.repair({ dir: join(dir, "checkpoint.00000000"), segment: 0, offset: 0, reason: "x" }),
      (e) => isContrailError(e, "bad_data"),
    );
    w.close();
    assert.deepEqual(readIds(dir).ids, range(3));
  });
});

describe("damage found by a record decoder", () => {
  test("rejectRecord reports the current record and repair drops it and what follows", () => {
    const dir = tempDir();
    const pos = writeWal(dir, 30);
    const r = WalReader.open(dir);
    let c: WalCorruption | null = null;
    while (r.next()) {
      if (new DataView(r.record().buffer, r.record().byteOffset).getUint32(0) === 17) c = r.rejectRecord("bad payload");
    }
    assert.ok(c !== null);
    assert.equal(r.corruption(), c);
    assert.deepEqual([c.segment, c.offset], [pos[17].segment, pos[17].start]);
    const res = repairSegment(c);
    assert.equal(res.keptRecords, pos.slice(0, 17).filter((p) => p.segment === c.segment).length);
    assert.deepEqual(res.deletedSegments, range(pos[29].segment + 1).slice(c.segment + 1));
    const after = readIds(dir);
    assert.equal(after.corruption, null);
    assert.deepEqual(after.ids, range(17));
  });
});

describe("compressed records", () => {
  /** Writes one segment with a single full fragment whose header byte is `typeByte`. */
  function oneFragment(dir: string, typeByte: number, data: Uint8Array): void {
    const seg = new Uint8Array(PAGE_SIZE);
    seg[0] = typeByte;
    seg[1] = data.length >> 8;
    seg[2] = data.length & 0xff;
    new DataView(seg.buffer).setUint32(3, crc32c(data));
    seg.set(data, HEADER_SIZE);
    writeFileSync(segmentPath(dir, 0), seg);
  }

  test("snappy-compressed records are decompressed", () => {
    const dir = tempDir();
    // "abcabcabcabc": length 12, literal "abc", copy of 9 bytes at offset 3.
    oneFragment(dir, 1 | FLAG_SNAPPY, new Uint8Array([0x0c, 0x08, 0x61, 0x62, 0x63, 0x15, 0x03]));
    const r = WalReader.open(dir);
    assert.ok(r.next());
    assert.equal(Buffer.from(r.record()).toString(), "abcabcabcabc");
    assert.ok(!r.next());
    assert.equal(r.corruption(), null);
  });

  test("malformed snappy data behind a valid checksum is corruption", () => {
    const dir = tempDir();
    oneFragment(dir, 1 | FLAG_SNAPPY, new Uint8Array([0x0c, 0x08, 0x61, 0x62, 0x63, 0x15, 0x09]));
    const r = WalReader.open(dir);
    assert.ok(!r.next());
    assert.match(r.corruption()?.reason ?? "", /snappy: copy offset 9 out of range/);
    assert.equal(r.corruption()?.offset, 0);
  });

  test("zstd-compressed records are refused, not treated as damage", () => {
    const dir = tempDir();
    oneFragment(dir, 1 | FLAG_ZSTD, new Uint8Array([1, 2, 3]));
    const r = WalReader.open(dir);
    assert.throws(
      () => r.next(),
      (e) => isContrailError(e, "bad_data") && /zstd/.test((e as Error).message),
    );
    r.close();
  });
});
