// The remote-write route over HTTP: authorization by scope, raw bodies of any content type, every status, the 2.0
// headers, and living beside the rest of the API in one server.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { authenticate } from "../control/index.ts";
import { Labels } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import { encodeWriteRequestV1 } from "../storage/remote/codec-v1-encode.ts";
import { encodeRequestV2 } from "../storage/remote/codec-v2.ts";
import { MetadataStore } from "../storage/remote/metadata.ts";
import { ProtoWriter, WIRE_LEN } from "../storage/remote/protobuf.ts";
import type { WriteOutcome } from "../storage/remote/receive.ts";
import type { WriteRequestData } from "../storage/remote/types.ts";
import { SnappyEncoder } from "../tsdb/encoding/snappy.ts";
import { checkAccess } from "./auth.ts";
import { registerRemoteWrite } from "./remote-write.ts";
import { createApiServer } from "./server.ts";
import { MemoryTenants, type TestControl, testControl } from "./test-support.ts";

const NOW = 1_700_000_000_000;
const V1 = { "content-type": "application/x-protobuf", "content-encoding": "snappy" };
const V2 = {
  "content-type": "application/x-protobuf;proto=io.prometheus.write.v2.Request",
  "content-encoding": "snappy",
};
const snappy = new SnappyEncoder();

function v1(req: WriteRequestData): Uint8Array {
  return snappy.encodeCopy(encodeWriteRequestV1(req));
}

function up(t: number, v = 1, job = "node"): WriteRequestData {
  return { series: [{ labels: Labels.fromStrings("__name__", "up", "job", job), samples: [{ t, v }] }] };
}

let control: TestControl;
let tenants: MemoryTenants;
let metadata: MetadataStore;
let app: FastifyInstance;
let url: string;
const tokens: Record<string, string> = {};
const outcomes: WriteOutcome[] = [];

before(async () => {
  control = testControl();
  tokens.write = control.org("acme", ["write"]);
  tokens.read = control.token("acme", ["read"]);
  tokens.both = control.token("acme", ["read", "write"]);
  tokens.other = control.org("other", ["write"]);
  tenants = new MemoryTenants();
  metadata = new MetadataStore();
  app = Fastify({ logger: false });
  await registerRemoteWrite(app, {
    authorize: (request, org, scope) =>
      checkAccess((t) => authenticate(control.db, t), { header: request.headers.authorization, org, scope }),
    tenants,
    metadata,
    limits: { maxWriteBytes: 64 * 1024 },
    now: () => NOW,
    onWrite: (_org, o) => outcomes.push(o),
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  url = `http://127.0.0.1:${address.port}/prometheus/acme/api/v1/write`;
});

after(async () => {
  await app.close();
  control.cleanup();
});

async function post(
  body: Uint8Array,
  opts: { token?: string; headers?: Record<string, string>; to?: string } = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const headers: Record<string, string> = { ...V1, ...opts.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  const r = await fetch(opts.to ?? url, { method: "POST", headers, body });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

function stored(name: string): [number, number][] {
  const q = tenants.querier("acme", 0, Number.MAX_SAFE_INTEGER);
  const out: [number, number][] = [];
  for (const s of q.select([newMatcher("=", "__name__", name)], { start: 0, end: Number.MAX_SAFE_INTEGER })) {
    const it = s.iterator();
    while (it.next() !== "none") out.push([it.atT(), it.atV()]);
  }
  q.close();
  return out;
}

describe("authorization", () => {
  const table: [string, string | undefined, number][] = [
    ["no token", undefined, 401],
    ["malformed token", "not-a-token", 401],
    ["read-only token", "read", 403],
    ["write token of another org", "other", 403],
  ];
  for (const [name, key, status] of table) {
    test(`${status}: ${name}`, async () => {
      const token = key === undefined ? undefined : (tokens[key] ?? key);
      const r = await post(v1(up(NOW - 1000)), { token });
      assert.equal(r.status, status);
      assert.equal(JSON.parse(r.text).status, "error");
      assert.deepEqual(stored("up"), []);
    });
  }

  test("a refused request is answered before its body is read, however large", async () => {
    const r = await post(new Uint8Array(10 * 1024 * 1024), { token: tokens.read });
    assert.equal(r.status, 403);
  });
});

describe("writes", () => {
  test("204 with a write token; the samples are stored in the org", async () => {
    const r = await post(v1(up(NOW - 60_000)), { token: tokens.write });
    assert.equal(r.status, 204);
    assert.equal(r.text, "");
    assert.equal(r.headers.get("x-prometheus-remote-write-samples-written"), null, "1.0 answers carry no counts");
    const both = await post(v1(up(NOW - 45_000)), { token: tokens.both });
    assert.equal(both.status, 204);
    assert.deepEqual(stored("up"), [
      [NOW - 60_000, 1],
      [NOW - 45_000, 1],
    ]);
    assert.equal(outcomes.at(-1)?.kind, "written");
  });

  test("2.0: 204 with the written-count headers, metadata kept", async () => {
    const body = snappy.encodeCopy(
      encodeRequestV2({
        series: [
          {
            labels: Labels.fromStrings("__name__", "jobs_total", "queue", "a"),
            samples: [{ t: NOW - 30_000, v: 5 }],
            metadata: { type: "counter", help: "Jobs done.", unit: "" },
          },
        ],
      }),
    );
    const r = await post(body, { token: tokens.write, headers: V2 });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get("x-prometheus-remote-write-samples-written"), "1");
    assert.equal(r.headers.get("x-prometheus-remote-write-histograms-written"), "0");
    assert.equal(r.headers.get("x-prometheus-remote-write-exemplars-written"), "0");
    assert.deepEqual(metadata.get("acme", "jobs_total"), { type: "counter", help: "Jobs done.", unit: "" });
  });

  test("400 partial write: the error envelope counts what was refused; the rest is stored", async () => {
    const req: WriteRequestData = {
      series: [
        { labels: Labels.fromStrings("__name__", "up", "job", "node"), samples: [{ t: NOW - 90_000, v: 0 }] },
        { labels: Labels.fromStrings("__name__", "fresh"), samples: [{ t: NOW - 90_000, v: 3 }] },
      ],
    };
    const r = await post(v1(req), { token: tokens.write });
    assert.equal(r.status, 400);
    const body = JSON.parse(r.text);
    assert.equal(body.status, "error");
    assert.equal(body.errorType, "bad_data");
    assert.match(body.error, /partial write: 1 of 2 samples rejected, 1 written \(1 out of order\)/);
    assert.deepEqual(stored("fresh"), [[NOW - 90_000, 3]]);
  });

  const refusals: [string, () => Uint8Array, Record<string, string>, number, RegExp][] = [
    [
      "JSON body",
      () => new TextEncoder().encode('{"a":1}'),
      { "content-type": "application/json" },
      415,
      /Content-Type/,
    ],
    ["no Content-Type", () => v1(up(NOW)), { "content-type": "" }, 204, /^$/],
    ["gzip", () => v1(up(NOW)), { "content-encoding": "gzip" }, 415, /Content-Encoding gzip/],
    [
      "form body",
      () => new TextEncoder().encode("a=1"),
      { "content-type": "application/x-www-form-urlencoded" },
      415,
      /Content-Type/,
    ],
    ["not snappy", () => new Uint8Array([9, 9, 9]), {}, 400, /invalid snappy block/],
    [
      "over the compressed size limit",
      () => new Uint8Array(80 * 1024),
      {},
      413,
      /request body of 81920 bytes exceeds 76490 bytes, the compressed size allowed by the limit of 65536 decompressed bytes \(max_write_bytes\)/,
    ],
  ];
  for (const [name, body, headers, status, re] of refusals) {
    test(`${status}: ${name}`, async () => {
      const h = { ...headers };
      if (h["content-type"] === "") delete h["content-type"];
      const r = await fetch(url, {
        method: "POST",
        headers: {
          ...(headers["content-type"] === "" ? { "content-encoding": "snappy" } : V1),
          ...h,
          authorization: `Bearer ${tokens.write}`,
        },
        body: body(),
      });
      assert.equal(r.status, status);
      const text = await r.text();
      if (status === 204) return;
      assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
      const env = JSON.parse(text);
      assert.equal(env.status, "error");
      assert.match(env.error, re);
    });
  }

  test("GET is not a route", async () => {
    const r = await fetch(url, { headers: { authorization: `Bearer ${tokens.write}` } });
    assert.equal(r.status, 404);
  });
});

describe("beside the API server", () => {
  test("registered on createApiServer's app: writes and PromQL reads share the store", async () => {
    const store = new MemoryTenants();
    const { app: api } = createApiServer({ store, authenticate: (t) => authenticate(control.db, t), now: () => NOW });
    await registerRemoteWrite(api, {
      authorize: (request, org, scope) =>
        checkAccess((t) => authenticate(control.db, t), { header: request.headers.authorization, org, scope }),
      tenants: store,
      metadata: new MetadataStore(),
      now: () => NOW,
    });
    await api.listen({ host: "127.0.0.1", port: 0 });
    try {
      const address = api.server.address();
      if (address === null || typeof address === "string") throw new Error("no TCP address");
      const base = `http://127.0.0.1:${address.port}/prometheus/acme`;
      const w = await post(v1(up(NOW - 5000, 1, "api")), { token: tokens.both, to: `${base}/api/v1/write` });
      assert.equal(w.status, 204);
      const q = await fetch(`${base}/api/v1/query?query=up&time=${NOW / 1000}`, {
        headers: { authorization: `Bearer ${tokens.both}` },
      });
      const body = (await q.json()) as { status: string; data: { result: unknown[] } };
      assert.equal(body.status, "success");
      assert.deepEqual(body.data.result, [{ metric: { __name__: "up", job: "api" }, value: [NOW / 1000, "1"] }]);
      // The route's body limit (32 MiB) applies, not the server's 1 MiB: a 2 MiB body of unknown fields is fine.
      const filler = new ProtoWriter();
      filler.tag(15, WIRE_LEN);
      let seed = 1;
      filler.bytes(
        new Uint8Array(2 * 1024 * 1024).map(() => {
          seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
          return seed >>> 24;
        }),
      );
      const big = snappy.encodeCopy(filler.finish());
      assert.ok(big.length > 2 * 1024 * 1024, `${big.length} bytes`);
      const b = await post(big, { token: tokens.both, to: `${base}/api/v1/write` });
      assert.equal(b.status, 204);
      // The server's own form parsing is untouched by the route's raw-body parser.
      const form = await fetch(`${base}/api/v1/query`, {
        method: "POST",
        headers: { authorization: `Bearer ${tokens.both}`, "content-type": "application/x-www-form-urlencoded" },
        body: `query=up&time=${NOW / 1000}`,
      });
      assert.equal(form.status, 200);
    } finally {
      await api.close();
    }
  });
});
