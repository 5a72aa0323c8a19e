import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isContrailError } from "./errors.ts";
import {
  compareStrings,
  isValidLegacyLabelName,
  isValidLegacyMetricName,
  isValidUtf8LabelName,
  Labels,
  LabelsBuilder,
} from "./labels.ts";
import { quoteGo } from "./quote.ts";
import { xxh64 } from "./xxhash.ts";

const utf8 = new TextEncoder();

// Reference XXH64 written directly from the specification with BigInt, used only to cross-check the 32-bit version.
function refXxh64(data: Uint8Array): string {
  const M = (1n << 64n) - 1n;
  const P1 = 0x9e3779b185ebca87n;
  const P2 = 0xc2b2ae3d27d4eb4fn;
  const P3 = 0x165667b19e3779f9n;
  const P4 = 0x85ebca77c2b2ae63n;
  const P5 = 0x27d4eb2f165667c5n;
  const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
  const round = (acc: bigint, v: bigint) => (rotl((acc + v * P2) & M, 31n) * P1) & M;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let i = 0;
  let h: bigint;
  if (data.length >= 32) {
    const v = [(P1 + P2) & M, P2, 0n, -P1 & M];
    for (; i + 32 <= data.length; i += 32) {
      for (let k = 0; k < 4; k++) v[k] = round(v[k], view.getBigUint64(i + 8 * k, true));
    }
    h = (rotl(v[0], 1n) + rotl(v[1], 7n) + rotl(v[2], 12n) + rotl(v[3], 18n)) & M;
    for (const x of v) h = (((h ^ round(0n, x)) * P1) & M) + (P4 & M);
    h &= M;
  } else {
    h = P5;
  }
  h = (h + BigInt(data.length)) & M;
  for (; i + 8 <= data.length; i += 8) h = (rotl(h ^ round(0n, view.getBigUint64(i, true)), 27n) * P1 + P4) & M;
  if (i + 4 <= data.length) {
    h = (rotl(h ^ ((BigInt(view.getUint32(i, true)) * P1) & M), 23n) * P2 + P3) & M;
    i += 4;
  }
  for (; i < data.length; i++) h = (rotl(h ^ ((BigInt(data[i]) * P5) & M), 11n) * P1) & M;
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  h ^= h >> 32n;
  return h.toString(16).padStart(16, "0");
}

describe("xxh64", () => {
  const vectors: [string, string][] = [
    ["", "ef46db3751d8e999"],
    ["a", "d24ec4f1a98c6e5b"],
    ["abc", "44bc2cf5ad770999"],
    ["message digest", "066ed728fceeb3be"],
    ["abcdefghijklmnopqrstuvwxyz", "cfe1f278fa89835c"],
    ["Nobody inspects the spammish repetition", "fbcea83c8a378bf1"],
    ["12345678901234567890123456789012345678901234567890123456789012345678901234567890", "e04a477f19ee145d"],
  ];
  for (const [input, want] of vectors) {
    test(`known vector ${JSON.stringify(input.slice(0, 20))}`, () => {
      assert.equal(xxh64(utf8.encode(input)), want);
      assert.equal(refXxh64(utf8.encode(input)), want);
    });
  }

  test("matches the reference on random inputs of every length class", () => {
    let seed = 12345;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 8;
    };
    for (let n = 0; n < 300; n++) {
      const len = n < 100 ? n : rnd() % 2000;
      const buf = new Uint8Array(len);
      for (let i = 0; i < len; i++) buf[i] = rnd() & 0xff;
      assert.equal(xxh64(buf), refXxh64(buf), `length ${len}`);
    }
  });

  test("hashes a sub-range", () => {
    const buf = utf8.encode("xxabcxx");
    assert.equal(xxh64(buf, 2, 5), "44bc2cf5ad770999");
  });
});

describe("Labels construction", () => {
  test("nameAt and valueAt read the labels in order", () => {
    const l = Labels.fromStrings("job", "api", "__name__", "up", "le", "1");
    const pairs = Array.from({ length: l.size }, (_, i) => [l.nameAt(i), l.valueAt(i)]);
    assert.deepEqual(pairs, [
      ["__name__", "up"],
      ["job", "api"],
      ["le", "1"],
    ]);
  });

  test("fromPairs sorts, drops empty values and rejects duplicates", () => {
    const ls = Labels.fromPairs([
      ["job", "x"],
      ["__name__", "up"],
      ["empty", ""],
      ["a", "1"],
    ]);
    assert.deepEqual(ls.names(), ["__name__", "a", "job"]);
    assert.equal(ls.size, 3);
    assert.equal(ls.has("empty"), false);
    assert.throws(
      () =>
        Labels.fromPairs([
          ["a", "1"],
          ["a", "2"],
        ]),
      (e) => isContrailError(e, "bad_data"),
    );
  });

  test("fromRecord and toRecord round trip", () => {
    const ls = Labels.fromRecord({ b: "2", a: "1", c: "" });
    assert.deepEqual(ls.toRecord(), { a: "1", b: "2" });
    assert.equal(ls.toString(), '{a="1", b="2"}');
    const proto = Labels.fromRecord({ ["__proto__"]: "x" } as Record<string, string>);
    assert.equal(Object.getOwnPropertyDescriptor(proto.toRecord(), "__proto__")?.value, "x");
  });

  test("fromStrings and EMPTY", () => {
    assert.ok(Labels.fromStrings().isEmpty());
    assert.ok(Labels.fromStrings("a", "").equals(Labels.EMPTY));
    assert.equal(Labels.EMPTY.size, 0);
    assert.throws(
      () => Labels.fromStrings("a"),
      (e) => isContrailError(e, "bad_data"),
    );
  });

  test("accessors", () => {
    const ls = Labels.fromStrings("__name__", "up", "job", "api");
    assert.equal(ls.get("job"), "api");
    assert.equal(ls.get("nope"), "");
    assert.equal(ls.metricName(), "up");
    assert.deepEqual(
      [...ls],
      [
        ["__name__", "up"],
        ["job", "api"],
      ],
    );
    const seen: string[] = [];
    ls.forEach((n, v) => {
      seen.push(`${n}=${v}`);
    });
    assert.deepEqual(seen, ["__name__=up", "job=api"]);
    assert.ok(ls.withoutMetricName().equals(Labels.fromStrings("job", "api")));
    assert.ok(Labels.fromStrings("__name__", "up").withoutMetricName().isEmpty());
    const tricky = Labels.fromStrings("__a", "__name__", "__name__", "m");
    assert.ok(tricky.withoutMetricName().equals(Labels.fromStrings("__a", "__name__")));
  });
});

describe("ordering", () => {
  test("compareStrings uses UTF-8 byte order", () => {
    const cases: [string, string, number][] = [
      ["a", "b", -1],
      ["a", "a", 0],
      ["ab", "a", 1],
      ["", "a", -1],
      ["Z", "a", -1],
      // U+FFFF is EF BF BF in UTF-8, U+1F600 is F0 9F 98 80: astral sorts last, unlike UTF-16.
      ["\uffff", "😀", -1],
      ["\ue000", "\u{10000}", -1],
      ["😀", "😁", -1],
      ["\u00e9", "\u0800", -1],
    ];
    for (const [a, b, want] of cases) {
      assert.equal(compareStrings(a, b), want, `${a} vs ${b}`);
      assert.equal(compareStrings(b, a), 0 - want, `${b} vs ${a}`);
      const ba = Buffer.compare(Buffer.from(a), Buffer.from(b));
      assert.equal(ba, want, `bytes ${a} vs ${b}`);
    }
  });

  test("Labels.compare orders like Prometheus", () => {
    const a = Labels.fromStrings("a", "1", "b", "2");
    const cases: [Labels, number][] = [
      [Labels.fromStrings("a", "1", "b", "2"), 0],
      [Labels.fromStrings("a", "1", "b", "3"), -1],
      [Labels.fromStrings("a", "1", "b", "1"), 1],
      [Labels.fromStrings("a", "1", "c", "2"), -1],
      [Labels.fromStrings("a", "1", "aa", "2"), 1],
      [Labels.fromStrings("a", "1"), 1],
      [Labels.fromStrings("a", "1", "b", "2", "c", "3"), -1],
      [Labels.EMPTY, 1],
    ];
    for (const [b, want] of cases) {
      assert.equal(Math.sign(a.compare(b)), want, b.toString());
      assert.equal(Math.sign(Labels.compare(b, a)), 0 - want, b.toString());
    }
  });

  test("names sort in UTF-8 order", () => {
    const ls = Labels.fromStrings("😀", "1", "\uffff", "2", "a", "3");
    assert.deepEqual(ls.names(), ["a", "\uffff", "😀"]);
  });

  test("equals", () => {
    const a = Labels.fromStrings("a", "1");
    assert.ok(a.equals(Labels.fromRecord({ a: "1" })));
    assert.ok(!a.equals(Labels.fromStrings("a", "2")));
    a.hash();
    const b = Labels.fromStrings("a", "2");
    b.hash();
    assert.ok(!a.equals(b));
  });
});

describe("hashing", () => {
  test("equals Prometheus's stable hashes", () => {
    assert.equal(Labels.EMPTY.hash(), "ef46db3751d8e999");
    assert.equal(Labels.fromStrings("hello", "world").hash(), "347c8ee7a9e29708");
    assert.equal(Labels.fromStrings("__name__", "metric", "label", "value").hash(), "cbab40540f26097d");
  });

  test("hashes the UTF-8 bytes name 0xff value 0xff", () => {
    const ls = Labels.fromStrings("ä", "😀", "z", "\u0800");
    // "z" (0x7a) sorts before "ä" (0xc3 0xa4).
    const bytes = Buffer.concat([
      Buffer.from("z"),
      Buffer.from([0xff]),
      Buffer.from("\u0800"),
      Buffer.from([0xff]),
      Buffer.from("ä"),
      Buffer.from([0xff]),
      Buffer.from("😀"),
      Buffer.from([0xff]),
    ]);
    assert.equal(ls.hash(), refXxh64(bytes));
    const long = Labels.fromStrings("big", "x".repeat(5000));
    assert.equal(long.hash(), refXxh64(Buffer.from(`big\xffx${"x".repeat(4999)}\xff`, "latin1")));
  });

  test("hashForLabels and hashWithoutLabels", () => {
    const ls = Labels.fromStrings("__name__", "m", "a", "1", "b", "2", "c", "3");
    assert.equal(ls.hashForLabels(["c", "a"]), Labels.fromStrings("a", "1", "c", "3").hash());
    assert.equal(ls.hashForLabels(["a", "c", "zz"]), Labels.fromStrings("a", "1", "c", "3").hash());
    assert.equal(ls.hashForLabels([]), Labels.EMPTY.hash());
    assert.equal(ls.hashWithoutLabels(["b"]), Labels.fromStrings("a", "1", "c", "3").hash());
    assert.equal(ls.hashWithoutLabels([]), Labels.fromStrings("a", "1", "b", "2", "c", "3").hash());
    const many = Array.from({ length: 20 }, (_, i) => `n${i}`).concat(["b"]);
    assert.equal(ls.hashForLabels(many), Labels.fromStrings("b", "2").hash());
    assert.equal(ls.hashWithoutLabels(many), Labels.fromStrings("a", "1", "c", "3").hash());
  });

  test("hash is cached and distinguishes sets", () => {
    const a = Labels.fromStrings("a", "1");
    assert.equal(a.hash(), a.hash());
    assert.notEqual(a.hash(), Labels.fromStrings("a", "2").hash());
    // The separator keeps name/value boundaries apart.
    assert.notEqual(Labels.fromStrings("ab", "c").hash(), Labels.fromStrings("a", "bc").hash());
  });
});

describe("printing", () => {
  test("toString quotes values like Go", () => {
    const ls = Labels.fromStrings("__name__", "up", "job", 'a"b\\c\nd', "x.y", "ü\u0001");
    assert.equal(ls.toString(), '{__name__="up", job="a\\"b\\\\c\\nd", "x.y"="ü\\x01"}');
  });

  test("toMetricString", () => {
    const cases: [Labels, string][] = [
      [Labels.fromStrings("__name__", "up", "job", "x"), 'up{job="x"}'],
      [Labels.fromStrings("__name__", "up"), "up"],
      [Labels.fromStrings("job", "x"), '{job="x"}'],
      [Labels.EMPTY, "{}"],
      [Labels.fromStrings("__name__", "my.metric", "a", "b"), '{"my.metric", a="b"}'],
      [Labels.fromStrings("__name__", "m", "my.label", "b"), 'm{"my.label"="b"}'],
    ];
    for (const [ls, want] of cases) assert.equal(ls.toMetricString(), want);
  });

  test("quoteGo", () => {
    const cases: [string, string][] = [
      ["", '""'],
      ["plain", '"plain"'],
      ["\u0007\b\f\n\r\t\v", '"\\a\\b\\f\\n\\r\\t\\v"'],
      ["\u007f\u0000", '"\\x7f\\x00"'],
      ["日本語😀", '"日本語😀"'],
      ["\u00a0", '"\\u00a0"'],
      ["\u{e0001}", '"\\U000e0001"'],
      ["\ud800", '"\\xed\\xa0\\x80"'],
    ];
    for (const [input, want] of cases) assert.equal(quoteGo(input), want, JSON.stringify(input));
  });
});

describe("LabelsBuilder", () => {
  const base = Labels.fromStrings("__name__", "up", "a", "1", "c", "3");

  test("returns the base unchanged when nothing was edited", () => {
    assert.equal(new LabelsBuilder(base).labels(), base);
    assert.ok(new LabelsBuilder().labels().isEmpty());
  });

  test("set, del, keep, reset", () => {
    const cases: [string, (b: LabelsBuilder) => void, Labels][] = [
      ["set new", (b) => b.set("b", "2"), Labels.fromStrings("__name__", "up", "a", "1", "b", "2", "c", "3")],
      ["set override", (b) => b.set("a", "9"), Labels.fromStrings("__name__", "up", "a", "9", "c", "3")],
      ["set empty deletes", (b) => b.set("a", ""), Labels.fromStrings("__name__", "up", "c", "3")],
      ["del", (b) => b.del("__name__", "c", "zz"), Labels.fromStrings("a", "1")],
      ["del then set", (b) => b.del("a").set("a", "5"), Labels.fromStrings("__name__", "up", "a", "5", "c", "3")],
      ["set then del", (b) => b.set("z", "5").del("z"), base],
      ["keep", (b) => b.set("d", "4").set("e", "5").keep("a", "d"), Labels.fromStrings("a", "1", "d", "4")],
      ["set after keep", (b) => b.keep("a").set("0", "x"), Labels.fromStrings("0", "x", "a", "1")],
      [
        "add before and after",
        (b) => b.set("0", "x").set("zz", "y"),
        Labels.fromStrings("__name__", "up", "0", "x", "a", "1", "c", "3", "zz", "y"),
      ],
    ];
    for (const [name, edit, want] of cases) {
      const b = new LabelsBuilder(base);
      edit(b);
      assert.ok(b.labels().equals(want), `${name}: got ${b.labels()}`);
    }
  });

  test("get sees pending edits; reset reuses the builder", () => {
    const b = new LabelsBuilder(base);
    b.set("a", "7").del("c");
    assert.equal(b.get("a"), "7");
    assert.equal(b.get("c"), "");
    assert.equal(b.get("__name__"), "up");
    b.reset(Labels.fromStrings("x", "1"));
    assert.ok(b.labels().equals(Labels.fromStrings("x", "1")));
  });
});

describe("validation", () => {
  test("name checks", () => {
    const cases: [string, boolean, boolean, boolean][] = [
      // input, legacy metric, legacy label, utf8 label
      ["up", true, true, true],
      ["a:b", true, false, true],
      [":x", true, false, true],
      ["_1", true, true, true],
      ["1a", false, false, true],
      ["", false, false, false],
      ["my.metric", false, false, true],
      ["ü", false, false, true],
      ["\ud800", false, false, false],
      ["😀", false, false, true],
    ];
    for (const [s, m, l, u] of cases) {
      assert.equal(isValidLegacyMetricName(s), m, `metric ${s}`);
      assert.equal(isValidLegacyLabelName(s), l, `label ${s}`);
      assert.equal(isValidUtf8LabelName(s), u, `utf8 ${s}`);
    }
  });
});

test("a label set from interned strings says so; sets made from it or otherwise do not", () => {
  const l = Labels.fromInternedUnchecked(["a", "1", "b", "2"]);
  assert.equal(l.interned, true);
  assert.equal(l.toString(), '{a="1", b="2"}');
  assert.ok(l.equals(Labels.fromStrings("a", "1", "b", "2")));
  assert.equal(Labels.fromStrings("a", "1").interned, false);
  assert.equal(Labels.fromSortedUnchecked(["a", "1"]).interned, false);
  assert.equal(Labels.fromInternedUnchecked(["__name__", "m", "a", "1"]).withoutMetricName().interned, false);
  assert.equal(Labels.fromInternedUnchecked([]), Labels.EMPTY);
});
