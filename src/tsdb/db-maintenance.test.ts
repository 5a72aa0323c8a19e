// The database's maintenance on the worker thread, concurrently with what the main thread keeps doing: appends
// during a compaction, close() in the middle of one, a worker lost mid-job, several databases sharing one worker.

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import { throwOnRejection } from "../storage/commit.ts";
import { Db, type DbOptions } from "./db.ts";
import type { MaintenanceJob } from "./maintenance/jobs.ts";
import { isWorkerFailure, MaintenanceQueue } from "./maintenance/queue.ts";

const HOUR = 3_600_000;
const STEP = 60_000;

const temps: string[] = [];
const queues: MaintenanceQueue[] = [];
after(async () => {
  for (const q of queues) await q.close();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "contrail-db-maint-"));
  temps.push(d);
  return d;
}

function newQueue(): MaintenanceQueue {
  const q = new MaintenanceQueue();
  queues.push(q);
  return q;
}

function open(dir: string, opts: Partial<DbOptions> = {}): Db {
  return Db.open({ dir, autoCompact: false, ...opts });
}

const seriesLabels = (i: number) => Labels.fromStrings("__name__", "m", "i", String(i));
const value = (i: number, t: number) => i * 1e6 + t / 1000;

/** Appends series 0..n-1 at every step in [t0, t1) ms, one commit per timestamp. */
function fill(db: Db, n: number, t0: number, t1: number): void {
  for (let t = t0; t < t1; t += STEP) {
    const app = db.appender();
    for (let i = 0; i < n; i++) app.append(seriesLabels(i), t, value(i, t));
    throwOnRejection(app.commit());
  }
}

/** "i t=v" for every sample in [mint, maxt], in label order. */
function dump(db: Db, mint: number, maxt: number): string[] {
  const q = db.querier(mint, maxt);
  const out: string[] = [];
  for (const s of q.select([newMatcher("=", "__name__", "m")], { start: mint, end: maxt, sorted: true })) {
    const it = s.iterator();
    while (it.next() !== "none") out.push(`${s.labels.get("i")} ${it.atT()}=${it.atV()}`);
  }
  q.close();
  return out;
}

function expected(n: number, t0: number, t1: number): string[] {
  const ids = Array.from({ length: n }, (_, i) => i).sort((a, b) => seriesLabels(a).compare(seriesLabels(b)));
  const out: string[] = [];
  for (const i of ids) for (let t = t0; t < t1; t += STEP) out.push(`${i} ${t}=${value(i, t)}`);
  return out;
}

/** Resolves once `q` runs a job of `kind` (polling every turn of the event loop). */
async function running(q: MaintenanceQueue, kind: MaintenanceJob["kind"]): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (q.stats().running !== kind) {
    if (Date.now() > deadline) throw new Error(`no ${kind} job started within 10 s`);
    await new Promise((r) => setImmediate(r));
  }
}

function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.includes(".tmp"));
}

describe("Db maintenance on the worker", () => {
  test("appends keep arriving while the worker compacts; every sample is kept once", async () => {
    const dir = tempDir();
    const db = open(dir);
    fill(db, 5, 0, 4 * HOUR);
    let t = 4 * HOUR;
    let done = false;
    const run = db.compact().finally(() => {
      done = true;
    });
    let commits = 0;
    // Half an hour of samples at most, so that the head does not become compactable again meanwhile.
    while (!done) {
      if (t < 4.5 * HOUR) {
        fill(db, 5, t, t + STEP);
        t += STEP;
        commits++;
      }
      await new Promise((r) => setImmediate(r));
    }
    const report = await run;
    assert.equal(report.headBlocks.length, 1);
    assert.ok(commits > 0, "commits went on during the compaction");
    assert.deepEqual(
      db.blocks().map((b) => [b.minTime, b.maxTime]),
      [[0, 2 * HOUR]],
    );
    assert.equal(db.head.minTime, 2 * HOUR);
    assert.deepEqual(dump(db, 0, t), expected(5, 0, t));
    db.close();
    const again = open(dir);
    assert.deepEqual(dump(again, 0, t), expected(5, 0, t));
    again.close();
  });

  test("close() while the worker writes a block: no hang, and the directory reopens with every sample", async () => {
    const dir = tempDir();
    const q = newQueue();
    const db = open(dir, { maintenance: q });
    fill(db, 5, 0, 5 * HOUR);
    const run = db.compact();
    await running(q, "head-block");
    db.close();
    assert.ok(db.maintenanceRunning, "the job is still in flight");
    assert.throws(
      () => open(dir, { maintenance: q }),
      (e) => isContrailError(e, "unavailable") && e.message.includes("still finishing"),
    );
    await run;
    await db.whenIdle();
    const again = open(dir, { maintenance: q });
    assert.deepEqual(dump(again, 0, 5 * HOUR), expected(5, 0, 5 * HOUR));
    const report = await again.compact();
    assert.deepEqual(dump(again, 0, 5 * HOUR), expected(5, 0, 5 * HOUR));
    assert.equal(again.blocks().length, 1, `blocks after reopening and compacting: ${JSON.stringify(report)}`);
    await again.whenIdle();
    assert.deepEqual(leftovers(dir), []);
    again.close();
  });

  test("close() while a job waits in the queue: the job is dropped and the run resolves", async () => {
    const q = newQueue();
    const first = open(tempDir(), { maintenance: q });
    const dir = tempDir();
    const second = open(dir, { maintenance: q });
    fill(first, 5, 0, 4 * HOUR);
    fill(second, 5, 0, 4 * HOUR);
    const runFirst = first.compact();
    await running(q, "head-block");
    const runSecond = second.compact();
    while (q.stats().queued === 0) await new Promise((r) => setImmediate(r));
    second.close();
    assert.deepEqual(await runSecond, { headBlocks: [], mergedBlocks: [], deletedBlocks: 0 });
    assert.equal((await runFirst).headBlocks.length, 1);
    await second.whenIdle();
    assert.equal(second.maintenanceStatus().failures, 0, "a run stopped by close() is no failure");
    const again = open(dir, { maintenance: q });
    assert.deepEqual(dump(again, 0, 4 * HOUR), expected(5, 0, 4 * HOUR));
    assert.equal(again.blocks().length, 0);
    again.close();
    first.close();
  });

  test("a worker lost mid-compaction fails the run without losing data; the next run does the work", async () => {
    const dir = tempDir();
    const q = newQueue();
    const warnings: string[] = [];
    const db = open(dir, { maintenance: q, logger: { info() {}, warn: (msg) => warnings.push(msg) } });
    fill(db, 5, 0, 4 * HOUR);
    const run = assert.rejects(db.compact(), isWorkerFailure);
    await running(q, "head-block");
    await q.restartWorker();
    await run;
    const status = db.maintenanceStatus();
    assert.equal(status.failures, 1);
    assert.match(status.lastError ?? "", /restarted/);
    assert.ok(warnings.includes("compaction failed"));
    assert.equal(db.head.minTime, 0, "nothing was truncated");
    assert.deepEqual(dump(db, 0, 4 * HOUR), expected(5, 0, 4 * HOUR));

    const report = await db.compact();
    assert.equal(report.headBlocks.length, 1);
    assert.deepEqual(dump(db, 0, 4 * HOUR), expected(5, 0, 4 * HOUR));
    await db.whenIdle();
    assert.deepEqual(leftovers(dir), [], "the unfinished block of the lost worker is deleted");
    assert.equal(db.maintenanceStatus().failures, 1);
    db.close();
  });

  test("finished WAL segments are synced by the worker, not by the commit that filled them", async () => {
    const dir = tempDir();
    const q = newQueue();
    const db = open(dir, { maintenance: q, walSegmentSize: 32 * 1024 });
    fill(db, 100, 0, 3 * HOUR);
    const segments = readdirSync(join(dir, "wal")).length;
    assert.ok(segments > 3, `several segments filled (${segments})`);
    assert.ok(db.maintenanceRunning, "syncs were handed to the worker");
    await db.whenIdle();
    assert.equal(q.stats().completed, segments - 1, "one sync per finished segment");
    db.close();
    const again = open(dir, { maintenance: q });
    assert.deepEqual(dump(again, 0, 3 * HOUR), expected(100, 0, 3 * HOUR));
    again.close();
  });

  test("several databases compacting at once take turns on one worker", async () => {
    const q = newQueue();
    const dbs = Array.from({ length: 4 }, () => open(tempDir(), { maintenance: q, ranges: [2 * HOUR, 6 * HOUR] }));
    dbs.forEach((db, k) => {
      fill(db, 3 + k, 0, 10 * HOUR);
    });
    const reports = await Promise.all(dbs.map((db) => db.compact()));
    dbs.forEach((db, k) => {
      assert.deepEqual(
        [reports[k].headBlocks.length, reports[k].mergedBlocks.length],
        [4, 1],
        `database ${k}: [0,2) to [6,8) cut, then [0,6) merged`,
      );
      assert.deepEqual(dump(db, 0, 10 * HOUR), expected(3 + k, 0, 10 * HOUR));
    });
    const stats = q.stats();
    assert.deepEqual([stats.queued, stats.running, stats.workerFailures], [0, null, 0]);
    for (const db of dbs) db.close();
  });
});
