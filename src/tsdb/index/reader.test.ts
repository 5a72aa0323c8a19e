import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { compareStrings, Labels } from "../../model/labels.ts";
import { mulberry32 } from "../../testkit/random.ts";
import { IndexReader } from "./reader.ts";
import { type ChunkMeta, IndexWriter, type IndexWriterOptions } from "./writer.ts";

const dir = mkdtempSync(join(tmpdir(), "contrail-index-reader-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
const nextPath = () => join(dir, `index-${fileNo++}`);

interface TestSeries {
  labels: Labels;
  chunks: ChunkMeta[];
}

// Random series sharing names and values (so symbols repeat), with unicode and astral-plane strings, a label with
// hundreds of values (to cross the reader's sampling of every 32nd value) and chunk refs in several segments.
function randomSeries(n: number, seed: number): TestSeries[] {
  const r = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const names = ["__name__", "app", "region", "instance", "le", "ünïcödé", "🚀", "zone"];
  const values = ["a", "b", "東京", "ß", "🚀", "Ü", "x y", "é", "\u00ff", "\uffff", "z"];
  const byKey = new Map<string, Labels>();
  while (byKey.size < n) {
    const pairs: [string, string][] = [["__name__", `metric_${Math.floor(r() * 20)}`]];
    for (const name of names.slice(1)) {
      if (r() < 0.5) continue;
      const value = name === "instance" ? `10.0.${Math.floor(r() * 40)}.${Math.floor(r() * 9)}:9100` : pick(values);
      pairs.push([name, value]);
    }
    const l = Labels.fromPairs(pairs);
    byKey.set(l.toString(), l);
  }
  const sorted = [...byKey.values()].sort(Labels.compare);
  let ref = 8;
  return sorted.map((labels) => {
    const chunks: ChunkMeta[] = [];
    let t = Math.floor(r() * 2_000_000) - 1_000_000; // negative times too
    for (let c = Math.floor(r() * 5); c > 0; c--) {
      if (r() < 0.1) ref = (Math.floor(ref / 2 ** 32) + 1) * 2 ** 32 + 8; // next segment
      const mint = t + 1 + Math.floor(r() * 1000);
      const maxt = mint + Math.floor(r() * 7_200_000);
      chunks.push({ mint, maxt, ref });
      ref += 1 + Math.floor(r() * 300);
      t = maxt;
    }
    return { labels, chunks };
  });
}

function symbolsOf(series: readonly TestSeries[]): string[] {
  const set = new Set<string>();
  for (const s of series) {
    s.labels.forEach((n, v) => {
      set.add(n).add(v);
    });
  }
  return [...set].sort(compareStrings);
}

// Expected postings per name and value, as refs.
function expectedPostings(series: readonly TestSeries[], refs: readonly number[]): Map<string, Map<string, number[]>> {
  const out = new Map<string, Map<string, number[]>>();
  series.forEach((s, i) => {
    s.labels.forEach((n, v) => {
      let byValue = out.get(n);
      if (byValue === undefined) {
        byValue = new Map();
        out.set(n, byValue);
      }
      const list = byValue.get(v);
      if (list === undefined) byValue.set(v, [refs[i]]);
      else list.push(refs[i]);
    });
  });
  return out;
}

function write(
  series: readonly TestSeries[],
  opts: IndexWriterOptions & { givePostings?: boolean },
): {
  path: string;
  refs: number[];
} {
  const path = nextPath();
  const w = new IndexWriter(path, opts);
  for (const s of symbolsOf(series)) w.addSymbol(s);
  const refs = series.map((s) => w.addSeries(s.labels, s.chunks));
  if (opts.givePostings === true) {
    const expected = expectedPostings(series, refs);
    for (const name of [...expected.keys()].sort(compareStrings)) {
      const byValue = expected.get(name)!;
      for (const value of [...byValue.keys()].sort(compareStrings)) w.addPostings(name, value, byValue.get(value)!);
    }
  }
  w.close();
  return { path, refs };
}

describe("IndexReader round trip", () => {
  const series = randomSeries(3000, 42);
  const variants: { name: string; opts: IndexWriterOptions & { givePostings?: boolean } }[] = [
    { name: "derived postings, with label indices", opts: {} },
    { name: "given postings, with label indices", opts: { givePostings: true } },
    { name: "derived postings, Prometheus 3 layout", opts: { labelIndices: false } },
  ];
  const files = new Map<string, { path: string; refs: number[] }>();

  for (const v of variants) {
    it(`reads back ${series.length} random series (${v.name})`, () => {
      const { path, refs } = write(series, v.opts);
      files.set(v.name, { path, refs });
      const r = IndexReader.open(path);
      r.verify();
      assert.equal(r.version, 2);
      assert.deepEqual([...r.symbols()], symbolsOf(series));
      const syms = symbolsOf(series);
      for (let i = 0; i < syms.length; i += 7) assert.equal(r.symbol(i), syms[i]);

      // Series in order, labels and chunk metas intact.
      const got = [...r.sortedSeries()];
      assert.equal(got.length, series.length);
      got.forEach((g, i) => {
        assert.equal(g.ref, refs[i]);
        assert.ok(g.labels.equals(series[i].labels), `${g.labels} != ${series[i].labels}`);
        assert.deepEqual(g.chunks, series[i].chunks);
      });
      assert.deepEqual(Array.from(r.allPostings()), refs);

      // Names, values, postings per pair and for several values at once.
      const expected = expectedPostings(series, refs);
      assert.deepEqual(r.labelNames(), [...expected.keys()].sort(compareStrings));
      for (const [name, byValue] of expected) {
        const values = [...byValue.keys()].sort(compareStrings);
        assert.deepEqual(r.labelValues(name), values);
        for (const value of values) assert.deepEqual(Array.from(r.postings(name, [value])), byValue.get(value));
        const some = values.filter((_, i) => i % 3 === 0);
        const union = [...new Set(some.flatMap((v) => byValue.get(v)!))].sort((a, b) => a - b);
        assert.deepEqual(Array.from(r.postings(name, [...some, "no such value", "\u0000"].reverse())), union);
      }
      assert.deepEqual(Array.from(r.postings("no_such_label", ["a"])), []);
      assert.deepEqual(Array.from(r.postings("app", [])), []);
      assert.deepEqual(r.labelValues("no_such_label"), []);
      assert.deepEqual(r.labelValues(""), []);
    });
  }

  it("writes identical bytes whether postings are derived or given", () => {
    const a = readFileSync(files.get(variants[0].name)!.path);
    const b = readFileSync(files.get(variants[1].name)!.path);
    assert.equal(Buffer.compare(a, b), 0);
  });

  it("reads the same from a prepared index, after a structured clone as between threads", () => {
    const { path } = files.get(variants[0].name)!;
    const direct = IndexReader.open(path);
    const prepared = IndexReader.prepare(path);
    const moved = structuredClone(prepared, { transfer: [prepared.bytes.buffer as ArrayBuffer] });
    assert.equal(prepared.bytes.byteLength, 0, "the bytes were moved, not copied");
    const r = IndexReader.fromPrepared(moved, path);
    r.verify();
    assert.deepEqual(r.toc, direct.toc);
    assert.deepEqual([...r.symbols()], [...direct.symbols()]);
    assert.deepEqual(r.labelNames(), direct.labelNames());
    for (const name of direct.labelNames()) {
      const values = direct.labelValues(name);
      assert.deepEqual(r.labelValues(name), values);
      for (const v of values)
        assert.deepEqual(Array.from(r.postings(name, [v])), Array.from(direct.postings(name, [v])));
    }
    assert.deepEqual([...r.sortedSeries()], [...direct.sortedSeries()]);
  });

  it("reads an index without series", () => {
    const path = nextPath();
    new IndexWriter(path).close();
    const r = IndexReader.open(path);
    r.verify();
    assert.deepEqual(r.labelNames(), []);
    assert.deepEqual(Array.from(r.allPostings()), []);
    assert.deepEqual([...r.sortedSeries()], []);
    assert.deepEqual([...r.symbols()], []);
  });

  it("rejects refs outside the series section", () => {
    const r = IndexReader.open(files.get(variants[0].name)!.path);
    for (const ref of [0, 1, r.toc.labelIndices / 16 + 1, 1e9]) {
      assert.throws(
        () => r.series(ref),
        (err: unknown) => isContrailError(err, "not_found"),
      );
    }
  });
});

describe("IndexReader corruption detection", () => {
  // The 2-series golden index of writer.test.ts: offsets of its sections are known.
  function tiny(): Uint8Array {
    const path = nextPath();
    const w = new IndexWriter(path);
    for (const s of ["__name__", "a", "b", "job", "up"]) w.addSymbol(s);
    w.addSeries(Labels.fromStrings("__name__", "up", "job", "a"), [{ mint: 1000, maxt: 2000, ref: 8 }]);
    w.addSeries(Labels.fromStrings("__name__", "up", "job", "b"), [{ mint: 1000, maxt: 2000, ref: 108 }]);
    w.close();
    return new Uint8Array(readFileSync(path));
  }
  const flip = (b: Uint8Array, at: number): Uint8Array => {
    const c = b.slice();
    c[at] ^= 0x40;
    return c;
  };
  const corrupt = (message: RegExp) => (err: unknown) => {
    assert.ok(isContrailError(err, "corruption"), String(err));
    assert.match(err.message, message);
    return true;
  };

  const cases: { name: string; bytes: () => Uint8Array; read: (r: () => IndexReader) => void; message: RegExp }[] = [
    { name: "magic", bytes: () => flip(tiny(), 1), read: (r) => r(), message: /invalid magic number baead700/ },
    { name: "version", bytes: () => flip(tiny(), 4), read: (r) => r(), message: /unsupported index format version 66/ },
    {
      name: "truncated file",
      bytes: () => tiny().subarray(0, 40),
      read: (r) => r(),
      message: /file too short \(40 bytes\) for a table of contents/,
    },
    {
      name: "tail of the file",
      bytes: () => tiny().subarray(0, 200),
      read: (r) => r(),
      message: /table of contents: checksum mismatch/,
    },
    { name: "TOC", bytes: () => flip(tiny(), 326 - 20), read: (r) => r(), message: /table of contents: checksum/ },
    {
      name: "symbol table",
      bytes: () => flip(tiny(), 20),
      read: (r) => r(),
      message: /symbol table: checksum mismatch/,
    },
    {
      name: "postings offset table",
      bytes: () => flip(tiny(), 0xe1 + 12),
      read: (r) => r(),
      message: /postings offset table: checksum mismatch/,
    },
    {
      name: "series entry",
      bytes: () => flip(tiny(), 0x40 + 5),
      read: (r) => r().series(4),
      message: /series 4: checksum mismatch/,
    },
    {
      name: "series entry found by verify",
      bytes: () => flip(tiny(), 0x30 + 3),
      read: (r) => r().verify(),
      message: /series 3: checksum mismatch/,
    },
    {
      name: "postings list",
      bytes: () => flip(tiny(), 0xa4 + 11),
      read: (r) => r().postings("job", ["a"]),
      message: /postings for job="a": checksum mismatch/,
    },
    {
      name: "label index",
      bytes: () => flip(tiny(), 0x64 + 15),
      read: (r) => r().verify(),
      message: /label index 1: checksum mismatch/,
    },
    {
      name: "label offset table",
      bytes: () => flip(tiny(), 0xc4 + 9),
      read: (r) => r().verify(),
      message: /label offset table: checksum mismatch/,
    },
  ];
  for (const c of cases) {
    it(`names the damaged ${c.name}`, () => {
      const bytes = c.bytes();
      assert.throws(() => c.read(() => new IndexReader(bytes, "idx")), corrupt(c.message));
    });
  }

  it("accepts the undamaged file", () => {
    const r = new IndexReader(tiny());
    r.verify();
    assert.deepEqual(Array.from(r.postings("job", ["a", "b"])), [3, 4]);
  });
});
