import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { type ErrorCode, isContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { newMatcher } from "../../model/matcher.ts";
import { rejectedCount, rejectionError } from "../../storage/commit.ts";
import type { CommitReport, SeriesRef } from "../../storage/interface.ts";
import { hist } from "../chunkenc/histogram-testdata.ts";
import { STALE_NAN } from "../encoding/float-bits.ts";
import { blockQuerier } from "../querier.ts";
import { decodeSeries, SeriesBatch } from "../record/series.ts";
import { MAX_COMMIT_EPOCH, MAX_SPARE_QUEUE, spareQueueCapacity } from "./appender.ts";
import { Head, type HeadOptions } from "./head.ts";

const HOUR = 3_600_000;
const open: { head: Head; dir: string }[] = [];
afterEach(() => {
  for (const { head, dir } of open.splice(0)) {
    head.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

function newHead(opts: Partial<HeadOptions> = {}): Head {
  const dir = mkdtempSync(join(tmpdir(), "head-app-"));
  const head = Head.open({ ...opts, dir });
  open.push({ head, dir });
  return head;
}

const up = (instance: string) => Labels.fromStrings("__name__", "up", "instance", instance);

/** Every sample of the head as `labels: t=v, ...` lines, sorted. */
function dump(head: Head): string[] {
  const q = blockQuerier(head, -1e15, 1e15);
  const out: string[] = [];
  for (const s of q.select([newMatcher("=~", "__name__", ".+")], { start: -1e15, end: 1e15, sorted: true })) {
    const it = s.iterator();
    const parts: string[] = [];
    while (it.next() !== "none") parts.push(`${it.atT()}=${it.atV()}`);
    out.push(`${s.labels.toString()}: ${parts.join(" ")}`);
  }
  return out;
}

/** The summary error of a commit report that must have rejected samples. */
function commitError(r: CommitReport): { code: ErrorCode; message: string } {
  const err = rejectionError(r);
  assert.ok(err, "commit should have rejected samples");
  return { code: err.code, message: err.message };
}

test("samples become visible at commit, never before", () => {
  const head = newHead();
  const app = head.appender();
  const ref = app.append(up("a"), 1000, 1);
  app.appendRef(ref, 2000, 2);
  assert.deepEqual(dump(head), []);
  app.commit();
  assert.deepEqual(dump(head), ['{__name__="up", instance="a"}: 1000=1 2000=2']);
  assert.equal(head.minTime, 1000);
  assert.equal(head.maxTime, 2001);
  assert.equal(head.stats().samplesAppended, 2);
});

test("rollback drops the batch; a spent appender refuses more work", () => {
  const head = newHead();
  const app = head.appender();
  app.append(up("a"), 1000, 1);
  app.rollback();
  assert.deepEqual(dump(head), []);
  assert.throws(
    () => app.append(up("a"), 2000, 1),
    (e) => isContrailError(e, "internal"),
  );
  assert.throws(
    () => app.commit(),
    (e) => isContrailError(e, "internal"),
  );
  // The series created by the rolled-back append is reused, and logged once a batch commits.
  const app2 = head.appender();
  app2.append(up("a"), 3000, 3);
  app2.commit();
  assert.deepEqual(dump(head), ['{__name__="up", instance="a"}: 3000=3']);
  assert.equal(head.stats().numSeries, 1);
});

test("series refs are stable and handed out incrementally", () => {
  const head = newHead();
  const app = head.appender();
  const a = app.append(up("a"), 1, 1);
  const b = app.append(up("b"), 1, 1);
  assert.equal(app.append(up("a"), 2, 1), a);
  assert.equal(b, a + 1);
  app.commit();
});

test("a new series appended several times in a batch, by labels and by ref, is logged once", () => {
  const head = newHead();
  const logged: Uint8Array[][] = [];
  const log = head.logRecords.bind(head);
  head.logRecords = (records) => {
    logged.push(records);
    log(records);
  };
  const app = head.appender();
  const ref = app.append(up("a"), 1000, 1);
  app.appendRef(ref, 2000, 2);
  app.append(up("a"), 3000, 3);
  app.append(up("b"), 1000, 1);
  app.commit();
  const batch = decodeSeries(logged[0][0], new SeriesBatch());
  assert.deepEqual(batch.refs.slice(0, batch.length), [ref, ref + 1]);
  // Logged now: the next batch logs only samples.
  const next = head.appender();
  next.appendRef(ref, 4000, 4);
  next.commit();
  assert.equal(logged[1].length, 1);
  assert.deepEqual(dump(head), [
    '{__name__="up", instance="a"}: 1000=1 2000=2 3000=3 4000=4',
    '{__name__="up", instance="b"}: 1000=1',
  ]);
});

test("bad input is refused at append", () => {
  const head = newHead();
  const app = head.appender();
  assert.throws(
    () => app.appendRef(999 as SeriesRef, 1, 1),
    (e) => isContrailError(e, "not_found"),
  );
  assert.throws(
    () => app.append(up("a"), 1.5, 1),
    (e) => isContrailError(e, "bad_data"),
  );
  assert.throws(
    () => app.append(Labels.EMPTY, 1, 1),
    (e) => isContrailError(e, "bad_data"),
  );
});

test("rejections: counted, named, and the rest of the batch committed", () => {
  const head = newHead();
  const first = head.appender();
  first.append(up("a"), 10_000, 1);
  first.commit();

  type Case = {
    name: string;
    samples: [string, number, number][];
    code: ErrorCode | null;
    stored: string[];
    counts: [number, number];
  };
  const cases: Case[] = [
    {
      name: "older than the newest stored sample",
      samples: [
        ["a", 9_000, 5],
        ["b", 9_000, 5],
      ],
      code: "out_of_order_sample",
      stored: ["a: 10000=1", "b: 9000=5"],
      counts: [1, 0],
    },
    {
      name: "same time, other value",
      samples: [
        ["a", 10_000, 2],
        ["a", 11_000, 3],
      ],
      code: "duplicate_sample_for_timestamp",
      stored: ["a: 10000=1 11000=3", "b: 9000=5"],
      counts: [1, 1],
    },
    {
      name: "same time and value is accepted silently",
      samples: [
        ["a", 11_000, 3],
        ["b", 9_000, 5],
      ],
      code: null,
      stored: ["a: 10000=1 11000=3", "b: 9000=5"],
      counts: [1, 1],
    },
    {
      name: "out of order within the batch",
      samples: [
        ["a", 13_000, 1],
        ["a", 12_000, 1],
        ["a", 12_500, 1],
        ["a", 14_000, 1],
      ],
      code: "out_of_order_sample",
      stored: ["a: 10000=1 11000=3 13000=1 14000=1", "b: 9000=5"],
      counts: [3, 1],
    },
    {
      name: "duplicate within the batch",
      samples: [
        ["b", 20_000, 1],
        ["b", 20_000, 2],
        ["b", 20_000, 1],
      ],
      code: "duplicate_sample_for_timestamp",
      stored: ["a: 10000=1 11000=3 13000=1 14000=1", "b: 9000=5 20000=1"],
      counts: [3, 2],
    },
  ];
  for (const c of cases) {
    const app = head.appender();
    for (const [inst, t, v] of c.samples) app.append(up(inst), t, v);
    const r = app.commit();
    if (c.code === null) {
      assert.equal(r.firstRejection, null, c.name);
      assert.equal(rejectedCount(r), 0, c.name);
    } else {
      assert.equal(r.firstRejection?.code, c.code, c.name);
      const err = commitError(r);
      assert.equal(err.code, c.code, c.name);
      assert.match(err.message, /^\d+ of \d+ samples rejected/, c.name);
      assert.match(err.message, /first: sample at \d+ for \{__name__="up", instance="[ab]"\}/, c.name);
    }
    assert.deepEqual(
      dump(head).map((l) => l.replace(/^\{__name__="up", instance="(\w)"\}/, "$1")),
      c.stored,
      c.name,
    );
    const st = head.stats();
    assert.deepEqual([st.outOfOrderSamples, st.duplicateSamples], c.counts, c.name);
  }
});

test("in one batch, floats and histograms of a series are judged against the newest accepted sample of either kind", () => {
  const head = newHead();
  const h1 = hist({ sum: 1, zeroCount: 1 });
  const h2 = hist({ sum: 2, zeroCount: 2 });
  const app = head.appender();
  const s = up("a");
  app.append(s, 1000, 1);
  app.appendHistogram(s, 2000, h1);
  // At the histogram's time: a float is a duplicate, the same histogram a silent repeat, another one a duplicate.
  app.append(s, 2000, 1);
  app.appendHistogram(s, 2000, h1);
  app.appendHistogram(s, 2000, h2);
  app.append(s, 3000, 5);
  // At the float's time: the same float is a silent repeat, another value or a histogram a duplicate.
  app.append(s, 3000, 5);
  app.append(s, 3000, 6);
  app.appendHistogram(s, 3000, h1);
  // Older than the newest accepted, of either kind: out of order.
  app.append(s, 2500, 1);
  app.appendHistogram(s, 2999, h1);
  const r = app.commit();
  assert.deepEqual([r.appended, r.duplicate, r.outOfOrder], [3, 4, 2]);
  const again = head.appender();
  again.append(s, 3000, 5);
  assert.deepEqual([again.commit().appended, head.stats().duplicateSamples], [0, 4]);
});

test("commit epochs start over before they leave the int32 range, and batches are judged the same after", () => {
  const head = newHead();
  // Series c's last commit has epoch 1, which the epochs reach again after starting over.
  const first = head.appender();
  first.append(up("c"), 1000, 1);
  first.commit();
  head.commitEpoch = MAX_COMMIT_EPOCH - 2;
  for (let i = 0; i < 4; i++) {
    const app = head.appender();
    const t = 10_000 * (i + 1);
    app.append(up("a"), t, i);
    // The first batch after the epochs start over is epoch 1 again: c is newer than its newest sample, and its old
    // epoch must not make it compare with a's sample just queued.
    if (i === 2) app.append(up("c"), t - 5000, i);
    // Within the batch: a repeat of the sample just queued, a duplicate of it and an older one.
    app.append(up("a"), t, i);
    app.append(up("a"), t, i + 0.5);
    app.append(up("a"), t - 1, i);
    const r = app.commit();
    assert.deepEqual([r.appended, r.duplicate, r.outOfOrder], [i === 2 ? 2 : 1, 1, 1], `commit ${i}`);
  }
  assert.ok(head.commitEpoch < 4);
  assert.deepEqual(
    dump(head).map((l) => l.replace(/^\{__name__="up", instance="(\w)"\}/, "$1")),
    ["a: 10000=0 20000=1 30000=2 40000=3", "c: 1000=1 25000=2"],
  );
});

test("the error message counts every rejection of the batch", () => {
  const head = newHead();
  const a = head.appender();
  a.append(up("a"), 5_000, 1);
  a.commit();
  const app = head.appender();
  app.append(up("a"), 4_000, 1);
  app.append(up("a"), 5_000, 9);
  app.append(up("a"), 3_000, 1);
  app.append(up("a"), 6_000, 1);
  const r = app.commit();
  assert.deepEqual(
    { appended: r.appended, outOfOrder: r.outOfOrder, duplicate: r.duplicate, outOfBounds: r.outOfBounds },
    { appended: 1, outOfOrder: 2, duplicate: 1, outOfBounds: 0 },
  );
  assert.equal(r.firstRejection?.code, "out_of_order_sample");
  assert.match(r.firstRejection?.message ?? "", /^sample at 4000 for \{__name__="up", instance="a"\} is older/);
  const err = commitError(r);
  assert.equal(err.code, "out_of_order_sample");
  assert.match(
    err.message,
    /^3 of 4 samples rejected \(2 out of order, 1 duplicate, 0 out of bounds\); first: sample at 4000/,
  );
  assert.deepEqual(app.rejections, { outOfOrder: 2, duplicate: 1, outOfBounds: 0 });
});

test("a repeated staleness marker is the same value; a marker after a value is a duplicate", () => {
  const head = newHead();
  const app = head.appender();
  app.append(up("a"), 1000, STALE_NAN);
  app.append(up("b"), 1000, 1);
  app.commit();
  const again = head.appender();
  // Through a plain array the marker's quiet bit is set; it still counts as the same value.
  const values = [STALE_NAN];
  again.append(up("a"), 1000, values[0]);
  const r = again.commit();
  assert.deepEqual([r.appended, rejectedCount(r), r.firstRejection], [0, 0, null], "accepted, not stored again");
  const dup = head.appender();
  dup.append(up("b"), 1000, STALE_NAN);
  assert.equal(commitError(dup.commit()).code, "duplicate_sample_for_timestamp");
  const nan = head.appender();
  nan.append(up("a"), 1000, Number.NaN);
  assert.equal(commitError(nan.commit()).code, "duplicate_sample_for_timestamp");
});

test("out of bounds: before the minimum valid time, or half a chunk range behind the newest sample", () => {
  const head = newHead({ minValidTime: 10 * HOUR });
  const app = head.appender();
  app.append(up("a"), 10 * HOUR - 1, 1);
  app.append(up("a"), 10 * HOUR, 1);
  const r = app.commit();
  assert.equal(r.outOfBounds, 1);
  assert.equal(r.appended, 1);
  const err = commitError(r);
  assert.equal(err.code, "out_of_bounds");
  assert.match(err.message, /^1 of 2 samples rejected/);
  const later = head.appender();
  later.append(up("b"), 13 * HOUR, 1);
  later.commit();
  const old = head.appender();
  old.append(up("c"), 12 * HOUR - 1, 1);
  old.append(up("c"), 12 * HOUR, 1);
  assert.equal(commitError(old.commit()).code, "out_of_bounds");
  assert.equal(head.stats().outOfBoundsSamples, 2);
  assert.deepEqual(
    dump(head).map((l) => l.slice(-20)),
    ['instance="a"}: 36000000=1', 'instance="b"}: 46800000=1', 'instance="c"}: 43200000=1'].map((l) => l.slice(-20)),
  );
});

test("appenders of one head share a ref scope; the same directory opened again has another", () => {
  const head = newHead();
  const a = head.appender();
  const ref = a.append(up("a"), 1000, 1);
  a.commit();
  const b = head.appender();
  assert.equal(b.refScope, a.refScope);
  assert.equal(b.appendRef(ref, 2000, 2), ref);
  b.commit();
  const { dir } = open[open.length - 1];
  head.close();
  open.pop();
  const again = Head.open({ dir });
  open.push({ head: again, dir });
  const c = again.appender();
  assert.ok(c.refScope !== undefined && c.refScope !== a.refScope);
  c.rollback();
});

test("appenders reuse one spare queue per head; batches open at once each keep their own samples", () => {
  const head = newHead();
  const a = head.appender();
  const b = head.appender();
  const ra = a.append(up("a"), 1000, 1);
  const rb = b.append(up("b"), 1000, 10);
  for (let i = 1; i < 300; i++) {
    a.appendRef(ra, 1000 + i * 1000, 1 + i);
    b.appendRef(rb, 1000 + i * 1000, 10 + i);
  }
  b.rollback();
  assert.ok(spareQueueCapacity(head) >= 300, "a rolled-back batch gives its grown queue back");
  assert.equal(a.commit().appended, 300);
  // The next batch starts empty in the reused queue: nothing of the last two batches comes back.
  const c = head.appender();
  assert.equal(spareQueueCapacity(head), 0, "the spare is taken by the open appender");
  c.appendRef(rb, 500_000, 7);
  assert.equal(c.commit().appended, 1);
  const lines = dump(head);
  assert.equal(lines.length, 2);
  assert.ok(lines[0].startsWith('{__name__="up", instance="a"}: 1000=1 2000=2 '));
  assert.ok(lines[0].endsWith(" 300000=300"));
  assert.equal(lines[1], '{__name__="up", instance="b"}: 500000=7');
});

test("a batch's queue larger than the bound is not kept as the spare", () => {
  const head = newHead();
  const app = head.appender();
  const ref = app.append(up("a"), 0, 0);
  for (let i = 1; i <= MAX_SPARE_QUEUE; i++) app.appendRef(ref, i, i);
  assert.equal(app.commit().appended, MAX_SPARE_QUEUE + 1);
  assert.equal(spareQueueCapacity(head), 0);
  const small = head.appender();
  small.appendRef(ref, MAX_SPARE_QUEUE + 1, 1);
  small.commit();
  assert.equal(spareQueueCapacity(head), 64);
});

test("samples queued by ref land in their own series, also in rows that removed series gave back", () => {
  const head = newHead();
  const first = head.appender();
  const old = Array.from({ length: 20 }, (_, i) => first.append(up(`old-${i}`), 1000, i));
  first.commit();
  const later = head.appender();
  for (let i = 10; i < 20; i++) later.appendRef(old[i], 3 * HOUR, i);
  later.commit();
  // Series 0..9 hold only a chunk before 2 h; series 0 is held by an open batch, so truncation keeps it.
  const holding = head.appender();
  holding.appendRef(old[0], 3 * HOUR, 100);
  assert.equal(head.truncate(2 * HOUR).seriesRemoved, 9);
  assert.equal(holding.commit().appended, 1);
  assert.throws(
    () => head.appender().appendRef(old[5], 3 * HOUR, 1),
    (e) => isContrailError(e, "not_found"),
  );
  // New series take the rows given back; one batch then appends to old and new series in a scrambled order.
  const create = head.appender();
  const fresh = Array.from({ length: 9 }, (_, i) => create.append(up(`new-${i}`), 3 * HOUR, 1000 + i));
  create.commit();
  const mixed = head.appender();
  const order = [...old.slice(10), ...fresh]
    .map((ref, k) => ({ ref, k }))
    .sort((a, b) => ((a.k * 7) % 19) - ((b.k * 7) % 19));
  for (const { ref, k } of order) mixed.appendRef(ref, 4 * HOUR, 2000 + k);
  assert.equal(mixed.commit().appended, 19);
  const expected = [`{__name__="up", instance="old-0"}: ${3 * HOUR}=100`];
  for (let i = 10; i < 20; i++) {
    expected.push(`{__name__="up", instance="old-${i}"}: ${3 * HOUR}=${i} ${4 * HOUR}=${2000 + i - 10}`);
  }
  for (let i = 0; i < 9; i++) {
    expected.push(`{__name__="up", instance="new-${i}"}: ${3 * HOUR}=${1000 + i} ${4 * HOUR}=${2010 + i}`);
  }
  assert.deepEqual(dump(head), expected.sort());
});

test("a batch by ref is judged in order: repeats ignored, duplicates and out-of-order samples refused", () => {
  const head = newHead();
  const setup = head.appender();
  const ref = setup.append(up("a"), 1000, 1);
  setup.commit();
  const app = head.appender();
  app.appendRef(ref, 1000, 1); // the stored sample again: ignored
  app.appendRef(ref, 1000, 9); // another value at the stored sample's time
  app.appendRef(ref, 2000, 2);
  app.appendRef(ref, 2000, 2); // the batch's own sample again: ignored
  app.appendRef(ref, 2000, 3); // another value at that time
  app.appendRef(ref, 1500, 5); // older than the batch's newest
  app.appendRef(ref, 3000, 4);
  const r = app.commit();
  assert.deepEqual([r.appended, r.duplicate, r.outOfOrder, r.outOfBounds], [2, 2, 1, 0]);
  assert.match(commitError(r).message, /instance="a"/);
  assert.deepEqual(dump(head), ['{__name__="up", instance="a"}: 1000=1 2000=2 3000=4']);
});

test("batches by ref replay from the WAL into the same head", () => {
  const dir = mkdtempSync(join(tmpdir(), "head-app-"));
  const head = Head.open({ dir });
  const create = head.appender();
  const refs = Array.from({ length: 50 }, (_, i) => create.append(up(`i-${i}`), 0, i));
  create.commit();
  for (let step = 1; step <= 300; step++) {
    const app = head.appender();
    for (let k = 0; k < refs.length; k++)
      if ((k + step) % 3 !== 0) app.appendRef(refs[(k * 17) % 50], step * 15_000, step * k + 0.5);
    app.commit();
  }
  const before = dump(head);
  head.close();
  const again = Head.open({ dir });
  open.push({ head: again, dir });
  assert.deepEqual(dump(again), before);
});
