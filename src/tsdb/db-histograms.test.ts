// Native histograms in the database: appended with floats in the same series, read back with their kinds, kept
// across a restart (WAL and head chunk files), compacted into blocks, and refused when out of order, duplicate or
// malformed.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { Histogram } from "../model/histogram.ts";
import { CounterResetHint } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import { isStaleNaN } from "../model/sample.ts";
import type { Appender, Querier } from "../storage/interface.ts";
import { listBlockDirs } from "./block.ts";
import { readBlockMeta } from "./block-meta.ts";
import { bucketIndices } from "./chunkenc/histogram-layout.ts";
import { counterSequence, hist, staleMarker } from "./chunkenc/histogram-testdata.ts";
import { Db } from "./db.ts";

const HOUR = 3_600_000;
const STEP = 15_000;
const temps: string[] = [];
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function open(dir?: string): { db: Db; dir: string } {
  const d = dir ?? mkdtempSync(join(tmpdir(), "contrail-hist-"));
  if (dir === undefined) temps.push(d);
  return { db: Db.open({ dir: d, autoCompact: false }), dir: d };
}

const H_INT = Labels.fromStrings("__name__", "rpc_seconds", "job", "int");
const H_FLOAT = Labels.fromStrings("__name__", "rpc_seconds", "job", "float");
const MIXED = Labels.fromStrings("__name__", "rpc_seconds", "job", "mixed");

/** A histogram that only grows: sample `i` of an integer or float counter. */
function growing(i: number, integer: boolean): Histogram {
  const pos = [
    { offset: -1, length: 2 },
    { offset: 2, length: 1 },
  ];
  // A new bucket appears at sample 5: the open chunk is recoded.
  const wide = [
    { offset: -1, length: 2 },
    { offset: 1, length: 2 },
  ];
  const k = integer ? i : i * 0.5;
  return i < 5
    ? hist({ integer, sum: 1.5 * i, zeroCount: i, pos, posCounts: [k, 2 * k, 3 * k] })
    : hist({ integer, sum: 1.5 * i, zeroCount: i, pos: wide, posCounts: [k, 2 * k, 1, 3 * k] });
}

function appender(db: Db): Required<Pick<Appender, "appendHistogram" | "appendHistogramRef">> & Appender {
  const app = db.appender();
  assert.ok(app.appendHistogram !== undefined && app.appendHistogramRef !== undefined);
  return app as Required<Pick<Appender, "appendHistogram" | "appendHistogramRef">> & Appender;
}

type Read = { t: number; kind: string; v?: number; h?: Histogram };

function read(q: Querier, labels: Labels, mint = 0, maxt = 100 * HOUR): Read[] {
  const out: Read[] = [];
  const m = [newMatcher("=", "__name__", "rpc_seconds"), newMatcher("=", "job", labels.get("job") ?? "")];
  for (const s of q.select(m, { start: mint, end: maxt })) {
    const it = s.iterator();
    assert.equal(it.readInto, undefined, "a series holding histograms is not read in float batches");
    for (let k = it.next(); k !== "none"; k = it.next()) {
      out.push(k === "histogram" ? { t: it.atT(), kind: k, h: it.atH?.() } : { t: it.atT(), kind: k, v: it.atV() });
    }
  }
  q.close();
  return out;
}

/** Counts by absolute bucket index without empty buckets (recoding adds some). */
function norm(h: Histogram | undefined): unknown {
  if (h === undefined) return undefined;
  if (isStaleNaN(h.sum)) return "stale";
  const side = (spans: Histogram["positiveSpans"], counts: readonly number[]) =>
    bucketIndices(spans)
      .map((idx, i) => [idx, counts[i]])
      .filter(([, c]) => c !== 0);
  return [h.integer, h.schema, h.count, h.zeroCount, h.sum, side(h.positiveSpans, h.positiveBuckets)];
}

describe("native histograms in the database", () => {
  test("integer and float histograms, and a series switching kinds, read back after commit and restart", () => {
    const { db, dir } = open();
    const app = appender(db);
    const n = 40;
    for (let i = 0; i < n; i++) {
      app.appendHistogram(H_INT, i * STEP, growing(i, true));
      app.appendHistogram(H_FLOAT, i * STEP, growing(i, false));
      // The mixed series: floats, then histograms, then floats again, then a stale histogram marker.
      if (i < 10 || (i >= 20 && i < 30)) app.append(MIXED, i * STEP, i);
      else if (i < 20) app.appendHistogram(MIXED, i * STEP, growing(i, true));
    }
    app.appendHistogram(MIXED, n * STEP, staleMarker(true));
    const report = app.commit();
    assert.equal(report.appended, 3 * n - 10 + 1);
    assert.equal(report.firstRejection, null);

    const check = (d: Db) => {
      const ints = read(d.querier(0, HOUR), H_INT);
      assert.equal(ints.length, n);
      ints.forEach((r, i) => {
        assert.equal(r.kind, "histogram");
        assert.deepEqual(norm(r.h), norm(growing(i, true)));
      });
      const floats = read(d.querier(0, HOUR), H_FLOAT);
      for (const [i, r] of floats.entries()) assert.deepEqual(norm(r.h), norm(growing(i, false)));
      const mixed = read(d.querier(0, HOUR), MIXED);
      assert.deepEqual(
        mixed.map((r) => r.kind),
        [...Array(10).fill("float"), ...Array(10).fill("histogram"), ...Array(10).fill("float"), "histogram"],
      );
      assert.equal(mixed[25].v, 25);
      assert.deepEqual(norm(mixed[15].h), norm(growing(15, true)));
      assert.equal(norm(mixed[30].h), "stale");
      // Hints come from the chunks: samples after a chunk's first cannot follow a reset.
      assert.equal(ints[3].h?.counterResetHint, CounterResetHint.notCounterReset);
    };
    check(db);
    db.close();
    const again = open(dir).db;
    check(again);
    again.close();
  });

  test("out-of-order, duplicate and malformed histograms are refused; an identical re-send is accepted", () => {
    const { db, dir } = open();
    let app = appender(db);
    app.appendHistogram(H_INT, 2 * STEP, growing(2, true));
    app.commit();
    app = appender(db);
    app.appendHistogram(H_INT, STEP, growing(1, true));
    app.appendHistogram(H_INT, 2 * STEP, growing(3, true));
    app.appendHistogram(H_INT, 2 * STEP, growing(2, true));
    app.append(H_INT, 2 * STEP, 1);
    const r = app.commit();
    assert.deepEqual([r.appended, r.outOfOrder, r.duplicate], [0, 1, 2]);
    assert.throws(
      () => appender(db).appendHistogram(H_INT, 3 * STEP, { ...growing(3, true), positiveBuckets: [1] }),
      /spans name 3 buckets but 1 are given/,
    );
    assert.throws(() => appender(db).appendHistogram(H_INT, 3 * STEP, { ...growing(3, true), schema: 9 }), /schema 9/);
    db.close();
    // After a restart the newest sample comes from the stored data: the same rules hold.
    const again = open(dir).db;
    app = appender(again);
    app.appendHistogram(H_INT, 2 * STEP, growing(2, true));
    app.appendHistogram(H_INT, 2 * STEP, growing(4, true));
    const r2 = app.commit();
    assert.deepEqual([r2.appended, r2.duplicate], [0, 1]);
    again.close();
  });

  test("compaction writes histogram chunks into blocks that read back the same", async () => {
    const { db, dir } = open();
    const app = appender(db);
    const seq = counterSequence(true);
    let t = 0;
    const sent: [number, Histogram][] = [];
    // 3.5 hours of samples a minute, cycling through the counter sequence (resets, recodes, schema changes).
    for (let i = 0; t < 3.5 * HOUR; i++, t = i * 60_000) {
      const h = seq[i % (seq.length - 1)];
      app.appendHistogram(H_INT, t, h);
      app.appendHistogram(H_FLOAT, t, growing(i % 7, false));
      sent.push([t, h]);
    }
    const rep = app.commit();
    assert.equal(rep.firstRejection, null);
    const before = read(db.querier(0, 4 * HOUR), H_INT);
    assert.equal(before.length, sent.length);
    const report = await db.compact();
    assert.equal(report.headBlocks.length, 1);
    const blocks = listBlockDirs(dir);
    assert.equal(blocks.length, 1);
    const meta = readBlockMeta(blocks[0]);
    assert.ok((meta.stats?.numHistogramSamples ?? 0) > 0);
    assert.ok(!meta.stats?.numFloatSamples, "no float samples");
    const afterBlocks = read(db.querier(0, 4 * HOUR), H_INT);
    assert.deepEqual(
      afterBlocks.map((r) => [r.t, norm(r.h)]),
      before.map((r) => [r.t, norm(r.h)]),
    );
    db.close();
    const again = open(dir).db;
    const reopened = read(again.querier(0, 4 * HOUR), H_INT);
    assert.deepEqual(
      reopened.map((r) => [r.t, norm(r.h)]),
      sent.map(([st, h]) => [st, norm(h)]),
    );
    again.close();
  });
});

test("histogram chunks are cut by size: at least 10 samples each, none far past 2 KiB", async () => {
  const { db, dir } = open();
  const app = appender(db);
  const pos = [{ offset: 0, length: 30 }];
  let i = 0;
  for (let t = 0; t < 3.5 * HOUR; t += 5_000, i++) {
    // 30 buckets that grow unevenly (never down), so every sample costs a few bytes per bucket.
    const counts = Array.from({ length: 30 }, (_, b) => i * (b + 1) + Math.floor((i * i) / (b + 7)));
    app.appendHistogram(H_INT, t, hist({ sum: i * 1.5, pos, posCounts: counts }));
  }
  assert.equal(app.commit().firstRejection, null);
  await db.compact();
  const block = db.blocks()[0];
  const ix = block.index();
  const refs = ix.sortedPostings(ix.allPostings());
  const s = ix.series(refs[0]);
  assert.ok(s !== null && s.chunks.length > 3, `${s?.chunks.length} chunks`);
  for (const m of s.chunks) {
    const c = block.chunks().chunk(m);
    const n = (c.data[0] << 8) | c.data[1];
    assert.ok(n >= 10, `a chunk of ${n} samples`);
    assert.ok(c.data.length < 3 * 1024, `a chunk of ${c.data.length} bytes`);
  }
  db.close();
  rmSync(dir, { recursive: true, force: true });
});
