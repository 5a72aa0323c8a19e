import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Labels } from "../../model/labels.ts";
import { newMatcher } from "../../model/matcher.ts";
import type { Series, SeriesSet } from "../../storage/interface.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { PageReader } from "./page-reader.ts";
import { DEFAULT_PAGE_BOUNDS, type PageBounds, SelectionCursor } from "./pages.ts";
import type { SeriesPage } from "./protocol.ts";

// Series of different lengths and densities, with label values that are not plain ASCII (one holds a lone
// surrogate, Contrail's form of an invalid UTF-8 byte).
function store(): MemoryStore {
  const s = new MemoryStore();
  const app = s.appender();
  const add = (labels: Labels, from: number, count: number, every: number) => {
    for (let i = 0; i < count; i++) app.append(labels, from + i * every, i * 1.5);
  };
  add(Labels.fromStrings("__name__", "m", "i", "dense"), 0, 5000, 1);
  add(Labels.fromStrings("__name__", "m", "i", "sparse"), 0, 10, 500);
  add(Labels.fromStrings("__name__", "m", "i", "late", "zone", "zürich €"), 4000, 50, 10);
  add(Labels.fromStrings("__name__", "m", "i", "odd\udcff"), 100, 1, 1);
  for (let k = 0; k < 40; k++) add(Labels.fromStrings("__name__", "m", "i", `k${k}`), k, 20, 100);
  app.commit();
  return s;
}

const ALL = [newMatcher("=", "__name__", "m")];

function selection(s: MemoryStore, mint: number, maxt: number): SeriesSet {
  return s.querier(mint, maxt).select(ALL, { start: mint, end: maxt });
}

function dump(series: Iterable<Series>): string[] {
  const out: string[] = [];
  for (const s of series) {
    const it = s.iterator();
    const points: string[] = [];
    for (let k = it.next(); k !== "none"; k = it.next()) points.push(`${it.atT()}:${it.atV()}`);
    out.push(`${s.labels.toString()} ${points.join(" ")}`);
  }
  return out;
}

function pages(set: SeriesSet, range: { mint: number; maxt: number }, bounds?: PageBounds): SeriesPage[] {
  const cursor = new SelectionCursor(set, range, bounds);
  const out: SeriesPage[] = [];
  do out.push(cursor.nextPage(7));
  while (!cursor.done);
  return out;
}

describe("pages of series", () => {
  const cases: [string, PageBounds | undefined][] = [
    ["default bounds", undefined],
    ["tiny pages", { series: 2, samples: 30, bytes: 64, ms: 4, readSamples: 8 }],
    ["one series per page", { series: 1, samples: 1_000_000, bytes: 1 << 30, ms: 1000, readSamples: 1_000_000 }],
    ["windows larger than pages", { series: 100, samples: 100, bytes: 1024, ms: 1000, readSamples: 1000 }],
  ];
  for (const [name, bounds] of cases) {
    test(`read back exactly as selected: ${name}`, () => {
      const s = store();
      for (const [mint, maxt] of [
        [0, 10_000],
        [50, 4200],
        [4001, 4001],
      ]) {
        const built = pages(selection(s, mint, maxt), { mint, maxt }, bounds);
        // Read as built and as a worker gets them (structured-cloned).
        for (const [way, ps] of [
          ["here", built],
          ["cloned", built.map((p) => structuredClone(p))],
        ] as const) {
          const reader = new PageReader();
          for (const p of ps) reader.add(p);
          assert.deepEqual(dump(reader.result()), dump(selection(s, mint, maxt)), `${way} ${mint}..${maxt}`);
        }
      }
    });
  }

  test("pages keep to their bounds; a long series continues on the next page", () => {
    const bounds = { series: 5, samples: 200, bytes: 1024, ms: 1000, readSamples: 50 };
    const ps = pages(selection(store(), 0, 10_000), { mint: 0, maxt: 10_000 }, bounds);
    assert.ok(ps.length > 25, `${ps.length} pages`);
    let continued = 0;
    for (const p of ps) {
      assert.ok(p.pairs.length <= bounds.series);
      const samples = p.offsets[p.offsets.length - 1];
      // A page stops reading once past its bound; one read of about readSamples may pass it (density estimates
      // are made from the previous window).
      assert.ok(samples <= bounds.samples + 4 * bounds.readSamples, `${samples} samples in one page`);
      if (p.continued) continued++;
      assert.equal(p.cursor, 7);
    }
    assert.ok(continued >= 20, "the 5000-sample series spans pages");
    assert.deepEqual(
      ps.map((p) => p.done),
      [...ps.slice(1).map(() => false), true],
    );
  });

  test("the time bound cuts only a page past a small size: a few small series make one whole page", () => {
    // A clock always past the bound, as on a thread preempted while it builds the page.
    const late = { ...DEFAULT_PAGE_BOUNDS, ms: 0, readSamples: 256 };
    const s = store();
    const few = s
      .querier(0, 10_000)
      .select([...ALL, newMatcher("=~", "i", "sparse|late|k1|k2")], { start: 0, end: 10_000 });
    const small = pages(few, { mint: 0, maxt: 10_000 }, late);
    assert.deepEqual(
      small.map((p) => [p.pairs.length, p.done]),
      [[4, true]],
    );
    const dense = s.querier(0, 10_000).select([...ALL, newMatcher("=", "i", "dense")], { start: 0, end: 10_000 });
    const cut = pages(dense, { mint: 0, maxt: 10_000 }, late);
    assert.ok(cut.length > 1, "a 5000-sample series is cut by the time bound");
    for (const p of cut.slice(0, -1)) assert.ok(p.offsets[p.offsets.length - 1] >= 1024, "cut only past 1024 samples");
  });

  test("an empty selection is one empty, final page; warnings come with the last page", () => {
    const empty = Object.assign([] as Series[], { warnings: ["partial answer"] });
    const [p] = pages(empty, { mint: 0, maxt: 10 });
    assert.equal(p.done, true);
    assert.equal(p.pairs.length, 0);
    assert.deepEqual(p.warnings, ["partial answer"]);
    const reader = new PageReader();
    reader.add(p);
    assert.deepEqual(reader.result().warnings, ["partial answer"]);
    assert.equal([...reader.result()].length, 0);
  });

  test("a series with no sample in the range keeps its labels", () => {
    const labelsOnly = Object.assign([{ labels: Labels.fromStrings("__name__", "x"), iterator: emptyIterator }], {
      warnings: [],
    });
    const reader = new PageReader();
    for (const p of pages(labelsOnly, { mint: 0, maxt: 10 })) reader.add(p);
    assert.deepEqual(dump(reader.result()), ['{__name__="x"} ']);
  });
});

// An iterator without readInto, at its end from the start.
function emptyIterator() {
  return {
    next: () => "none" as const,
    seek: () => "none" as const,
    atT: () => 0,
    atV: () => 0,
  };
}
