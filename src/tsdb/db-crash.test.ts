// A process killed (SIGKILL) at any moment of its maintenance leaves a database directory that opens cleanly and
// holds every acknowledged sample exactly once. The test runs this file again as a child process that appends and
// compacts without pause (tiny block ranges and WAL segments, so head blocks, merges, checkpoints and deletions
// follow each other every few hundred milliseconds) and prints each acknowledged commit; the parent kills it at
// varied points (counted in acknowledged commits), checks the directory, and lets the next child go on where the acknowledged data ends.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Labels } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import { throwOnRejection } from "../storage/commit.ts";
import { Db, type DbOptions } from "./db.ts";

const CHILD_ENV = "CONTRAIL_DB_CRASH_CHILD";
const SERIES = 20;
/** Sample spacing (ms) of the synthetic clock: one commit per step. */
const STEP = 1_000;
const OPTIONS: Omit<DbOptions, "dir"> = {
  autoCompact: false,
  blockRange: 60 * STEP,
  ranges: [60 * STEP, 180 * STEP, 540 * STEP],
  walSegmentSize: 32 * 1024,
};
/** Wall time between two commits of the child (ms). */
const COMMIT_EVERY_MS = 2;
/** Wall time between two compaction runs of the child (ms). */
const COMPACT_EVERY_MS = 10;
const ROUNDS = 6;
/** Commits of the shortest round: more than a block range, so the head always has something to compact. */
const MIN_ROUND_ACKS = 100;
/** Kill points spread over this many further commits, across the phases of a compaction cycle. */
const ROUND_ACK_SPREAD = 500;
/** A hang guard, not a speed bound: six children that each compile the code at start are slow on a loaded machine. */
const HANG_GUARD_MS = 10 * 60_000;

const labels = (i: number) => Labels.fromStrings("__name__", "crash", "i", String(i));
const value = (i: number, t: number) => i * 1e9 + t;

/**
 * The child: appends from `from` (ms) on, or after the newest sample when a killed child committed more than it
 * could acknowledge, one commit per step, printing `ack <t>`, and compacts meanwhile.
 */
async function child(dir: string, from: number): Promise<void> {
  const db = Db.open({ dir, ...OPTIONS });
  let start = from;
  if (db.head.maxTime > start) start = db.head.maxTime - 1 + STEP;
  void (async () => {
    let blocks = db.blocks().length;
    for (;;) {
      await db.compact().catch(() => {});
      if (db.blocks().length > blocks) process.stdout.write("block\n");
      blocks = db.blocks().length;
      await new Promise((r) => setTimeout(r, COMPACT_EVERY_MS));
    }
  })();
  for (let t = start; ; t += STEP) {
    const app = db.appender();
    for (let i = 0; i < SERIES; i++) app.append(labels(i), t, value(i, t));
    throwOnRejection(app.commit());
    process.stdout.write(`ack ${t}\n`);
    await new Promise((r) => setTimeout(r, COMMIT_EVERY_MS));
  }
}

/**
 * Runs a child from `from` and kills it once it has acknowledged `killAfterAcks` commits, and with `afterBlock` once
 * it has also written a block; returns the last ack seen. Counted in commits and blocks, not milliseconds: a loaded
 * machine slows the child, not the point of its work where it dies.
 */
function runChild(dir: string, from: number, killAfterAcks: number, afterBlock: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url)], {
      env: { ...process.env, [CHILD_ENV]: JSON.stringify({ dir, from }) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let last = -1;
    let acks = 0;
    let blocks = 0;
    let buf = "";
    let stderr = "";
    proc.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      for (const l of lines) {
        if (l === "block") blocks++;
        if (!l.startsWith("ack ")) continue;
        last = Number(l.slice(4));
        acks++;
      }
      if (acks >= killAfterAcks && (!afterBlock || blocks > 0)) proc.kill("SIGKILL");
    });
    proc.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    proc.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resolve(last);
      else reject(new Error(`the child exited with ${code}: ${stderr}`));
    });
  });
}

/** Samples of the database in [0, until] as `i t=v`, in label order. */
function dump(db: Db, until: number): string[] {
  const q = db.querier(0, until);
  const out: string[] = [];
  for (const s of q.select([newMatcher("=", "__name__", "crash")], { start: 0, end: until, sorted: true })) {
    const it = s.iterator();
    while (it.next() !== "none") out.push(`${s.labels.get("i")} ${it.atT()}=${it.atV()}`);
  }
  q.close();
  return out;
}

function expected(until: number): string[] {
  const ids = Array.from({ length: SERIES }, (_, i) => i).sort((a, b) => labels(a).compare(labels(b)));
  const out: string[] = [];
  for (const i of ids) for (let t = 0; t <= until; t += STEP) out.push(`${i} ${t}=${value(i, t)}`);
  return out;
}

const spec = process.env[CHILD_ENV];
if (spec !== undefined) {
  const { dir, from } = JSON.parse(spec) as { dir: string; from: number };
  await child(dir, from);
} else {
  const dir = mkdtempSync(join(tmpdir(), "contrail-db-crash-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a process killed during maintenance loses no acknowledged sample", { timeout: HANG_GUARD_MS }, async () => {
    let acked = -1;
    let blocksSeen = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Kill moments spread over the phases of a compaction cycle.
      const killAfter = MIN_ROUND_ACKS + ((round * 577) % ROUND_ACK_SPREAD);
      // Every other child also waits for a block of its own, so compacted blocks are there to be checked.
      const last = await runChild(dir, acked < 0 ? 0 : acked + STEP, killAfter, round % 2 === 1);
      assert.ok(last > acked, `round ${round}: the child acknowledged new samples`);
      acked = last;
      // Samples after `acked` may have been committed without their ack reaching us; they may be there or not.
      const db = Db.open({ dir, ...OPTIONS });
      assert.deepEqual(dump(db, acked), expected(acked), `round ${round}: every acknowledged sample, once`);
      blocksSeen = Math.max(blocksSeen, db.blocks().length);
      await db.whenIdle();
      db.close();
      assert.deepEqual(
        readdirSync(dir).filter((n) => n.includes(".tmp")),
        [],
        `round ${round}: leftovers are deleted after opening`,
      );
    }
    assert.ok(blocksSeen > 0, "compactions ran in the children");
  });
}
