// Golden bytes: a one-page segment holding one Series and one Samples record, written out by hand from the format
// (docs/format/wal.md, docs/format/records.md) with checksums computed independently, compared byte for byte with
// what the writer and the record encoders produce.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Labels } from "../../model/labels.ts";
import { Encbuf } from "../encoding/encbuf.ts";
import { decodeSamples, encodeSamples, SampleBatch } from "../record/samples.ts";
import { decodeSeries, encodeSeries, SeriesBatch } from "../record/series.ts";
import { WalReader } from "./reader.ts";
import { PAGE_SIZE, segmentPath } from "./segment.ts";
import { Wal } from "./wal.ts";

const SERIES_PAYLOAD = [
  "01", // record type: series
  "0000000000000001", // ref 1, BE64
  "02", // two labels
  "08 5f5f6e616d655f5f", // "__name__"
  "02 7570", // "up"
  "03 6a6f62", // "job"
  "0a 70726f6d657468657573", // "prometheus"
].join("");

const SAMPLES_PAYLOAD = [
  "02", // record type: samples
  "0000000000000001", // first ref 1, BE64
  "0000018bcfe56800", // first timestamp 1700000000000 ms, BE64
  "00 00 3ff0000000000000", // ref delta 0, time delta 0, value 1.0
  "00 b0ea01 3fe0000000000000", // ref delta 0, time delta 15000 (zig-zag 30000), value 0.5
].join("");

const SEGMENT = [
  "01 0025 bf8823ca", // full fragment, 37 bytes, CRC32C of the series payload
  SERIES_PAYLOAD,
  "01 0027 db445195", // full fragment, 39 bytes, CRC32C of the samples payload
  SAMPLES_PAYLOAD,
].join("");

function unhex(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));
}

/** Bitwise CRC32C straight from the definition, independent of the table-driven implementation. */
function referenceCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of data) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

test("golden: one page with a series and a samples record", () => {
  assert.equal(referenceCrc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  assert.equal(referenceCrc32c(unhex(SERIES_PAYLOAD)), 0xbf8823ca);
  assert.equal(referenceCrc32c(unhex(SAMPLES_PAYLOAD)), 0xdb445195);

  const series = new Encbuf();
  encodeSeries(series, { length: 1, refs: [1], labels: [Labels.fromStrings("__name__", "up", "job", "prometheus")] });
  assert.equal(Buffer.from(series.get()).toString("hex"), SERIES_PAYLOAD.replace(/\s+/g, ""));
  const samples = new Encbuf();
  encodeSamples(samples, { length: 2, refs: [1, 1], ts: [1_700_000_000_000, 1_700_000_015_000], vs: [1, 0.5] });
  assert.equal(Buffer.from(samples.get()).toString("hex"), SAMPLES_PAYLOAD.replace(/\s+/g, ""));

  const dir = mkdtempSync(join(tmpdir(), "contrail-golden-"));
  try {
    const w = Wal.open(dir);
    w.log(series.get());
    w.log(samples.get());
    w.close();

    const expected = new Uint8Array(PAGE_SIZE);
    expected.set(unhex(SEGMENT));
    const actual = readFileSync(segmentPath(dir, 0));
    assert.equal(actual.length, PAGE_SIZE);
    assert.ok(Buffer.from(expected).equals(actual), "segment bytes differ from the golden page");

    const r = WalReader.open(dir);
    assert.ok(r.next());
    const s = decodeSeries(r.record(), new SeriesBatch());
    assert.equal(s.labels[0].toString(), '{__name__="up", job="prometheus"}');
    assert.ok(r.next());
    const d = decodeSamples(r.record(), new SampleBatch());
    assert.deepEqual(Array.from(d.ts.subarray(0, d.length)), [1_700_000_000_000, 1_700_000_015_000]);
    assert.ok(!r.next());
    assert.equal(r.corruption(), null);
    r.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
