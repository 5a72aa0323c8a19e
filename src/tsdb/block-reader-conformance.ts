// The conformance suite every BlockReader implementation runs (the head, on-disk blocks): given a fixed data set,
// the reader must expose exactly those series through postings, matchers, label names and values, and chunks that
// decode back to exactly those samples. Call `runBlockReaderConformance` from a `*.test.ts` file.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { compareStrings, Labels } from "../model/labels.ts";
import { type Matcher, newMatcher } from "../model/matcher.ts";
import type { BlockReader } from "./block-reader.ts";
import { Encoding } from "./chunkenc/chunk.ts";
import { XorIterator } from "./chunkenc/xor.ts";
import { floatHi, floatLo, isStaleNaN, STALE_NAN, STALE_NAN_HI } from "./encoding/float-bits.ts";
import { postingsForMatchers } from "./index/postings.ts";

/** One series of the conformance data: labels and samples `[t ms, value]` in increasing time order. */
export interface ConformanceSeries {
  readonly labels: Labels;
  readonly samples: readonly (readonly [number, number])[];
}

/** A reader holding the conformance data, and how to release it. */
export interface ConformanceFixture {
  readonly reader: BlockReader;
  close(): void;
}

const STEP = 15_000;

function regular(n: number, t0: number, step: number, value: (i: number) => number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) out.push([t0 + i * step, value(i)]);
  return out;
}

/**
 * The data every reader is built from. All samples lie in [0, 2 h), one block range, so a block written from it
 * holds everything; one series has enough samples for several chunks.
 */
export const CONFORMANCE_DATA: readonly ConformanceSeries[] = [
  {
    labels: Labels.fromStrings("__name__", "up", "job", "api", "instance", "a:1"),
    samples: regular(300, 0, STEP, () => 1),
  },
  {
    labels: Labels.fromStrings("__name__", "up", "job", "api", "instance", "b:1"),
    samples: [...regular(40, 60_000, STEP, (i) => i % 2), [60_000 + 40 * STEP, STALE_NAN]],
  },
  {
    labels: Labels.fromStrings("__name__", "up", "job", "db", "instance", "c:1"),
    samples: regular(10, 3_600_000, 1_000, () => 0),
  },
  {
    labels: Labels.fromStrings(
      "__name__",
      "http_requests_total",
      "job",
      "api",
      "instance",
      "a:1",
      "method",
      "GET",
      "code",
      "200",
    ),
    samples: regular(200, 5_000, STEP, (i) => i * 3.25),
  },
  {
    labels: Labels.fromStrings(
      "__name__",
      "http_requests_total",
      "job",
      "api",
      "instance",
      "a:1",
      "method",
      "POST",
      "code",
      "500",
    ),
    samples: regular(25, 7_000, 60_000, (i) => 1e300 / (i + 1)),
  },
  {
    labels: Labels.fromStrings("__name__", "node_cpu_seconds_total", "cpu", "0", "mode", "idle", "region", "é"),
    samples: [
      [1, -0],
      [2, Number.NaN],
      [7_199_999, Number.POSITIVE_INFINITY],
    ],
  },
  { labels: Labels.fromStrings("__name__", "🙂 metric", "le", "+Inf"), samples: regular(3, 100, 33, (i) => -i) },
];

/** Matcher sets whose results the suite checks against a direct evaluation over the data. */
const MATCHER_CASES: readonly (readonly [string, string, string][])[] = [
  [["__name__", "=", "up"]],
  [
    ["__name__", "=", "up"],
    ["job", "=", "api"],
  ],
  [["job", "!=", "api"]],
  [["job", "=", ""]],
  [["job", "=~", "a.*|d."]],
  [
    ["job", "!~", "api"],
    ["__name__", "=~", ".+"],
  ],
  [
    ["instance", "=~", ".*"],
    ["__name__", "!=", "up"],
  ],
  [
    ["method", "=~", "GET|POST"],
    ["code", "!=", "500"],
  ],
  [["region", "=", "é"]],
  [["__name__", "=", "no_such_metric"]],
  [["__name__", "=~", ".+"]],
  [["le", "=~", "\\+Inf"]],
];

function matchers(spec: readonly (readonly [string, string, string])[]): Matcher[] {
  return spec.map(([n, op, v]) => newMatcher(op as "=" | "!=" | "=~" | "!~", n, v));
}

function expectedFor(ms: readonly Matcher[]): string[] {
  return CONFORMANCE_DATA.filter((s) => ms.every((m) => m.matches(s.labels.get(m.name))))
    .map((s) => s.labels.toString())
    .sort(compareStrings);
}

// The bit pattern of `v`; the staleness marker quieted by a plain JS array counts as the marker.
function bits(v: number): string {
  const hi = isStaleNaN(v) ? STALE_NAN_HI : floatHi(v);
  return `${hi.toString(16)}:${floatLo(v).toString(16)}`;
}

/**
 * Registers the suite under `name`. `makeReader` builds a reader holding `CONFORMANCE_DATA` (it may be called once
 * per suite run); the fixture is closed when the suite ends.
 */
export function runBlockReaderConformance(
  name: string,
  makeReader: (data: readonly ConformanceSeries[]) => ConformanceFixture,
): void {
  describe(`BlockReader conformance: ${name}`, () => {
    let fx: ConformanceFixture;
    let r: BlockReader;
    before(() => {
      fx = makeReader(CONFORMANCE_DATA);
      r = fx.reader;
    });
    after(() => fx.close());

    const labelsOf = (refs: ArrayLike<number>): string[] =>
      Array.from(refs, (ref) => {
        const s = r.index().series(ref);
        assert.ok(s !== null, `series ${ref} from postings must exist`);
        return s.labels.toString();
      });

    test("time bounds contain every sample", () => {
      for (const s of CONFORMANCE_DATA) {
        for (const [t] of s.samples) {
          assert.ok(r.minTime <= t && t < r.maxTime, `sample at ${t} outside [${r.minTime}, ${r.maxTime})`);
        }
      }
    });

    test("all postings list every series once, sorted", () => {
      const all = Array.from(r.index().allPostings());
      for (let i = 1; i < all.length; i++) assert.ok(all[i - 1] < all[i], "all postings must strictly increase");
      assert.deepEqual(
        labelsOf(all).sort(compareStrings),
        CONFORMANCE_DATA.map((s) => s.labels.toString()).sort(compareStrings),
      );
    });

    test("an unknown series ref gives null", () => {
      const all = Array.from(r.index().allPostings());
      const unknown = Math.max(0, ...all) + 1_000_003;
      assert.equal(r.index().series(unknown), null);
    });

    test("postings for matchers select exactly the matching series", () => {
      for (const spec of MATCHER_CASES) {
        const ms = matchers(spec);
        const got = postingsForMatchers(r.index(), ms);
        assert.deepEqual(labelsOf(got).sort(compareStrings), expectedFor(ms), JSON.stringify(spec));
      }
    });

    test("postings of unknown names and values are empty", () => {
      assert.equal(r.index().postings("no_such_label", ["x"]).length, 0);
      assert.equal(r.index().postings("job", ["no_such_value"]).length, 0);
      assert.deepEqual([...r.index().labelValues("no_such_label")], []);
    });

    test("sorted postings order series by labels", () => {
      const sorted = r.index().sortedPostings(r.index().allPostings());
      const got = sorted.map((ref) => (r.index().series(ref) as { labels: Labels }).labels);
      const want = CONFORMANCE_DATA.map((s) => s.labels).sort((a, b) => a.compare(b));
      assert.deepEqual(
        got.map((l) => l.toString()),
        want.map((l) => l.toString()),
      );
    });

    test("label names and values, with and without matchers", () => {
      const names = new Set<string>();
      for (const s of CONFORMANCE_DATA) {
        s.labels.forEach((n) => {
          names.add(n);
        });
      }
      assert.deepEqual(r.index().labelNames(), [...names].sort(compareStrings));
      assert.deepEqual(r.index().labelNames([]), [...names].sort(compareStrings));
      for (const spec of MATCHER_CASES) {
        const ms = matchers(spec);
        const sel = CONFORMANCE_DATA.filter((s) => ms.every((m) => m.matches(s.labels.get(m.name))));
        const wantNames = new Set<string>();
        for (const s of sel) {
          s.labels.forEach((n) => {
            wantNames.add(n);
          });
        }
        assert.deepEqual(r.index().labelNames(ms), [...wantNames].sort(compareStrings), JSON.stringify(spec));
        for (const label of ["job", "__name__", "instance", "region"]) {
          const want = [...new Set(sel.map((s) => s.labels.get(label)).filter((v) => v !== ""))].sort(compareStrings);
          assert.deepEqual([...r.index().labelValues(label, ms)], want, `${label} for ${JSON.stringify(spec)}`);
        }
      }
      assert.deepEqual([...r.index().labelValues("job")], ["api", "db"]);
      assert.deepEqual([...r.index().labelValues("region")], ["é"]);
    });

    test("chunks are ordered, disjoint, within their metadata, and decode to the samples", () => {
      for (const want of CONFORMANCE_DATA) {
        const ref = postingsForMatchers(
          r.index(),
          want.labels.names().map((n) => newMatcher("=", n, want.labels.get(n))),
        ).find((x) => r.index().series(x)?.labels.equals(want.labels));
        assert.ok(ref !== undefined, `series ${want.labels.toString()} not found`);
        const s = r.index().series(ref);
        assert.ok(s !== null);
        assert.ok(s.chunks.length > 0);
        const got: string[] = [];
        let prevMaxt = Number.NEGATIVE_INFINITY;
        for (const meta of s.chunks) {
          assert.ok(meta.mint <= meta.maxt && meta.mint > prevMaxt, `chunk [${meta.mint}, ${meta.maxt}] out of order`);
          prevMaxt = meta.maxt;
          const c = r.chunks().chunk(meta);
          assert.equal(c.encoding, Encoding.xor);
          const it = new XorIterator(c.data);
          const ts: number[] = [];
          while (it.next() !== "none") {
            ts.push(it.atT());
            got.push(`${it.atT()}=${bits(it.atV())}`);
          }
          assert.equal(it.err(), null);
          assert.equal(ts[0], meta.mint, "a chunk's first sample is its mint");
          assert.equal(ts[ts.length - 1], meta.maxt, "a chunk's last sample is its maxt");
        }
        assert.deepEqual(
          got,
          want.samples.map(([t, v]) => `${t}=${bits(v)}`),
          want.labels.toString(),
        );
      }
      const big = CONFORMANCE_DATA[0];
      const bigRef = postingsForMatchers(r.index(), [
        newMatcher("=", "instance", "a:1"),
        newMatcher("=", "__name__", "up"),
      ]);
      const bigSeries = r.index().series(bigRef[0]);
      assert.ok(bigSeries !== null);
      assert.ok(bigSeries.labels.equals(big.labels));
      assert.ok(bigSeries.chunks.length >= 2, "300 samples take several chunks");
    });

    test("fresh data has no tombstones", () => {
      for (const ref of Array.from(r.index().allPostings())) assert.deepEqual([...r.tombstones().get(ref)], []);
    });
  });
}
