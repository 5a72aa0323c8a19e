import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { Labels } from "../model/labels.ts";
import { type Matcher, newMatcher } from "../model/matcher.ts";
import type { Querier, SampleIterator, SelectHints, Series, SeriesSet } from "../storage/interface.ts";
import { Head } from "./head/head.ts";
import { blockQuerier, mergeQuerier } from "./querier.ts";

const dirs: string[] = [];
const heads: Head[] = [];
afterEach(() => {
  for (const h of heads.splice(0)) h.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A head holding `data`: label strings → samples [t, v]. */
function headWith(data: [string[], [number, number][]][]): Head {
  const dir = mkdtempSync(join(tmpdir(), "querier-"));
  dirs.push(dir);
  const head = Head.open({ dir });
  heads.push(head);
  const app = head.appender();
  for (const [ls, samples] of data) for (const [t, v] of samples) app.append(Labels.fromStrings(...ls), t, v);
  app.commit();
  return head;
}

const eq = (n: string, v: string) => newMatcher("=", n, v);
const re = (n: string, v: string) => newMatcher("=~", n, v);
const all = (start = -1e15, end = 1e15): SelectHints => ({ start, end, sorted: true });

function samples(it: SampleIterator): string {
  const out: string[] = [];
  while (it.next() !== "none") out.push(`${it.atT()}=${it.atV()}`);
  return out.join(" ");
}

function rows(set: SeriesSet): string[] {
  return [...set].map((s) => `${s.labels.toString()} ${samples(s.iterator())}`);
}

const steps = (n: number, t0: number, step: number, v0 = 0): [number, number][] =>
  Array.from({ length: n }, (_, i) => [t0 + i * step, v0 + i]);

test("select: matchers, label order, inclusive range trimming, empty series left out", () => {
  const head = headWith([
    [["__name__", "up", "job", "b"], steps(5, 1000, 1000)],
    [["__name__", "up", "job", "a"], steps(5, 1000, 1000, 10)],
    [["__name__", "up", "job", "c"], steps(2, 100_000, 1000)],
    [["__name__", "down", "job", "a"], steps(5, 1000, 1000)],
  ]);
  const q = blockQuerier(head, 0, 1e15);
  assert.deepEqual(rows(q.select([eq("__name__", "up")], all(2000, 4000))), [
    '{__name__="up", job="a"} 2000=11 3000=12 4000=13',
    '{__name__="up", job="b"} 2000=1 3000=2 4000=3',
  ]);
  assert.deepEqual(rows(q.select([re("job", "a|c")], all(5000, 100_000))), [
    '{__name__="down", job="a"} 5000=4',
    '{__name__="up", job="a"} 5000=14',
    '{__name__="up", job="c"} 100000=0',
  ]);
  assert.deepEqual(rows(q.select([eq("__name__", "nope")], all())), []);
  // A set can be iterated again; limit stops after that many series.
  const set = q.select([eq("__name__", "up")], { ...all(), limit: 2 });
  assert.equal([...set].length, 2);
  assert.equal([...set].length, 2);
  assert.deepEqual(set.warnings, []);
});

test("unsorted select returns every match in postings order", () => {
  const head = headWith([
    [["__name__", "x", "k", "2"], steps(1, 0, 1)],
    [["__name__", "x", "k", "1"], steps(1, 0, 1)],
  ]);
  const got = [...blockQuerier(head, 0, 10).select([eq("__name__", "x")], { start: 0, end: 10 })].map((s) =>
    s.labels.get("k"),
  );
  assert.deepEqual(got, ["2", "1"]);
});

test("iterators seek across chunks, never move back, and can be reused", () => {
  const head = headWith([[["__name__", "m"], steps(500, 0, 15_000)]]);
  const s = [...blockQuerier(head, 0, 1e15).select([eq("__name__", "m")], all(30_000, 6_000_000))][0];
  const it = s.iterator();
  type Step = [op: "next" | "seek", arg: number, kind: string, t: number];
  const script: Step[] = [
    ["seek", 0, "float", 30_000], // clamped to the range start
    ["seek", 10, "float", 30_000], // already past: stays
    ["next", 0, "float", 45_000],
    ["seek", 1_800_001, "float", 1_815_000], // into the second chunk
    ["seek", 3_600_000, "float", 3_600_000],
    ["next", 0, "float", 3_615_000],
    ["seek", 6_000_000, "float", 6_000_000], // the range end is inclusive
    ["next", 0, "none", 0],
    ["seek", 0, "none", 0],
  ];
  for (const [op, arg, kind, t] of script) {
    const k = op === "next" ? it.next() : it.seek(arg);
    assert.equal(k, kind, `${op}(${arg})`);
    if (k !== "none") assert.equal(it.atT(), t, `${op}(${arg})`);
  }
  const again = s.iterator(it);
  assert.equal(again, it, "the iterator is recycled");
  let n = 0;
  while (again.next() !== "none") n++;
  assert.equal(n, (6_000_000 - 30_000) / 15_000 + 1);
});

test("deleted intervals are skipped; a series deleted in the whole range is left out", () => {
  const head = headWith([
    [["__name__", "d", "k", "1"], steps(10, 1000, 1000)],
    [["__name__", "d", "k", "2"], steps(10, 1000, 1000)],
  ]);
  head.delete(3000, 5000, [eq("k", "1")]);
  head.delete(0, 1e9, [eq("k", "2")]);
  const q = blockQuerier(head, 0, 1e15);
  assert.deepEqual(rows(q.select([eq("__name__", "d")], all())), [
    '{__name__="d", k="1"} 1000=0 2000=1 6000=5 7000=6 8000=7 9000=8 10000=9',
  ]);
  const it = [...q.select([eq("k", "1")], all())][0].iterator();
  assert.equal(it.seek(3000), "float");
  assert.equal(it.atT(), 6000);
});

test("a series whose chunk spans the range without a sample inside it is left out", () => {
  const head = headWith([
    [
      ["__name__", "g", "k", "gap"],
      [
        [1000, 1],
        [9000, 2],
      ],
    ],
    [["__name__", "g", "k", "dense"], steps(9, 1000, 1000)],
  ]);
  head.delete(4000, 6000, [eq("k", "dense")]);
  const q = blockQuerier(head, 0, 1e15);
  const names = (hints: SelectHints) => [...q.select([eq("__name__", "g")], hints)].map((s) => s.labels.get("k"));
  assert.deepEqual(names(all(2000, 8000)), ["dense"]);
  assert.deepEqual(names(all(4000, 6000)), [], "the dense series' samples there are deleted");
  assert.deepEqual(names(all(4000, 7000)), ["dense"]);
  assert.deepEqual(names({ start: 2000, end: 8000, func: "series" }), ["dense"], "labels-only selects agree");
  assert.deepEqual(names(all(1000, 1000)), ["dense", "gap"]);
});

test("series hints give labels without samples", () => {
  const head = headWith([[["__name__", "s"], steps(3, 0, 10)]]);
  const got = [...blockQuerier(head, 0, 100).select([eq("__name__", "s")], { start: 0, end: 100, func: "series" })];
  assert.equal(got.length, 1);
  assert.equal(got[0].iterator().next(), "none");
});

test("label names and values come from the index, narrowed by matchers, limited by hints", () => {
  const head = headWith([
    [["__name__", "up", "job", "api", "zone", "z1"], steps(1, 0, 1)],
    [["__name__", "up", "job", "db"], steps(1, 0, 1)],
    [["__name__", "rate", "job", "web", "path", "/"], steps(1, 0, 1)],
  ]);
  const q = blockQuerier(head, 0, 10);
  const cases: [string, Matcher[], string[]][] = [
    ["names", [], ["__name__", "job", "path", "zone"]],
    ["names", [eq("__name__", "up")], ["__name__", "job", "zone"]],
    ["names", [eq("job", "db")], ["__name__", "job"]],
    ["job", [], ["api", "db", "web"]],
    ["job", [eq("__name__", "up")], ["api", "db"]],
    ["job", [re("job", "a.*|w.*")], ["api", "web"]],
    ["job", [re("job", "a.*|w.*"), eq("__name__", "up")], ["api"]],
    ["zone", [eq("job", "db")], []],
    ["missing", [], []],
  ];
  for (const [what, ms, want] of cases) {
    const got = what === "names" ? q.labelNames(ms) : q.labelValues(what, ms);
    assert.deepEqual(got, want, `${what} ${ms.map((m) => `${m.name}${m.type}${m.value}`).join(",")}`);
  }
  assert.deepEqual(q.labelValues("job", [], { limit: 2 }), ["api", "db"]);
  assert.deepEqual(q.labelNames([], { limit: 1 }), ["__name__"]);
});

test("merge: identical series merged with samples deduplicated by time, first querier winning", () => {
  const older = headWith([
    [
      ["__name__", "m", "k", "a"],
      [
        [1000, 1],
        [2000, 2],
        [3000, 3],
      ],
    ],
    [["__name__", "m", "k", "c"], [[1000, 1]]],
  ]);
  const newer = headWith([
    [
      ["__name__", "m", "k", "a"],
      [
        [3000, 30],
        [4000, 40],
      ],
    ],
    [["__name__", "m", "k", "b"], [[5000, 5]]],
  ]);
  const q = mergeQuerier([blockQuerier(older, 0, 1e15), blockQuerier(newer, 0, 1e15)]);
  assert.deepEqual(rows(q.select([eq("__name__", "m")], { start: 0, end: 1e15 })), [
    '{__name__="m", k="a"} 1000=1 2000=2 3000=3 4000=40',
    '{__name__="m", k="b"} 5000=5',
    '{__name__="m", k="c"} 1000=1',
  ]);
  const flipped = mergeQuerier([blockQuerier(newer, 0, 1e15), blockQuerier(older, 0, 1e15)]);
  assert.deepEqual(rows(flipped.select([eq("k", "a")], all())), [
    '{__name__="m", k="a"} 1000=1 2000=2 3000=30 4000=40',
  ]);
  const it = [...q.select([eq("k", "a")], all())][0].iterator();
  assert.equal(it.seek(2500), "float");
  assert.equal(it.atT(), 3000);
  assert.equal(it.atV(), 3);
  assert.equal(it.seek(1000), "float");
  assert.equal(it.atT(), 3000);
  assert.equal(it.next(), "float");
  assert.equal(it.atV(), 40);
  assert.equal(it.next(), "none");
  assert.deepEqual(q.labelValues("k", []), ["a", "b", "c"]);
  assert.deepEqual(q.labelNames([eq("k", "b")]), ["__name__", "k"]);
  assert.equal([...q.select([eq("__name__", "m")], { ...all(), limit: 2 })].length, 2);
});

test("merge passes warnings on, asks children for sorted sets, and closes them all", () => {
  const calls: string[] = [];
  const child = (name: string, series: Series[]): Querier => ({
    select(_ms, hints) {
      calls.push(`${name} sorted=${hints.sorted}`);
      return Object.assign(series, { warnings: [`${name} partial`] });
    },
    labelNames: () => [name],
    labelValues: () => [],
    close: () => calls.push(`${name} closed`),
  });
  const q = mergeQuerier([child("x", []), child("y", [])]);
  const set = q.select([eq("a", "b")], { start: 0, end: 1 });
  assert.deepEqual(set.warnings, ["x partial", "y partial"]);
  assert.deepEqual(q.labelNames([]), ["x", "y"]);
  q.close();
  assert.deepEqual(calls, ["x sorted=true", "y sorted=true", "x closed", "y closed"]);
  assert.deepEqual([...mergeQuerier([]).select([eq("a", "b")], all())], []);
});

test("merge of two sets (one comparison a series) agrees with the merge of more, series and samples alike", () => {
  // Three heads whose series interleave: some in one head, some in two, some in all three, each with its own samples.
  const heads = [0, 1, 2].map((h) =>
    headWith(
      Array.from({ length: 12 }, (_, i) => i)
        .filter((i) => (i + h) % 3 !== 0 || i % 4 === 0)
        .map((i): [string[], [number, number][]] => [
          ["__name__", "m", "k", `s${String(i).padStart(2, "0")}`],
          [
            [1000 * (h + 1), 10 * i + h],
            [5000, 100 * h + i],
          ],
        ]),
    ),
  );
  const q = (h: Head) => blockQuerier(h, 0, 1e15);
  const sel = (m: Querier, hints = all()) => rows(m.select([eq("__name__", "m")], hints));
  const many = sel(mergeQuerier(heads.map(q)));
  assert.equal(many.length, 12);
  assert.deepEqual(sel(mergeQuerier([mergeQuerier([q(heads[0]), q(heads[1])]), q(heads[2])])), many);
  assert.deepEqual(sel(mergeQuerier([q(heads[0]), mergeQuerier([q(heads[1]), q(heads[2])])])), many);
  // The first set wins a timestamp both hold, whichever merge; a limit stops either after that many series.
  assert.equal(many[0], `{__name__="m", k="s00"} 1000=0 2000=1 3000=2 5000=0`);
  const limited = { ...all(), limit: 5 };
  assert.deepEqual(
    sel(mergeQuerier([q(heads[0]), q(heads[1])]), limited),
    sel(mergeQuerier(heads.slice(0, 2).map(q)), limited),
  );
  assert.equal(sel(mergeQuerier([q(heads[0]), q(heads[1])]), limited).length, 5);
  // Either side may run out first.
  const one = headWith([[["__name__", "m", "k", "s99"], [[1, 1]]]]);
  assert.deepEqual(sel(mergeQuerier([q(one), q(heads[0])])), sel(mergeQuerier([q(one), q(heads[0]), q(headWith([]))])));
});
