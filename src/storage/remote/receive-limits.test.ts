// The receiver's limits, one by one and in both protocol versions: a value at the limit passes, one past it is
// refused with the status the spec asks for and a message naming the series and the limit, and whatever else the
// request held is written (a partial write) or nothing is (a refused request, storage not even opened).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Labels } from "../../model/labels.ts";
import { DEFAULT_ORG_LIMITS } from "../../model/limits.ts";
import { newMatcher } from "../../model/matcher.ts";
import { SnappyEncoder } from "../../tsdb/encoding/snappy.ts";
import { MemoryStore } from "../memory.ts";
import { encodeWriteRequestV1 } from "./codec-v1-encode.ts";
import { encodeRequestV2, maxSymbols } from "./codec-v2.ts";
import { MetadataStore } from "./metadata.ts";
import { ProtoWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "./protobuf.ts";
import { type ReceiveLimits, ReceiverState, receiveWrite, type WriteOutcome } from "./receive.ts";
import type { WriteProto, WriteRequestData, WriteSeries } from "./types.ts";

const NOW = 1_700_000_000_000;
const snappy = new SnappyEncoder();
const HEADERS = {
  v1: { "content-type": "application/x-protobuf", "content-encoding": "snappy" },
  v2: { "content-type": "application/x-protobuf;proto=io.prometheus.write.v2.Request", "content-encoding": "snappy" },
} as const;

function encode(proto: WriteProto, req: WriteRequestData): Uint8Array {
  return snappy.encodeCopy(proto === "v1" ? encodeWriteRequestV1(req) : encodeRequestV2(req));
}

function series(labels: string[], samples = 1): WriteSeries {
  return {
    labels: Labels.fromStrings(...labels),
    samples: Array.from({ length: samples }, (_, i) => ({ t: NOW - 1000 * (samples - i), v: i })),
  };
}

/** A receiver over one memory store; counts how often storage was opened. */
function receiver(limits: Partial<ReceiveLimits> = {}) {
  const store = new MemoryStore();
  const metadata = new MetadataStore();
  const state = new ReceiverState();
  let opened = 0;
  return {
    metadata,
    get opened() {
      return opened;
    },
    send(body: Uint8Array, proto: WriteProto): WriteOutcome {
      const open = () => {
        opened++;
        return store.appender();
      };
      return receiveWrite(body, HEADERS[proto], open, { org: "acme", state, metadata, limits, now: () => NOW });
    },
    names(): string[] {
      const q = store.querier(0, Number.MAX_SAFE_INTEGER);
      const out = [...q.select([newMatcher("=~", "__name__", ".+")], { start: 0, end: Number.MAX_SAFE_INTEGER })];
      q.close();
      return out.map((s) => s.labels.metricName()).sort();
    },
  };
}

function message(out: WriteOutcome): string {
  return out.kind === "written" ? "" : out.message;
}

for (const proto of ["v1", "v2"] as const) {
  describe(`${proto}: label limits refuse the series, the rest is written`, () => {
    const cases: [string, Partial<ReceiveLimits>, string[], RegExp][] = [
      [
        "more labels than max_label_names_per_series",
        { maxLabelNamesPerSeries: 3 },
        ["__name__", "wide", "a", "1", "b", "2", "c", "3"],
        /series \{__name__="wide", a="1", b="2", c="3"\}: 4 labels, more than the limit of 3 \(max_label_names_per_series\)/,
      ],
      [
        "a label name over max_label_name_length",
        { maxLabelNameLength: 8 },
        ["__name__", "long_name", "abcdefghi", "x"],
        /label name "abcdefghi" is 9 bytes long, more than the limit of 8 \(max_label_name_length\)/,
      ],
      [
        "a label value over max_label_value_length",
        { maxLabelValueLength: 100 },
        ["__name__", "long_value", "blob", "é".repeat(60)],
        /the value of label "blob" is 120 bytes long, more than the limit of 100 \(max_label_value_length\)/,
      ],
    ];
    for (const [name, limits, labels, re] of cases) {
      test(name, () => {
        const r = receiver(limits);
        const out = r.send(encode(proto, { series: [series(labels), series(["__name__", "fine"])] }), proto);
        assert.equal(out.status, 400);
        assert.equal(out.kind, "partial");
        assert.match(message(out), re);
        assert.match(message(out), /partial write: 1 of 2 samples rejected, 1 written/);
        assert.deepEqual(r.names(), ["fine"]);
        // At the limit itself the series passes.
        const at = { ...limits };
        if (limits.maxLabelNamesPerSeries !== undefined) at.maxLabelNamesPerSeries = labels.length / 2;
        if (limits.maxLabelNameLength !== undefined) at.maxLabelNameLength = 9;
        if (limits.maxLabelValueLength !== undefined) at.maxLabelValueLength = 120;
        assert.equal(receiver(at).send(encode(proto, { series: [series(labels)] }), proto).status, 204);
      });
    }

    test("an error message quotes at most 8 labels and 64 bytes of each, whatever the series holds", () => {
      const labels = ["__name__", "huge"];
      for (let i = 0; i < 40; i++) labels.push(`l${String(i).padStart(2, "0")}`, "v".repeat(5000));
      const r = receiver({ maxLabelValueLength: 100_000 });
      const out = r.send(encode(proto, { series: [series(labels)] }), proto);
      const text = message(out);
      assert.match(text, /41 labels, more than the limit of 30/);
      assert.match(text, /l06="v{64}…\(5000 bytes\)", …41 labels in all\}/);
      assert.ok(text.length < 1500, `${text.length} characters`);
    });
  });

  describe(`${proto}: request limits refuse the whole request with 413, storage untouched`, () => {
    test("series per request", () => {
      const many = Array.from({ length: 11 }, (_, i) => series(["__name__", "m", "i", String(i)]));
      const r = receiver({ maxSeriesPerWrite: 10 });
      const out = r.send(encode(proto, { series: many }), proto);
      assert.equal(out.status, 413);
      assert.match(message(out), /more than 10 series, the limit \(max_series_per_write\)/);
      assert.equal(r.opened, 0);
      assert.equal(r.send(encode(proto, { series: many.slice(1) }), proto).status, 204);
    });

    test("samples per request, counted over every series", () => {
      const r = receiver({ maxSamplesPerWrite: 10 });
      const req = { series: [series(["__name__", "a"], 6), series(["__name__", "b"], 5)] };
      const out = r.send(encode(proto, req), proto);
      assert.equal(out.status, 413);
      assert.match(message(out), /more than 10 samples, the limit \(max_samples_per_write\)/);
      assert.deepEqual(r.names(), [], "what was appended before the limit was hit is rolled back");
      assert.equal(r.send(encode(proto, { series: [series(["__name__", "a"], 10)] }), proto).status, 204);
    });

    test("the size the snappy header declares, before decompressing", () => {
      const r = receiver({ maxWriteBytes: 64 * 1024 });
      const body = snappy.encodeCopy(new Uint8Array(64 * 1024 + 1));
      const out = r.send(body, proto);
      assert.equal(out.status, 413);
      assert.match(message(out), /decompressed body of 65537 bytes .* exceed the limit of 65536 \(max_write_bytes\)/);
    });
  });
}

describe("metadata limits", () => {
  test("1.0: a help text over max_metadata_length is cut at a character boundary; a long name is refused", () => {
    const r = receiver({ maxMetadataLength: 20 });
    const req: WriteRequestData = {
      series: [series(["__name__", "up"])],
      metadata: [
        { name: "up", type: "gauge", help: `${"h".repeat(19)}é and more`, unit: "" },
        { name: "n".repeat(21), type: "counter", help: "", unit: "" },
      ],
    };
    const out = r.send(encode("v1", req), "v1");
    assert.equal(out.status, 400);
    assert.match(message(out), /1 metadata entries refused/);
    assert.match(
      message(out),
      /metadata name "n{21}" is 21 bytes long, more than the limit of 20 \(max_metadata_length\)/,
    );
    assert.deepEqual(r.metadata.get("acme", "up"), { type: "gauge", help: "h".repeat(19), unit: "" });
    assert.deepEqual(r.names(), ["up"], "the samples are written");
  });

  test("2.0: the same limits on the help and unit a series refers to", () => {
    const r = receiver({ maxMetadataLength: 20 });
    const long = { ...series(["__name__", "a"]), metadata: { type: "gauge" as const, help: "x".repeat(30), unit: "" } };
    const unit = { ...series(["__name__", "b"]), metadata: { type: "gauge" as const, help: "", unit: "u".repeat(21) } };
    const out = r.send(encode("v2", { series: [long, unit] }), "v2");
    assert.equal(out.status, 400);
    assert.match(message(out), /series \{__name__="b"\}: metadata unit "u{21}" is 21 bytes long/);
    assert.deepEqual(r.metadata.get("acme", "a"), { type: "gauge", help: "x".repeat(20), unit: "" });
    assert.equal(r.metadata.get("acme", "b"), undefined);
    assert.deepEqual(r.names(), ["a", "b"]);
  });

  test("families per org beyond max_metadata_families are dropped", () => {
    const r = receiver({ maxMetadataFamilies: 2 });
    const metadata = ["a", "b", "c"].map((name) => ({ name, type: "gauge" as const, help: name, unit: "" }));
    assert.equal(r.send(encode("v1", { series: [], metadata }), "v1").status, 204);
    assert.deepEqual(
      r.metadata.list("acme").map(([n]) => n),
      ["a", "b"],
    );
    assert.equal(r.metadata.dropped("acme"), 1);
  });
});

// A raw 2.0 request: `symbols` as given, then each series' label refs and one sample.
function rawV2(symbols: readonly string[], refs: readonly number[][]): Uint8Array {
  const w = new ProtoWriter();
  for (const s of symbols) {
    w.tag(4, WIRE_LEN);
    w.string(s);
  }
  for (const r of refs) {
    const ts = w.begin(5);
    const m = w.begin(1);
    for (const ref of r) w.uint32(ref);
    w.end(m);
    const sm = w.begin(2);
    w.tag(1, WIRE_FIXED64);
    w.double(1);
    w.tag(2, WIRE_VARINT);
    w.int64(NOW);
    w.end(sm);
    w.end(ts);
  }
  return snappy.encodeCopy(w.finish());
}

describe("2.0 symbol table", () => {
  test("symbols[0] must be the empty string: the request is refused whole", () => {
    const r = receiver();
    const out = r.send(rawV2(["__name__", "up", "job"], [[0, 1]]), "v2");
    assert.equal(out.status, 400);
    assert.equal(out.kind, "refused");
    assert.match(message(out), /symbols\[0\] must be the empty string, got "__name__"/);
    assert.equal(r.opened, 0);
  });

  test("series without a symbol table are refused whole", () => {
    const out = receiver().send(rawV2([], [[1, 2]]), "v2");
    assert.equal(out.status, 400);
    assert.match(message(out), /the request has 1 series but no symbols table/);
  });

  test("more symbols than a request within the limits can use: 413", () => {
    const limits = { ...DEFAULT_ORG_LIMITS, maxSeriesPerWrite: 2, maxLabelNamesPerSeries: 2 };
    const symbols = ["", ...Array.from({ length: maxSymbols(limits) }, (_, i) => `s${i}`)];
    const out = receiver(limits).send(rawV2(symbols, [[1, 2]]), "v2");
    assert.equal(out.status, 413);
    assert.match(message(out), /more than 41 symbols/);
  });

  test("an oversized symbol no series uses costs nothing and fails nothing", () => {
    const r = receiver();
    const out = r.send(rawV2(["", "__name__", "up", "x".repeat(1_000_000)], [[1, 2]]), "v2");
    assert.equal(out.status, 204);
    assert.deepEqual(r.names(), ["up"]);
  });
});

describe("the snappy header", () => {
  test("a header declaring more than the body can hold is refused before anything is allocated", () => {
    // 10 bytes claiming 1 MiB: the densest snappy element expands 64/3 times.
    const out = receiver().send(new Uint8Array([0x80, 0x80, 0x40, 0, 0, 0, 0, 0, 0, 0]), "v1");
    assert.equal(out.status, 400);
    assert.match(message(out), /invalid snappy block: a body of 10 bytes cannot hold 1048576/);
  });
});
