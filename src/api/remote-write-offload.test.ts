// The remote-write route with its bodies decoded on an ingest decode worker: the answers of the in-place route
// (stored samples, refusals with their messages), a 503 with a Retry-After when the pool is full or its worker is
// stuck, and the server answering other requests all along.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { Labels } from "../model/labels.ts";
import { encodeWriteRequestV1 } from "../storage/remote/codec-v1-encode.ts";
import { MetadataStore } from "../storage/remote/metadata.ts";
import type { WriteRequestData } from "../storage/remote/types.ts";
import { SnappyEncoder } from "../tsdb/encoding/snappy.ts";
import { type RemoteWriteDeps, registerRemoteWrite } from "./remote-write.ts";
import { MemoryTenants } from "./test-support.ts";

const NOW = 1_700_000_000_000;
const V1 = { "content-type": "application/x-protobuf", "content-encoding": "snappy" };
const snappy = new SnappyEncoder();
const TEST_WORKER = new URL("../storage/remote/decode-test-worker.ts", import.meta.url);
/** A body the test worker never answers (decode-test-worker.ts). */
const STUCK = Uint8Array.of(0xde, 0xad, 2);

function request(n: number, t: number): WriteRequestData {
  const series = [];
  for (let i = 0; i < n; i++) {
    series.push({ labels: Labels.fromStrings("__name__", "up", "instance", `host-${i}`), samples: [{ t, v: i }] });
  }
  return { series };
}

const v1 = (req: WriteRequestData) => snappy.encodeCopy(encodeWriteRequestV1(req));

interface Server {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly tenants: MemoryTenants;
}

async function server(extra: Partial<RemoteWriteDeps>): Promise<Server> {
  const tenants = new MemoryTenants();
  const app = Fastify({ logger: false });
  await registerRemoteWrite(app, {
    authorize: () => ({ ok: true, auth: { tokenId: "t", orgId: "acme", scopes: ["write"] } }),
    tenants,
    metadata: new MetadataStore(),
    limits: { maxWriteBytes: 256 * 1024 },
    now: () => NOW,
    ...extra,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return { app, tenants, url: `http://127.0.0.1:${address.port}/prometheus/acme/api/v1/write` };
}

async function post(s: Server, body: Uint8Array, headers: Record<string, string> = V1) {
  const r = await fetch(s.url, { method: "POST", headers, body });
  return { status: r.status, retryAfter: r.headers.get("retry-after"), text: await r.text() };
}

function count(s: Server): number {
  const q = s.tenants.querier("acme", 0, Number.MAX_SAFE_INTEGER);
  let n = 0;
  for (const series of q.select([], { start: 0, end: Number.MAX_SAFE_INTEGER })) {
    const it = series.iterator();
    while (it.next() !== "none") n++;
  }
  q.close();
  return n;
}

describe("remote write through the ingest decode worker", () => {
  let inline: Server;
  let offloaded: Server;
  before(async () => {
    inline = await server({ decodePool: false });
    offloaded = await server({ decodePool: { workers: 1 }, inlineBelowBytes: 0 });
  });
  after(async () => {
    await inline.app.close();
    await offloaded.app.close();
  });

  test("the answers of the in-place route, for writes and refusals", async () => {
    const bodies: [Uint8Array, Record<string, string>?][] = [
      [v1(request(500, NOW - 1000))],
      [v1(request(500, NOW))],
      [v1(request(500, NOW - 500))],
      [v1(request(5000, NOW + 1000))],
      [Uint8Array.of(0x05, 0xff, 0xff)],
      [v1(request(2, NOW)), { "content-type": "text/plain", "content-encoding": "snappy" }],
    ];
    const statuses: number[] = [];
    for (const [body, headers] of bodies) {
      const want = await post(inline, body.slice(), headers);
      const got = await post(offloaded, body.slice(), headers);
      assert.deepEqual(got, want);
      statuses.push(got.status);
    }
    assert.deepEqual(statuses, [204, 204, 400, 413, 400, 415]);
    assert.equal(count(offloaded), count(inline));
    assert.equal(count(offloaded), 1000);
  });
});

describe("remote write: a busy or stuck decode pool", () => {
  let s: Server;
  before(async () => {
    s = await server({
      decodePool: { workers: 1, maxPendingJobs: 1, stuckMs: 1000, workerScript: TEST_WORKER },
      inlineBelowBytes: 0,
    });
  });
  after(() => s.app.close());

  test("503 with Retry-After when full; the stuck request fails with a 503; the next one is written", async () => {
    const stuck = post(s, STUCK);
    // Let the stuck body reach the pool before the next one is sent.
    await new Promise((r) => setTimeout(r, 100));
    const full = await post(s, v1(request(10, NOW)));
    assert.equal(full.status, 503);
    assert.equal(full.retryAfter, "1");
    assert.match(JSON.parse(full.text).error, /as many as it holds at once/);
    const held = await stuck;
    assert.equal(held.status, 503);
    assert.equal(held.retryAfter, "1");
    assert.match(JSON.parse(held.text).error, /did not finish this request within 1000 ms/);
    const next = await post(s, v1(request(10, NOW)));
    assert.equal(next.status, 204);
    assert.equal(count(s), 10);
  });
});
