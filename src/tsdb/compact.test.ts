import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import { Block } from "./block.ts";
import { readBlockMeta } from "./block-meta.ts";
import type { BlockReader } from "./block-reader.ts";
import { compactBlockDirs, headBlockMeta, writeBlock } from "./compact.ts";
import { Head } from "./head/head.ts";
import { blockQuerier } from "./querier.ts";

const HOUR = 60 * 60 * 1000;
const _DAY = 24 * HOUR;

const temps: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "contrail-compact-"));
  temps.push(d);
  return d;
}
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** Every sample of `r` in [mint, maxt] as "labels t=v" lines, series in label order. */
function dump(r: BlockReader, mint = Number.MIN_SAFE_INTEGER, maxt = Number.MAX_SAFE_INTEGER): string[] {
  const q = blockQuerier(r, mint, maxt);
  const out: string[] = [];
  for (const s of q.select([newMatcher("=~", "__name__", ".+")], { start: mint, end: maxt, sorted: true })) {
    const it = s.iterator();
    while (it.next() !== "none") out.push(`${s.labels.toString()} ${it.atT()}=${it.atV()}`);
  }
  q.close();
  return out;
}

/** A head in a temp dir with `n` series sampled every `step` ms over [t0, t1). */
function filledHead(opts: {
  n: number;
  t0: number;
  t1: number;
  step: number;
  value?: (i: number, t: number) => number;
}) {
  const dir = tempDir();
  const head = Head.open({ dir });
  const app = head.appender();
  for (let t = opts.t0; t < opts.t1; t += opts.step) {
    for (let i = 0; i < opts.n; i++) {
      app.append(
        Labels.fromStrings("__name__", "m", "i", String(i), "parity", String(i % 2)),
        t,
        opts.value?.(i, t) ?? i * 1000 + t / 1000,
      );
    }
  }
  app.commit();
  return head;
}

describe("writing and merging blocks", () => {
  test("a head range round-trips through a block, trimmed to the block's range", () => {
    const head = filledHead({ n: 5, t0: 0, t1: 3 * HOUR, step: 30_000 });
    const dest = tempDir();
    const meta = writeBlock({ dest, readers: [head.rangeReader(0, 2 * HOUR - 1)], meta: headBlockMeta(0, 2 * HOUR) });
    assert.ok(meta !== null);
    assert.equal(meta.stats.numSeries, 5);
    assert.equal(meta.stats.numSamples, 5 * 240);
    assert.deepEqual(meta.compaction, { level: 1, sources: [meta.ulid] });
    const b = Block.open(join(dest, meta.ulid));
    assert.deepEqual(dump(b), dump(head, 0, 2 * HOUR - 1));
    assert.deepEqual(readdirSync(join(dest, meta.ulid)).sort(), ["chunks", "index", "meta.json", "tombstones"]);
    b.close();
    head.close();
  });

  test("deleted samples are dropped and an empty result writes no block", () => {
    const head = filledHead({ n: 4, t0: 0, t1: HOUR, step: 60_000 });
    head.delete(10 * 60_000, 20 * 60_000, [newMatcher("=", "parity", "1")]);
    const dest = tempDir();
    const meta = writeBlock({ dest, readers: [head.rangeReader(0, 2 * HOUR - 1)], meta: headBlockMeta(0, 2 * HOUR) });
    assert.ok(meta !== null);
    assert.equal(meta.stats.numSamples, 4 * 60 - 2 * 11);
    const b = Block.open(join(dest, meta.ulid));
    assert.deepEqual(dump(b), dump(head));
    assert.ok(!dump(b).some((l) => l.includes('parity="1"') && l.includes(" 900000=")));
    b.close();
    const none = writeBlock({
      dest,
      readers: [head.rangeReader(5 * HOUR, 6 * HOUR - 1)],
      meta: headBlockMeta(5 * HOUR, 6 * HOUR),
    });
    assert.equal(none, null);
    assert.deepEqual(readdirSync(dest), [meta.ulid]);
    head.close();
  });

  test("merging adjacent and overlapping blocks keeps every sample once", () => {
    const dest = tempDir();
    const a = filledHead({ n: 3, t0: 0, t1: 2 * HOUR, step: 15_000 });
    const b = filledHead({ n: 4, t0: 2 * HOUR, t1: 4 * HOUR, step: 15_000 });
    // Overlaps `a` with other values at the same timestamps (the older block wins) and extra timestamps.
    const c = filledHead({ n: 3, t0: HOUR, t1: 2 * HOUR, step: 10_000, value: () => -1 });
    const dirs: string[] = [];
    for (const [h, lo, hi] of [
      [a, 0, 2 * HOUR],
      [b, 2 * HOUR, 4 * HOUR],
      [c, HOUR, 2 * HOUR],
    ] as const) {
      const m = writeBlock({ dest, readers: [h.rangeReader(lo, hi - 1)], meta: headBlockMeta(lo, hi) });
      assert.ok(m !== null);
      dirs.push(join(dest, m.ulid));
    }
    const merged = compactBlockDirs({ dest, dirs });
    assert.ok(merged !== null);
    assert.equal(merged.minTime, 0);
    assert.equal(merged.maxTime, 4 * HOUR);
    assert.equal(merged.compaction.level, 2);
    assert.equal(merged.compaction.sources?.length, 3);
    assert.equal(merged.compaction.parents?.length, 3);
    const blk = Block.open(join(dest, merged.ulid));
    const got = dump(blk);
    // Expected: a's samples, then c's samples at timestamps a does not have, plus b's.
    const want = new Map<string, Map<number, string>>();
    for (const src of [a, c, b]) {
      for (const line of dump(src)) {
        const sp = line.lastIndexOf(" ");
        const key = line.slice(0, sp);
        const [t, v] = line.slice(sp + 1).split("=");
        if (!want.has(key)) want.set(key, new Map());
        const m = want.get(key) as Map<number, string>;
        if (!m.has(Number(t))) m.set(Number(t), v);
      }
    }
    const wantLines: string[] = [];
    for (const [key, m] of [...want].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
      for (const [t, v] of [...m].sort((x, y) => x[0] - y[0])) wantLines.push(`${key} ${t}=${v}`);
    }
    assert.deepEqual(got.slice().sort(), wantLines.slice().sort());
    assert.equal(merged.stats.numSamples, wantLines.length);
    // Merged chunks stay at most 120 samples; chunks of a series are disjoint and ordered.
    const ix = blk.index();
    for (const ref of Array.from(ix.allPostings())) {
      const s = ix.series(ref);
      assert.ok(s !== null);
      for (let i = 1; i < s.chunks.length; i++) assert.ok(s.chunks[i].mint > s.chunks[i - 1].maxt);
    }
    blk.close();
    for (const h of [a, b, c]) h.close();
  });

  test("a failure while writing leaves no block and no temporary directory", () => {
    const head = filledHead({ n: 20, t0: 0, t1: HOUR, step: 15_000 });
    const inner = head.rangeReader(0, 2 * HOUR - 1);
    let reads = 0;
    const failing: BlockReader = {
      minTime: inner.minTime,
      maxTime: inner.maxTime,
      index: () => inner.index(),
      tombstones: () => inner.tombstones(),
      chunks: () => ({
        chunk(meta) {
          if (++reads > 7) throw new Error("simulated disk failure");
          return inner.chunks().chunk(meta);
        },
      }),
    };
    const dest = tempDir();
    assert.throws(
      () => writeBlock({ dest, readers: [failing], meta: headBlockMeta(0, 2 * HOUR) }),
      /simulated disk failure/,
    );
    assert.deepEqual(readdirSync(dest), []);
    head.close();
  });

  test("a failed compaction marks its parents failed and leaves nothing behind", () => {
    const dest = tempDir();
    const dirs: string[] = [];
    for (let k = 0; k < 2; k++) {
      const h = filledHead({ n: 10, t0: k * 2 * HOUR, t1: (k + 1) * 2 * HOUR, step: 15_000 });
      const m = writeBlock({
        dest,
        readers: [h.rangeReader(k * 2 * HOUR, (k + 1) * 2 * HOUR - 1)],
        meta: headBlockMeta(k * 2 * HOUR, (k + 1) * 2 * HOUR),
      });
      assert.ok(m !== null);
      dirs.push(join(dest, m.ulid));
      h.close();
    }
    truncateSync(join(dirs[1], "chunks", "000001"), 500);
    const before = readdirSync(dest).sort();
    assert.throws(
      () => compactBlockDirs({ dest, dirs }),
      (e) => isContrailError(e, "corruption"),
    );
    assert.deepEqual(readdirSync(dest).sort(), before);
    for (const d of dirs) assert.equal(readBlockMeta(d).compaction.failed, true);
  });
});
