// The receiver end to end below HTTP: content types and encodings, gzip within the size limits, the OTLP/HTTP
// outcomes (200 with partial_success, 400, 413, 415, 429, 5xx) and their bodies in the request's encoding, the
// future-timestamp bound, metadata, and that a refused request writes nothing.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { ContrailError } from "../../model/errors.ts";
import type { Histogram } from "../../model/histogram.ts";
import { newMatcher } from "../../model/matcher.ts";
import type { Appender } from "../interface.ts";
import { MemoryStore } from "../memory.ts";
import { MetadataStore } from "../remote/metadata.ts";
import { ProtoReader } from "../remote/protobuf.ts";
import { QUEUE_FULL_RETRY_AFTER_MS } from "../remote/queue/queue.ts";
import { QueueAppender } from "../remote/queue-appender.ts";
import type { ExportRequest } from "./model.ts";
import { type OtlpOutcome, type OtlpReceiveOptions, receiveOtlp } from "./receive.ts";
import { exportResponse, statusBody } from "./response.ts";
import { encodeExportRequest, gauge } from "./testkit.ts";

const NOW = 1_700_000_000_000;
const PROTO = { "content-type": "application/x-protobuf" };
const JSON_TYPE = { "content-type": "application/json" };

function jsonSum(value: string, temporality = 2): Buffer {
  return Buffer.from(
    JSON.stringify({
      resourceMetrics: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "svc" } }] },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: "jobs.done",
                  description: "jobs finished",
                  sum: {
                    aggregationTemporality: temporality,
                    isMonotonic: true,
                    dataPoints: [{ timeUnixNano: `${NOW}000000`, asInt: value }],
                  },
                },
              ],
            },
          ],
        },
      ],
    }),
  );
}

function expHistogramRequest(): ExportRequest {
  return {
    resources: [
      {
        attributes: [["service.name", "svc"]],
        scopes: [
          {
            metrics: [
              ...gauge("g", 1, NOW).resources[0].scopes[0].metrics,
              {
                name: "size",
                description: "",
                unit: "By",
                data: {
                  kind: "exponentialHistogram",
                  temporality: 2,
                  points: [
                    {
                      attributes: [],
                      startMs: 0,
                      timeMs: NOW,
                      flags: 0,
                      exemplars: 0,
                      count: 1,
                      sum: 3,
                      scale: 0,
                      zeroCount: 0,
                      zeroThreshold: 0,
                      positive: { offset: 1, counts: [1] },
                      negative: { offset: 0, counts: [] },
                    },
                  ],
                },
              },
            ],
          },
        ],
      },
    ],
  };
}

interface Run {
  readonly outcome: OtlpOutcome;
  readonly store: MemoryStore;
  readonly opened: number;
}

function run(
  body: Uint8Array,
  headers: Record<string, string>,
  opts: Partial<OtlpReceiveOptions> = {},
  store = new MemoryStore(),
): Run {
  let opened = 0;
  const outcome = receiveOtlp(
    body,
    headers,
    () => {
      opened++;
      return store.appender();
    },
    { org: "acme", now: () => NOW, ...opts },
  );
  return { outcome, store, opened };
}

function values(store: MemoryStore, name: string): number[] {
  const q = store.querier(0, Number.MAX_SAFE_INTEGER);
  const out: number[] = [];
  for (const s of q.select([newMatcher("=", "__name__", name)], { start: 0, end: Number.MAX_SAFE_INTEGER })) {
    const it = s.iterator();
    while (it.next() === "float") out.push(it.atV());
  }
  return out;
}

function refusedWith(o: OtlpOutcome, status: number, pattern: RegExp): void {
  assert.equal(o.kind, "refused", JSON.stringify(o));
  assert.ok(o.kind === "refused");
  assert.equal(o.status, status, o.message);
  assert.match(o.message, pattern);
}

describe("accepted", () => {
  test("protobuf: 200, the samples written, an empty response", () => {
    const r = run(encodeExportRequest(gauge("temp", 21.5, NOW)), PROTO);
    assert.equal(r.outcome.status, 200);
    assert.ok(r.outcome.kind === "accepted");
    assert.deepEqual(r.outcome.stats, { points: 1, rejected: 0, samplesWritten: 1, exemplarsDropped: 0 });
    assert.deepEqual(values(r.store, "temp"), [21.5]);
    assert.equal(exportResponse("protobuf", 0, "").length, 0);
    assert.equal(Buffer.from(exportResponse("json", 0, "")).toString(), "{}");
  });

  test("JSON with gzip: the cumulative sum is stored as a counter with its value; metadata kept", () => {
    const metadata = new MetadataStore();
    const r = run(gzipSync(jsonSum("1234")), { ...JSON_TYPE, "content-encoding": "gzip" }, { metadata });
    assert.equal(r.outcome.status, 200, r.outcome.kind === "refused" ? r.outcome.message : "");
    assert.deepEqual(values(r.store, "jobs_done_total"), [1234]);
    assert.deepEqual(metadata.get("acme", "jobs_done_total"), { type: "counter", help: "jobs finished", unit: "" });
  });

  test("partial success: refused points counted and explained, the rest written, encoded in both formats", () => {
    const r = run(jsonSum("5", 1), JSON_TYPE);
    assert.ok(r.outcome.kind === "accepted");
    assert.equal(r.outcome.stats.rejected, 1);
    assert.match(
      r.outcome.message,
      /1 of 1 data points rejected; first: metric "jobs\.done": delta aggregation temporality/,
    );
    assert.equal(r.opened, 0, "a request writing nothing does not open the storage");
    const body = JSON.parse(Buffer.from(exportResponse("json", 1, "why")).toString());
    assert.deepEqual(body, { partialSuccess: { rejectedDataPoints: "1", errorMessage: "why" } });
    // Protobuf: field 1 (partial_success) holding field 1 = 1 and field 2 = "why".
    const rd = new ProtoReader(exportResponse("protobuf", 1, "why"));
    assert.equal(rd.tag(), (1 << 3) | 2);
    rd.lengthDelimited();
    assert.equal(rd.tag(), (1 << 3) | 0);
    assert.equal(rd.int64(), 1);
    assert.equal(rd.tag(), (2 << 3) | 2);
    const end = rd.lengthDelimited();
    assert.equal(Buffer.from(rd.buf.subarray(rd.pos, end)).toString(), "why");
  });

  test("samples too far in the future are refused per point; the others written", () => {
    const req = gauge("temp", 1, NOW + 11 * 60_000);
    const both: ExportRequest = { resources: [...req.resources, ...gauge("ok", 2, NOW).resources] };
    const r = run(encodeExportRequest(both), PROTO);
    assert.ok(r.outcome.kind === "accepted");
    assert.equal(r.outcome.stats.rejected, 1);
    assert.match(r.outcome.message, /1 samples too far in the future/);
    assert.deepEqual(values(r.store, "ok"), [2]);
    assert.deepEqual(values(r.store, "temp"), []);
  });

  test("an exponential histogram on a store without histograms: refused naming the series, the rest written", () => {
    const req = expHistogramRequest();
    const store = new MemoryStore();
    const plain = (): Appender => {
      const a = store.appender();
      return {
        append: a.append.bind(a),
        appendRef: a.appendRef.bind(a),
        commit: a.commit.bind(a),
        rollback: a.rollback.bind(a),
      };
    };
    const outcome = receiveOtlp(encodeExportRequest(req), PROTO, plain, { org: "acme", now: () => NOW });
    assert.ok(outcome.kind === "accepted");
    assert.equal(outcome.stats.rejected, 1);
    assert.match(
      outcome.message,
      /series \{__name__="size_bytes", job="svc"\}: this org's store keeps no native histograms yet/,
    );
    assert.deepEqual(values(store, "g"), [1]);
  });
});

test("a store that keeps histograms is handed the native histogram through appendHistogram", () => {
  const store = new MemoryStore();
  const got: [string, number, Histogram][] = [];
  const withHistograms = (): Appender => {
    const a = store.appender();
    return {
      append: a.append.bind(a),
      appendRef: a.appendRef.bind(a),
      appendHistogram: (labels, t, h) => {
        got.push([labels.toString(), t, h]);
        // The float side of the same appender stands in for the series' ref.
        return a.append(labels, t, h.count);
      },
      commit: a.commit.bind(a),
      rollback: a.rollback.bind(a),
    };
  };
  const outcome = receiveOtlp(encodeExportRequest(expHistogramRequest()), PROTO, withHistograms, {
    org: "acme",
    now: () => NOW,
  });
  assert.ok(outcome.kind === "accepted" && outcome.stats.rejected === 0, JSON.stringify(outcome));
  assert.equal(outcome.stats.samplesWritten, 2);
  assert.equal(got.length, 1);
  const [labels, t, h] = got[0];
  assert.equal(labels, '{__name__="size_bytes", job="svc"}');
  assert.equal(t, NOW);
  assert.deepEqual(
    { schema: h.schema, count: h.count, sum: h.sum, spans: h.positiveSpans, buckets: h.positiveBuckets },
    { schema: 0, count: 1, sum: 3, spans: [{ offset: 2, length: 1 }], buckets: [1] },
  );
});

describe("refused", () => {
  test("415: an unknown Content-Type (answered in JSON) or Content-Encoding", () => {
    const a = run(Buffer.from("x"), { "content-type": "text/plain" });
    refusedWith(
      a.outcome,
      415,
      /unsupported Content-Type "text\/plain": expected application\/x-protobuf or application\/json/,
    );
    assert.equal(a.outcome.format, "json");
    refusedWith(run(Buffer.from("x"), { ...PROTO, "content-encoding": "br" }).outcome, 415, /Content-Encoding "br"/);
  });

  test("400: malformed protobuf, JSON or gzip; nothing written", () => {
    for (const [body, headers] of [
      [Buffer.from([0x0a, 0x05, 0x01]), PROTO],
      [Buffer.from("{not json"), JSON_TYPE],
      [Buffer.from("not gzip"), { ...PROTO, "content-encoding": "gzip" }],
    ] as const) {
      const r = run(body, headers);
      refusedWith(r.outcome, 400, /invalid/);
      assert.equal(r.opened, 0);
    }
  });

  test("413: a body over max_write_bytes, raw or once decompressed (a gzip bomb stops at the limit)", () => {
    const limits = { maxWriteBytes: 64 * 1024 };
    refusedWith(
      run(Buffer.alloc(70 * 1024, 0x20), JSON_TYPE, { limits }).outcome,
      413,
      /exceeds the limit of 65536 bytes \(max_write_bytes\)/,
    );
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
    assert.ok(bomb.length < 64 * 1024);
    refusedWith(
      run(bomb, { ...JSON_TYPE, "content-encoding": "gzip" }, { limits }).outcome,
      413,
      /decompressed body exceeds the limit of 65536/,
    );
    const big = Buffer.alloc(200 * 1024, 1);
    refusedWith(run(big, PROTO, { limits }).outcome, 413, /body of 204800 bytes exceeds/);
  });

  test("413: more data points than max_samples_per_write", () => {
    refusedWith(
      run(jsonSum("1"), JSON_TYPE, { limits: { maxSamplesPerWrite: 0 } }).outcome,
      413,
      /more than 0 data points/,
    );
  });

  test("429: over the org's ingestion rate, nothing written, the wait given", () => {
    const r = run(encodeExportRequest(gauge("temp", 1, NOW)), PROTO, { admit: (n) => (n === 1 ? 2500 : 0) });
    refusedWith(r.outcome, 429, /ingestion rate limit exceeded.*retry in 3 s/);
    assert.ok(r.outcome.kind === "refused" && r.outcome.retryAfterMs === 2500);
    assert.deepEqual(values(r.store, "temp"), []);
  });

  test("429 when the org's remote-storage queue is full: nothing kept, the queue's wait given", () => {
    const full = () =>
      new QueueAppender({
        orgLabel: null,
        sink: () => {
          throw new ContrailError("rate_limited", 'remote-write queue of org "acme" is full');
        },
      });
    const r = receiveOtlp(encodeExportRequest(gauge("t", 1, NOW)), PROTO, full, { org: "acme", now: () => NOW });
    refusedWith(r, 429, /queue of org "acme" is full/);
    assert.ok(r.kind === "refused" && r.retryAfterMs === QUEUE_FULL_RETRY_AFTER_MS);
  });

  test("503 when the storage is unavailable, 500 when it fails; the Status body in the request's encoding", () => {
    const failing = (code: "unavailable" | "internal") => () => {
      throw new ContrailError(code, "disk gone");
    };
    const a = receiveOtlp(encodeExportRequest(gauge("t", 1, NOW)), PROTO, failing("unavailable"), {
      org: "acme",
      now: () => NOW,
    });
    refusedWith(a, 503, /disk gone/);
    const b = receiveOtlp(encodeExportRequest(gauge("t", 1, NOW)), JSON_TYPE, failing("internal"), {
      org: "acme",
      now: () => NOW,
    });
    refusedWith(b, 400, /invalid OTLP JSON/);
    const c = receiveOtlp(jsonSum("1"), JSON_TYPE, failing("internal"), { org: "acme", now: () => NOW });
    refusedWith(c, 500, /storage failure: disk gone/);
    assert.deepEqual(JSON.parse(Buffer.from(statusBody("json", 14, "m")).toString()), { code: 14, message: "m" });
    const rd = new ProtoReader(statusBody("protobuf", 14, "m"));
    assert.equal(rd.tag(), 1 << 3);
    assert.equal(rd.uint32(), 14);
  });
});
