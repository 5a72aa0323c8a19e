// The ingest decode pool on the server's `/metrics`: workers, what the pool holds, refusals when it is full, workers
// lost by reason, and where bodies were decompressed, each moving with the remote writes that cause them; no label
// names an org.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Labels } from "../model/labels.ts";
import { encodeWriteRequestV1 } from "../storage/remote/codec-v1-encode.ts";
import { MetadataStore } from "../storage/remote/metadata.ts";
import { SnappyEncoder } from "../tsdb/encoding/snappy.ts";
import type { RemoteWriteRoute } from "./remote-write.ts";
import {
  MemoryTenants,
  startTestServer,
  type TestControl,
  type TestServer,
  testControl,
  withRemoteWrite,
} from "./test-support.ts";

const TEST_WORKER = new URL("../storage/remote/decode-test-worker.ts", import.meta.url);
/** Bodies the test worker never answers, and that make it crash (decode-test-worker.ts): 3 bytes each. */
const STUCK = Uint8Array.of(0xde, 0xad, 2);
const CRASH = Uint8Array.of(0xde, 0xad, 1);
/** Bodies under this many bytes are decompressed in place: the empty request (1 byte), and no other body here. */
const IN_PLACE_BELOW_BYTES = 2;
const STUCK_MS = 1000;

let control: TestControl;
let server: TestServer;
let token: string;
let route: RemoteWriteRoute | null = null;

before(async () => {
  control = testControl();
  token = control.org("acme", ["write"]);
  const tenants = new MemoryTenants();
  const setup = withRemoteWrite(control, {
    tenants,
    metadata: new MetadataStore(),
    decodePool: { workers: 1, maxPendingJobs: 1, stuckMs: STUCK_MS, workerScript: TEST_WORKER },
    inlineBelowBytes: IN_PLACE_BELOW_BYTES,
  });
  server = await startTestServer(control, tenants, { extraMetrics: () => route?.families() ?? [] }, async (app) => {
    route = await setup(app);
  });
});

after(async () => {
  await server.close();
  control.cleanup();
});

function body(series: number): Uint8Array {
  const list = [];
  for (let i = 0; i < series; i++) {
    list.push({
      labels: Labels.fromStrings("__name__", "up", "instance", `host-${i}`),
      samples: [{ t: Date.now(), v: i }],
    });
  }
  return new SnappyEncoder().encodeCopy(encodeWriteRequestV1({ series: list }));
}

async function write(b: Uint8Array): Promise<number> {
  const r = await fetch(`${server.url}/prometheus/acme/api/v1/write`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/x-protobuf",
      "content-encoding": "snappy",
    },
    body: b,
  });
  await r.arrayBuffer();
  return r.status;
}

/** The samples of `/metrics` whose names start with contrail_ingest_decode_, by name and labels as written. */
async function decodeMetrics(): Promise<Map<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const found = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(contrail_ingest_decode_\S*?(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m !== null) found.set(m[1], Number(m[2]));
  }
  return found;
}

test("before any write: the pool's size, no worker started, nothing counted", async () => {
  const m = await decodeMetrics();
  assert.equal(m.get("contrail_ingest_decode_workers_max"), 1);
  assert.equal(m.get("contrail_ingest_decode_workers"), 0);
  assert.equal(m.get('contrail_ingest_decode_requests_total{where="worker"}'), 0);
  assert.equal(m.get('contrail_ingest_decode_requests_total{where="in_place"}'), 0);
  assert.equal(m.get('contrail_ingest_decode_worker_restarts_total{reason="stuck"}'), 0);
  for (const key of m.keys()) assert.doesNotMatch(key, /org/, "no label names an org");
});

test("a write through the pool and one in place move their counts; nothing is held after", async () => {
  assert.equal(await write(body(50)), 204);
  assert.equal(await write(body(0)), 204);
  const m = await decodeMetrics();
  assert.equal(m.get('contrail_ingest_decode_requests_total{where="worker"}'), 1);
  assert.equal(m.get('contrail_ingest_decode_requests_total{where="in_place"}'), 1);
  assert.equal(m.get("contrail_ingest_decode_workers"), 1);
  assert.equal(m.get("contrail_ingest_decode_pending_requests"), 0);
  assert.equal(m.get("contrail_ingest_decode_pending_bytes"), 0);
});

test("a held request shows as held; a full pool refuses; stuck and crashed workers are counted", async () => {
  const held = write(STUCK.slice());
  let m = await decodeMetrics();
  for (let i = 0; m.get("contrail_ingest_decode_pending_requests") !== 1 && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 20));
    m = await decodeMetrics();
  }
  assert.equal(m.get("contrail_ingest_decode_pending_requests"), 1);
  assert.equal(m.get("contrail_ingest_decode_pending_bytes"), STUCK.length);
  assert.equal(await write(body(50)), 503, "the pool holds as many requests as it may");
  assert.equal(await held, 503, "the stuck worker's request fails");
  assert.equal(await write(CRASH.slice()), 503, "the crashed worker's request fails");
  m = await decodeMetrics();
  assert.equal(m.get("contrail_ingest_decode_rejected_total"), 1);
  assert.equal(m.get('contrail_ingest_decode_worker_restarts_total{reason="stuck"}'), 1);
  assert.equal(m.get('contrail_ingest_decode_worker_restarts_total{reason="crashed"}'), 1);
  assert.equal(m.get("contrail_ingest_decode_pending_requests"), 0);
  assert.equal(await write(body(50)), 204, "the next write gets a new worker");
  m = await decodeMetrics();
  assert.equal(m.get('contrail_ingest_decode_requests_total{where="worker"}'), 2);
});
