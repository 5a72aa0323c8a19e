import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import { type Matcher, newMatcher } from "../model/matcher.ts";
import { Block, isBlockDirName, listBlockDirs } from "./block.ts";
import { newUlid, readBlockMeta } from "./block-meta.ts";
import { type ConformanceSeries, runBlockReaderConformance } from "./block-reader-conformance.ts";
import { compactBlockDirs, headBlockMeta, writeBlock } from "./compact.ts";
import { Head } from "./head/head.ts";
import { postingsForMatchers } from "./index/postings.ts";

const TWO_HOURS = 2 * 60 * 60 * 1000;

const headDirs = new Map<Head, string>();

/** A head in a fresh directory holding the samples of `data` for which `keep(t)` holds; `drop` removes it. */
function headWith(data: readonly ConformanceSeries[], keep: (t: number) => boolean = () => true): Head {
  const dir = mkdtempSync(join(tmpdir(), "contrail-block-head-"));
  const head = Head.open({ dir });
  headDirs.set(head, dir);
  const app = head.appender();
  for (const s of data) for (const [t, v] of s.samples) if (keep(t)) app.append(s.labels, t, v);
  app.commit();
  return head;
}

function drop(head: Head): void {
  head.close();
  rmSync(headDirs.get(head) as string, { recursive: true, force: true });
  headDirs.delete(head);
}

/** Samples per block chunk here: head chunks are joined in pairs, and the 300-sample series keeps several chunks. */
const PER_CHUNK = 240;

/** Writes the head's data in [mint, maxt) as a level-1 block under `dest`; returns the block directory. */
function cut(head: Head, dest: string, mint: number, maxt: number): string {
  const meta = writeBlock({
    dest,
    readers: [head.rangeReader(mint, maxt - 1)],
    meta: headBlockMeta(mint, maxt),
    samplesPerChunk: PER_CHUNK,
  });
  assert.ok(meta !== null);
  return join(dest, meta.ulid);
}

runBlockReaderConformance("block written from the head", (data) => {
  const dest = mkdtempSync(join(tmpdir(), "contrail-block-"));
  const head = headWith(data);
  const dir = cut(head, dest, head.minTime, TWO_HOURS);
  drop(head);
  const block = Block.open(dir);
  return {
    reader: block,
    close() {
      block.close();
      rmSync(dest, { recursive: true, force: true });
    },
  };
});

runBlockReaderConformance("block compacted from two adjacent blocks", (data) => {
  const dest = mkdtempSync(join(tmpdir(), "contrail-block-"));
  const half = TWO_HOURS / 2;
  const early = headWith(data, (t) => t < half);
  const late = headWith(data, (t) => t >= half);
  const dirs = [cut(early, dest, 0, half), cut(late, dest, half, TWO_HOURS)];
  drop(early);
  drop(late);
  const meta = compactBlockDirs({ dest, dirs, samplesPerChunk: PER_CHUNK });
  assert.ok(meta !== null);
  assert.equal(meta.compaction.level, 2);
  const block = Block.open(join(dest, meta.ulid));
  return {
    reader: block,
    close() {
      block.close();
      rmSync(dest, { recursive: true, force: true });
    },
  };
});

runBlockReaderConformance("block compacted from two overlapping blocks holding the same samples", (data) => {
  const dest = mkdtempSync(join(tmpdir(), "contrail-block-"));
  const a = headWith(data);
  const b = headWith(data);
  const dirs = [cut(a, dest, 0, TWO_HOURS), cut(b, dest, 0, TWO_HOURS)];
  drop(a);
  drop(b);
  const meta = compactBlockDirs({ dest, dirs, samplesPerChunk: PER_CHUNK });
  assert.ok(meta !== null);
  const block = Block.open(join(dest, meta.ulid));
  return {
    reader: block,
    close() {
      block.close();
      rmSync(dest, { recursive: true, force: true });
    },
  };
});

describe("Block", () => {
  test("block directory names are ULIDs; temporary and other names are not", () => {
    const u = newUlid();
    const cases: [string, boolean][] = [
      [u, true],
      [u.toLowerCase(), true],
      [`${u}.tmp-for-creation`, false],
      ["wal", false],
      ["chunks_head", false],
      ["0123456789ABCDEFGHJKMNPQRS".replace("S", "U"), false],
    ];
    for (const [name, want] of cases) assert.equal(isBlockDirName(name), want, name);
  });

  test("a missing meta file is not_found, a damaged index is corruption", () => {
    const dest = mkdtempSync(join(tmpdir(), "contrail-block-"));
    try {
      const head = headWith([{ labels: Labels.fromStrings("__name__", "x"), samples: [[1000, 1]] }]);
      const dir = cut(head, dest, 0, TWO_HOURS);
      drop(head);
      assert.deepEqual(listBlockDirs(dest), [dir]);
      writeFileSync(join(dir, "index"), "not an index");
      assert.throws(
        () => Block.open(dir),
        (e) => isContrailError(e, "corruption"),
      );
      rmSync(join(dir, "meta.json"));
      assert.throws(
        () => Block.open(dir),
        (e) => isContrailError(e, "not_found"),
      );
    } finally {
      rmSync(dest, { recursive: true, force: true });
    }
  });

  test("meta flags are persisted; a closed block with readers stays usable until released", () => {
    const dest = mkdtempSync(join(tmpdir(), "contrail-block-"));
    try {
      const head = headWith([{ labels: Labels.fromStrings("__name__", "x"), samples: [[1000, 1]] }]);
      const dir = cut(head, dest, 0, TWO_HOURS);
      drop(head);
      const b = Block.open(dir);
      assert.ok(b.size > 0);
      b.setCompactionFailed();
      assert.equal(readBlockMeta(dir).compaction.failed, true);
      b.setDeletable();
      assert.equal(readBlockMeta(dir).compaction.deletable, true);
      b.acquire();
      b.close();
      const s = b.index().series(b.index().allPostings()[0]);
      assert.ok(s !== null);
      assert.ok(b.chunks().chunk(s.chunks[0]).data.length > 2, "chunks still readable while a reader holds it");
      b.release();
      assert.throws(
        () => b.index(),
        (e) => isContrailError(e, "internal"),
      );
    } finally {
      rmSync(dest, { recursive: true, force: true });
    }
  });
});

test("a block's index answers a repeated matcher set from its cache, equal to the postings and series read afresh", () => {
  const dest = mkdtempSync(join(tmpdir(), "contrail-block-"));
  const data: ConformanceSeries[] = Array.from({ length: 40 }, (_, i) => ({
    labels: Labels.fromStrings("__name__", i % 2 === 0 ? "up" : "down", "app", `app-${i % 5}`, "i", String(i)),
    samples: [[1_000, i]],
  }));
  const head = headWith(data);
  const block = Block.open(cut(head, dest, head.minTime, TWO_HOURS));
  drop(head);
  try {
    const ix = block.index();
    const sets: Matcher[][] = [
      [newMatcher("=", "__name__", "up"), newMatcher("=", "app", "app-3")],
      [newMatcher("=~", "app", "app-[12]"), newMatcher("!=", "__name__", "up")],
      [newMatcher("=", "app", "none")],
    ];
    for (const ms of sets) {
      const first = ix.matchingSeries?.(ms);
      assert.deepEqual(first?.refs, postingsForMatchers(ix, ms));
      const again = ix.matchingSeries?.(ms);
      assert.equal(again?.refs, first?.refs);
      for (let i = 0; i < (first?.refs.length ?? 0); i++) {
        const entry = first?.series(i);
        assert.deepEqual(entry, ix.series(first?.refs[i] ?? -1));
        assert.equal(again?.series(i), entry);
      }
    }
  } finally {
    block.close();
    rmSync(dest, { recursive: true, force: true });
  }
});
