import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { newMatcher } from "../../model/matcher.ts";
import { throwOnRejection } from "../../storage/commit.ts";
import { XorIterator } from "../chunkenc/xor.ts";
import { blockQuerier } from "../querier.ts";
import { listCheckpoints } from "../wal/checkpoint.ts";
import { WalReader } from "../wal/reader.ts";
import { PAGE_SIZE, segmentPath } from "../wal/segment.ts";
import { Head, type HeadLogger, type HeadOptions } from "./head.ts";

const HOUR = 3_600_000;
const dirs: string[] = [];
const heads: Head[] = [];
afterEach(() => {
  for (const h of heads.splice(0)) h.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "head-"));
  dirs.push(d);
  return d;
}

function openHead(opts: HeadOptions): Head {
  const h = Head.open(opts);
  heads.push(h);
  return h;
}

const series = (i: number) => Labels.fromStrings("__name__", "m", "i", String(i));

/** Appends `n` samples at `step` ms from `t0` to series 0..k-1, one commit per timestamp; value = t / 1000 + i. */
function fill(head: Head, o: { k: number; n: number; t0?: number; step?: number }): void {
  for (let j = 0; j < o.n; j++) {
    const app = head.appender();
    const t = (o.t0 ?? 0) + j * (o.step ?? 15_000);
    for (let i = 0; i < o.k; i++) app.append(series(i), t, t / 1000 + i);
    throwOnRejection(app.commit());
  }
}

/** Every sample as `i:t=v` strings, sorted by series. */
function dump(head: Head, mint = -1e15, maxt = 1e15): string[] {
  const out: string[] = [];
  const q = blockQuerier(head, mint, maxt);
  for (const s of q.select([newMatcher("=", "__name__", "m")], { start: mint, end: maxt, sorted: true })) {
    const it = s.iterator();
    while (it.next() !== "none") out.push(`${s.labels.get("i")}:${it.atT()}=${it.atV()}`);
  }
  return out;
}

function expected(o: { k: number; n: number; t0?: number; step?: number }): string[] {
  const out: string[] = [];
  for (let i = 0; i < o.k; i++) {
    for (let j = 0; j < o.n; j++) {
      const t = (o.t0 ?? 0) + j * (o.step ?? 15_000);
      out.push(`${i}:${t}=${t / 1000 + i}`);
    }
  }
  return out.sort((a, b) => (a.split(":")[0] === b.split(":")[0] ? 0 : a < b ? -1 : 1));
}

/** Cuts the WAL's last record in half, as a crash during its write would. */
function tearLastRecord(walDir: string): void {
  const r = WalReader.open(walDir);
  let seg = -1;
  let start = 0;
  let end = 0;
  while (r.next()) {
    seg = r.segment;
    start = r.recordOffset;
    end = r.offset;
  }
  r.close();
  truncateSync(segmentPath(walDir, seg), start + Math.floor((end - start) / 2));
}

function memoryLogger(): HeadLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (msg) => lines.push(`info ${msg}`),
    warn: (msg, fields) => lines.push(`warn ${msg} ${JSON.stringify(fields)}`),
  };
}

test("full chunks go to chunks_head and are read back; memory keeps only the open chunk", () => {
  const dir = tempDir();
  const head = openHead({ dir });
  fill(head, { k: 2, n: 250 });
  for (const ref of Array.from(head.index().allPostings())) {
    const s = head.series.getByRef(ref);
    assert.ok(s !== undefined);
    assert.equal(s.numMmapped, 2, "two full chunks of 120 samples");
    assert.equal(s.openSamples, 10);
  }
  head.files.flush();
  assert.deepEqual(readdirSync(join(dir, "chunks_head")), ["000001"]);
  assert.ok(statSync(join(dir, "chunks_head", "000001")).size > 8);
  const s = head.index().series(head.index().allPostings()[0]);
  assert.ok(s !== null);
  const ts: number[] = [];
  for (const meta of s.chunks) {
    const it = new XorIterator(head.chunks().chunk(meta).data);
    while (it.next() !== "none") ts.push(it.atT());
  }
  assert.deepEqual(
    ts,
    Array.from({ length: 250 }, (_, j) => j * 15_000),
  );
});

test("chunk metadata taken before more appends still reads the data it described", () => {
  const head = openHead({ dir: tempDir() });
  fill(head, { k: 1, n: 100 });
  const ref = head.index().allPostings()[0];
  const before = head.index().series(ref);
  assert.ok(before !== null);
  const openMeta = before.chunks[before.chunks.length - 1];
  // 100 more samples: the open chunk is cut and written to disk, a new one starts.
  fill(head, { k: 1, n: 100, t0: 100 * 15_000 });
  const it = new XorIterator(head.chunks().chunk(openMeta).data);
  let n = 0;
  let last = 0;
  while (it.next() !== "none") {
    n++;
    last = it.atT();
  }
  assert.equal(n, 100);
  assert.equal(last, openMeta.maxt);
});

test("close and reopen: chunks_head and the WAL rebuild the same head", () => {
  const dir = tempDir();
  const first = Head.open({ dir });
  fill(first, { k: 3, n: 300 });
  const refs = Array.from(first.index().allPostings());
  const want = dump(first);
  first.close();

  const head = openHead({ dir });
  assert.deepEqual(dump(head), want);
  assert.deepEqual(Array.from(head.index().allPostings()), refs);
  const r = head.openReport;
  assert.equal(r.headChunks, 3 * 2, "the full chunks come from chunks_head");
  assert.equal(r.samplesReplayed, 3 * 60, "only samples after them are re-appended from the WAL");
  assert.equal(r.walRepair, null);
  assert.equal(r.unknownRefs, 0);
  // Appends continue where the data ends, with ordering checks against the replayed samples.
  const app = head.appender();
  app.append(series(0), 299 * 15_000, 299 + 0);
  app.append(series(1), 299 * 15_000, 7);
  app.append(series(3), 1, 1);
  const rep = app.commit();
  assert.deepEqual([rep.appended, rep.duplicate, rep.outOfOrder, rep.outOfBounds], [0, 2, 0, 1], "t=1 is too old");
  assert.ok(isContrailError(rep.firstRejection, "duplicate_sample_for_timestamp"));
  assert.match(rep.firstRejection.message, /^sample at 4485000 for \{__name__="m", i="0"\}/);
  assert.equal(head.index().allPostings().length, 4);
  assert.equal(
    Math.max(...Array.from(head.index().allPostings())),
    refs[refs.length - 1] + 1,
    "new refs continue after the old",
  );
});

test("the last value of a series restored only from chunks_head is read back for duplicate checks", () => {
  const dir = tempDir();
  const first = Head.open({ dir });
  // The 121st sample cuts the first chunk; tearing its WAL record leaves the series held only in chunks_head.
  fill(first, { k: 1, n: 121 });
  first.close();
  tearLastRecord(join(dir, "wal"));
  const head = openHead({ dir });
  const s = head.series.getByRef(head.index().allPostings()[0]);
  assert.ok(s !== undefined && s.openSamples === 0 && s.numMmapped === 1);
  const same = head.appender();
  same.append(series(0), 119 * 15_000, 119 * 15);
  const sameRep = same.commit();
  assert.deepEqual([sameRep.appended, sameRep.firstRejection], [0, null], "an exact repeat is accepted");
  const other = head.appender();
  other.append(series(0), 119 * 15_000, -1);
  const rep = other.commit();
  assert.equal(rep.duplicate, 1);
  assert.ok(isContrailError(rep.firstRejection, "duplicate_sample_for_timestamp"));
  assert.match(rep.firstRejection.message, /a different one \(1785\) is stored/, "the value read from chunks_head");
});

test("a crash without close loses only the torn WAL tail, and the repair is reported", () => {
  const dir = tempDir();
  const crashed = Head.open({ dir });
  fill(crashed, { k: 2, n: 130 });
  const last = crashed.appender();
  last.append(series(0), 130 * 15_000, 1);
  last.append(series(1), 130 * 15_000, 1);
  last.commit();
  // Kill: no close, so buffered head chunks never reach the disk. Then tear the last WAL record.
  const walDir = join(dir, "wal");
  const seg = join(walDir, readdirSync(walDir).sort().at(-1) as string);
  truncateSync(seg, statSync(seg).size - 5);

  const logger = memoryLogger();
  const head = openHead({ dir, logger });
  assert.deepEqual(dump(head), expected({ k: 2, n: 130 }));
  const rep = head.openReport.walRepair;
  assert.ok(rep !== null);
  assert.match(rep.corruption.reason, /truncated|torn/);
  assert.equal(rep.result.deletedSegments.length, 0);
  assert.ok(logger.lines.some((l) => l.startsWith("warn WAL repaired")));
  // The repaired head takes new samples, and a second reopen is clean.
  fill(head, { k: 2, n: 1, t0: 131 * 15_000 });
  head.close();
  const again = openHead({ dir });
  assert.equal(again.openReport.walRepair, null);
  assert.equal(dump(again).length, 2 * 131);
});

test("damaged head chunk files are deleted from the damage on; the WAL fills the gap", () => {
  const dir = tempDir();
  const first = Head.open({ dir, headChunkFileSize: 2048 });
  fill(first, { k: 8, n: 400 });
  const want = dump(first);
  first.close();
  const files = readdirSync(join(dir, "chunks_head")).sort();
  assert.ok(files.length >= 3);
  const victim = join(dir, "chunks_head", files[1]);
  const size = statSync(victim).size;
  writeFileSync(victim, Buffer.alloc(size, 0xab).subarray(0, size), { flag: "r+" });
  // Keep the magic number so the file is opened and its records are found damaged.
  writeFileSync(victim, Buffer.from([0x01, 0x30, 0xbc, 0x91, 1, 0, 0, 0]), { flag: "r+" });

  const logger = memoryLogger();
  const head = openHead({ dir, logger });
  assert.equal(head.openReport.headChunkFilesDeleted?.fromFile, Number(files[1]));
  assert.ok(logger.lines.some((l) => l.startsWith("warn damaged head chunk files deleted")));
  assert.deepEqual(dump(head), want);
  assert.ok(!existsSync(join(dir, "chunks_head", files[2])));
});

test("truncate drops old chunks and empty series, checkpoints the WAL, and survives a reopen", () => {
  const dir = tempDir();
  const walSegmentSize = PAGE_SIZE;
  const head = Head.open({ dir, walSegmentSize });
  // Series 10 only has old data: it is collected.
  const app = head.appender();
  app.append(series(10), 1000, 1);
  app.commit();
  fill(head, { k: 10, n: 600, step: 30_000 }); // 0 .. 5 h
  const mint = 2 * HOUR;
  const rep = head.truncate(mint);
  assert.equal(rep.seriesRemoved, 1);
  assert.ok(rep.chunksRemoved > 0);
  assert.ok(rep.checkpoint !== null, "enough segments for a checkpoint");
  assert.equal(listCheckpoints(join(dir, "wal")).length, 1);
  assert.ok(head.minTime >= mint - 30 * 15_000, "only the chunk straddling mint may start before it");
  assert.equal(head.index().labelValues("i").length, 10);
  assert.equal(head.minValidTime, mint);
  const late = head.appender();
  late.append(series(0), mint - 1, 1);
  const lateRep = late.commit();
  assert.deepEqual([lateRep.appended, lateRep.outOfBounds], [0, 1]);
  assert.ok(isContrailError(lateRep.firstRejection, "out_of_bounds"));
  assert.match(lateRep.firstRejection.message, new RegExp(`^sample at ${mint - 1} for \\{__name__="m", i="0"\\}`));
  const want = dump(head, mint, 1e15);
  head.close();

  const again = openHead({ dir, walSegmentSize, minValidTime: mint });
  assert.deepEqual(dump(again, mint, 1e15), want);
  assert.equal(again.index().labelValues("i").length, 10);
  assert.equal(again.openReport.unknownRefs, 0);
  assert.deepEqual(dump(again, mint, 1e15).filter((l) => l.startsWith("0:")).length, (5 * HOUR - mint) / 30_000);
});

test("delete hides samples at once and after a reopen", () => {
  const dir = tempDir();
  const head = Head.open({ dir });
  fill(head, { k: 2, n: 10, step: 1000 });
  head.delete(2000, 5000, [newMatcher("=", "i", "0")]);
  const want = expected({ k: 2, n: 10, step: 1000 }).filter((l) => !/^0:[2345]000=/.test(l));
  assert.deepEqual(dump(head), want);
  head.close();
  const again = openHead({ dir });
  assert.deepEqual(dump(again), want);
});

test("a closed head refuses appenders", () => {
  const head = Head.open({ dir: tempDir() });
  head.close();
  head.close();
  assert.throws(
    () => head.appender(),
    (e) => isContrailError(e, "internal"),
  );
});

/** Every series' labels and samples, as text, in label order. */
function dumpAll(head: Head): string[] {
  const out: string[] = [];
  const q = blockQuerier(head, -1e15, 1e15);
  for (const s of q.select([newMatcher("=~", "__name__", ".+")], { start: -1e15, end: 1e15, sorted: true })) {
    const it = s.iterator();
    const samples: string[] = [];
    while (it.next() !== "none") samples.push(`${it.atT()}=${it.atV()}`);
    out.push(`${s.labels.toString()} ${samples.join(" ")}`);
  }
  return out;
}

test("series sharing the open-chunk arena keep their own labels and samples, across chunk cuts and a reopen", () => {
  const dir = tempDir();
  const head = openHead({ dir });
  const regions = ["ams", "fra", "iad"];
  const labelsOf = (i: number) =>
    Labels.fromStrings("__name__", i % 2 === 0 ? "up" : "requests_total", "region", regions[i % 3], "i", String(i));
  const want: string[][] = Array.from({ length: 300 }, () => []);
  // 300 samples a series: several chunks are cut (their arena slots freed and reused), in interleaved commits.
  for (let j = 0; j < 300; j++) {
    const app = head.appender();
    for (let i = 0; i < want.length; i++) {
      if ((i + j) % 7 === 0) continue;
      const t = j * 15_000 + (i % 11);
      const v = i % 3 === 0 ? j * 0.1 + i : Math.floor((i + 1) * j * 1.7);
      app.append(labelsOf(i), t, v);
      want[i].push(`${t}=${v}`);
    }
    throwOnRejection(app.commit());
  }
  const expectedDump = want.map((s, i) => `${labelsOf(i).toString()} ${s.join(" ")}`).sort();
  assert.deepEqual([...dumpAll(head)].sort(), expectedDump);
  assert.ok(head.arena.usedBytes > 0);
  head.close();
  const reopened = openHead({ dir });
  assert.deepEqual([...dumpAll(reopened)].sort(), expectedDump);
  assert.equal(reopened.stats().numSeries, want.length);
  // Truncating everything gives every open chunk's bytes back.
  reopened.truncate(1e15);
  assert.equal(reopened.stats().numSeries, 0);
  assert.equal(reopened.arena.usedBytes, 0);
});

test("a series keeps its labels as symbol ids, built again equal and with the head's strings", () => {
  const dir = tempDir();
  const head = openHead({ dir });
  const shared = Labels.fromInternedUnchecked(["__name__", "m", "i", "0"]);
  const plain = Labels.fromStrings("__name__", "m", "i", "1");
  const app = head.appender();
  app.append(shared, 1000, 1);
  app.append(plain, 1000, 2);
  throwOnRejection(app.commit());
  for (const l of [shared, plain]) {
    const built = head.series.getByLabels(l)?.labels;
    assert.ok(built !== undefined && built !== l && built.equals(l) && built.interned);
    assert.equal(built.hash(), l.hash());
  }
  // "__name__", "m", "i", "0" and "1": each name and value once, whatever set it came in.
  assert.equal(head.columns.labels.symbols, 5);
  assert.deepEqual(dump(head), ["0:1000=1", "1:1000=2"]);
  head.close();
  heads.splice(heads.indexOf(head), 1);
  const reopened = openHead({ dir });
  assert.deepEqual(dump(reopened), ["0:1000=1", "1:1000=2"]);
  assert.equal(reopened.series.getByLabels(plain)?.labels.toString(), plain.toString());
  // Series removed by truncation give their symbols back.
  reopened.truncate(1e15);
  assert.equal(reopened.columns.labels.symbols, 0);
});
