// The conformance suite of the Appender and Querier contracts (interface.ts), run by every store that implements
// both: the in-memory store, the TSDB, the tenant store bound to one org. Call `runStorageConformance` from a
// `*.test.ts` file. Every test starts from a fresh, empty store and closes it at the end.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ErrorCode, isContrailError } from "../model/errors.ts";
import { compareStrings, Labels } from "../model/labels.ts";
import { type Matcher, newMatcher } from "../model/matcher.ts";
import { float64Bits, STALE_NAN } from "../model/sample.ts";
import { rejectedCount, rejectionError } from "./commit.ts";
import type { Appendable, CommitReport, Querier, Queryable, SeriesRef } from "./interface.ts";

/** A fresh, empty store under test; `close` releases it (and its files) when a test ends. */
export interface StorageFixture {
  readonly appendable: Appendable;
  readonly queryable: Queryable;
  close?(): void;
}

/** A time well inside every store's accepted range (ms); all samples of the suite lie within an hour after it. */
const T0 = 1_700_000_000_000;
const STEP = 15_000;

interface DataSeries {
  readonly labels: Labels;
  readonly samples: readonly (readonly [number, number])[];
}

function regular(n: number, t0: number, value: (i: number) => number): [number, number][] {
  return Array.from({ length: n }, (_, i) => [t0 + i * STEP, value(i)] as [number, number]);
}

/** The data the query tests read. Series differ in label sets, so empty-matching matchers have work to do. */
const DATA: readonly DataSeries[] = [
  { labels: Labels.fromStrings("__name__", "up", "job", "api", "instance", "a:1"), samples: regular(20, T0, () => 1) },
  {
    labels: Labels.fromStrings("__name__", "up", "job", "api", "instance", "b:1"),
    samples: [...regular(10, T0 + 5_000, (i) => i % 2), [T0 + 5_000 + 10 * STEP, STALE_NAN]],
  },
  {
    labels: Labels.fromStrings("__name__", "up", "job", "db", "instance", "c:1"),
    samples: regular(5, T0 + 60_000, () => 0),
  },
  {
    labels: Labels.fromStrings("__name__", "http_requests_total", "job", "api", "method", "GET", "code", "200"),
    samples: regular(30, T0 + 1_000, (i) => i * 3.25),
  },
  {
    labels: Labels.fromStrings("__name__", "http_requests_total", "job", "api", "method", "POST", "code", "500"),
    samples: regular(8, T0 + 7_000, (i) => 1e300 / (i + 1)),
  },
  {
    labels: Labels.fromStrings("__name__", "node_cpu_seconds_total", "cpu", "0", "mode", "idle", "region", "é"),
    samples: [
      [T0 + 2, -0],
      [T0 + 3, Number.NaN],
      [T0 + 600_000, Number.POSITIVE_INFINITY],
    ],
  },
];

const DATA_MINT = Math.min(...DATA.map((s) => s.samples[0][0]));
const DATA_MAXT = Math.max(...DATA.map((s) => s.samples[s.samples.length - 1][0]));

type Spec = readonly (readonly [string, "=" | "!=" | "=~" | "!~", string])[];

/** Matcher sets checked against a direct evaluation over DATA; several also match series lacking the label. */
const MATCHER_CASES: readonly Spec[] = [
  [["__name__", "=", "up"]],
  [
    ["__name__", "=", "up"],
    ["job", "=", "api"],
  ],
  [["job", "!=", "api"]],
  [["job", "=~", "a.*|d."]],
  [
    ["job", "!~", "api"],
    ["__name__", "=~", ".+"],
  ],
  [
    ["method", "=~", "GET|POST"],
    ["code", "!=", "500"],
  ],
  [["region", "=", "é"]],
  [["__name__", "=", "no_such_metric"]],
  [["__name__", "=~", ".+"]],
  // Empty-matching matchers: a missing label is the empty string.
  [["job", "=", ""]],
  [["job", "!~", ".+"]],
  [
    ["__name__", "=~", ".+"],
    ["job", "=~", "|db"],
  ],
  [
    ["__name__", "=", "up"],
    ["no_such_label", "!=", "x"],
  ],
  [
    ["instance", "=~", ".*"],
    ["__name__", "!=", "up"],
  ],
  [
    ["no_such_label", "=", ""],
    ["job", "=", "db"],
  ],
];

function matchersOf(spec: Spec): Matcher[] {
  return spec.map(([n, op, v]) => newMatcher(op, n, v));
}

function selectedData(ms: readonly Matcher[]): DataSeries[] {
  return DATA.filter((s) => ms.every((m) => m.matches(s.labels.get(m.name))));
}

// A value's bits as text, so NaN payloads and -0 compare exactly.
function bits(v: number): string {
  const [hi, lo] = float64Bits(v);
  return `${hi.toString(16)}:${lo.toString(16)}`;
}

// The bits a store must give back for an appended value: V8 may have set the quiet bit of a staleness marker kept
// in a plain array (as DATA is); stores give back the exact marker, which is what `isStaleNaN` recognises.
function storedBits(v: number): string {
  const [hi, lo] = float64Bits(v);
  return (hi | 0x00080000) === 0x7ff80000 && lo === 2 ? bits(STALE_NAN) : bits(v);
}

/** Every selected series as `labels t=bits ...`, in the order the querier returned them. */
function read(q: Querier, ms: readonly Matcher[], start: number, end: number, sorted = true): string[] {
  const out: string[] = [];
  for (const s of q.select(ms, { start, end, sorted })) {
    const it = s.iterator();
    const parts: string[] = [];
    while (it.next() !== "none") parts.push(`${it.atT()}=${bits(it.atV())}`);
    out.push(`${s.labels.toString()} ${parts.join(" ")}`);
  }
  return out;
}

function expectedRead(series: readonly DataSeries[], start: number, end: number): string[] {
  return series
    .filter((s) => s.samples.some(([t]) => t >= start && t <= end))
    .sort((a, b) => a.labels.compare(b.labels))
    .map((s) => {
      const parts = s.samples.filter(([t]) => t >= start && t <= end).map(([t, v]) => `${t}=${storedBits(v)}`);
      return `${s.labels.toString()} ${parts.join(" ")}`;
    });
}

/** The report's counts without the error, for deepEqual. */
function counts(r: CommitReport): { appended: number; outOfOrder: number; duplicate: number; outOfBounds: number } {
  return { appended: r.appended, outOfOrder: r.outOfOrder, duplicate: r.duplicate, outOfBounds: r.outOfBounds };
}

const m = (s: string) => Labels.fromStrings("__name__", "m", "s", s);

/**
 * Registers the suite under `name`. `make` builds a fresh, empty store; it is called once per test and the store
 * closed after it.
 */
export function runStorageConformance(name: string, make: () => StorageFixture): void {
  // Runs `fn` on a fresh store, closing the store and every querier opened through `query`.
  function withStore(fn: (s: StorageFixture, query: (mint: number, maxt: number) => Querier) => void): void {
    const fx = make();
    const open: Querier[] = [];
    try {
      fn(fx, (mint, maxt) => {
        const q = fx.queryable.querier(mint, maxt);
        open.push(q);
        return q;
      });
    } finally {
      for (const q of open) q.close();
      fx.close?.();
    }
  }

  // Loads DATA in two commits (the first half of every series, then the rest); both must reject nothing.
  function load(fx: StorageFixture): void {
    for (const half of [0, 1]) {
      const app = fx.appendable.appender();
      for (const s of DATA) {
        const mid = Math.ceil(s.samples.length / 2);
        for (const [t, v] of half === 0 ? s.samples.slice(0, mid) : s.samples.slice(mid)) app.append(s.labels, t, v);
      }
      const r = app.commit();
      assert.equal(rejectionError(r), null, "loading the conformance data rejects nothing");
    }
  }

  // All samples of series `s` as `t=v` in [mint, maxt].
  function samplesOf(q: Querier, s: string, mint: number, maxt: number): string[] {
    const out: string[] = [];
    for (const series of q.select([newMatcher("=", "__name__", "m"), newMatcher("=", "s", s)], {
      start: mint,
      end: maxt,
    })) {
      const it = series.iterator();
      while (it.next() !== "none") out.push(`${it.atT()}=${it.atV()}`);
    }
    return out;
  }

  const ALL = [newMatcher("=~", "__name__", ".+")];

  describe(`storage conformance: ${name}`, () => {
    describe("appender", () => {
      it("makes a batch visible only at commit, all of it together", () => {
        withStore((fx, query) => {
          const app = fx.appendable.appender();
          app.append(m("a"), T0, 1);
          app.append(m("b"), T0, 2);
          app.append(m("a"), T0 + 1_000, 3);
          assert.deepEqual(read(query(T0, T0 + 1_000), ALL, T0, T0 + 1_000), [], "nothing before commit");
          const r = app.commit();
          assert.deepEqual(counts(r), { appended: 3, outOfOrder: 0, duplicate: 0, outOfBounds: 0 });
          assert.equal(r.firstRejection, null);
          const q = query(T0, T0 + 1_000);
          assert.deepEqual(samplesOf(q, "a", T0, T0 + 1_000), [`${T0}=1`, `${T0 + 1_000}=3`]);
          assert.deepEqual(samplesOf(q, "b", T0, T0 + 1_000), [`${T0}=2`]);
        });
      });

      it("drops a rolled-back batch and leaves no trace of it", () => {
        withStore((fx, query) => {
          const app = fx.appendable.appender();
          app.append(m("a"), T0 + 5_000, 1);
          app.rollback();
          assert.deepEqual(read(query(T0, T0 + 10_000), ALL, T0, T0 + 10_000), []);
          // The rolled-back sample does not count as the series' newest: older samples are still in order.
          const again = fx.appendable.appender();
          again.append(m("a"), T0, 2);
          assert.deepEqual(counts(again.commit()), { appended: 1, outOfOrder: 0, duplicate: 0, outOfBounds: 0 });
          assert.deepEqual(samplesOf(query(T0, T0 + 10_000), "a", T0, T0 + 10_000), [`${T0}=2`]);
        });
      });

      it("refuses work on a spent appender", () => {
        withStore((fx) => {
          const committed = fx.appendable.appender();
          const ref = committed.append(m("a"), T0, 1);
          committed.commit();
          const internal = (e: unknown) => isContrailError(e, "internal");
          assert.throws(() => committed.append(m("a"), T0 + 1, 1), internal);
          assert.throws(() => committed.appendRef(ref, T0 + 1, 1), internal);
          assert.throws(() => committed.commit(), internal);
          assert.throws(() => committed.rollback(), internal);
          const rolledBack = fx.appendable.appender();
          rolledBack.rollback();
          assert.throws(() => rolledBack.append(m("a"), T0 + 1, 1), internal);
          assert.throws(() => rolledBack.rollback(), internal);
        });
      });

      it("appendRef adds to the series of an earlier append, in the same batch and in later ones", () => {
        withStore((fx, query) => {
          const app = fx.appendable.appender();
          const a = app.append(m("a"), T0, 1);
          const b = app.append(m("b"), T0, 1);
          assert.notEqual(a, b);
          assert.equal(app.append(m("a"), T0 + 1_000, 2), a, "the same labels give the same ref");
          assert.equal(app.appendRef(a, T0 + 2_000, 3), a);
          assert.equal(app.commit().appended, 4);
          const later = fx.appendable.appender();
          assert.equal(later.appendRef(a, T0 + 3_000, 4), a);
          assert.equal(later.appendRef(b, T0 + 3_000, 5), b);
          assert.equal(later.commit().appended, 2);
          const q = query(T0, T0 + 3_000);
          assert.deepEqual(samplesOf(q, "a", T0, T0 + 3_000), [
            `${T0}=1`,
            `${T0 + 1_000}=2`,
            `${T0 + 2_000}=3`,
            `${T0 + 3_000}=4`,
          ]);
          assert.deepEqual(samplesOf(q, "b", T0, T0 + 3_000), [`${T0}=1`, `${T0 + 3_000}=5`]);
        });
      });

      it("refuses bad input at append: unknown refs, non-integer times, empty label sets", () => {
        withStore((fx) => {
          const app = fx.appendable.appender();
          const ref = app.append(m("a"), T0, 1);
          assert.throws(
            () => app.appendRef((ref + 1_000_003) as SeriesRef, T0, 1),
            (e) => isContrailError(e, "not_found"),
          );
          for (const t of [T0 + 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
            assert.throws(
              () => app.append(m("a"), t, 1),
              (e) => isContrailError(e, "bad_data"),
              String(t),
            );
          }
          assert.throws(
            () => app.append(Labels.EMPTY, T0, 1),
            (e) => isContrailError(e, "bad_data"),
          );
          assert.equal(app.commit().appended, 1, "the refused calls left the batch as it was");
        });
      });

      interface ReportCase {
        readonly name: string;
        /** [series, t offset from T0, value]; the store holds m{s="a"} T0=1 before the batch. */
        readonly batch: readonly (readonly [string, number, number])[];
        readonly counts: { appended: number; outOfOrder: number; duplicate: number; outOfBounds: number };
        /** The first rejection's code and the time it must name (offset from T0), or null. */
        readonly first: readonly [ErrorCode, string, number] | null;
        /** What the store holds afterwards: series -> `t offset=value` list. */
        readonly stored: Readonly<Record<string, string[]>>;
      }
      const reportCases: readonly ReportCase[] = [
        {
          name: "older than the stored newest: out of order",
          batch: [["a", -1_000, 5]],
          counts: { appended: 0, outOfOrder: 1, duplicate: 0, outOfBounds: 0 },
          first: ["out_of_order_sample", "a", -1_000],
          stored: { a: ["0=1"] },
        },
        {
          name: "same time as the stored newest, other value: duplicate",
          batch: [["a", 0, 2]],
          counts: { appended: 0, outOfOrder: 0, duplicate: 1, outOfBounds: 0 },
          first: ["duplicate_sample_for_timestamp", "a", 0],
          stored: { a: ["0=1"] },
        },
        {
          name: "an exact repeat of the stored newest is accepted and not counted",
          batch: [["a", 0, 1]],
          counts: { appended: 0, outOfOrder: 0, duplicate: 0, outOfBounds: 0 },
          first: null,
          stored: { a: ["0=1"] },
        },
        {
          name: "out of order within the batch",
          batch: [
            ["a", 3_000, 1],
            ["a", 2_000, 1],
            ["a", 4_000, 1],
          ],
          counts: { appended: 2, outOfOrder: 1, duplicate: 0, outOfBounds: 0 },
          first: ["out_of_order_sample", "a", 2_000],
          stored: { a: ["0=1", "3000=1", "4000=1"] },
        },
        {
          name: "duplicate and exact repeat within the batch",
          batch: [
            ["a", 1_000, 1],
            ["a", 1_000, 2],
            ["a", 1_000, 1],
          ],
          counts: { appended: 1, outOfOrder: 0, duplicate: 1, outOfBounds: 0 },
          first: ["duplicate_sample_for_timestamp", "a", 1_000],
          stored: { a: ["0=1", "1000=1"] },
        },
        {
          name: "the rest of the batch is committed around the rejected samples",
          batch: [
            ["b", 0, 1],
            ["a", -5, 1],
            ["b", 1_000, 2],
            ["a", 0, 7],
            ["a", 1_000, 3],
          ],
          counts: { appended: 3, outOfOrder: 1, duplicate: 1, outOfBounds: 0 },
          first: ["out_of_order_sample", "a", -5],
          stored: { a: ["0=1", "1000=3"], b: ["0=1", "1000=2"] },
        },
      ];
      for (const c of reportCases) {
        it(`commit report: ${c.name}`, () => {
          withStore((fx, query) => {
            const base = fx.appendable.appender();
            base.append(m("a"), T0, 1);
            base.commit();
            const app = fx.appendable.appender();
            for (const [s, dt, v] of c.batch) app.append(m(s), T0 + dt, v);
            const r = app.commit();
            assert.deepEqual(counts(r), c.counts);
            if (c.first === null) {
              assert.equal(r.firstRejection, null);
              assert.equal(rejectionError(r), null);
            } else {
              const [code, s, dt] = c.first;
              assert.ok(r.firstRejection !== null);
              assert.equal(r.firstRejection.code, code);
              assert.ok(r.firstRejection.message.includes(String(T0 + dt)), r.firstRejection.message);
              assert.ok(r.firstRejection.message.includes(m(s).toString()), r.firstRejection.message);
              const summary = rejectionError(r);
              assert.ok(summary !== null);
              assert.equal(summary.code, code);
              const n = rejectedCount(r);
              assert.ok(summary.message.startsWith(`${n} of ${n + r.appended} samples rejected`), summary.message);
            }
            const q = query(T0 - 10_000, T0 + 10_000);
            for (const [s, want] of Object.entries(c.stored)) {
              const got = samplesOf(q, s, T0 - 10_000, T0 + 10_000).map((x) => {
                const [t, v] = x.split("=");
                return `${Number(t) - T0}=${v}`;
              });
              assert.deepEqual(got, want, s);
            }
          });
        });
      }

      it("keeps the staleness marker's bits; a repeated marker is accepted, another NaN is a duplicate", () => {
        withStore((fx, query) => {
          const app = fx.appendable.appender();
          app.append(m("a"), T0, STALE_NAN);
          app.append(m("b"), T0, 1);
          app.commit();
          const again = fx.appendable.appender();
          again.append(m("a"), T0, STALE_NAN);
          // Through a plain array the marker's NaN gets its quiet bit set; it is still the same value.
          const viaArray = [STALE_NAN];
          again.append(m("a"), T0, viaArray[0]);
          const r = again.commit();
          assert.deepEqual(counts(r), { appended: 0, outOfOrder: 0, duplicate: 0, outOfBounds: 0 });
          for (const [s, v] of [
            ["a", Number.NaN],
            ["b", STALE_NAN],
          ] as const) {
            const dup = fx.appendable.appender();
            dup.append(m(s), T0, v);
            const d = dup.commit();
            assert.deepEqual(counts(d), { appended: 0, outOfOrder: 0, duplicate: 1, outOfBounds: 0 }, s);
            assert.equal(d.firstRejection?.code, "duplicate_sample_for_timestamp");
          }
          const got = read(query(T0, T0), ALL, T0, T0);
          assert.deepEqual(got, [`${m("a").toString()} ${T0}=7ff00000:2`, `${m("b").toString()} ${T0}=${bits(1)}`]);
        });
      });
    });

    describe("querier", () => {
      it("selects with =, !=, =~, !~ and empty-matching matchers, sorted, each series with its samples", () => {
        withStore((fx, query) => {
          load(fx);
          const q = query(DATA_MINT, DATA_MAXT);
          for (const spec of MATCHER_CASES) {
            const ms = matchersOf(spec);
            assert.deepEqual(
              read(q, ms, DATA_MINT, DATA_MAXT),
              expectedRead(selectedData(ms), DATA_MINT, DATA_MAXT),
              JSON.stringify(spec),
            );
          }
        });
      });

      it("returns series in label order when asked, the same set otherwise", () => {
        withStore((fx, query) => {
          load(fx);
          const q = query(DATA_MINT, DATA_MAXT);
          const sorted = [...q.select(ALL, { start: DATA_MINT, end: DATA_MAXT, sorted: true })].map((s) => s.labels);
          for (let i = 1; i < sorted.length; i++)
            assert.ok(sorted[i - 1].compare(sorted[i]) < 0, "strictly increasing");
          assert.deepEqual(
            sorted.map((l) => l.toString()),
            DATA.map((s) => s.labels)
              .sort((a, b) => a.compare(b))
              .map((l) => l.toString()),
          );
          const any = [...q.select(ALL, { start: DATA_MINT, end: DATA_MAXT })].map((s) => s.labels.toString());
          assert.deepEqual(any.sort(compareStrings), sorted.map((l) => l.toString()).sort(compareStrings));
        });
      });

      it("includes samples at both ends of the range, and omits series with none inside it", () => {
        withStore((fx, query) => {
          const app = fx.appendable.appender();
          for (const dt of [0, 10, 20, 30]) app.append(m("in"), T0 + dt, dt);
          for (const dt of [0, 30]) app.append(m("out"), T0 + dt, dt);
          app.commit();
          const cases: [number, number, string[]][] = [
            [10, 20, [`${T0 + 10}=10`, `${T0 + 20}=20`]],
            [20, 20, [`${T0 + 20}=20`]],
            [11, 29, [`${T0 + 20}=20`]],
            [-5, 0, [`${T0}=0`]],
            [30, 40, [`${T0 + 30}=30`]],
          ];
          for (const [lo, hi, want] of cases) {
            const q = query(T0 + lo, T0 + hi);
            assert.deepEqual(samplesOf(q, "in", T0 + lo, T0 + hi), want, `[${lo}, ${hi}]`);
            const sel = [...q.select(ALL, { start: T0 + lo, end: T0 + hi, sorted: true })].map((s) =>
              s.labels.get("s"),
            );
            assert.deepEqual(sel, lo > 0 && hi < 30 ? ["in"] : ["in", "out"], `series in [${lo}, ${hi}]`);
          }
          assert.deepEqual(read(query(T0 + 31, T0 + 100), ALL, T0 + 31, T0 + 100), []);
          assert.deepEqual(read(query(T0 - 100, T0 - 1), ALL, T0 - 100, T0 - 1), []);
        });
      });

      it("reads the hints' start and end when they lie inside the querier's range", () => {
        withStore((fx, query) => {
          load(fx);
          const q = query(DATA_MINT, DATA_MAXT);
          const lo = T0 + 100_000;
          const hi = T0 + 200_000;
          assert.deepEqual(read(q, ALL, lo, hi), expectedRead(DATA, lo, hi));
          // c:1 has samples at T0 + 60 s .. T0 + 120 s only.
          const late = [newMatcher("=", "instance", "c:1")];
          assert.deepEqual(read(q, late, T0 + 121_000, DATA_MAXT), []);
        });
      });

      it("iterators seek forward to the first sample at or after a time, never backwards", () => {
        withStore((fx, query) => {
          load(fx);
          const series = DATA[0]; // samples at T0 + i * STEP, i < 20
          const last = series.samples[series.samples.length - 1][0];
          const ms = [newMatcher("=", "__name__", "up"), newMatcher("=", "instance", "a:1")];
          const [s] = [...query(DATA_MINT, DATA_MAXT).select(ms, { start: DATA_MINT, end: DATA_MAXT })];
          assert.ok(s !== undefined);
          const it = s.iterator();
          assert.equal(it.seek(T0 - 1_000_000), "float", "seek before the first sample, before any next()");
          assert.equal(it.atT(), T0);
          assert.equal(it.seek(T0 + 7_000), "float");
          assert.equal(it.atT(), T0 + STEP, "to the next sample after a gap");
          assert.equal(it.seek(T0 + STEP), "float");
          assert.equal(it.atT(), T0 + STEP, "stays when the current sample satisfies the target");
          assert.equal(it.seek(T0), "float");
          assert.equal(it.atT(), T0 + STEP, "never backwards");
          assert.equal(it.next(), "float");
          assert.equal(it.atT(), T0 + 2 * STEP);
          assert.equal(it.atV(), 1);
          assert.equal(it.seek(T0 + 6 * STEP), "float");
          assert.equal(it.atT(), T0 + 6 * STEP, "an exact timestamp");
          assert.equal(it.seek(last), "float");
          assert.equal(it.atT(), last);
          assert.equal(it.next(), "none");
          assert.equal(it.next(), "none", "stays exhausted");
          assert.equal(it.seek(T0), "none");

          const again = s.iterator(it);
          assert.equal(again.next(), "float", "a reused iterator starts over");
          assert.equal(again.atT(), T0);
          assert.equal(s.iterator().seek(last + 1), "none");

          // Within a narrower range seeks stop at its ends.
          const lo = T0 + 2 * STEP;
          const hi = T0 + 5 * STEP;
          const [n] = [...query(lo, hi).select(ms, { start: lo, end: hi })];
          assert.ok(n !== undefined);
          const nit = n.iterator();
          assert.equal(nit.seek(T0), "float");
          assert.equal(nit.atT(), lo);
          assert.equal(nit.seek(hi), "float");
          assert.equal(nit.atT(), hi);
          assert.equal(n.iterator().seek(hi + 1), "none", "samples after the range stay hidden");
        });
      });

      it("lists label names and values, with and without matchers", () => {
        withStore((fx, query) => {
          load(fx);
          const q = query(DATA_MINT, DATA_MAXT);
          const namesOf = (series: readonly DataSeries[]) => {
            const names = new Set<string>();
            for (const s of series) {
              s.labels.forEach((n) => {
                names.add(n);
              });
            }
            return [...names].sort(compareStrings);
          };
          assert.deepEqual(q.labelNames([]), namesOf(DATA));
          assert.deepEqual(q.labelValues("job", []), ["api", "db"]);
          assert.deepEqual(q.labelValues("__name__", []), ["http_requests_total", "node_cpu_seconds_total", "up"]);
          assert.deepEqual(q.labelValues("no_such_label", []), []);
          for (const spec of MATCHER_CASES) {
            const ms = matchersOf(spec);
            const sel = selectedData(ms);
            assert.deepEqual(q.labelNames(ms), namesOf(sel), `names for ${JSON.stringify(spec)}`);
            for (const label of ["job", "__name__", "instance", "code", "region"]) {
              const want = [...new Set(sel.map((s) => s.labels.get(label)).filter((v) => v !== ""))].sort(
                compareStrings,
              );
              assert.deepEqual(q.labelValues(label, ms), want, `${label} for ${JSON.stringify(spec)}`);
            }
          }
        });
      });
    });
  });
}
