// The remote read codecs: requests decoded with every matcher kind, hints and both encodings of the accepted types,
// and refused clearly past their bounds; response types negotiated as Prometheus does; SAMPLES responses and
// streamed frames read back by the client's decoders (test-codec.ts); series chunked as Prometheus cuts chunks and
// decoded back to the same samples; the sliced snappy block decoded by an ordinary snappy decoder.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CounterResetHint, type Histogram } from "../../model/histogram.ts";
import { Labels } from "../../model/labels.ts";
import { isStaleNaN, STALE_NAN } from "../../model/sample.ts";
import { Encoding, SAMPLES_PER_CHUNK } from "../../tsdb/chunkenc/chunk.ts";
import { numSamples } from "../../tsdb/chunkenc/xor.ts";
import { SnappyDecoder } from "../../tsdb/encoding/snappy.ts";
import { SeriesChunker } from "./chunker.ts";
import {
  ChunkedFrameWriter,
  decodeReadRequest,
  negotiateResponseType,
  ReadResponseWriter,
  ResponseType,
} from "./codec.ts";
import { SNAPPY_SLICE_BYTES, snappyInSlices } from "./compress.ts";
import { chunkSamples, decodeFrames, decodeReadResponse, encodeReadRequest } from "./test-codec.ts";

const BOUNDS = { maxQueries: 4, maxMatchers: 3 };

const H: Histogram = {
  integer: true,
  counterResetHint: CounterResetHint.unknown,
  schema: 0,
  zeroThreshold: 0.001,
  zeroCount: 1,
  count: 8,
  sum: 20.5,
  positiveSpans: [{ offset: 0, length: 3 }],
  negativeSpans: [],
  positiveBuckets: [2, 3, 2],
  negativeBuckets: [],
  customValues: [],
};

function grown(h: Histogram, by: number): Histogram {
  return {
    ...h,
    count: h.count + 3 * by,
    sum: h.sum + by,
    positiveBuckets: h.positiveBuckets.map((c) => c + by),
  };
}

describe("ReadRequest decoding", () => {
  test("queries with the four matcher kinds, hints, and packed or unpacked accepted types", () => {
    const body = encodeReadRequest(
      [
        {
          start: 1000,
          end: 2000,
          matchers: [
            ["=", "__name__", "up"],
            ["!=", "job", "x"],
            ["=~", "instance", "a.*"],
          ],
          hints: { start: 1500, end: 1900, func: "rate", step: 15 },
        },
        { start: -5, end: 10, matchers: [["!~", "env", "prod|staging"]] },
      ],
      [1, 0],
    );
    const req = decodeReadRequest(body, BOUNDS);
    assert.deepEqual(req.accepted, [1, 0]);
    assert.equal(req.queries.length, 2);
    const [a, b] = req.queries;
    assert.deepEqual([a.start, a.end, a.hints], [1000, 2000, { start: 1500, end: 1900, func: "rate" }]);
    assert.deepEqual(
      a.matchers.map((m) => [m.type, m.name, m.value]),
      [
        ["=", "__name__", "up"],
        ["!=", "job", "x"],
        ["=~", "instance", "a.*"],
      ],
    );
    assert.equal(a.matchers[2].matches("ab"), true);
    assert.equal(a.matchers[2].matches("ba"), false, "regexes are anchored");
    assert.deepEqual([b.start, b.end, b.hints], [-5, 10, null]);
    assert.equal(b.matchers[0].type, "!~");
    assert.equal(b.matchers[0].matches("prod"), false);
    // One accepted type per field, unpacked, as some encoders write repeated enums.
    const unpacked = Uint8Array.from([0x10, 0x01, 0x10, 0x00]);
    assert.deepEqual(decodeReadRequest(unpacked, BOUNDS).accepted, [1, 0]);
    assert.deepEqual(decodeReadRequest(new Uint8Array(0), BOUNDS), { queries: [], accepted: [] });
  });

  test("unknown fields are skipped", () => {
    const body = Buffer.concat([
      Uint8Array.from([0x48, 0x07]),
      encodeReadRequest([{ start: 1, end: 2, matchers: [] }]),
    ]);
    assert.equal(decodeReadRequest(body, BOUNDS).queries.length, 1);
  });

  test("refusals name the problem and the bound", () => {
    const q = { start: 0, end: 1, matchers: [["=", "a", "b"]] as const };
    assert.throws(
      () => decodeReadRequest(encodeReadRequest(Array(5).fill(q)), BOUNDS),
      (e: Error & { code?: string }) => e.code === "too_large" && /more than 4 queries, the limit/.test(e.message),
    );
    const many = { start: 0, end: 1, matchers: Array(4).fill(["=", "a", "b"] as const) };
    assert.throws(
      () => decodeReadRequest(encodeReadRequest([many]), BOUNDS),
      (e: Error & { code?: string }) => e.code === "too_large" && /more than 3 matchers/.test(e.message),
    );
    assert.throws(
      () => decodeReadRequest(encodeReadRequest([{ start: 0, end: 1, matchers: [["=~", "a", "("]] }]), BOUNDS),
      (e: Error & { code?: string }) => e.code === "invalid_regex",
    );
    // A matcher of type 7.
    const badType = Uint8Array.from([0x0a, 0x04, 0x1a, 0x02, 0x08, 0x07]);
    assert.throws(() => decodeReadRequest(badType, BOUNDS), /invalid matcher type 7: expected 0 to 3/);
    // A name that is not UTF-8.
    const badName = Uint8Array.from([0x0a, 0x05, 0x1a, 0x03, 0x12, 0x01, 0xff]);
    assert.throws(() => decodeReadRequest(badName, BOUNDS), /LabelMatcher.name is not valid UTF-8/);
    assert.throws(() => decodeReadRequest(Uint8Array.from([0x0a, 0x09, 0x08]), BOUNDS), /invalid protobuf/);
  });
});

describe("response type negotiation", () => {
  test("the first served type of the client's list; SAMPLES when it lists none; none served is an error", () => {
    assert.equal(negotiateResponseType([]), ResponseType.samples);
    assert.equal(negotiateResponseType([1, 0]), ResponseType.streamedXorChunks);
    assert.equal(negotiateResponseType([7, 0, 1]), ResponseType.samples);
    assert.throws(
      () => negotiateResponseType([5, 9]),
      /does not support any of the requested response types: \[5 9\]; supported: SAMPLES \(0\), STREAMED_XOR_CHUNKS/,
    );
  });
});

describe("responses", () => {
  test("a SAMPLES ReadResponse carries floats (stale markers kept) and histograms per query", async () => {
    const w = new ReadResponseWriter();
    w.result();
    w.beginSeries(Labels.fromStrings("__name__", "up", "job", "a"));
    w.sample(1000, 1);
    w.sample(2000, STALE_NAN);
    w.endSeries();
    w.beginSeries(Labels.fromStrings("__name__", "rpc", "job", "b"));
    w.histogram(1000, H);
    w.sample(1500, 0);
    w.histogram(2000, { ...H, integer: false, count: 8.5, zeroCount: 1.5 });
    w.endSeries();
    w.result();
    w.result();
    w.beginSeries(Labels.fromStrings("__name__", "x"));
    w.endSeries();
    const body = await snappyInSlices(w.finish(), async () => {});
    const results = decodeReadResponse(body);
    assert.equal(results.length, 3);
    const [up, rpc] = results[0];
    assert.deepEqual(up.labels, { __name__: "up", job: "a" });
    assert.equal(up.samples[0][1], 1);
    assert.ok(isStaleNaN(up.samples[1][1]), "the staleness marker keeps its bits");
    assert.deepEqual(rpc.samples, [[1500, 0]]);
    assert.deepEqual(
      rpc.histograms.map(([t, h]) => [t, h.integer, h.count, h.positiveBuckets]),
      [
        [1000, true, 8, [2, 3, 2]],
        [2000, false, 8.5, [2, 3, 2]],
      ],
    );
    assert.deepEqual(results[1], []);
    assert.deepEqual(results[2], [{ labels: { __name__: "x" }, samples: [], histograms: [] }]);
  });

  test("frames: uvarint length, big-endian CRC32C, the message with its query index", () => {
    const fw = new ChunkedFrameWriter();
    const chunks = [{ mint: 5, maxt: 9, encoding: Encoding.xor, data: Uint8Array.from([0, 0]) }];
    const a = fw.frame(Labels.fromStrings("__name__", "a"), chunks, 0);
    const b = fw.frame(Labels.fromStrings("__name__", "b"), chunks, 3);
    const frames = decodeFrames(Buffer.concat([a, b]));
    assert.deepEqual(
      frames.map((f) => [f.queryIndex, f.labels, f.chunks]),
      [
        [0, { __name__: "a" }, chunks],
        [3, { __name__: "b" }, chunks],
      ],
    );
    const broken = a.slice();
    broken[broken.length - 1] ^= 1;
    assert.throws(() => decodeFrames(broken), /fails its CRC/);
  });
});

describe("chunking a series", () => {
  test("floats: XOR chunks of 120 samples, or less near 1 KiB, decoded back exactly", () => {
    const c = new SeriesChunker();
    const want: [number, number][] = [];
    for (let i = 0; i < 250; i++) {
      const s: [number, number] = [1000 + i * 15_000, i % 7 === 0 ? STALE_NAN : i % 10];
      c.float(...s);
      want.push(s);
    }
    c.flush();
    const chunks = c.take();
    assert.deepEqual(
      chunks.map((k) => [k.encoding, k.mint, k.maxt]),
      [
        [Encoding.xor, 1000, 1000 + (SAMPLES_PER_CHUNK - 1) * 15_000],
        [Encoding.xor, 1000 + SAMPLES_PER_CHUNK * 15_000, 1000 + 239 * 15_000],
        [Encoding.xor, 1000 + 240 * 15_000, 1000 + 249 * 15_000],
      ],
    );
    const got = chunkSamples(chunks).samples;
    assert.equal(got.length, want.length);
    // Values of full entropy fill 1 KiB before 120 samples: the chunk is cut there.
    const noisy = new SeriesChunker();
    for (let i = 0; i < 250; i++) noisy.float(i * 15_000, Math.sin(i));
    noisy.flush();
    const cut = noisy.take();
    const counts = cut.map((k) => numSamples(k.data));
    assert.ok(
      cut.every((k) => k.data.length <= 1024) && counts.slice(0, -1).some((n) => n < SAMPLES_PER_CHUNK),
      String(counts),
    );
    for (let i = 0; i < want.length; i++) {
      assert.equal(got[i][0], want[i][0]);
      assert.ok(Object.is(got[i][1], want[i][1]) || (isStaleNaN(got[i][1]) && isStaleNaN(want[i][1])));
    }
  });

  test("histograms: integer and float chunks, a new chunk at a change of kind or a reset", () => {
    const c = new SeriesChunker();
    c.float(0, 1);
    c.histogram(1000, H);
    c.histogram(2000, grown(H, 1));
    c.histogram(3000, H); // a counter reset: a new chunk
    c.histogram(4000, { ...H, integer: false, count: 8.25 });
    c.float(5000, 2);
    c.flush();
    const chunks = c.take();
    assert.deepEqual(
      chunks.map((k) => [k.encoding, k.mint, k.maxt]),
      [
        [Encoding.xor, 0, 0],
        [Encoding.histogram, 1000, 2000],
        [Encoding.histogram, 3000, 3000],
        [Encoding.floatHistogram, 4000, 4000],
        [Encoding.xor, 5000, 5000],
      ],
    );
    const back = chunkSamples(chunks);
    assert.deepEqual(back.samples, [
      [0, 1],
      [5000, 2],
    ]);
    assert.deepEqual(
      back.histograms.map(([t, h]) => [t, h.count, h.positiveBuckets]),
      [
        [1000, 8, [2, 3, 2]],
        [2000, 11, [3, 4, 3]],
        [3000, 8, [2, 3, 2]],
        [4000, 8.25, [2, 3, 2]],
      ],
    );
  });
});

describe("snappy in slices", () => {
  test("one block over several slices decodes to the input", async () => {
    const input = new Uint8Array(SNAPPY_SLICE_BYTES * 2 + 12_345);
    for (let i = 0; i < input.length; i++) input[i] = (i * 31) % 251 < 40 ? i & 0xff : 7;
    let pauses = 0;
    const block = await snappyInSlices([input.subarray(0, 1000), input.subarray(1000)], async () => {
      pauses++;
    });
    assert.equal(pauses, 2);
    assert.ok(block.length < input.length);
    assert.deepEqual(new SnappyDecoder().decode(block), input);
  });
});
