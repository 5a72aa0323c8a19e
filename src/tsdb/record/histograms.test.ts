import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import type { Histogram } from "../../model/histogram.ts";
import { CounterResetHint, CUSTOM_BUCKETS_SCHEMA } from "../../model/histogram.ts";
import { isStaleNaN } from "../../model/sample.ts";
import { counterSequence, gaugeSequence, hist, staleMarker } from "../chunkenc/histogram-testdata.ts";
import { Encbuf } from "../encoding/encbuf.ts";
import { checkpoint, lastCheckpoint } from "../wal/checkpoint.ts";
import { WalReader } from "../wal/reader.ts";
import { Wal } from "../wal/wal.ts";
import {
  decodeHistogramSamples,
  encodeHistogramSamples,
  type HistogramEntry,
  histogramRecordType,
} from "./histograms.ts";
import { RecordType, recordKind } from "./record.ts";

function roundTrip(entries: HistogramEntry[]): HistogramEntry[] {
  const buf = new Encbuf();
  encodeHistogramSamples(buf, histogramRecordType(entries[0].h), entries);
  const rec = buf.get();
  assert.equal(recordKind(rec), "histograms");
  return decodeHistogramSamples(rec);
}

function same(a: Histogram, b: Histogram): void {
  if (isStaleNaN(b.sum)) {
    assert.ok(isStaleNaN(a.sum));
    return;
  }
  assert.deepEqual(a, b);
}

test("histogram records round-trip every kind: integer, float, gauge, custom buckets, stale", () => {
  const custom = (integer: boolean) =>
    hist({
      integer,
      schema: CUSTOM_BUCKETS_SCHEMA,
      zeroThreshold: 0,
      sum: 3.25,
      pos: [{ offset: 0, length: 3 }],
      posCounts: [1, 0, integer ? 4 : 4.5],
      customValues: [0.25, 1, 1e9],
    });
  for (const seq of [
    counterSequence(true),
    counterSequence(false),
    gaugeSequence(true),
    [custom(true), custom(true)],
    [custom(false)],
    [staleMarker(true)],
  ]) {
    const entries = seq.map((h, i) => ({
      ref: 7 + (i % 3),
      t: 1_700_000_000_000 + i * 15_000 - (i === 2 ? 99 : 0),
      h,
    }));
    const got = roundTrip(entries);
    assert.equal(got.length, entries.length);
    got.forEach((e, i) => {
      assert.equal(e.ref, entries[i].ref);
      assert.equal(e.t, entries[i].t);
      same(e.h, entries[i].h);
    });
  }
});

test("each histogram goes under Prometheus's record type", () => {
  const custom = hist({ schema: CUSTOM_BUCKETS_SCHEMA, zeroThreshold: 0, sum: 1, customValues: [1] });
  assert.equal(histogramRecordType(counterSequence(true)[0]), RecordType.HistogramSamples);
  assert.equal(histogramRecordType(counterSequence(false)[0]), RecordType.FloatHistogramSamples);
  assert.equal(histogramRecordType(custom), RecordType.CustomBucketsHistogramSamples);
  assert.equal(histogramRecordType({ ...custom, integer: false }), RecordType.CustomBucketsFloatHistogramSamples);
});

test("an integer histogram record has Prometheus's bytes", () => {
  const h = hist({
    hint: CounterResetHint.notCounterReset,
    schema: 1,
    zeroThreshold: 0.5,
    zeroCount: 2,
    sum: 1,
    pos: [{ offset: -1, length: 2 }],
    posCounts: [3, 1],
  });
  const buf = new Encbuf();
  encodeHistogramSamples(buf, RecordType.HistogramSamples, [{ ref: 1, t: 1000, h }]);
  const hex = Buffer.from(buf.get()).toString("hex");
  // type | ref BE64 | t BE64 | ref delta, t delta | hint | schema (zig-zag 1) | zero threshold BE64 | zero count 2 |
  // count 6 | sum BE64 | 1 span: offset -1 (zig-zag 1), length 2 | no negative spans | 2 buckets: +3, -2 | none
  const want = [
    "07",
    "0000000000000001",
    "00000000000003e8",
    "00",
    "00",
    "02",
    "02",
    "3fe0000000000000",
    "02",
    "06",
    "3ff0000000000000",
    "01",
    "01",
    "02",
    "00",
    "02",
    "06",
    "03",
    "00",
  ].join("");
  assert.equal(hex, want);
});

test("a malformed record is corruption", () => {
  const buf = new Encbuf();
  encodeHistogramSamples(buf, RecordType.HistogramSamples, [{ ref: 1, t: 1, h: counterSequence(true)[0] }]);
  const rec = buf.get();
  assert.throws(
    () => decodeHistogramSamples(rec.subarray(0, rec.length - 3)),
    (e) => isContrailError(e, "corruption"),
  );
  assert.throws(
    () => decodeHistogramSamples(new Uint8Array([RecordType.Samples])),
    (e) => isContrailError(e, "corruption"),
  );
});

test("a WAL checkpoint keeps the recent histogram samples of every type", () => {
  const dir = mkdtempSync(join(tmpdir(), "contrail-hist-cp-"));
  try {
    const w = Wal.open(dir);
    const custom = hist({ schema: CUSTOM_BUCKETS_SCHEMA, zeroThreshold: 0, sum: 1, customValues: [1] });
    const kinds = [counterSequence(true)[0], counterSequence(false)[0], custom, { ...custom, integer: false }];
    for (const h of kinds) {
      const buf = new Encbuf();
      const entries = [100, 200, 300].map((t) => ({ ref: 1, t, h }));
      encodeHistogramSamples(buf, histogramRecordType(h), entries);
      w.log(buf.get());
    }
    w.nextSegment();
    w.close();
    const stats = checkpoint(dir, { from: 0, to: 0, keepSeries: () => true, mint: 200 });
    assert.equal(stats.totalSamples, 12);
    assert.equal(stats.droppedSamples, 4);
    const cp = lastCheckpoint(dir);
    assert.ok(cp !== null);
    const r = new WalReader([{ dir: cp.dir }]);
    const types: number[] = [];
    while (r.next()) {
      const rec = r.record();
      types.push(rec[0]);
      assert.deepEqual(
        decodeHistogramSamples(rec).map((e) => e.t),
        [200, 300],
      );
    }
    r.close();
    assert.deepEqual(types, [7, 8, 9, 10]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
