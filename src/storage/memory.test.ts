import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ErrorCode, isContrailError } from "../model/errors.ts";
import { CounterResetHint, type Histogram } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import { isStaleNaN, SampleBuffer, STALE_NAN } from "../model/sample.ts";
import { rejectedCount } from "./commit.ts";
import type { Querier, SampleIterator } from "./interface.ts";
import { MemoryStore } from "./memory.ts";

function collect(it: SampleIterator): [number, number][] {
  const out: [number, number][] = [];
  while (it.next() === "float") out.push([it.atT(), it.atV()]);
  return out;
}

function seriesOf(q: Querier, ...m: [string, string][]) {
  return [
    ...q.select(
      m.map(([n, v]) => newMatcher("=", n, v)),
      { start: -1e15, end: 1e15 },
    ),
  ];
}

function loaded(): MemoryStore {
  const store = new MemoryStore();
  const app = store.appender();
  const a = Labels.fromStrings("__name__", "up", "job", "a");
  const b = Labels.fromStrings("__name__", "up", "job", "b");
  for (let t = 0; t <= 100; t += 10) {
    app.append(a, t, t / 10);
    app.append(b, t, -t);
  }
  app.append(Labels.fromStrings("__name__", "other", "job", "a"), 50, 1);
  app.commit();
  return store;
}

describe("MemoryStore", () => {
  it("selects by matchers, sorted by labels", () => {
    const q = loaded().querier(0, 1000);
    const got = q.select([newMatcher("=", "__name__", "up")], { start: 0, end: 1000 });
    assert.deepEqual(
      [...got].map((s) => s.labels.toString()),
      ['{__name__="up", job="a"}', '{__name__="up", job="b"}'],
    );
    assert.deepEqual(got.warnings, []);
    const re = [...q.select([newMatcher("=~", "job", "a|c")], { start: 0, end: 1000 })];
    assert.deepEqual(
      re.map((s) => s.labels.metricName()),
      ["other", "up"],
    );
    const ne = [...q.select([newMatcher("!=", "job", "a")], { start: 0, end: 1000 })];
    assert.equal(ne.length, 1);
  });

  it("clips samples to the querier range and supports seek", () => {
    const q = loaded().querier(25, 70);
    const [s] = seriesOf(q, ["__name__", "up"], ["job", "a"]);
    assert.deepEqual(collect(s.iterator()), [
      [30, 3],
      [40, 4],
      [50, 5],
      [60, 6],
      [70, 7],
    ]);
    const it = s.iterator();
    assert.equal(it.seek(41), "float");
    assert.equal(it.atT(), 50);
    assert.equal(it.seek(10), "float", "seek never moves backwards");
    assert.equal(it.atT(), 50);
    assert.equal(it.next(), "float");
    assert.equal(it.atT(), 60);
    assert.equal(it.seek(71), "none");
    // A reused iterator starts over.
    const again = s.iterator(it);
    assert.equal(again, it);
    assert.equal(again.next(), "float");
    assert.equal(again.atT(), 30);
  });

  it("omits series without samples in range", () => {
    const q = loaded().querier(60, 100);
    assert.deepEqual(seriesOf(q, ["__name__", "other"]), []);
  });

  const rejections: { name: string; t: number; v: number; code: ErrorCode }[] = [
    { name: "older sample", t: 90, v: 1, code: "out_of_order_sample" },
    { name: "same time, other value", t: 100, v: 11, code: "duplicate_sample_for_timestamp" },
  ];
  for (const c of rejections) {
    it(`rejects an ${c.name}`, () => {
      const store = loaded();
      const app = store.appender();
      const a = Labels.fromStrings("__name__", "up", "job", "a");
      app.append(a, c.t, c.v);
      app.append(a, 110, 11);
      const r = app.commit();
      assert.equal(r.appended, 1, "the rest of the batch is committed");
      assert.equal(rejectedCount(r), 1);
      assert.equal(c.code === "out_of_order_sample" ? r.outOfOrder : r.duplicate, 1);
      assert.ok(r.firstRejection);
      assert.equal(r.firstRejection.code, c.code);
      assert.match(r.firstRejection.message, new RegExp(`at ${c.t} for \\{__name__="up", job="a"\\}`));
      const [s] = seriesOf(store.querier(0, 1000), ["__name__", "up"], ["job", "a"]);
      assert.deepEqual(collect(s.iterator()).slice(-2), [
        [100, 10],
        [110, 11],
      ]);
    });
  }

  it("accepts the same sample twice, including StaleNaN", () => {
    const store = new MemoryStore();
    const l = Labels.fromStrings("__name__", "x");
    const app = store.appender();
    const ref = app.append(l, 10, 1);
    app.appendRef(ref, 10, 1);
    app.appendRef(ref, 20, STALE_NAN);
    app.appendRef(ref, 20, STALE_NAN);
    app.appendRef(ref, 20, Number.NaN);
    app.appendRef(ref, 5, 1);
    const r = app.commit();
    assert.deepEqual(
      { appended: r.appended, outOfOrder: r.outOfOrder, duplicate: r.duplicate, outOfBounds: r.outOfBounds },
      { appended: 2, outOfOrder: 1, duplicate: 1, outOfBounds: 0 },
    );
    assert.ok(isContrailError(r.firstRejection, "duplicate_sample_for_timestamp"));
    const [s] = seriesOf(store.querier(0, 100), ["__name__", "x"]);
    const it = s.iterator();
    assert.equal(it.next(), "float");
    assert.equal(it.next(), "float");
    assert.ok(isStaleNaN(it.atV()), "the stored value keeps the StaleNaN bits");
    assert.equal(it.next(), "none");
  });

  it("makes samples visible only at commit, drops them on rollback", () => {
    const store = new MemoryStore();
    const l = Labels.fromStrings("__name__", "x");
    const app = store.appender();
    app.append(l, 1, 1);
    assert.deepEqual(seriesOf(store.querier(0, 10), ["__name__", "x"]), []);
    app.rollback();
    assert.deepEqual(seriesOf(store.querier(0, 10), ["__name__", "x"]), []);
    const app2 = store.appender();
    app2.append(l, 1, 1);
    app2.commit();
    assert.equal(seriesOf(store.querier(0, 10), ["__name__", "x"]).length, 1);
    assert.throws(
      () => app2.append(l, 2, 1),
      (e) => isContrailError(e, "internal"),
    );
  });

  it("keeps readers stable while arrays grow", () => {
    const store = new MemoryStore();
    const l = Labels.fromStrings("__name__", "x");
    let app = store.appender();
    for (let t = 0; t < 10; t++) app.append(l, t, t);
    app.commit();
    const [s] = seriesOf(store.querier(0, 1000), ["__name__", "x"]);
    app = store.appender();
    for (let t = 10; t < 1000; t++) app.append(l, t, t);
    app.commit();
    assert.equal(collect(s.iterator()).length, 10);
  });

  it("lists label names and values, and clears", () => {
    const store = loaded();
    const q = store.querier(0, 1000);
    assert.deepEqual(q.labelNames([]), ["__name__", "job"]);
    assert.deepEqual(q.labelValues("job", [newMatcher("=", "__name__", "up")]), ["a", "b"]);
    assert.deepEqual(q.labelValues("__name__", []), ["other", "up"]);
    assert.deepEqual(q.labelValues("job", [], { limit: 1 }), ["a"]);
    store.clear();
    assert.equal(store.numSeries, 0);
    assert.deepEqual(store.querier(0, 1000).labelNames([]), []);
  });
});

describe("MemoryStore native histograms", () => {
  const h = (count: number): Histogram => ({
    integer: true,
    counterResetHint: CounterResetHint.unknown,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    count,
    sum: count * 2,
    positiveSpans: [{ offset: 0, length: 1 }],
    negativeSpans: [],
    positiveBuckets: [count],
    negativeBuckets: [],
    customValues: [],
  });
  const labels = Labels.fromStrings("__name__", "hist");

  it("keeps histograms beside floats and reads them back by kind, one by one and in a batch", () => {
    const store = new MemoryStore();
    const app = store.appender();
    app.append(labels, 0, 1);
    const given = h(3);
    app.appendHistogram?.(labels, 10, given);
    (given.positiveBuckets as number[])[0] = 99;
    app.appendHistogram?.(labels, 20, { ...h(4), sum: STALE_NAN });
    app.appendHistogram?.(labels, 30, h(5));
    assert.equal(app.commit().appended, 4);
    const [s] = seriesOf(store.querier(0, 100), ["__name__", "hist"]);
    const it = s.iterator();
    const kinds: string[] = [];
    for (let k = it.next(); k !== "none"; k = it.next()) {
      kinds.push(
        k === "histogram" ? `h${it.atH?.().count}@${it.atT()}` : `f${isStaleNaN(it.atV()) ? "stale" : it.atV()}`,
      );
    }
    assert.deepEqual(kinds, ["f1", "h3@10", "fstale", "h5@30"]);
    assert.equal(s.iterator().seek(25), "histogram");
    const buf = new SampleBuffer();
    s.iterator().readInto?.(5, 30, buf);
    assert.equal(buf.n, 3);
    assert.deepEqual(
      buf.h?.map((x) => x?.positiveBuckets[0]),
      [3, undefined, 5],
    );
  });

  it("ignores the same histogram again at a timestamp and rejects a different one", () => {
    const store = new MemoryStore();
    let app = store.appender();
    app.appendHistogram?.(labels, 10, h(3));
    app.commit();
    app = store.appender();
    app.appendHistogram?.(labels, 10, h(3));
    app.appendHistogram?.(labels, 10, h(4));
    app.append(labels, 5, 1);
    const report = app.commit();
    assert.equal(report.appended, 0);
    assert.equal(report.duplicate, 1);
    assert.equal(report.outOfOrder, 1);
  });
});
