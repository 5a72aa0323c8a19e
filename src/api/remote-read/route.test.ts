// Remote read over HTTP on loopback, against the embedded store: both response types carry the org's floats and
// native histograms for every matcher kind, hints narrow as Prometheus's do, only a `read` token of the org reads
// (another org's token reads nothing of it), and every bound answers its 4xx with the bound named, the server
// answering normally after each.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CounterResetHint, type Histogram } from "../../model/histogram.ts";
import { Labels } from "../../model/labels.ts";
import { EmbeddedTenantStore } from "../../storage/tenants.ts";
import { SnappyEncoder } from "../../tsdb/encoding/snappy.ts";
import { startTestServer, type TestControl, type TestServer, testControl } from "../test-support.ts";
import { REMOTE_READ_BOUNDS } from "./read.ts";
import { SAMPLES_CONTENT_TYPE, STREAMED_CONTENT_TYPE } from "./route.ts";
import {
  chunkSamples,
  decodeFrames,
  decodeReadResponse,
  encodeReadRequest,
  postRead,
  readRequestBody,
  type TestQuery,
  type TestSeries,
} from "./test-codec.ts";

const BASE = 1_700_000_000_000;
const STEP = 15_000;
/** Samples of the long series: values of full entropy, several streamed frames of chunks (over a megabyte). */
const LONG = 200_000;
/** The sample limit of the org whose stream breaks it after its first megabyte was sent. */
const CUT_AT = 150_000;

const H: Histogram = {
  integer: true,
  counterResetHint: CounterResetHint.unknown,
  schema: 3,
  zeroThreshold: 0.001,
  zeroCount: 1,
  count: 10,
  sum: 12.5,
  positiveSpans: [{ offset: 2, length: 3 }],
  negativeSpans: [],
  positiveBuckets: [2, 4, 3],
  negativeBuckets: [],
  customValues: [],
};

let control: TestControl;
let store: EmbeddedTenantStore;
let server: TestServer;
const tokens: Record<string, string> = {};

function put(org: string, labels: string[], samples: readonly (readonly [number, number | Histogram])[]): void {
  const app = store.appender(org);
  const l = Labels.fromStrings(...labels);
  for (const [t, v] of samples) {
    if (typeof v === "number") app.append(l, t, v);
    else app.appendHistogram?.(l, t, v);
  }
  app.commit();
}

function histogramAt(i: number): Histogram {
  return { ...H, count: H.count + 3 * i, sum: H.sum + i, positiveBuckets: H.positiveBuckets.map((c) => c + i) };
}

before(async () => {
  control = testControl();
  tokens.alpha = control.org("alpha", ["read"]);
  tokens.alphaWriter = control.token("alpha", ["write"]);
  tokens.beta = control.org("beta", ["read", "write"]);
  tokens.small = control.org("small", ["read"]);
  tokens.cut = control.org("cut", ["read"]);
  store = new EmbeddedTenantStore({ dataDir: control.dir, db: { autoCompact: false } });
  const limitsFor = (org: string) => {
    if (org === "small") return { maxSeries: 2, maxSamples: 1000 };
    return org === "cut" ? { maxSamples: CUT_AT } : undefined;
  };
  server = await startTestServer(control, store, { limitsFor });
  for (const job of ["api", "web", "db"]) {
    put(
      "alpha",
      ["__name__", "up", "job", job, "secret", "alpha-only"],
      [
        [BASE, 1],
        [BASE + STEP, 0],
        [BASE + 2 * STEP, 1],
      ],
    );
  }
  put(
    "alpha",
    ["__name__", "rpc_seconds", "job", "api"],
    Array.from({ length: 5 }, (_, i) => [BASE + i * STEP, histogramAt(i)] as const),
  );
  put(
    "alpha",
    ["__name__", "long", "job", "api"],
    Array.from({ length: LONG }, (_, i) => [BASE + i * 1000, Math.sin(i)] as const),
  );
  put("beta", ["__name__", "up", "job", "api", "secret", "beta-only"], [[BASE, 424242]]);
  for (let i = 0; i < 3; i++) put("small", ["__name__", "s", "i", String(i)], [[BASE, i]]);
  put(
    "cut",
    ["__name__", "long"],
    Array.from({ length: LONG }, (_, i) => [BASE + i * 1000, Math.sin(i)] as const),
  );
  put(
    "small",
    ["__name__", "dense"],
    Array.from({ length: 1500 }, (_, i) => [BASE + i, i] as const),
  );
});

after(async () => {
  await server.close();
  store.close();
  control.cleanup();
});

async function read(
  org: string,
  body: Uint8Array | string,
  opts: { token?: string | null; method?: string } = {},
): Promise<Response> {
  return postRead(server.url, org, opts.token === undefined ? tokens[org] : opts.token, body, opts.method);
}

async function samples(org: string, queries: readonly TestQuery[], token?: string | null): Promise<TestSeries[][]> {
  const r = await read(org, readRequestBody(queries), { token });
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal(r.headers.get("content-type"), SAMPLES_CONTENT_TYPE);
  assert.equal(r.headers.get("content-encoding"), "snappy");
  return decodeReadResponse(new Uint8Array(await r.arrayBuffer()));
}

async function errorOf(r: Response): Promise<{ status: number; error: string }> {
  const body = (await r.json()) as { status: string; error: string };
  assert.equal(body.status, "error");
  return { status: r.status, error: body.error };
}

async function stillAnswers(): Promise<void> {
  const [r] = await samples("alpha", [{ start: BASE, end: BASE, matchers: [["=", "job", "web"]] }]);
  assert.equal(r.length, 1);
}

describe("SAMPLES", () => {
  test("floats and histograms for each matcher kind, series sorted, the range inclusive", async () => {
    const end = BASE + 2 * STEP;
    const [eq, neq, re, nre] = await samples("alpha", [
      { start: BASE, end, matchers: [["=", "__name__", "up"]] },
      {
        start: BASE,
        end,
        matchers: [
          ["=", "__name__", "up"],
          ["!=", "job", "api"],
        ],
      },
      { start: BASE, end: BASE + STEP, matchers: [["=~", "__name__", "rpc_.*|u"]] },
      {
        start: BASE + STEP,
        end,
        matchers: [
          ["=", "__name__", "up"],
          ["!~", "job", "a.*|w.*"],
        ],
      },
    ]);
    assert.deepEqual(
      eq.map((s) => s.labels.job),
      ["api", "db", "web"],
    );
    assert.deepEqual(eq[0].samples, [
      [BASE, 1],
      [BASE + STEP, 0],
      [BASE + 2 * STEP, 1],
    ]);
    assert.deepEqual(eq[0].labels, { __name__: "up", job: "api", secret: "alpha-only" });
    assert.deepEqual(
      neq.map((s) => s.labels.job),
      ["db", "web"],
    );
    assert.equal(re.length, 1);
    assert.deepEqual(re[0].samples, []);
    assert.deepEqual(
      re[0].histograms.map(([t, h]) => [t, h.count, h.positiveBuckets, h.schema]),
      [
        [BASE, 10, [2, 4, 3], 3],
        [BASE + STEP, 13, [3, 5, 4], 3],
      ],
    );
    assert.deepEqual(nre, [
      {
        labels: { __name__: "up", job: "db", secret: "alpha-only" },
        samples: [
          [BASE + STEP, 0],
          [BASE + 2 * STEP, 1],
        ],
        histograms: [],
      },
    ]);
  });

  test("hints narrow the range; the `series` function gives labels without samples", async () => {
    const end = BASE + 2 * STEP;
    const m = [
      ["=", "__name__", "up"],
      ["=", "job", "api"],
    ] as const;
    const [narrowed, labelsOnly, unset] = await samples("alpha", [
      { start: BASE, end, matchers: m, hints: { start: BASE + STEP, end: end + 60_000, func: "rate", step: 15 } },
      { start: BASE, end, matchers: m, hints: { start: BASE, end, func: "series" } },
      { start: BASE, end: BASE, matchers: m, hints: { start: 0, end: 0 } },
    ]);
    assert.deepEqual(narrowed[0].samples, [
      [BASE + STEP, 0],
      [BASE + 2 * STEP, 1],
    ]);
    assert.deepEqual(labelsOnly, [
      { labels: { __name__: "up", job: "api", secret: "alpha-only" }, samples: [], histograms: [] },
    ]);
    assert.deepEqual(unset[0].samples, [[BASE, 1]]);
  });
});

describe("STREAMED_XOR_CHUNKS", () => {
  test("frames of one series each, chunks in Prometheus's encodings, the same samples as SAMPLES", async () => {
    const queries: TestQuery[] = [
      { start: BASE, end: BASE + LONG * 1000, matchers: [["=~", "__name__", "long|rpc_seconds"]] },
      {
        start: BASE,
        end: BASE + STEP,
        matchers: [
          ["=", "__name__", "up"],
          ["=", "job", "web"],
        ],
      },
    ];
    const r = await read("alpha", readRequestBody(queries, [1, 0]));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), STREAMED_CONTENT_TYPE);
    const frames = decodeFrames(new Uint8Array(await r.arrayBuffer()));
    const longFrames = frames.filter((f) => f.labels.__name__ === "long");
    assert.ok(longFrames.length >= 2, `the long series spans several frames (${longFrames.length})`);
    for (const f of frames) {
      // A frame may pass the bound by one chunk, as Prometheus's do.
      assert.ok(f.bytes <= REMOTE_READ_BOUNDS.maxBytesInFrame + 2048, `frame of ${f.bytes} bytes`);
    }
    assert.deepEqual(
      frames.map((f) => [f.queryIndex, f.labels.__name__]).filter(([, n]) => n !== "long"),
      [
        [0, "rpc_seconds"],
        [1, "up"],
      ],
    );
    const long = chunkSamples(longFrames.flatMap((f) => f.chunks));
    assert.equal(long.samples.length, LONG);
    assert.deepEqual(long.samples[LONG - 1], [BASE + (LONG - 1) * 1000, Math.sin(LONG - 1)]);
    const rpc = frames.find((f) => f.labels.__name__ === "rpc_seconds");
    assert.ok(rpc !== undefined);
    assert.ok(rpc.chunks.every((c) => c.encoding === 2));
    assert.deepEqual(
      chunkSamples(rpc.chunks).histograms.map(([t, h]) => [t, h.count]),
      [0, 1, 2, 3, 4].map((i) => [BASE + i * STEP, 10 + 3 * i]),
    );
    const [[viaSamples]] = await samples("alpha", [queries[1]]);
    assert.deepEqual(chunkSamples(frames.at(-1)?.chunks ?? []).samples, viaSamples.samples);
  });
});

describe("STREAMED_XOR_CHUNKS hints", () => {
  test("the `series` function changes nothing: chunks are sent, as Prometheus's chunk querier sends them", async () => {
    const q: TestQuery = {
      start: BASE,
      end: BASE + 2 * STEP,
      matchers: [
        ["=", "__name__", "up"],
        ["=", "job", "db"],
      ],
      hints: { start: BASE, end: BASE + 2 * STEP, func: "series" },
    };
    const r = await read("alpha", readRequestBody([q], [1]));
    const frames = decodeFrames(new Uint8Array(await r.arrayBuffer()));
    assert.deepEqual(chunkSamples(frames.flatMap((f) => f.chunks)).samples, [
      [BASE, 1],
      [BASE + STEP, 0],
      [BASE + 2 * STEP, 1],
    ]);
  });
});

describe("authorization and isolation", () => {
  test("no token 401; another org's token, or a write-only one, 403; GET 405", async () => {
    const body = readRequestBody([{ start: BASE, end: BASE, matchers: [["=~", "__name__", ".+"]] }]);
    assert.equal((await read("beta", body, { token: null })).status, 401);
    assert.equal((await read("beta", body, { token: tokens.alpha })).status, 403);
    assert.equal((await read("alpha", body, { token: tokens.alphaWriter })).status, 403);
    assert.equal((await read("no-such-org", body, { token: tokens.alpha })).status, 403);
    const get = await read("alpha", body, { method: "GET" });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
  });

  test("an org's token on its own path reads only its own series, whatever the matchers", async () => {
    for (const accepted of [[0], [1]]) {
      const everything: TestQuery = { start: 0, end: BASE * 2, matchers: [["=~", "__name__", ".+"]] };
      const beta: TestQuery = { start: 0, end: BASE * 2, matchers: [["=~", "secret", "beta.*"]] };
      const r = await read("alpha", readRequestBody([everything, beta], accepted));
      assert.equal(r.status, 200);
      const body = new Uint8Array(await r.arrayBuffer());
      const series: Pick<TestSeries, "labels" | "samples">[] =
        accepted[0] === 0
          ? decodeReadResponse(body).flat()
          : decodeFrames(body).map((f) => ({ labels: f.labels, samples: chunkSamples(f.chunks).samples }));
      assert.ok(series.some((x) => x.labels.secret === "alpha-only"));
      for (const x of series) {
        assert.notEqual(x.labels.secret, "beta-only");
        assert.ok(x.samples.every(([, v]) => v !== 424242));
      }
    }
  });
});

describe("bounds", () => {
  test("series and samples over the org's limits: 422 naming the limit", async () => {
    const series = await read(
      "small",
      readRequestBody([{ start: BASE, end: BASE, matchers: [["=", "__name__", "s"]] }]),
    );
    assert.deepEqual(await errorOf(series), {
      status: 422,
      error: "the result has more than 2 series, the limit of this org (max_series); narrow the selectors or use limit",
    });
    for (const accepted of [[0], [1]]) {
      const dense = await read(
        "small",
        readRequestBody([{ start: BASE, end: BASE + 5000, matchers: [["=", "__name__", "dense"]] }], accepted),
      );
      const e = await errorOf(dense);
      assert.equal(e.status, 422);
      assert.match(e.error, /more than 1000 samples, the limit of this org \(max_samples\)/);
    }
    await stillAnswers();
  });

  test("a stream that breaks a bound after its first frame was sent is cut off, never ended as if complete", async () => {
    const q: TestQuery = { start: BASE, end: BASE + LONG * 1000, matchers: [["=", "__name__", "long"]] };
    const samplesAnswer = await errorOf(await read("cut", readRequestBody([q])));
    assert.equal(samplesAnswer.status, 422);
    const streamed = await read("cut", readRequestBody([q], [1]));
    assert.equal(streamed.status, 200, "the stream had begun");
    await assert.rejects(streamed.arrayBuffer(), "the client sees a broken stream");
    await stillAnswers();
  });

  test("hostile requests: each refused with its 4xx, the server answering after each", async () => {
    const q: TestQuery = { start: 0, end: 1, matchers: [["=", "a", "b"]] };
    const big = new Uint8Array(REMOTE_READ_BOUNDS.maxRequestBytes + 10);
    const cases: [string, Uint8Array | string, number, RegExp][] = [
      ["not snappy", "hello", 400, /not valid snappy|not snappy-compressed/],
      ["empty", new Uint8Array(0), 400, /not snappy-compressed/],
      ["not protobuf", new SnappyEncoder().encodeCopy(Uint8Array.from([0x0a, 0x09, 0x08])), 400, /invalid protobuf/],
      ["too large once decompressed", new SnappyEncoder().encodeCopy(big), 413, /decompresses to \d+ bytes, over/],
      ["a body over the compressed limit", new Uint8Array(2 * REMOTE_READ_BOUNDS.maxRequestBytes), 413, /exceeds/],
      ["too many queries", readRequestBody(Array(17).fill(q)), 413, /more than 16 queries, the limit/],
      ["too many matchers", readRequestBody([{ ...q, matchers: Array(65).fill(["=", "a", "b"]) }]), 413, /matchers/],
      ["a bad regex", readRequestBody([{ ...q, matchers: [["=~", "a", "(("]] }]), 400, /./],
      ["no served response type", readRequestBody([q], [2, 3]), 400, /does not support any of the requested/],
      [
        "a snappy header of 2^32 bytes",
        Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x10, 0x00]),
        400,
        /not snappy-compressed|decoded length too large/,
      ],
      ["a truncated request", new SnappyEncoder().encodeCopy(encodeReadRequest([q]).subarray(0, 5)), 400, /./],
    ];
    for (const [name, body, status, error] of cases) {
      const e = await errorOf(await read("alpha", body));
      assert.equal(e.status, status, `${name}: ${e.error}`);
      assert.match(e.error, error, name);
      await stillAnswers();
    }
  });
});
