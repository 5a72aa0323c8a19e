import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import { throwOnRejection } from "../storage/commit.ts";
import type { Querier } from "../storage/interface.ts";
import { listBlockDirs } from "./block.ts";
import { newUlid, readBlockMeta } from "./block-meta.ts";
import { compactBlockDirs } from "./compact.ts";
import { Db, type DbOptions } from "./db.ts";

const HOUR = 60 * 60 * 1000;
const STEP = 60_000;

const temps: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "contrail-db-"));
  temps.push(d);
  return d;
}
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function open(dir: string, opts: Partial<DbOptions> = {}): Db {
  return Db.open({ dir, autoCompact: false, ...opts });
}

const seriesLabels = (i: number) =>
  Labels.fromStrings("__name__", i % 2 === 0 ? "up" : "requests_total", "instance", `host-${i}`, "job", "app");

/** Appends `n` series sampled every minute over [t0, t1) ms in one commit; value = i * 1e6 + t / 1000. */
function fill(db: Db, n: number, t0: number, t1: number): void {
  const app = db.appender();
  for (let t = t0; t < t1; t += STEP) for (let i = 0; i < n; i++) app.append(seriesLabels(i), t, i * 1e6 + t / 1000);
  throwOnRejection(app.commit());
}

/** "labels t=v" for every sample of every series in [mint, maxt]. */
function dump(q: Querier, mint: number, maxt: number): string[] {
  const out: string[] = [];
  for (const s of q.select([newMatcher("=~", "__name__", ".+")], { start: mint, end: maxt, sorted: true })) {
    const it = s.iterator();
    while (it.next() !== "none") out.push(`${s.labels.toString()} ${it.atT()}=${it.atV()}`);
  }
  q.close();
  return out;
}

function expected(n: number, t0: number, t1: number, mint = t0, maxt = t1 - 1): string[] {
  const out: string[] = [];
  const ls = Array.from({ length: n }, (_, i) => i).sort((a, b) => seriesLabels(a).compare(seriesLabels(b)));
  for (const i of ls) {
    for (let t = t0; t < t1; t += STEP) {
      if (t >= mint && t <= maxt) out.push(`${seriesLabels(i).toString()} ${t}=${i * 1e6 + t / 1000}`);
    }
  }
  return out;
}

describe("Db", () => {
  test("a new database lays out wal/ and chunks_head/ and reopens with its samples", async () => {
    const dir = tempDir();
    const db = open(dir);
    fill(db, 4, 0, HOUR);
    db.close();
    assert.deepEqual(readdirSync(dir).sort(), ["chunks_head", "wal"]);
    const again = open(dir);
    assert.deepEqual(dump(again.querier(0, HOUR), 0, HOUR), expected(4, 0, HOUR));
    again.close();
  });

  test("the head is cut into a 2 h block once it spans more than 3 h; queries see blocks and head", async () => {
    const dir = tempDir();
    const db = open(dir);
    fill(db, 6, 0, 3 * HOUR);
    assert.equal(db.headCompactable(), false, "3 h minus one step is not more than 1.5 ranges");
    assert.deepEqual((await db.compact()).headBlocks, []);
    fill(db, 6, 3 * HOUR, 3 * HOUR + 2 * STEP);
    assert.equal(db.headCompactable(), true);
    const report = await db.compact();
    assert.equal(report.headBlocks.length, 1);
    const [b] = db.blocks();
    assert.equal(b.minTime, 0);
    assert.equal(b.maxTime, 2 * HOUR);
    assert.equal(b.meta.stats.numSeries, 6);
    assert.equal(b.meta.stats.numSamples, 6 * 120);
    assert.equal(db.head.minTime, 2 * HOUR, "the head keeps only what the block does not hold");
    const t1 = 3 * HOUR + 2 * STEP;
    assert.deepEqual(dump(db.querier(0, t1), 0, t1), expected(6, 0, t1));
    // A range inside the block, one across the boundary, one in the head only.
    assert.deepEqual(
      dump(db.querier(HOUR, HOUR + 5 * STEP), HOUR, HOUR + 5 * STEP),
      expected(6, 0, t1, HOUR, HOUR + 5 * STEP),
    );
    const lo = 2 * HOUR - 3 * STEP;
    const hi = 2 * HOUR + 3 * STEP;
    assert.deepEqual(dump(db.querier(lo, hi), lo, hi), expected(6, 0, t1, lo, hi));
    assert.deepEqual(dump(db.querier(t1 - STEP, t1), t1 - STEP, t1), expected(6, 0, t1, t1 - STEP, t1));
    db.close();

    // After a restart the WAL replay skips what the block holds, so nothing is duplicated.
    const again = open(dir);
    assert.equal(again.blocks().length, 1);
    assert.deepEqual(dump(again.querier(0, t1), 0, t1), expected(6, 0, t1));
    // Appends older than the newest block are out of bounds.
    const app = again.appender();
    app.append(seriesLabels(0), HOUR, 1);
    app.append(seriesLabels(0), t1, 1);
    const rep = app.commit();
    assert.deepEqual([rep.appended, rep.outOfBounds], [1, 1], "the rest of the batch is committed");
    assert.ok(isContrailError(rep.firstRejection, "out_of_bounds"));
    assert.match(rep.firstRejection.message, new RegExp(`^sample at ${HOUR} for \\{__name__="up"`));
    again.close();
  });

  test("head blocks are merged by the leveled planner and their parents deleted", async () => {
    const dir = tempDir();
    const db = open(dir, { retentionMs: 30 * 24 * HOUR });
    assert.deepEqual(db.compactionRanges, [2 * HOUR, 6 * HOUR, 18 * HOUR, 54 * HOUR]);
    const t1 = 13 * HOUR;
    for (let t = 0; t < t1; t += HOUR) fill(db, 3, t, t + HOUR);
    const report = await db.compact();
    // Blocks [0,2) … [8,10) come from the head; [0,6) is merged from the first three.
    assert.equal(report.headBlocks.length, 5);
    assert.equal(report.mergedBlocks.length, 1);
    assert.equal(report.deletedBlocks, 3);
    assert.deepEqual(
      db.blocks().map((b) => [b.minTime / HOUR, b.maxTime / HOUR, b.meta.compaction.level]),
      [
        [0, 6, 2],
        [6, 8, 1],
        [8, 10, 1],
      ],
    );
    assert.equal(listBlockDirs(dir).length, 3);
    assert.deepEqual(dump(db.querier(0, t1), 0, t1), expected(3, 0, t1));
    db.close();
  });

  test("time retention deletes blocks ending too far behind the newest block", async () => {
    const dir = tempDir();
    const db = open(dir, { retentionMs: 6 * HOUR });
    assert.deepEqual(db.compactionRanges, [2 * HOUR]);
    fill(db, 2, 0, 12 * HOUR);
    const report = await db.compact();
    assert.equal(report.headBlocks.length, 5);
    assert.equal(report.deletedBlocks, 2);
    assert.deepEqual(
      db.blocks().map((b) => b.minTime / HOUR),
      [4, 6, 8],
    );
    assert.deepEqual(dump(db.querier(0, 12 * HOUR), 0, 12 * HOUR), expected(2, 0, 12 * HOUR, 4 * HOUR));
    db.close();
  });

  test("size retention deletes the oldest blocks until blocks, WAL and head chunks fit", async () => {
    const dir = tempDir();
    const probe = open(dir, { retentionMs: 0, ranges: [2 * HOUR] });
    // Random values compress badly, so the blocks outweigh the WAL's growth on each open.
    const app = probe.appender();
    for (let t = 0; t < 12 * HOUR; t += STEP)
      for (let i = 0; i < 100; i++) app.append(seriesLabels(i), t, Math.random());
    app.commit();
    await probe.compact();
    assert.equal(probe.blocks().length, 5);
    const sizes = probe.blocks().map((b) => b.size);
    probe.close();
    const measure = open(dir, { retentionMs: 0, ranges: [2 * HOUR] });
    const headBytes = measure.headBytes();
    measure.close();
    // Room for the head's files and the two newest blocks, not for a third.
    const maxBytes = headBytes + sizes[4] + sizes[3] + Math.floor(sizes[2] / 2);
    const db = open(dir, { retentionMs: 0, ranges: [2 * HOUR], maxBytes });
    assert.deepEqual(
      db.blocks().map((b) => b.minTime / HOUR),
      [6, 8],
    );
    db.close();
  });

  test("open removes unfinished block writes and finishes deleting compacted parents", async () => {
    const dir = tempDir();
    const db = open(dir, { ranges: [2 * HOUR] });
    fill(db, 3, 0, 7 * HOUR);
    await db.compact();
    const dirs = db.blocks().map((b) => b.dir);
    assert.equal(dirs.length, 2);
    db.close();
    // A crash after the merged block was renamed into place but before its parents were deleted…
    const merged = compactBlockDirs({ dest: dir, dirs });
    assert.ok(merged !== null);
    // …and a crash in the middle of writing another block.
    const partial = join(dir, `${newUlid()}.tmp-for-creation`);
    mkdirSync(join(partial, "chunks"), { recursive: true });
    const again = open(dir);
    await again.whenIdle();
    assert.equal(existsSync(partial), false);
    assert.deepEqual(
      again.blocks().map((b) => b.meta.ulid),
      [merged.ulid],
    );
    for (const d of dirs) assert.equal(existsSync(d), false);
    assert.deepEqual(dump(again.querier(0, 7 * HOUR), 0, 7 * HOUR), expected(3, 0, 7 * HOUR));
    again.close();
  });

  test("a querier keeps reading blocks deleted by a compaction after it was opened", async () => {
    const dir = tempDir();
    const db = open(dir, { ranges: [2 * HOUR, 6 * HOUR] });
    fill(db, 2, 0, 7 * HOUR);
    await db.compact();
    fill(db, 2, 7 * HOUR, 11 * HOUR);
    const q = db.querier(0, 3 * HOUR); // blocks [0,2) and [2,4) only
    const report = await db.compact();
    assert.equal(report.headBlocks.length, 2);
    assert.equal(report.mergedBlocks.length, 1, "[0,2), [2,4), [4,6) merged");
    assert.equal(report.deletedBlocks, 3);
    assert.deepEqual(dump(q, 0, 3 * HOUR), expected(2, 0, 11 * HOUR, 0, 3 * HOUR));
    assert.deepEqual(dump(db.querier(0, 11 * HOUR), 0, 11 * HOUR), expected(2, 0, 11 * HOUR));
    db.close();
  });

  test("a querier reading the head holds back its truncation, not the block; later queriers read the block", async () => {
    const dir = tempDir();
    const db = open(dir);
    fill(db, 2, 0, 5 * HOUR);
    const q = db.querier(0, 5 * HOUR);
    const first = await db.compact();
    assert.equal(first.headBlocks.length, 1, "the block is written and swapped in");
    assert.equal(db.head.minTime, 0, "the truncation is put off while the querier reads the head");
    // A querier opened now reads [0, 2 h) from the block and the rest from the head: no sample twice.
    assert.deepEqual(dump(db.querier(0, 5 * HOUR), 0, 5 * HOUR), expected(2, 0, 5 * HOUR));
    assert.deepEqual((await db.compact()).headBlocks, [], "no block is cut while the truncation is owed");
    assert.deepEqual(dump(q, 0, 5 * HOUR), expected(2, 0, 5 * HOUR));
    assert.deepEqual((await db.compact()).headBlocks, [], "closing the querier lets the next run truncate");
    assert.equal(db.head.minTime, 2 * HOUR);
    assert.deepEqual(dump(db.querier(0, 5 * HOUR), 0, 5 * HOUR), expected(2, 0, 5 * HOUR));
    db.close();
    const again = open(dir);
    assert.deepEqual(dump(again.querier(0, 5 * HOUR), 0, 5 * HOUR), expected(2, 0, 5 * HOUR));
    again.close();
  });

  test("with background compaction, closing the last querier that held a truncation back truncates", async () => {
    const dir = tempDir();
    const db = Db.open({ dir, autoCompact: true, maintenanceIntervalMs: 3_600_000 });
    fill(db, 2, 0, 5 * HOUR);
    const q = db.querier(0, 5 * HOUR); // Before the compaction the commit scheduled starts.
    const deadline = Date.now() + 10_000;
    while (db.blocks().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await db.whenIdle();
    assert.equal(db.head.minTime, 0);
    q.close();
    while (db.head.minTime === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(db.head.minTime, 2 * HOUR);
    await db.whenIdle();
    db.close();
  });

  test("a corrupt block fails the open with an error naming it", async () => {
    const dir = tempDir();
    const db = open(dir);
    fill(db, 2, 0, 4 * HOUR);
    await db.compact();
    const [b] = db.blocks();
    db.close();
    rmSync(join(b.dir, "index"));
    assert.throws(
      () => open(dir),
      (e) => isContrailError(e, "corruption") && e.message.includes(b.meta.ulid),
    );
    assert.equal(readBlockMeta(b.dir).ulid, b.meta.ulid, "nothing is deleted");
  });

  test("stats count head series, chunks, times and top cardinalities", async () => {
    const dir = tempDir();
    const db = open(dir);
    assert.equal(db.stats().minTime, null);
    fill(db, 5, 0, 4 * HOUR);
    await db.compact();
    const s = db.stats({ limit: 2 });
    assert.equal(s.head.numSeries, 5);
    assert.equal(s.head.minTime, 2 * HOUR);
    assert.equal(s.head.maxTime, 4 * HOUR - STEP);
    assert.ok(s.head.chunkCount >= 5);
    assert.equal(s.blocks.count, 1);
    assert.equal(s.blocks.numSeries, 5);
    assert.equal(s.minTime, 0);
    assert.equal(s.maxTime, 4 * HOUR - STEP);
    assert.deepEqual(s.seriesCountByMetricName, [
      { name: "up", value: 3 },
      { name: "requests_total", value: 2 },
    ]);
    assert.deepEqual(s.labelValueCountByLabelName, [
      { name: "instance", value: 5 },
      { name: "__name__", value: 2 },
    ]);
    assert.deepEqual(s.seriesCountByLabelValuePair, [
      { name: "job=app", value: 5 },
      { name: "__name__=up", value: 3 },
    ]);
    assert.equal(s.head.numLabelPairs, 5 + 2 + 1);
    db.close();
  });

  test("background compaction runs after a commit that makes the head compactable", async () => {
    const dir = tempDir();
    const db = Db.open({ dir, autoCompact: true, maintenanceIntervalMs: 3_600_000 });
    fill(db, 2, 0, 4 * HOUR);
    const deadline = Date.now() + 10_000;
    while (db.blocks().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(db.blocks().length, 1);
    await db.whenIdle();
    assert.deepEqual(db.maintenanceStatus(), { runs: 1, failures: 0, lastError: null });
    db.close();
    assert.throws(
      () => db.querier(0, 1),
      (e) => isContrailError(e, "unavailable"),
    );
  });
});
