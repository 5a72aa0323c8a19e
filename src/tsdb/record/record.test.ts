import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { StringInterner } from "../../model/intern.ts";
import { Labels } from "../../model/labels.ts";
import { Encbuf } from "../encoding/encbuf.ts";
import { floatHi, floatLo, STALE_NAN } from "../encoding/float-bits.ts";
import { decodeMetadata, encodeMetadata, MetadataBatch, metricTypeByte, metricTypeFromByte } from "./metadata.ts";
import { RecordType, recordKind } from "./record.ts";
import { decodeSamples, encodeSamples, SampleBatch } from "./samples.ts";
import { decodeSeries, encodeSeries, SeriesBatch } from "./series.ts";
import { decodeTombstones, encodeTombstones, TombstoneBatch } from "./tombstones.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));

function isCorruption(e: unknown): boolean {
  return isContrailError(e, "corruption");
}

describe("series records", () => {
  test("exact bytes of a small record", () => {
    const out = new Encbuf();
    encodeSeries(out, { length: 1, refs: [1], labels: [Labels.fromStrings("__name__", "up", "job", "a")] });
    // type 1 | ref BE64 = 1 | 2 labels | "__name__" "up" "job" "a"
    assert.equal(
      hex(out.get()),
      "01" + "0000000000000001" + "02" + "08" + "5f5f6e616d655f5f" + "02" + "7570" + "03" + "6a6f62" + "01" + "61",
    );
  });

  const cases: { name: string; refs: number[]; labels: Labels[] }[] = [
    { name: "empty record", refs: [], labels: [] },
    { name: "ref zero, empty labels", refs: [0], labels: [Labels.EMPTY] },
    {
      name: "largest safe ref and unicode",
      refs: [2 ** 53 - 1, 7],
      labels: [Labels.fromStrings("__name__", "température", "city", "Zürich"), Labels.fromStrings("emoji", "🚀x")],
    },
    {
      name: "many labels, long values",
      refs: [42],
      labels: [Labels.fromPairs(Array.from({ length: 40 }, (_, i) => [`l${i}`, "v".repeat(i * 10 + 1)] as const))],
    },
  ];
  for (const c of cases) {
    test(`round trip: ${c.name}`, () => {
      const out = new Encbuf();
      encodeSeries(out, { length: c.refs.length, refs: c.refs, labels: c.labels });
      assert.equal(recordKind(out.get()), "series");
      const got = decodeSeries(out.get(), new SeriesBatch());
      assert.equal(got.length, c.refs.length);
      for (let i = 0; i < c.refs.length; i++) {
        assert.equal(got.refs[i], c.refs[i]);
        assert.ok(got.labels[i].equals(c.labels[i]), `${got.labels[i]} != ${c.labels[i]}`);
      }
    });
  }

  test("label strings go through the interner", () => {
    const out = new Encbuf();
    const labels = [Labels.fromStrings("job", "api", "le", "0.5"), Labels.fromStrings("job", "api", "le", "1")];
    encodeSeries(out, { length: 2, refs: [1, 2], labels });
    const interner = new StringInterner();
    const got = decodeSeries(out.get(), new SeriesBatch(), interner);
    assert.equal(interner.size, 5); // job, api, le, 0.5, 1
    assert.ok(got.labels[0].equals(labels[0]) && got.labels[1].equals(labels[1]));
  });

  test("unsorted labels are normalised, a repeated name is corruption", () => {
    const unsorted = bytes("01 0000000000000003 02 01 62 01 31 01 61 01 32");
    const got = decodeSeries(unsorted, new SeriesBatch());
    assert.equal(got.labels[0].toString(), '{a="2", b="1"}');
    const dup = bytes("01 0000000000000003 02 01 61 01 31 01 61 01 32");
    assert.throws(() => decodeSeries(dup, new SeriesBatch()), isCorruption);
  });

  test("malformed records are corruption", () => {
    const table: [string, string][] = [
      ["truncated ref", "01 00000000"],
      ["truncated label", "01 0000000000000001 01 05 6162"],
      ["label count beyond the record", "01 0000000000000001 7f"],
      ["ref beyond 2^53", "01 0020000000000000 00"],
      ["wrong type", "02 0000000000000001 00"],
    ];
    for (const [name, h] of table) {
      assert.throws(() => decodeSeries(bytes(h), new SeriesBatch()), isCorruption, name);
    }
  });
});

describe("samples records", () => {
  test("exact bytes of a small record", () => {
    const out = new Encbuf();
    encodeSamples(out, { length: 2, refs: [5, 3], ts: [1000, 1015], vs: [1, 0.5] });
    assert.equal(
      hex(out.get()),
      "02" +
        "0000000000000005" + // first ref
        "00000000000003e8" + // first t
        "00" +
        "00" +
        "3ff0000000000000" + // deltas 0, 0; 1.0
        "03" +
        "1e" +
        "3fe0000000000000", // ref delta -2 (zig-zag 3), t delta 15 (zig-zag 30); 0.5
    );
  });

  test("round trip keeps NaN payloads, signs, negative times and out-of-order refs", () => {
    const s = new SampleBatch();
    const values = [STALE_NAN, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1e-300, 123.456];
    for (let i = 0; i < 500; i++) {
      s.push((i * 7919) % 1013, -5_000 + i * 15_000 - (i % 3) * 7, values[i % values.length]);
    }
    const out = new Encbuf();
    encodeSamples(out, s);
    assert.equal(recordKind(out.get()), "samples");
    const got = decodeSamples(out.get(), new SampleBatch());
    assert.equal(got.length, s.length);
    for (let i = 0; i < s.length; i++) {
      assert.equal(got.refs[i], s.refs[i]);
      assert.equal(got.ts[i], s.ts[i]);
      assert.equal(floatHi(got.vs[i]), floatHi(s.vs[i]), `value ${i}`);
      assert.equal(floatLo(got.vs[i]), floatLo(s.vs[i]), `value ${i}`);
    }
  });

  test("deltas on both sides of the 32-bit range encode as Go's varints, mixed in one record", () => {
    const deltas = [
      0,
      1,
      -1,
      2 ** 30 - 1,
      -(2 ** 30 - 1),
      2 ** 30,
      -(2 ** 30),
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 50,
      -(2 ** 50),
    ];
    const s = new SampleBatch();
    const ref0 = 2 ** 51;
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < deltas.length; i++) {
      // Another order for the times; both start at delta 0, so the record's bases are ref0 and t0.
      const j = (i * 7) % deltas.length;
      s.push(ref0 + deltas[i], t0 + deltas[j], i / 3);
    }
    const out = new Encbuf();
    encodeSamples(out, s);
    // The same record written field by field.
    const want = new Encbuf();
    want.putByte(2);
    want.putBE64(ref0);
    want.putBE64Int(t0);
    for (let i = 0; i < s.length; i++) {
      want.putVarint(s.refs[i] - ref0);
      want.putVarint(s.ts[i] - t0);
      want.putBE64Float(s.vs[i]);
    }
    assert.equal(hex(out.get()), hex(want.get()));
    const got = decodeSamples(out.get(), new SampleBatch());
    for (let i = 0; i < s.length; i++) {
      assert.equal(got.refs[i], s.refs[i]);
      assert.equal(got.ts[i], s.ts[i]);
    }
  });

  test("decoding reuses the batch's arrays", () => {
    const out = new Encbuf();
    encodeSamples(out, { length: 3, refs: [1, 2, 3], ts: [10, 20, 30], vs: [1, 2, 3] });
    const batch = new SampleBatch();
    const refs = batch.refs;
    decodeSamples(out.get(), batch);
    decodeSamples(out.get(), batch);
    assert.equal(batch.refs, refs);
    assert.equal(batch.length, 3);
    assert.deepEqual(Array.from(batch.ts.subarray(0, 3)), [10, 20, 30]);
  });

  test("an empty record decodes to no samples", () => {
    const out = new Encbuf();
    encodeSamples(out, { length: 0, refs: [], ts: [], vs: [] });
    assert.equal(hex(out.get()), "02");
    assert.equal(decodeSamples(out.get(), new SampleBatch()).length, 0);
  });

  test("V2 records from newer Prometheus versions decode (start times ignored)", () => {
    // type 11 | ref 4 (zz 08) t 100 (zz c801) st 0 | 1.0 | dref +1 (02) dt 10 (14) marker none | 2.0
    //         | dref -2 (03) dt 20 (28) marker explicit, st delta 5 (0a) | 3.0
    const rec = bytes("0b 08 c801 00 3ff0000000000000  02 14 00 4000000000000000  03 28 02 0a 4008000000000000");
    const got = decodeSamples(rec, new SampleBatch());
    assert.deepEqual(Array.from(got.refs.subarray(0, got.length)), [4, 5, 3]);
    assert.deepEqual(Array.from(got.ts.subarray(0, got.length)), [100, 110, 120]);
    assert.deepEqual(Array.from(got.vs.subarray(0, got.length)), [1, 2, 3]);
  });

  test("malformed records are corruption", () => {
    const table: [string, string][] = [
      ["truncated header", "02 0000000000000001 00"],
      ["truncated value", "02 0000000000000001 0000000000000001 00 00 3ff0"],
      ["negative ref", "02 0000000000000001 0000000000000001 03 00 3ff0000000000000"],
      ["varint overflow", "02 0000000000000001 0000000000000001 ffffffffffffffffffff7f 00 3ff0000000000000"],
    ];
    for (const [name, h] of table) {
      assert.throws(() => decodeSamples(bytes(h), new SampleBatch()), isCorruption, name);
    }
  });
});

describe("tombstones records", () => {
  test("round trip with open-ended intervals", () => {
    const t = new TombstoneBatch();
    t.push(1, -(2 ** 63), 2 ** 63);
    t.push(2 ** 40, 1000, 2000);
    t.push(3, -500, -100);
    const out = new Encbuf();
    encodeTombstones(out, t);
    assert.equal(recordKind(out.get()), "tombstones");
    const got = decodeTombstones(out.get(), new TombstoneBatch());
    assert.equal(got.length, 3);
    for (let i = 0; i < 3; i++) {
      assert.equal(got.refs[i], t.refs[i]);
      assert.equal(got.mints[i], t.mints[i]);
      assert.equal(got.maxts[i], t.maxts[i]);
    }
  });

  test("exact bytes", () => {
    const out = new Encbuf();
    encodeTombstones(out, { length: 1, refs: [9], mints: [1], maxts: [-1] });
    assert.equal(hex(out.get()), "03" + "0000000000000009" + "02" + "01");
  });
});

describe("metadata records", () => {
  test("exact bytes", () => {
    const out = new Encbuf();
    encodeMetadata(out, { length: 1, refs: [300], types: ["counter"], units: ["s"], helps: ["Help."] });
    const str = (s: string) => s.length.toString(16).padStart(2, "0") + Buffer.from(s).toString("hex");
    // type 6 | ref 300 (uvarint ac02) | type counter (1) | 2 fields | UNIT s HELP "Help."
    assert.equal(hex(out.get()), `06ac020102${str("UNIT")}${str("s")}${str("HELP")}${str("Help.")}`);
  });

  test("round trip of every type", () => {
    const m = new MetadataBatch();
    const types = [
      "unknown",
      "counter",
      "gauge",
      "histogram",
      "gaugehistogram",
      "summary",
      "info",
      "stateset",
    ] as const;
    types.forEach((t, i) => {
      m.push(i * 1000, t, i % 2 ? "bytes" : "", `help for ${t} — ünïcode`);
    });
    const out = new Encbuf();
    encodeMetadata(out, m);
    assert.equal(recordKind(out.get()), "metadata");
    const got = decodeMetadata(out.get(), new MetadataBatch());
    assert.equal(got.length, types.length);
    for (let i = 0; i < types.length; i++) {
      assert.equal(got.refs[i], m.refs[i]);
      assert.equal(got.types[i], types[i]);
      assert.equal(metricTypeFromByte(metricTypeByte(types[i])), types[i]);
      assert.equal(got.units[i], m.units[i]);
      assert.equal(got.helps[i], m.helps[i]);
    }
  });

  test("extra fields are skipped, unknown type bytes read as unknown", () => {
    // ref 1, type 42, 3 fields: X=y, HELP=h, UNIT=u
    const rec = bytes("06 01 2a 03 0158 0179 0448454c50 0168 04554e4954 0175");
    const got = decodeMetadata(rec, new MetadataBatch());
    assert.equal(got.length, 1);
    assert.equal(got.types[0], "unknown");
    assert.equal(got.units[0], "u");
    assert.equal(got.helps[0], "h");
  });
});

describe("record kinds", () => {
  test("known and unknown type bytes", () => {
    const table: [number[], string][] = [
      [[], "unknown"],
      [[RecordType.Series], "series"],
      [[RecordType.Samples], "samples"],
      [[RecordType.SamplesV2], "samples"],
      [[RecordType.Tombstones], "tombstones"],
      [[RecordType.Metadata], "metadata"],
      [[RecordType.Exemplars], "unknown"],
      [[RecordType.MmapMarkers], "unknown"],
      [[RecordType.HistogramSamples], "histograms"],
      [[RecordType.FloatHistogramSamples], "histograms"],
      [[RecordType.CustomBucketsHistogramSamples], "histograms"],
      [[RecordType.CustomBucketsFloatHistogramSamples], "histograms"],
      [[RecordType.FloatHistogramSamplesV2], "unknown"],
      [[0], "unknown"],
      [[200, 1, 2], "unknown"],
    ];
    for (const [rec, kind] of table) assert.equal(recordKind(new Uint8Array(rec)), kind, `type ${rec[0]}`);
  });
});
