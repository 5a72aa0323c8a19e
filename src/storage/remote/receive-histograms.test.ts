// Native histograms through the receiver: appended with `appendHistogram` where the store has it, refused with a
// clear reason where it has none (the rest of the request written), invalid ones refused naming their series, and
// the 2.0 written-count headers. The store that keeps histograms here wraps the in-memory store's appender and
// records what reaches `appendHistogram`; the refusal tests use the stores as they are, and switch to asserting
// stored histograms once those stores keep them (see `keepsHistograms`).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CounterResetHint, type Histogram } from "../../model/histogram.ts";
import { Labels } from "../../model/labels.ts";
import { newMatcher } from "../../model/matcher.ts";
import { SnappyEncoder } from "../../tsdb/encoding/snappy.ts";
import type { Appender, SeriesRef } from "../interface.ts";
import { MemoryStore } from "../memory.ts";
import { encodeWriteRequestV1 } from "./codec-v1-encode.ts";
import { encodeRequestV2 } from "./codec-v2.ts";
import { outcomeHeaders, receiveWrite, type WriteHeaders } from "./receive.ts";
import type { WriteProto, WriteRequestData } from "./types.ts";

const NOW = 1_700_000_000_000;
const snappy = new SnappyEncoder();

const HEADERS: Record<WriteProto, WriteHeaders> = {
  v1: { "content-type": "application/x-protobuf", "content-encoding": "snappy" },
  v2: { "content-type": "application/x-protobuf;proto=io.prometheus.write.v2.Request", "content-encoding": "snappy" },
};

const H: Histogram = {
  integer: true,
  counterResetHint: CounterResetHint.unknown,
  schema: 0,
  zeroThreshold: 0,
  zeroCount: 0,
  count: 3,
  sum: 0.5,
  positiveSpans: [{ offset: 0, length: 2 }],
  negativeSpans: [],
  positiveBuckets: [1, 2],
  negativeBuckets: [],
  customValues: [],
};

function body(proto: WriteProto, req: WriteRequestData): Uint8Array {
  return snappy.encodeCopy(proto === "v1" ? encodeWriteRequestV1(req) : encodeRequestV2(req));
}

const request = (histograms: { t: number; h: Histogram }[]): WriteRequestData => ({
  series: [
    { labels: Labels.fromStrings("__name__", "rpc_seconds"), samples: [{ t: NOW - 1000, v: 1 }], histograms },
    { labels: Labels.fromStrings("__name__", "fine"), samples: [{ t: NOW, v: 1 }] },
  ],
});

/**
 * The in-memory store's appender with `appendHistogram`: histograms are recorded with their series, which a ref
 * names whether it came from a float or a histogram append (as in a store keeping both in one series).
 */
function recordingAppender(store: MemoryStore, got: [string, number, Histogram][]): Appender {
  const app = store.appender();
  const byRef = new Map<SeriesRef, string>();
  return {
    append(l, t, v) {
      const ref = app.append(l, t, v);
      byRef.set(ref, l.toString());
      return ref;
    },
    appendRef: (r, t, v) => app.appendRef(r, t, v),
    appendHistogram(l, t, h) {
      const ref = (1000 + byRef.size) as SeriesRef;
      byRef.set(ref, l.toString());
      got.push([l.toString(), t, h]);
      return ref;
    },
    appendHistogramRef(r, t, h) {
      got.push([byRef.get(r)!, t, h]);
      return r;
    },
    commit: () => app.commit(),
    rollback: () => app.rollback(),
  };
}

function floats(store: MemoryStore, name: string): [number, number][] {
  const q = store.querier(0, Number.MAX_SAFE_INTEGER);
  const out: [number, number][] = [];
  for (const s of q.select([newMatcher("=", "__name__", name)], { start: 0, end: Number.MAX_SAFE_INTEGER })) {
    const it = s.iterator();
    while (it.next() === "float") out.push([it.atT(), it.atV()]);
  }
  q.close();
  return out;
}

/** The histogram samples of series `name` in `store`, as [t, histogram] (copies). */
function histogramsOf(store: MemoryStore, name: string): [number, Histogram][] {
  const q = store.querier(0, Number.MAX_SAFE_INTEGER);
  const out: [number, Histogram][] = [];
  for (const s of q.select([newMatcher("=", "__name__", name)], { start: 0, end: Number.MAX_SAFE_INTEGER })) {
    const it = s.iterator();
    for (let k = it.next(); k !== "none"; k = it.next()) {
      if (k === "histogram" && it.atH !== undefined) out.push([it.atT(), structuredClone(it.atH())]);
    }
  }
  q.close();
  return out;
}

/** True once the in-memory store keeps histograms itself (then the refusal tests assert storage instead). */
const keepsHistograms = new MemoryStore().appender().appendHistogram !== undefined;

describe("receiveWrite: native histograms", () => {
  for (const proto of ["v1", "v2"] as const) {
    test(`${proto}: appended with appendHistogram, counted in the written headers`, () => {
      const store = new MemoryStore();
      const got: [string, number, Histogram][] = [];
      const out = receiveWrite(
        body(
          proto,
          request([
            { t: NOW - 1000, h: H },
            { t: NOW, h: { ...H, count: 4, positiveBuckets: [2, 2] } },
          ]),
        ),
        HEADERS[proto],
        () => recordingAppender(store, got),
        { org: "acme", now: () => NOW },
      );
      assert.equal(out.status, 204, JSON.stringify(out));
      assert.equal(out.stats.histogramsWritten, 2);
      assert.equal(out.stats.samplesWritten, 2);
      assert.deepEqual(got, [
        ['{__name__="rpc_seconds"}', NOW - 1000, H],
        ['{__name__="rpc_seconds"}', NOW, { ...H, count: 4, positiveBuckets: [2, 2] }],
      ]);
      assert.deepEqual(floats(store, "rpc_seconds"), [[NOW - 1000, 1]]);
      if (proto === "v2") {
        assert.equal(outcomeHeaders(out)["x-prometheus-remote-write-histograms-written"], "2");
        assert.equal(outcomeHeaders(out)["x-prometheus-remote-write-samples-written"], "2");
      }
    });

    test(`${proto}: an invalid histogram is refused naming its series; the rest is written`, () => {
      const store = new MemoryStore();
      const got: [string, number, Histogram][] = [];
      const out = receiveWrite(
        body(
          proto,
          request([
            { t: NOW - 1000, h: { ...H, positiveSpans: [{ offset: 0, length: 3 }] } },
            { t: NOW, h: H },
          ]),
        ),
        HEADERS[proto],
        () => recordingAppender(store, got),
        { org: "acme", now: () => NOW },
      );
      assert.equal(out.status, 400);
      if (out.kind !== "partial") return assert.fail(out.kind);
      assert.equal(out.code, "bad_data");
      assert.equal(out.stats.histogramsRejected, 1);
      assert.equal(out.stats.histogramsWritten, 1);
      assert.match(
        out.message,
        /1 invalid native histograms\); first: series \{__name__="rpc_seconds"\}: invalid native histogram: positive side: the spans name 3 buckets but 2 are given/,
      );
      assert.equal(got.length, 1);
      assert.deepEqual(floats(store, "fine"), [[NOW, 1]]);
      if (proto === "v2") assert.equal(outcomeHeaders(out)["x-prometheus-remote-write-histograms-written"], "1");
    });

    test(`${proto}: a store without histograms refuses them clearly and writes the rest`, () => {
      const store = new MemoryStore();
      const out = receiveWrite(body(proto, request([{ t: NOW, h: H }])), HEADERS[proto], () => store.appender(), {
        org: "acme",
        now: () => NOW,
      });
      assert.deepEqual(floats(store, "fine"), [[NOW, 1]]);
      assert.deepEqual(floats(store, "rpc_seconds"), [[NOW - 1000, 1]]);
      if (keepsHistograms) {
        assert.equal(out.status, 204, JSON.stringify(out));
        assert.equal(out.stats.histogramsWritten, 1);
        const [[t, stored]] = histogramsOf(store, "rpc_seconds");
        assert.equal(t, NOW);
        assert.deepEqual({ ...stored, counterResetHint: H.counterResetHint }, H);
        return;
      }
      assert.equal(out.status, 400);
      if (out.kind !== "partial") return assert.fail(out.kind);
      assert.equal(out.stats.histogramsRejected, 1);
      assert.equal(out.stats.samplesWritten, 2);
      assert.match(out.message, /1 native histogram samples \(this storage keeps none\)/);
      assert.match(out.message, /series \{__name__="rpc_seconds"\}: native histogram samples cannot be stored/);
      if (proto === "v2") assert.equal(outcomeHeaders(out)["x-prometheus-remote-write-histograms-written"], "0");
    });
  }

  test("histograms count against the request's sample limit", () => {
    const out = receiveWrite(
      body(
        "v2",
        request([
          { t: NOW - 1000, h: H },
          { t: NOW, h: H },
        ]),
      ),
      HEADERS.v2,
      () => new MemoryStore().appender(),
      { org: "acme", now: () => NOW, limits: { maxSamplesPerWrite: 3 } },
    );
    assert.equal(out.status, 413);
  });

  test("a histogram too far in the future is refused like a float sample", () => {
    const got: [string, number, Histogram][] = [];
    const store = new MemoryStore();
    const out = receiveWrite(
      body("v1", request([{ t: NOW + 3_600_000, h: H }])),
      HEADERS.v1,
      () => recordingAppender(store, got),
      { org: "acme", now: () => NOW },
    );
    assert.equal(out.status, 400);
    assert.match(out.kind === "partial" ? out.message : "", /histogram sample at \d+ is too far in the future/);
    assert.equal(got.length, 0);
  });
});
