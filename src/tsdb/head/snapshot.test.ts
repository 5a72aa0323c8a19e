import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { newMatcher } from "../../model/matcher.ts";
import { throwOnRejection } from "../../storage/commit.ts";
import { newUlid } from "../block-meta.ts";
import { headBlockMeta, writeBlock } from "../compact.ts";
import { Head } from "./head.ts";
import { HeadRangeSnapshot, openHeadSnapshot } from "./snapshot.ts";

const HOUR = 3_600_000;
const STEP = 15_000;
const dirs: string[] = [];
const heads: Head[] = [];
afterEach(() => {
  for (const h of heads.splice(0)) h.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "snapshot-"));
  dirs.push(d);
  return d;
}

const labels = (kind: string, i: number) => Labels.fromStrings("__name__", `m_${kind}`, "i", String(i), "job", "j");

/**
 * A head holding every case a snapshot must carry: series sampled over [0, 3.5 h) (full chunks in the head chunk
 * files, the open one after the range), series that went quiet at 1 h (their open chunk lies in the range), series
 * that started at 2.5 h (no chunk in the range, but their labels belong in the symbol table) and a tombstone.
 */
function fillHead(dir: string): Head {
  const head = Head.open({ dir });
  heads.push(head);
  for (let t = 0; t < 3.5 * HOUR; t += STEP) {
    const app = head.appender();
    for (let i = 0; i < 150; i++) app.append(labels("busy", i), t, Math.sin(t / 1e6 + i) * 100);
    if (t < HOUR) for (let i = 0; i < 5; i++) app.append(labels("quiet", i), t, t / 1000 + i);
    if (t >= 2.5 * HOUR) for (let i = 0; i < 5; i++) app.append(labels("late", i), t, i);
    throwOnRejection(app.commit());
  }
  head.delete(HOUR, HOUR + 10 * STEP, [newMatcher("=", "i", "3")]);
  return head;
}

function blockFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of ["meta.json", "index", "tombstones"]) out.set(name, readFileSync(join(dir, name)));
  for (const name of readdirSync(join(dir, "chunks")))
    out.set(`chunks/${name}`, readFileSync(join(dir, "chunks", name)));
  return out;
}

test("a block written from a head snapshot is byte for byte the block written from the head", () => {
  const dir = tempDir();
  const head = fillHead(dir);
  const mint = head.minTime;
  const maxt = 2 * HOUR;
  const snapshot = new HeadRangeSnapshot(head, mint, maxt - 1);
  // One small slice at a time, with appends in between (newer samples and new series, as in production).
  let slices = 0;
  let t = 3.5 * HOUR;
  while (!snapshot.step(Number.NEGATIVE_INFINITY)) {
    slices++;
    const app = head.appender();
    for (let i = 0; i < 150; i++) app.append(labels("busy", i), t, i);
    app.append(labels("new", slices), t, 1);
    throwOnRejection(app.commit());
    t += STEP;
  }
  assert.ok(slices >= 1, "the snapshot took more than one slice");
  const parts = snapshot.finish();
  assert.equal(snapshot.numSeries, head.stats().numSeries, "series created between slices are included");
  assert.ok(
    parts.every((p) => p instanceof SharedArrayBuffer),
    "shared: posting the parts to the maintenance worker copies nothing and detaches nothing on this thread",
  );

  const ulid = newUlid();
  const fromHead = join(tempDir(), "db");
  const fromSnapshot = join(tempDir(), "db");
  mkdirSync(fromHead);
  mkdirSync(fromSnapshot);
  const meta = headBlockMeta(mint, maxt, ulid);
  const a = writeBlock({ dest: fromHead, readers: [head.rangeReader(mint, maxt - 1)], meta });
  const reader = openHeadSnapshot(parts, join(dir, "chunks_head"), mint, maxt - 1);
  const b = writeBlock({ dest: fromSnapshot, readers: [reader], meta });
  reader.close();
  assert.ok(a !== null && b !== null);
  assert.deepEqual(b, a);
  assert.equal(a.stats.numSeries, 155, "busy and quiet series; the late ones only lend their labels");
  const fa = blockFiles(join(fromHead, ulid));
  const fb = blockFiles(join(fromSnapshot, ulid));
  assert.deepEqual([...fb.keys()], [...fa.keys()]);
  for (const [name, bytes] of fa) assert.ok(bytes.equals(fb.get(name) as Buffer), `${name} differs`);
});

test("a damaged snapshot part fails with corruption", () => {
  const dir = tempDir();
  const head = fillHead(dir);
  const snapshot = new HeadRangeSnapshot(head, 0, 2 * HOUR - 1);
  while (!snapshot.step(Number.POSITIVE_INFINITY));
  const [part] = snapshot.finish();
  assert.throws(
    () => openHeadSnapshot([part.slice(0, part.byteLength - 3)], join(dir, "chunks_head"), 0, 2 * HOUR - 1),
    (e) => isContrailError(e, "corruption"),
  );
  assert.throws(
    () => new HeadRangeSnapshot(head, 0, 1).finish(),
    (e) => isContrailError(e, "internal"),
  );
});
