// The receiver with its bodies decompressed (and 1.0 bodies walked) on an ingest decode worker answers exactly as
// the receiver decoding everything in place: the same outcome (status, code, message, counts) and the same stored
// series, request after request (so the series cache's hits are compared too), for plain requests and for every
// kind the walk leaves to the full decoder.

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { CounterResetHint, type Histogram } from "../../model/histogram.ts";
import { Labels } from "../../model/labels.ts";
import { newMatcher } from "../../model/matcher.ts";
import { SnappyEncoder } from "../../tsdb/encoding/snappy.ts";
import { MemoryStore } from "../memory.ts";
import { encodeWriteRequestV1, writeLabels, writeSample } from "./codec-v1-encode.ts";
import { WALK_STRIDE, walkWriteRequestV1 } from "./codec-v1-walk.ts";
import { encodeRequestV2 } from "./codec-v2.ts";
import { DecodePool } from "./decode-pool.ts";
import { MetadataStore } from "./metadata.ts";
import { ProtoWriter, WIRE_LEN, WIRE_VARINT } from "./protobuf.ts";
import {
  DEFAULT_RECEIVE_LIMITS,
  type ReceiveLimits,
  ReceiverState,
  receiveWrite,
  type WriteHeaders,
  type WriteOutcome,
} from "./receive.ts";
import { receiveWriteOffloaded } from "./receive-offload.ts";
import type { WriteRequestData, WriteSeries } from "./types.ts";

const NOW = 1_700_000_000_000;
const snappy = new SnappyEncoder();
const V1: WriteHeaders = { "content-type": "application/x-protobuf", "content-encoding": "snappy" };
const V2: WriteHeaders = {
  "content-type": "application/x-protobuf;proto=io.prometheus.write.v2.Request",
  "content-encoding": "snappy",
};

const H: Histogram = {
  integer: true,
  counterResetHint: CounterResetHint.unknown,
  customValues: [],
  schema: 0,
  zeroThreshold: 0,
  zeroCount: 0,
  count: 2,
  sum: 3,
  positiveSpans: [{ offset: 0, length: 1 }],
  positiveBuckets: [2],
  negativeSpans: [],
  negativeBuckets: [],
};

function s(labels: string[], samples: [number, number][], more: Partial<WriteSeries> = {}): WriteSeries {
  return { labels: Labels.fromStrings(...labels), samples: samples.map(([t, v]) => ({ t, v })), ...more };
}

const v1 = (req: WriteRequestData) => snappy.encodeCopy(encodeWriteRequestV1(req));

/** A 1.0 body written field by field, for messages no encoder makes. */
function raw(write: (w: ProtoWriter) => void): Uint8Array {
  const w = new ProtoWriter();
  write(w);
  return snappy.encodeCopy(w.finish());
}

/** One Label field with `name` and `value`, unchecked (so labels can come in any order). */
const label = (w: ProtoWriter, name: string, value: string) => writeLabels(w, 1, Labels.fromStrings(name, value));

/** One request of a case: body, headers and limits over the defaults. */
interface Send {
  readonly body: Uint8Array;
  readonly headers?: WriteHeaders;
  readonly limits?: Partial<ReceiveLimits>;
}

const up = ["__name__", "up", "job", "node"];
const temp = ["__name__", "temp", "room", "a"];

const CASES: Record<string, Send[]> = {
  "plain 1.0, resent (cache hits), then a new series": [
    { body: v1({ series: [s(up, [[NOW - 1000, 1]]), s(temp, [[NOW - 1000, 20]])] }) },
    { body: v1({ series: [s(up, [[NOW, 0]]), s(temp, [[NOW, 21]])] }) },
    { body: v1({ series: [s(temp, [[NOW + 1, 22]]), s(["__name__", "new"], [[NOW, 5]]), s(up, [[NOW + 1, 1]])] }) },
  ],
  "several samples per series, out of order and duplicate": [
    {
      body: v1({
        series: [
          s(up, [
            [NOW - 2000, 1],
            [NOW - 1000, 2],
          ]),
        ],
      }),
    },
    {
      body: v1({
        series: [
          s(up, [
            [NOW - 1500, 3],
            [NOW - 1000, 4],
            [NOW, 5],
          ]),
        ],
      }),
    },
  ],
  "metadata, exemplars and histograms (the full decoder)": [
    {
      body: v1({
        series: [
          s(up, [[NOW, 1]], { exemplars: [{ labels: Labels.fromStrings("trace", "x"), v: 1, t: NOW }] }),
          s(["__name__", "rpc"], [[NOW, 1]], { histograms: [{ t: NOW, h: H }] }),
        ],
        metadata: [{ name: "up", type: "gauge", help: "up or not", unit: "" }],
      }),
    },
  ],
  "invalid labels": [
    {
      body: v1({
        series: [s(["job", "x"], [[NOW, 1]]), s(["__name__", "e", "empty", ""], [[NOW, 1]]), s(up, [[NOW, 1]])],
      }),
    },
    {
      body: raw((w) => {
        const m = w.begin(1);
        label(w, "__name__", "b");
        label(w, "__name__", "a");
        writeSample(w, NOW, 1);
        w.end(m);
      }),
    },
  ],
  "over the label count limit": [
    { body: v1({ series: [s(up, [[NOW, 1]]), s(temp, [[NOW, 1]])] }), limits: { maxLabelNamesPerSeries: 1 } },
  ],
  "over the series and sample limits": [
    { body: v1({ series: [s(up, [[NOW, 1]]), s(temp, [[NOW, 1]])] }), limits: { maxSeriesPerWrite: 1 } },
    {
      body: v1({
        series: [
          s(up, [
            [NOW, 1],
            [NOW + 1, 2],
          ]),
        ],
      }),
      limits: { maxSamplesPerWrite: 1 },
    },
  ],
  "a cached series over a stricter value length limit": [
    { body: v1({ series: [s(temp, [[NOW, 1]])] }) },
    { body: v1({ series: [s(temp, [[NOW + 1, 1]])] }), limits: { maxLabelValueLength: 3 } },
  ],
  "too far in the future": [{ body: v1({ series: [s(up, [[NOW + 3_600_000, 1]])] }) }],
  "malformed protobuf after a valid series": [
    {
      body: raw((w) => {
        const m = w.begin(1);
        label(w, "__name__", "ok");
        writeSample(w, NOW, 1);
        w.end(m);
        w.tag(1, WIRE_LEN);
        w.uint32(200);
      }),
    },
    {
      body: raw((w) => {
        let m = w.begin(1);
        label(w, "__name__", "ok");
        writeSample(w, NOW + 1, 1);
        w.end(m);
        m = w.begin(1);
        const l = w.begin(1);
        w.tag(1, WIRE_VARINT);
        w.uint32(5);
        w.end(l);
        writeSample(w, NOW, 1);
        w.end(m);
      }),
    },
  ],
  "non-contiguous labels": [
    {
      body: raw((w) => {
        const m = w.begin(1);
        label(w, "__name__", "split");
        writeSample(w, NOW, 1);
        label(w, "z", "1");
        w.end(m);
      }),
    },
  ],
  "2.0 requests, and bodies of the other version": [
    { body: snappy.encodeCopy(encodeRequestV2({ series: [s(up, [[NOW, 1]]), s(temp, [[NOW, 2]])] })), headers: V2 },
    { body: snappy.encodeCopy(encodeRequestV2({ series: [s(up, [[NOW + 1, 1]])] })) },
    { body: v1({ series: [s(up, [[NOW + 2, 1]])] }), headers: V2 },
  ],
  "bad snappy, and a snappy header over the size limit": [
    { body: Uint8Array.of(0x05, 0xff, 0xff) },
    { body: v1({ series: [s(up, [[NOW, 1]])] }), limits: { maxWriteBytes: 8 } },
    { body: v1({ series: [s(up, [[NOW, 1]])] }), headers: { "content-type": "application/x-protobuf" } },
  ],
};

/** Every series in `store` with its samples, as text. */
function contents(store: MemoryStore): string[] {
  const q = store.querier(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const out: string[] = [];
  for (const series of q.select([newMatcher("=~", "__name__", ".+")], { start: 0, end: Number.MAX_SAFE_INTEGER })) {
    const it = series.iterator();
    const samples: string[] = [];
    for (let k = it.next(); k !== "none"; k = it.next()) samples.push(`${it.atT()}:${k === "float" ? it.atV() : "h"}`);
    out.push(`${series.labels.toString()} ${samples.join(" ")}`);
  }
  q.close();
  return out.sort();
}

describe("receiveWriteOffloaded: the same answers as receiveWrite", () => {
  const pool = new DecodePool({ workers: 1 });
  // Every status the cases are meant to reach, so that none of them passes by being refused early.
  const statuses = new Set<number>();
  after(() => {
    assert.deepEqual([...statuses].sort(), [204, 400, 413, 415]);
    return pool.close();
  });
  for (const [name, sends] of Object.entries(CASES)) {
    test(name, async () => {
      const inline = { store: new MemoryStore(), state: new ReceiverState(), metadata: new MetadataStore() };
      const offloaded = { store: new MemoryStore(), state: new ReceiverState(), metadata: new MetadataStore() };
      for (const send of sends) {
        const opts = (h: typeof inline) => ({
          org: "acme",
          state: h.state,
          metadata: h.metadata,
          limits: send.limits,
          now: () => NOW,
        });
        const headers = send.headers ?? V1;
        const want: WriteOutcome = receiveWrite(
          send.body.slice(),
          headers,
          () => inline.store.appender(),
          opts(inline),
        );
        const got = await receiveWriteOffloaded(send.body.slice(), headers, () => offloaded.store.appender(), {
          ...opts(offloaded),
          pool,
          inlineBelowBytes: 0,
        });
        assert.deepEqual(got, want);
        statuses.add(want.status);
      }
      assert.deepEqual(contents(offloaded.store), contents(inline.store));
      assert.deepEqual(offloaded.metadata.list("acme"), inline.metadata.list("acme"));
    });
  }
});

describe("walkWriteRequestV1", () => {
  const limits = DEFAULT_RECEIVE_LIMITS;
  const message = (req: WriteRequestData) => encodeWriteRequestV1(req).slice();

  test("a plain request: label places, counts and samples in order", () => {
    const m = message({
      series: [
        s(up, [
          [NOW, 1],
          [NOW + 1, 2],
        ]),
        s(temp, [[NOW, 3]]),
      ],
    });
    const w = walkWriteRequestV1(m, limits);
    assert.ok(w !== null);
    assert.deepEqual([...w.samples], [NOW, 1, NOW + 1, 2, NOW, 3]);
    const at = WALK_STRIDE;
    assert.equal(w.series.length, 2 * WALK_STRIDE);
    assert.deepEqual([w.series[2], w.series[3], w.series[at + 2], w.series[at + 3]], [2, 2, 2, 1]);
    assert.ok(w.series[0] < w.series[1] && w.series[1] < w.series[at]);
  });

  test("leaves everything but plain requests to the full decoder", () => {
    const withMeta = message({
      series: [s(up, [[NOW, 1]])],
      metadata: [{ name: "up", type: "gauge", help: "", unit: "" }],
    });
    assert.equal(walkWriteRequestV1(withMeta, limits), null);
    assert.equal(
      walkWriteRequestV1(message({ series: [s(up, [[NOW, 1]], { histograms: [{ t: NOW, h: H }] })] }), limits),
      null,
    );
    const two = message({ series: [s(up, [[NOW, 1]]), s(temp, [[NOW, 1]])] });
    assert.equal(walkWriteRequestV1(two, { ...limits, maxSeriesPerWrite: 1 }), null);
    assert.equal(walkWriteRequestV1(two, { ...limits, maxSamplesPerWrite: 1 }), null);
    assert.equal(walkWriteRequestV1(two, { ...limits, maxLabelNamesPerSeries: 1 }), null);
    assert.equal(walkWriteRequestV1(Uint8Array.of(0x0a, 0x50), limits), null);
    assert.notEqual(walkWriteRequestV1(two, limits), null);
  });
});
