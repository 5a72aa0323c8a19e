// The remote-write route under hostile requests, over HTTP on loopback against the embedded store: truncated and
// malformed protobuf, wrong wire types, varint overflows, snappy bombs and lying snappy headers, huge counts,
// invalid labels, impossible timestamps, bodies of the other protocol version, foreign encodings. Each must be
// answered with its 4xx in the API's envelope within a generous liveness bound, after which the server still
// answers `1+1` and every sample accepted before is still there.

import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import { OrgLimitsCache, updateOrgLimits } from "../control/index.ts";
import { CounterResetHint, type Histogram } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import { encodeWriteRequestV1 } from "../storage/remote/codec-v1-encode.ts";
import { encodeRequestV2 } from "../storage/remote/codec-v2.ts";
import { MetadataStore } from "../storage/remote/metadata.ts";
import { ProtoWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "../storage/remote/protobuf.ts";
import { DEFAULT_RECEIVE_LIMITS, maxCompressedBytes } from "../storage/remote/receive.ts";
import type { WriteRequestData } from "../storage/remote/types.ts";
import { EmbeddedTenantStore } from "../storage/tenants.ts";
import { SnappyEncoder } from "../tsdb/encoding/snappy.ts";
import { startTestServer, type TestControl, type TestServer, testControl, withRemoteWrite } from "./test-support.ts";

/** A liveness bound, not a speed assertion: a refusal that takes longer means the request was not bounded. */
const LIVENESS_MS = 5000;
// Whole seconds, so query answers carry it exactly.
const NOW = Math.floor(Date.now() / 1000) * 1000;
const V1 = { "content-type": "application/x-protobuf", "content-encoding": "snappy" };
const V2 = {
  "content-type": "application/x-protobuf;proto=io.prometheus.write.v2.Request",
  "content-encoding": "snappy",
};
const snappy = new SnappyEncoder();
const CANARY: WriteRequestData = {
  series: [
    {
      labels: Labels.fromStrings("__name__", "canary", "job", "hostile"),
      samples: [30_000, 20_000, 10_000].map((ago, i) => ({ t: NOW - ago, v: i + 1 })),
    },
  ],
};

let control: TestControl;
let store: EmbeddedTenantStore;
let server: TestServer;
let base: string;
let token: string;
let otherToken: string;

before(async () => {
  control = testControl();
  token = control.org("acme", ["read", "write"]);
  otherToken = control.org("other", ["read", "write"]);
  store = new EmbeddedTenantStore({ dataDir: control.dir, db: { autoCompact: false } });
  const limits = new OrgLimitsCache(control.db);
  const limitsFor = (org: string) => limits.limitsOf(org);
  const setup = withRemoteWrite(control, { tenants: store, metadata: new MetadataStore(), limitsFor });
  server = await startTestServer(control, store, { limitsFor }, setup);
  base = `${server.url}/prometheus`;
  assert.equal((await write(snappy.encodeCopy(encodeWriteRequestV1(CANARY)), V1)).status, 204);
});

after(async () => {
  await server.close();
  store.close();
  control.cleanup();
});

async function write(
  body: Uint8Array | ReadableStream<Uint8Array>,
  headers: Record<string, string>,
  org = "acme",
): Promise<{ status: number; text: string; ms: number }> {
  const t0 = performance.now();
  const r = await fetch(`${base}/${org}/api/v1/write`, {
    method: "POST",
    headers: { ...headers, authorization: `Bearer ${org === "acme" ? token : otherToken}` },
    body,
    duplex: "half",
  } as RequestInit);
  const text = await r.text();
  return { status: r.status, text, ms: performance.now() - t0 };
}

async function query(q: string, org = "acme"): Promise<unknown> {
  const r = await fetch(`${base}/${org}/api/v1/query?query=${encodeURIComponent(q)}&time=${NOW / 1000}`, {
    headers: { authorization: `Bearer ${org === "acme" ? token : otherToken}` },
  });
  assert.equal(r.status, 200, await r.clone().text());
  const body = (await r.json()) as { data: { result: unknown } };
  return body.data.result;
}

/** The server answers `1+1`, and the canary's three samples are all still there. */
async function assertAlive(): Promise<void> {
  assert.deepEqual(await query("1+1"), [NOW / 1000, "2"]);
  const canary = (await query("count_over_time(canary[1m])")) as { value: [number, string] }[];
  assert.equal(canary[0]?.value[1], "3");
}

function v1(req: WriteRequestData): Uint8Array {
  return snappy.encodeCopy(encodeWriteRequestV1(req));
}

/** A 1.0 request of one series with raw labels (any order, any bytes) and raw samples. */
function rawSeries(labels: readonly (readonly [string | Uint8Array, string | Uint8Array])[], sample: Uint8Array) {
  const w = new ProtoWriter();
  const ts = w.begin(1);
  for (const [n, v] of labels) {
    const m = w.begin(1);
    w.tag(1, WIRE_LEN);
    if (typeof n === "string") w.string(n);
    else w.bytes(n);
    w.tag(2, WIRE_LEN);
    if (typeof v === "string") w.string(v);
    else w.bytes(v);
    w.end(m);
  }
  w.tag(2, WIRE_LEN);
  w.bytes(sample);
  w.end(ts);
  return snappy.encodeCopy(w.finish());
}

/** A Sample message: value as a double, timestamp with the given wire type and raw bytes. */
function sample(v: number, t: number, timestampAs: "varint" | "double" = "varint"): Uint8Array {
  const w = new ProtoWriter();
  w.tag(1, WIRE_FIXED64);
  w.double(v);
  if (timestampAs === "varint") {
    w.tag(2, WIRE_VARINT);
    w.int64(t);
  } else {
    w.tag(2, WIRE_FIXED64);
    w.double(t);
  }
  return w.finish().slice();
}

const GOOD = sample(1, NOW - 5000);
const NAME = ["__name__", "hostile"] as const;

/** Deterministic pseudo-random bytes. */
function noise(n: number, seed = 7): Uint8Array {
  let s = seed;
  return new Uint8Array(n).map(() => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  });
}

/** A snappy block whose header declares `declared` bytes, followed by `rest`. */
function snappyHeader(declared: number, rest: readonly number[] = []): Uint8Array {
  const out: number[] = [];
  let v = declared;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return new Uint8Array([...out, ...rest]);
}

function manyLabels(n: number): Uint8Array {
  const w = new ProtoWriter(1 << 20);
  const ts = w.begin(1);
  const label = (name: string, value: string) => {
    const m = w.begin(1);
    w.tag(1, WIRE_LEN);
    w.string(name);
    w.tag(2, WIRE_LEN);
    w.string(value);
    w.end(m);
  };
  label("__name__", "wide");
  for (let i = 0; i < n; i++) label(`l${String(i).padStart(7, "0")}`, "v");
  w.tag(2, WIRE_LEN);
  w.bytes(GOOD);
  w.end(ts);
  return snappy.encodeCopy(w.finish());
}

function manySeries(n: number): Uint8Array {
  const series = Array.from({ length: n }, (_, i) => ({
    labels: Labels.fromStrings("__name__", "many", "i", String(i)),
    samples: [{ t: NOW - 5000, v: i }],
  }));
  return snappy.encodeCopy(encodeWriteRequestV1({ series }, new ProtoWriter(1 << 22)));
}

function manySamples(n: number): Uint8Array {
  const samples = Array.from({ length: n }, (_, i) => ({ t: NOW - 3_600_000 + i, v: i }));
  return v1({ series: [{ labels: Labels.fromStrings(...NAME), samples }] });
}

function v2Raw(symbols: readonly string[], refs: readonly number[]): Uint8Array {
  const w = new ProtoWriter(1 << 20);
  for (const s of symbols) {
    w.tag(4, WIRE_LEN);
    w.string(s);
  }
  const ts = w.begin(5);
  const m = w.begin(1);
  for (const r of refs) w.uint32(r);
  w.end(m);
  w.tag(2, WIRE_LEN);
  w.bytes(GOOD);
  w.end(ts);
  return snappy.encodeCopy(w.finish());
}

const MAX_BODY = maxCompressedBytes(DEFAULT_RECEIVE_LIMITS);

/** `b` with its first byte replaced (a one-byte snappy header made to lie). */
function withFirstByte(b: Uint8Array, first: number): Uint8Array {
  const out = b.slice();
  out[0] = first;
  return out;
}

const valid = encodeWriteRequestV1({ series: [{ labels: Labels.fromStrings(...NAME), samples: [{ t: NOW, v: 1 }] }] });

/** name, body, headers (over 1.0's), expected status, expected message. */
type Case = readonly [string, () => Uint8Array, Record<string, string>, number, RegExp];

const PROTOBUF: readonly Case[] = [
  ["truncated protobuf", () => snappy.encodeCopy(valid.subarray(0, valid.length - 3)), {}, 400, /runs past the end/],
  ["timeseries as a varint", () => snappy.encodeCopy(new Uint8Array([0x08, 0x01])), {}, 400, /wire type 0/],
  [
    "varint longer than 10 bytes",
    () => snappy.encodeCopy(new Uint8Array([0x0a, ...new Array(10).fill(0xff), 0x01])),
    {},
    400,
    /varint longer than 10 bytes/,
  ],
  ["length past the end", () => snappy.encodeCopy(new Uint8Array([0x0a, 0x7f, 0x01])), {}, 400, /runs past the end/],
  ["a group wire type", () => snappy.encodeCopy(new Uint8Array([0x3b])), {}, 400, /unsupported wire type 3/],
  ["timeseries as a group", () => snappy.encodeCopy(new Uint8Array([0x0b])), {}, 400, /timeseries has wire type 3/],
  ["field number 0", () => snappy.encodeCopy(new Uint8Array([0x02, 0x00])), {}, 400, /field number 0/],
  [
    "nested garbage inside a series",
    () => {
      const w = new ProtoWriter();
      w.tag(1, WIRE_LEN);
      w.bytes(noise(4096));
      return snappy.encodeCopy(w.finish());
    },
    {},
    400,
    /invalid protobuf/,
  ],
  [
    "a sample value as a varint",
    () => rawSeries([NAME], new Uint8Array([0x08, 0x01])),
    {},
    400,
    /Sample field 1 has wire type 0/,
  ],
  ["a NaN timestamp (a double)", () => rawSeries([NAME], sample(1, Number.NaN, "double")), {}, 400, /Sample field 2/],
  [
    "an infinite timestamp (a double)",
    () => rawSeries([NAME], sample(1, Number.POSITIVE_INFINITY, "double")),
    {},
    400,
    /Sample field 2 has wire type 1/,
  ],
  ["the largest int64 timestamp", () => rawSeries([NAME], sample(1, 2 ** 63 - 1)), {}, 400, /too far in the future/],
  ["the smallest int64 timestamp", () => rawSeries([NAME], sample(1, -(2 ** 63))), {}, 400, /rejected/],
];

const LABELS: readonly Case[] = [
  [
    "invalid UTF-8 in a label value",
    () => rawSeries([NAME, ["job", new Uint8Array([0x61, 0xff, 0xfe])]], GOOD),
    {},
    400,
    /label value "a\\xff\\xfe" is not valid UTF-8/,
  ],
  [
    "invalid UTF-8 in a label name",
    () => rawSeries([NAME, [new Uint8Array([0xc0, 0xaf]), "x"]], GOOD),
    {},
    400,
    /label name .* is not valid UTF-8/,
  ],
  ["duplicate labels", () => rawSeries([NAME, ["a", "1"], ["a", "2"]], GOOD), {}, 400, /duplicate label name "a"/],
  ["unsorted labels", () => rawSeries([NAME, ["b", "1"], ["a", "2"]], GOOD), {}, 400, /not sorted: "b" before "a"/],
  ["an empty label name", () => rawSeries([NAME, ["", "x"]], GOOD), {}, 400, /empty label name/],
  ["no metric name", () => rawSeries([["job", "x"]], GOOD), {}, 400, /no metric name/],
  [
    "a million labels",
    () => manyLabels(1_000_000),
    {},
    400,
    /1000001 labels, more than the limit of 30 \(max_label_names_per_series\)/,
  ],
  [
    "a 16 MB label value",
    () => rawSeries([NAME, ["blob", "x".repeat(16 * 1024 * 1024)]], GOOD),
    {},
    400,
    /the value of label "blob" is 16777216 bytes long, more than the limit of 2048 \(max_label_value_length\)/,
  ],
  [
    "a 2,000-byte label name",
    () => rawSeries([NAME, ["n".repeat(2000), "x"]], GOOD),
    {},
    400,
    /is 2000 bytes long, more than the limit of 1024 \(max_label_name_length\)/,
  ],
];

const SIZES: readonly Case[] = [
  ["100,000 series", () => manySeries(100_000), {}, 413, /more than 10000 series.*max_series_per_write/],
  ["100,000 samples", () => manySamples(100_000), {}, 413, /more than 50000 samples.*max_samples_per_write/],
  [
    "an 8 MB snappy body expanding to 160 MB",
    () => snappy.encodeCopy(new Uint8Array(160 * 1024 * 1024)),
    {},
    413,
    /decompressed body of 167772160 bytes .* limit of 33554432 \(max_write_bytes\)/,
  ],
  ["a header declaring 1 GiB in 5 bytes", () => snappyHeader(2 ** 30, [0]), {}, 413, /1073741824 bytes/],
  ["a header declaring 1 MiB in 13 bytes", () => snappyHeader(2 ** 20, new Array(10).fill(0)), {}, 400, /cannot hold/],
  ["a header declaring less than follows", () => withFirstByte(snappy.encodeCopy(valid), 4), {}, 400, /invalid snappy/],
  ["a header declaring more than follows", () => snappyHeader(40, [0x04, 1, 2]), {}, 400, /invalid snappy/],
  ["random bytes", () => noise(5000, 3), {}, 400, /invalid snappy|invalid protobuf/],
  [
    "the snappy framing format",
    () => new Uint8Array([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]),
    {},
    400,
    /invalid snappy/,
  ],
  ["an empty body", () => new Uint8Array(0), {}, 400, /truncated length header/],
  [
    "1,000,000 2.0 symbols",
    () => v2Raw(["", ...Array.from({ length: 1_000_000 }, (_, i) => `s${i}`)], [1, 2]),
    V2,
    413,
    /more than 760001 symbols/,
  ],
  [
    "a compressed body over the limit",
    () => noise(40 * 1024 * 1024, 5),
    {},
    413,
    new RegExp(`request body of 41943040 bytes exceeds ${MAX_BODY} bytes`),
  ],
];

/** A 1.0 request of one series carrying one native histogram `h` at NOW. */
function histogramRequest(h: Partial<Histogram>): Uint8Array {
  const base: Histogram = {
    integer: true,
    counterResetHint: CounterResetHint.unknown,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    count: 1,
    sum: 1,
    positiveSpans: [{ offset: 0, length: 1 }],
    negativeSpans: [],
    positiveBuckets: [1],
    negativeBuckets: [],
    customValues: [],
  };
  return v1({
    series: [{ labels: Labels.fromStrings(...NAME), samples: [], histograms: [{ t: NOW, h: { ...base, ...h } }] }],
  });
}

/** A 1.0 request of one series whose histogram message is the raw bytes `histogram`. */
function rawHistogram(histogram: readonly number[]): Uint8Array {
  const w = new ProtoWriter();
  const ts = w.begin(1);
  const l = w.begin(1);
  w.tag(1, WIRE_LEN);
  w.string(NAME[0]);
  w.tag(2, WIRE_LEN);
  w.string(NAME[1]);
  w.end(l);
  w.tag(4, WIRE_LEN);
  w.bytes(new Uint8Array(histogram));
  w.end(ts);
  return snappy.encodeCopy(w.finish());
}

const MILLION = 1_000_000;

const HISTOGRAMS: readonly Case[] = [
  [
    "spans naming four billion buckets",
    () => histogramRequest({ positiveSpans: [{ offset: 0, length: 0xffff_ffff }] }),
    {},
    400,
    /series \{__name__="hostile"\}: invalid native histogram: positive side: the spans name 4294967295 buckets but 1/,
  ],
  ["schema 100", () => histogramRequest({ schema: 100 }), {}, 400, /schema 100 is out of range/],
  [
    "a million buckets and a count of 1",
    () =>
      histogramRequest({
        positiveSpans: [{ offset: 0, length: MILLION }],
        positiveBuckets: new Array(MILLION).fill(1),
      }),
    {},
    400,
    /1000000 observations are in the buckets but the count is 1/,
  ],
  [
    "custom bounds decreasing",
    () => histogramRequest({ schema: -53, customValues: [2, 1] }),
    {},
    400,
    /custom bounds must increase strictly/,
  ],
  [
    "packed deltas cut inside a varint",
    () => rawHistogram([(12 << 3) | WIRE_LEN, 3, 0x80, 0x80, 0x80]),
    {},
    400,
    /invalid protobuf: truncated varint/,
  ],
  [
    "a count of the wrong wire type",
    () => rawHistogram([(1 << 3) | WIRE_LEN, 0]),
    {},
    400,
    /Histogram.count_int has wire type 2/,
  ],
];

const TYPES: readonly Case[] = [
  ["a 1.0 body under the 2.0 type", () => v1(CANARY), V2, 400, /looks like a Remote-Write 1.0 prometheus.WriteRequest/],
  [
    "a 2.0 body under the 1.0 type",
    () => snappy.encodeCopy(encodeRequestV2(CANARY)),
    {},
    400,
    /looks like a Remote-Write 2.0 io.prometheus.write.v2.Request/,
  ],
  ["2.0 symbols[0] not empty", () => v2Raw(["__name__", "x"], [0, 1]), V2, 400, /symbols\[0\] must be the empty/],
  ["2.0 label refs out of range", () => v2Raw(["", "__name__", "x"], [1, 9]), V2, 400, /label ref 9 out of range/],
  ["2.0 odd label refs", () => v2Raw(["", "__name__", "x"], [1, 2, 1]), V2, 400, /odd number of label refs/],
  ["a JSON body", () => new TextEncoder().encode('{"series":[]}'), {}, 400, /invalid snappy/],
  ["gzip", () => v1(CANARY), { "content-encoding": "gzip" }, 415, /Content-Encoding gzip/],
  ["zstd", () => v1(CANARY), { "content-encoding": "zstd" }, 415, /Content-Encoding zstd/],
  ["no encoding", () => v1(CANARY), { "content-encoding": "" }, 415, /no Content-Encoding/],
  ["text/plain", () => v1(CANARY), { "content-type": "text/plain" }, 415, /unsupported Content-Type/],
  [
    "an unknown proto",
    () => v1(CANARY),
    { "content-type": "application/x-protobuf;proto=io.prometheus.write.v3.Request" },
    415,
    /unsupported proto/,
  ],
  [
    "multipart",
    () => new TextEncoder().encode("--x\r\n\r\nhello\r\n--x--\r\n"),
    { "content-type": "multipart/form-data; boundary=x" },
    415,
    /unsupported Content-Type/,
  ],
];

for (const [group, cases] of [
  ["protobuf", PROTOBUF],
  ["labels", LABELS],
  ["sizes", SIZES],
  ["native histograms", HISTOGRAMS],
  ["types and encodings", TYPES],
] as const) {
  describe(`hostile remote writes: ${group}`, () => {
    for (const [name, body, headers, status, re] of cases) {
      test(`${status}: ${name}`, async () => {
        const r = await write(body(), { ...V1, ...headers });
        assert.equal(r.status, status, r.text);
        assert.ok(r.ms < LIVENESS_MS, `answered after ${Math.round(r.ms)} ms`);
        const env = JSON.parse(r.text) as { status: string; error: string };
        assert.equal(env.status, "error");
        assert.match(env.error, re);
        assert.ok(env.error.length < 2000, `a message of ${env.error.length} characters`);
        await assertAlive();
      });
    }
  });
}

/** What a client streaming a chunked body saw: the answer when it could read one, else the error that cut it. */
interface StreamOutcome {
  /** The complete answer, or null when the connection broke before the client could read it all. */
  readonly answer: { readonly status: number; readonly text: string } | null;
  /** The error code of the broken connection (EPIPE, ECONNRESET), or null. */
  readonly error: string | null;
  /** Body bytes handed to the socket before the answer or the error. */
  readonly written: number;
}

/**
 * Streams `count` copies of `chunk` as a chunked remote-write body, with backpressure, and stops writing at the
 * answer. A server that answers early and closes may make the client's next write fail (EPIPE, or ECONNRESET when
 * its RST comes first) before the client has read the answer: both outcomes are allowed by HTTP.
 */
function streamWrite(chunk: Uint8Array, count: number): Promise<StreamOutcome> {
  return new Promise((resolve) => {
    let written = 0;
    let answer: StreamOutcome["answer"] = null;
    let error: string | null = null;
    let answered = false;
    const req = request(`${base}/acme/api/v1/write`, {
      method: "POST",
      headers: { ...V1, authorization: `Bearer ${token}` },
      agent: false,
    });
    const pump = () => {
      while (!answered && written < count * chunk.length) {
        written += chunk.length;
        if (!req.write(chunk)) {
          req.once("drain", pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    req.on("response", (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => {
        answer = { status: res.statusCode ?? 0, text: Buffer.concat(parts).toString() };
        req.destroy();
      });
      res.on("error", () => {});
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      error ??= err.code ?? err.message;
    });
    req.on("close", () => resolve({ answer, error, written }));
    pump();
  });
}

/**
 * Body bytes that may be in flight when the server stops reading: the client's send buffer and the server's
 * receive buffer (Linux grows a loopback one up to 32 MiB), generously. Far below the 200 MiB offered.
 */
const IN_FLIGHT_SLACK_BYTES = 64 * 1024 * 1024;

describe("hostile remote writes: streamed bodies", () => {
  test("413: a chunked body is cut off as soon as it passes the compressed limit", async () => {
    const chunk = noise(1024 * 1024, 9);
    // Far more than the limit if nobody stops it.
    const count = 200;
    const r = await streamWrite(chunk, count);
    if (r.answer !== null) {
      assert.equal(r.answer.status, 413, r.answer.text);
      assert.match(r.answer.text, new RegExp(`request body exceeds ${MAX_BODY} bytes`));
    } else {
      assert.ok(r.error === "EPIPE" || r.error === "ECONNRESET", `the upload ended with ${r.error}`);
    }
    // The server stopped reading near the limit: the client could not push the whole body into the connection.
    assert.ok(
      r.written <= MAX_BODY + IN_FLIGHT_SLACK_BYTES,
      `${r.written} bytes written against a limit of ${MAX_BODY}, of ${count * chunk.length} offered`,
    );
    await assertAlive();
  });
});

describe("per-org limits", () => {
  const wide = Labels.fromStrings("__name__", "wide", ...Array.from({ length: 40 }, (_, i) => [`l${i}`, "v"]).flat());
  const body = () => v1({ series: [{ labels: wide, samples: [{ t: NOW - 1000, v: 1 }] }] });

  test("an org's override applies at its next request; other orgs keep the defaults", async () => {
    assert.equal((await write(body(), V1)).status, 400);
    assert.equal((await write(body(), V1, "other")).status, 400);
    updateOrgLimits(control.db, "other", { set: { max_label_names_per_series: 50 } });
    assert.equal((await write(body(), V1, "other")).status, 204);
    const refused = await write(body(), V1);
    assert.equal(refused.status, 400);
    assert.match(refused.text, /41 labels, more than the limit of 30/);
    updateOrgLimits(control.db, "other", { set: { max_series_per_write: 1 } });
    const two = v1({ series: [...CANARY.series, { labels: wide, samples: [{ t: NOW, v: 2 }] }] });
    const r = await write(two, V1, "other");
    assert.equal(r.status, 413);
    assert.match(r.text, /more than 1 series, the limit \(max_series_per_write\)/);
    updateOrgLimits(control.db, "other", { unset: ["max_series_per_write", "max_label_names_per_series"] });
    assert.equal((await write(body(), V1, "other")).status, 400);
    await assertAlive();
  });

  test("over the org's ingestion rate: 429 with Retry-After, nothing written, other orgs unaffected", async () => {
    updateOrgLimits(control.db, "other", { set: { ingestion_rate: 1, ingestion_burst_size: 2 } });
    try {
      const three = v1({
        series: [
          {
            labels: Labels.fromStrings("__name__", "rated"),
            samples: [3000, 2000, 1000].map((ago, i) => ({ t: NOW - ago, v: i })),
          },
        ],
      });
      assert.equal((await write(three, V1, "other")).status, 204, "a full bucket admits a request over the burst");
      const r = await fetch(`${base}/other/api/v1/write`, {
        method: "POST",
        headers: { ...V1, authorization: `Bearer ${otherToken}` },
        body: v1({ series: [{ labels: Labels.fromStrings("__name__", "rated"), samples: [{ t: NOW, v: 9 }] }] }),
      });
      assert.equal(r.status, 429);
      assert.ok(Number(r.headers.get("retry-after")) >= 1);
      const env = (await r.json()) as { errorType: string; error: string };
      assert.equal(env.errorType, "unavailable");
      assert.match(
        env.error,
        /ingestion rate limit exceeded: the org may send 1 samples per second \(ingestion_rate\)/,
      );
      const rated = (await query("count_over_time(rated[1m])", "other")) as { value: [number, string] }[];
      assert.equal(rated[0]?.value[1], "3", "the refused sample was not written");
      assert.equal((await write(three, V1)).status, 204, "acme keeps its own bucket");
    } finally {
      updateOrgLimits(control.db, "other", { unset: ["ingestion_rate", "ingestion_burst_size"] });
    }
    await assertAlive();
  });

  test("the query limits of the same table apply per org", async () => {
    updateOrgLimits(control.db, "other", { set: { max_query_length: 1024 } });
    const long = `vector(1)${" + vector(1)".repeat(100)}`;
    const r = await fetch(`${base}/other/api/v1/query?query=${encodeURIComponent(long)}`, {
      headers: { authorization: `Bearer ${otherToken}` },
    });
    assert.equal(r.status, 400);
    assert.match(await r.text(), /more than the limit of 1024 \(max_query_length\)/);
    assert.deepEqual(await query(long), [{ metric: {}, value: [NOW / 1000, "101"] }]);
    updateOrgLimits(control.db, "other", { unset: ["max_query_length"] });
  });
});
