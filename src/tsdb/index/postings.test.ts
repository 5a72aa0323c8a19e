import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { compareStrings, Labels } from "../../model/labels.ts";
import { type Matcher, type MatchType, newMatcher } from "../../model/matcher.ts";
import {
  type IndexReaderLike,
  intersect,
  isSortedPostings,
  merge,
  type PostingsList,
  postingsForMatchers,
  seek,
  without,
} from "./postings.ts";
import { IndexReader } from "./reader.ts";
import { IndexWriter } from "./writer.ts";

describe("postings algebra", () => {
  const intersectCases: { lists: number[][]; want: number[] }[] = [
    { lists: [], want: [] },
    { lists: [[1, 2, 3]], want: [1, 2, 3] },
    { lists: [[1, 2, 3], []], want: [] },
    {
      lists: [
        [1, 2, 3, 4, 5],
        [2, 4, 6],
      ],
      want: [2, 4],
    },
    {
      lists: [
        [1, 3, 5],
        [2, 4, 6],
      ],
      want: [],
    },
    {
      lists: [
        [1, 2, 3, 10],
        [2, 3, 10, 11],
        [0, 3, 10],
      ],
      want: [3, 10],
    },
    // Very different sizes take the galloping path.
    { lists: [[5, 500, 999], Array.from({ length: 1000 }, (_, i) => i)], want: [5, 500, 999] },
    { lists: [[-1, 1000], Array.from({ length: 1000 }, (_, i) => i)], want: [] },
  ];
  for (const c of intersectCases) {
    it(`intersect ${JSON.stringify(c.lists).slice(0, 60)}`, () => {
      assert.deepEqual(intersect(c.lists), c.want);
    });
  }

  const mergeCases: { lists: PostingsList[]; want: number[] }[] = [
    { lists: [], want: [] },
    { lists: [[], []], want: [] },
    { lists: [[1, 5]], want: [1, 5] },
    {
      lists: [
        [1, 3, 5],
        [2, 3, 6],
      ],
      want: [1, 2, 3, 5, 6],
    },
    { lists: [[1], [1], [1]], want: [1] },
    { lists: [Uint32Array.of(4, 8), [1, 8, 9], [], [0, 2 ** 40]], want: [0, 1, 4, 8, 9, 2 ** 40] },
  ];
  for (const c of mergeCases) {
    it(`merge ${JSON.stringify(c.lists.map((l) => Array.from(l)))}`, () => {
      assert.deepEqual(merge(c.lists), c.want);
    });
  }

  const withoutCases: { full: number[]; drop: number[]; want: number[] }[] = [
    { full: [], drop: [1], want: [] },
    { full: [1, 2, 3], drop: [], want: [1, 2, 3] },
    { full: [1, 2, 3], drop: [2], want: [1, 3] },
    { full: [1, 2, 3], drop: [0, 4], want: [1, 2, 3] },
    { full: [1, 2, 3], drop: [1, 2, 3, 4], want: [] },
    { full: [1, 5, 9, 13], drop: Array.from({ length: 100 }, (_, i) => 2 * i + 1), want: [] },
  ];
  for (const c of withoutCases) {
    it(`without ${JSON.stringify(c.full)} - ${JSON.stringify(c.drop).slice(0, 30)}`, () => {
      assert.deepEqual(without(c.full, c.drop), c.want);
    });
  }

  it("seek finds the first element >= x from a start index", () => {
    const l = [1, 3, 5, 7, 9, 11];
    assert.equal(seek(l, 0), 0);
    assert.equal(seek(l, 5), 2);
    assert.equal(seek(l, 6), 3);
    assert.equal(seek(l, 6, 4), 4);
    assert.equal(seek(l, 12), 6);
  });

  it("agrees with set operations on random lists", () => {
    let s = 7;
    const rand = () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return s / 2 ** 31;
    };
    const randomList = () =>
      [...new Set(Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 300)))].sort(
        (a, b) => a - b,
      );
    for (let round = 0; round < 50; round++) {
      const a = randomList();
      const b = randomList();
      const c = randomList();
      const inB = new Set(b);
      const inC = new Set(c);
      assert.deepEqual(
        intersect([a, b, c]),
        a.filter((x) => inB.has(x) && inC.has(x)),
      );
      assert.deepEqual(
        merge([a, b, c]),
        [...new Set([...a, ...b, ...c])].sort((x, y) => x - y),
      );
      assert.deepEqual(
        without(a, b),
        a.filter((x) => !inB.has(x)),
      );
      assert.ok(isSortedPostings(merge([a, b])));
    }
    assert.equal(isSortedPostings([1, 1]), false);
  });
});

// The series of the matcher tests. Refs are positions (memory) or entry offsets / 16 (disk); results are compared
// as label sets.
const RECORDS: Record<string, string>[] = [
  { __name__: "up", job: "api", instance: "a:1" },
  { __name__: "up", job: "api", instance: "b:1", env: "prod" },
  { __name__: "up", job: "web", instance: "a:1", env: "" },
  { __name__: "up", job: "web", instance: "c:1", env: "dev" },
  { __name__: "http_requests_total", job: "api", code: "200" },
  { __name__: "http_requests_total", job: "api", code: "500" },
  { __name__: "http_requests_total", job: "web", code: "404", env: "prod" },
  { __name__: "node_cpu", mode: "idle", region: "東京" },
  { __name__: "node_cpu", mode: "user", region: "ams" },
  { __name__: "node_cpu_total", mode: "idle" },
];
const SERIES = RECORDS.map((r) => Labels.fromRecord(r));

// A brute-force IndexReaderLike over a list of label sets (refs are indices), as the head's would be.
class MemoryIndex implements IndexReaderLike {
  private readonly series: Labels[];
  constructor(series: Labels[]) {
    this.series = [...series].sort(Labels.compare);
  }
  labels(ref: number): Labels {
    return this.series[ref];
  }
  labelValues(name: string): readonly string[] {
    const set = new Set<string>();
    for (const s of this.series) if (s.has(name)) set.add(s.get(name));
    return [...set].sort(compareStrings);
  }
  postings(name: string, values: readonly string[]): PostingsList {
    const want = new Set(values);
    const out: number[] = [];
    this.series.forEach((s, i) => {
      if (s.has(name) && want.has(s.get(name))) out.push(i);
    });
    return out;
  }
  allPostings(): PostingsList {
    return this.series.map((_, i) => i);
  }
}

const dir = mkdtempSync(join(tmpdir(), "contrail-postings-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function diskIndex(series: Labels[]): IndexReader {
  const sorted = [...series].sort(Labels.compare);
  const syms = new Set<string>();
  for (const s of sorted) {
    s.forEach((n, v) => {
      syms.add(n).add(v);
    });
  }
  const path = join(dir, `index-${Math.random().toString(36).slice(2)}`);
  const w = new IndexWriter(path);
  for (const s of [...syms].sort(compareStrings)) w.addSymbol(s);
  for (const s of sorted) w.addSeries(s, []);
  w.close();
  return IndexReader.open(path);
}

type M = [MatchType, string, string];
const m = ([type, name, value]: M): Matcher => newMatcher(type, name, value);

describe("postingsForMatchers", () => {
  const memory = new MemoryIndex(SERIES);
  const disk = diskIndex(SERIES);
  const readers: { name: string; ix: IndexReaderLike; labels: (ref: number) => Labels }[] = [
    { name: "memory", ix: memory, labels: (ref) => memory.labels(ref) },
    { name: "disk", ix: disk, labels: (ref) => disk.series(ref).labels },
  ];

  const cases: { ms: M[]; want: number }[] = [
    { ms: [["=", "__name__", "up"]], want: 4 },
    {
      ms: [
        ["=", "__name__", "up"],
        ["=", "job", "api"],
      ],
      want: 2,
    },
    { ms: [["=", "job", "nope"]], want: 0 },
    { ms: [["!=", "job", "api"]], want: 6 }, // missing job counts as "" != "api"
    {
      ms: [
        ["=", "__name__", "up"],
        ["!=", "env", "prod"],
      ],
      want: 3,
    },
    { ms: [["=", "env", ""]], want: 7 }, // series without env
    {
      ms: [
        ["=", "__name__", "up"],
        ["=", "env", ""],
      ],
      want: 2,
    },
    { ms: [["!=", "env", ""]], want: 3 },
    { ms: [["=~", "job", "api|web"]], want: 7 },
    { ms: [["=~", "job", "a.*"]], want: 4 },
    { ms: [["=~", "job", ".*"]], want: 10 },
    { ms: [["=~", "job", ".+"]], want: 7 },
    { ms: [["!~", "job", ".+"]], want: 3 },
    { ms: [["!~", "job", ".*"]], want: 0 },
    { ms: [["!~", "job", "api"]], want: 6 },
    { ms: [["!~", "job", "api|"]], want: 3 }, // rejects "" too: job must be set
    { ms: [["=~", "job", "api|"]], want: 7 }, // accepts "": api series plus those without job
    { ms: [["=~", "env", ""]], want: 7 },
    { ms: [["=~", "__name__", "node_.*"]], want: 3 },
    { ms: [["=~", "__name__", "node_cpu.+"]], want: 1 },
    { ms: [["=~", "__name__", "http_.*_total"]], want: 3 },
    {
      ms: [
        ["=~", "__name__", "(?:up|node_cpu)"],
        ["!~", "mode", "user"],
      ],
      want: 5,
    },
    { ms: [["=~", "region", "東.*"]], want: 1 },
    {
      ms: [
        ["=", "__name__", "node_cpu"],
        ["!=", "region", "ams"],
      ],
      want: 1,
    },
    {
      ms: [
        ["=~", "job", ".+"],
        ["!=", "job", "web"],
      ],
      want: 4,
    }, // label set, then subtract
    {
      ms: [
        ["=~", "job", "."],
        ["!=", "job", "1"],
      ],
      want: 0,
    },
    { ms: [["=", "missing", ""]], want: 10 },
    { ms: [["!=", "missing", ""]], want: 0 },
    { ms: [["=", "missing", "x"]], want: 0 },
    { ms: [["!=", "missing", "x"]], want: 10 },
    { ms: [["!~", "missing", "x.*"]], want: 10 },
    { ms: [["=~", "missing", "x|"]], want: 10 },
    {
      ms: [
        ["=", "__name__", "up"],
        ["=", "job", "api"],
        ["=", "instance", "b:1"],
        ["=", "env", "prod"],
      ],
      want: 1,
    },
    {
      ms: [
        ["=", "job", "api"],
        ["=", "job", "web"],
      ],
      want: 0,
    },
    {
      ms: [
        ["!=", "job", "api"],
        ["!=", "job", "web"],
      ],
      want: 3,
    },
    { ms: [["=", "", ""]], want: 10 }, // the all-postings key
    { ms: [["!=", "", ""]], want: 0 },
    { ms: [], want: 0 },
  ];

  for (const r of readers) {
    for (const c of cases) {
      const text = `{${c.ms.map(([t, n, v]) => `${n}${t}${JSON.stringify(v)}`).join(", ")}}`;
      it(`${r.name}: ${text} selects ${c.want} series, as a label-by-label scan does`, () => {
        const matchers = c.ms.map(m);
        const got = postingsForMatchers(r.ix, matchers);
        assert.ok(isSortedPostings(got));
        const gotLabels = got.map((ref) => r.labels(ref).toString());
        const oracle =
          matchers.length === 0
            ? []
            : [...SERIES]
                .sort(Labels.compare)
                .filter((s) => matchers.every((mm) => mm.matches(s.get(mm.name))))
                .map((s) => s.toString());
        assert.deepEqual(gotLabels, oracle);
        assert.equal(got.length, c.want);
      });
    }
  }

  it("agrees with the scan on many random matcher combinations over random series", () => {
    let s = 99;
    const rand = () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return s / 2 ** 31;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const names = ["a", "b", "c"];
    const values = ["", "x", "y", "xy", "yx", "z1", "z2", "ü"];
    const series: Labels[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const l = Labels.fromRecord({ a: pick(values), b: pick(values), c: pick(values), n: String(i % 7) });
      if (seen.has(l.toString())) continue;
      series.push(l);
      seen.add(l.toString());
    }
    const mem = new MemoryIndex(series);
    const dsk = diskIndex(series);
    const patterns = ["x", "", "x.*", ".*", ".+", "x|y", "z.", "[xy]+", "x|", "ü|z1"];
    for (let round = 0; round < 300; round++) {
      const ms: Matcher[] = [];
      for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) {
        const type = pick<MatchType>(["=", "!=", "=~", "!~"]);
        const value = type === "=" || type === "!=" ? pick(values) : pick(patterns);
        ms.push(newMatcher(type, pick(names), value));
      }
      const oracle = [...series]
        .sort(Labels.compare)
        .filter((l) => ms.every((mm) => mm.matches(l.get(mm.name))))
        .map((l) => l.toString());
      assert.deepEqual(
        postingsForMatchers(mem, ms).map((ref) => mem.labels(ref).toString()),
        oracle,
        ms.map((x) => `${x.name}${x.type}${x.value}`).join(","),
      );
      assert.deepEqual(
        postingsForMatchers(dsk, ms).map((ref) => dsk.series(ref).labels.toString()),
        oracle,
      );
    }
  });
});

describe("postingsForMatchers fast paths", () => {
  // Records what the matcher code asks of the index.
  class SpyIndex extends MemoryIndex {
    readonly calls: string[] = [];
    override labelValues(name: string): readonly string[] {
      this.calls.push(`values ${name}`);
      return super.labelValues(name);
    }
    override postings(name: string, values: readonly string[]): PostingsList {
      this.calls.push(`postings ${name} ${[...values].join(",")}`);
      return super.postings(name, values);
    }
  }
  // A matcher that records the values it is asked about.
  const recording = (type: MatchType, name: string, value: string) => {
    const inner = newMatcher(type, name, value);
    const tested: string[] = [];
    const matcher: Matcher = {
      ...inner,
      matches: (v) => {
        tested.push(v);
        return inner.matches(v);
      },
    };
    return { matcher, tested };
  };

  it("uses a regex's literal set without listing label values", () => {
    const ix = new SpyIndex(SERIES);
    const got = postingsForMatchers(ix, [newMatcher("=~", "job", "api|web")]);
    assert.equal(got.length, 7);
    assert.deepEqual(ix.calls, ["postings job api,web"]);
  });

  it("subtracts a negated literal set directly", () => {
    const ix = new SpyIndex(SERIES);
    const got = postingsForMatchers(ix, [newMatcher("=", "__name__", "up"), newMatcher("!~", "job", "api|zzz")]);
    assert.equal(got.length, 2);
    assert.deepEqual(ix.calls, ["postings __name__ up", "postings job api,zzz"]);
  });

  it("tests only the values that start with a regex's literal prefix", () => {
    const ix = new SpyIndex(SERIES);
    const { matcher, tested } = recording("=~", "__name__", "node_c.u.*");
    const got = postingsForMatchers(ix, [matcher]);
    assert.equal(got.length, 3);
    assert.deepEqual(
      tested.filter((v) => v !== ""),
      ["node_cpu", "node_cpu_total"],
    );
  });

  it("applies the prefix to a negated regex whose label must be set", () => {
    const ix = new SpyIndex(SERIES);
    const { matcher, tested } = recording("!~", "__name__", "node_c.u.*");
    const got = postingsForMatchers(ix, [newMatcher("=~", "__name__", ".+"), matcher]);
    assert.equal(got.length, 7);
    assert.deepEqual(
      tested.filter((v) => v !== ""),
      ["node_cpu", "node_cpu_total"],
    );
  });
});
