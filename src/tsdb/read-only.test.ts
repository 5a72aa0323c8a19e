// Opening a database directory read-only: blocks and a head rebuilt from a copy of the WAL, with nothing written to
// the directory, not even the repair of a damaged WAL tail.

import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import { Db } from "./db.ts";
import { ReadOnlyDb } from "./read-only.ts";
import { listSegments, segmentPath } from "./wal/segment.ts";

const HOUR = 3_600_000;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function temp(): string {
  const d = mkdtempSync(join(tmpdir(), "contrail-readonly-test-"));
  dirs.push(d);
  return d;
}

/** The times of series `up` that `db` reads over everything. */
function times(db: ReadOnlyDb): number[] {
  const q = db.querier(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
  const out: number[] = [];
  for (const s of q.select([newMatcher("=", "__name__", "up")], { start: -Infinity, end: Infinity })) {
    const it = s.iterator();
    for (let k = it.next(); k !== "none"; k = it.next()) out.push(it.atT());
  }
  q.close();
  return out;
}

test("reads the blocks and the WAL, and a damaged WAL tail is cut off in the copy only", async () => {
  const dir = temp();
  const db = Db.open({ dir, autoCompact: false });
  const app = db.appender();
  for (let t = 0; t < 5 * HOUR; t += HOUR / 4) app.append(Labels.fromStrings("__name__", "up"), t, 1);
  assert.equal(app.commit().firstRejection, null);
  assert.equal((await db.compact()).headBlocks.length, 1);
  db.close();
  // A torn record at the end of the last segment, as a crash mid-write leaves it.
  const walDir = join(dir, "wal");
  const last = segmentPath(walDir, listSegments(walDir).at(-1) as number);
  appendFileSync(last, Buffer.from([1, 0, 200, 0, 0, 0, 0, 0, 7]));
  const bytes = readFileSync(last);

  const sandboxRoot = temp();
  const ro = ReadOnlyDb.open(dir, { sandboxRoot });
  try {
    assert.equal(ro.blocks.length, 1);
    assert.ok(ro.head !== null);
    assert.deepEqual(
      times(ro),
      Array.from({ length: 20 }, (_, i) => (i * HOUR) / 4),
    );
    assert.equal(ro.warnings.length, 1);
    assert.match(ro.warnings[0], /WAL repaired/);
  } finally {
    ro.close();
  }
  assert.deepEqual(readFileSync(last), bytes, "the damaged segment is left as it was");
  // The sandbox is gone with the close.
  assert.deepEqual(readdirSync(sandboxRoot), []);

  // When the blocks reach past what is asked for, the WAL is not read.
  const early = ReadOnlyDb.open(dir, { maxt: HOUR, sandboxRoot });
  try {
    assert.equal(early.head, null);
  } finally {
    early.close();
  }
  assert.throws(
    () => ReadOnlyDb.open(join(dir, "missing")),
    (e) => isContrailError(e, "not_found"),
  );
  // A block missing its index is damaged, not a block being replaced: the open fails, naming it.
  const block = ro.blocks[0].dir;
  rmSync(join(block, "index"));
  assert.throws(
    () => ReadOnlyDb.open(dir, { sandboxRoot }),
    (e) => isContrailError(e, "corruption") && e.message.includes(block),
  );
  assert.deepEqual(readdirSync(sandboxRoot), []);
});
