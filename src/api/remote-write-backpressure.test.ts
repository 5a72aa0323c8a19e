// Back-pressure of the remote-write route over remote storage: when the org's disk queue is full (its backend down
// long enough), requests are refused 429 with Retry-After and nothing of them is queued; the rest of the API is
// untouched, and writes are taken again once the queue drains.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { authenticate } from "../control/index.ts";
import { Labels } from "../model/labels.ts";
import { BackendTenantStore } from "../storage/remote/backend-store.ts";
import { encodeWriteRequestV1 } from "../storage/remote/codec-v1-encode.ts";
import { MetadataStore } from "../storage/remote/metadata.ts";
import { QUEUE_FULL_RETRY_AFTER_MS } from "../storage/remote/queue/queue.ts";
import { SnappyEncoder } from "../tsdb/encoding/snappy.ts";
import { checkAccess } from "./auth.ts";
import { registerRemoteWrite } from "./remote-write.ts";
import { type TestControl, testControl } from "./test-support.ts";

const snappy = new SnappyEncoder();
let control: TestControl;
let token: string;
let dir: string;
let store: BackendTenantStore;
let app: FastifyInstance;
let url: string;
/** The storage backend: answers 503 while `down`, 204 after. */
let backend: Server;
let down = true;

before(async () => {
  control = testControl();
  token = control.org("acme", ["write"]);
  dir = mkdtempSync(join(tmpdir(), "contrail-rw-backpressure-"));
  backend = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(down ? 503 : 204).end());
  });
  await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
  store = new BackendTenantStore({
    spec: { kind: "mimir", url: `http://127.0.0.1:${(backend.address() as AddressInfo).port}` },
    dataDir: dir,
    queueMaxBytes: 1024,
    sender: { batchWaitMs: 1, minBackoffMs: 5, maxBackoffMs: 20 },
    warn: () => {},
  });
  app = Fastify({ logger: false });
  await registerRemoteWrite(app, {
    authorize: (request, org, scope) =>
      checkAccess((t) => authenticate(control.db, t), { header: request.headers.authorization, org, scope }),
    tenants: store,
    metadata: new MetadataStore(),
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/prometheus/acme/api/v1/write`;
});

after(async () => {
  await app.close();
  await store.close();
  await new Promise<void>((resolve) => backend.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
  control.cleanup();
});

function pending(): number {
  return store.families().find((f) => f.name === "contrail_remote_storage_queue_pending_samples")!.samples[0].value;
}

async function write(i: number): Promise<Response> {
  const series = [];
  for (let k = 0; k < 5; k++) {
    series.push({ labels: Labels.fromStrings("__name__", "m", "k", String(k)), samples: [{ t: 1000 + i, v: i }] });
  }
  return fetch(url, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/x-protobuf",
      "content-encoding": "snappy",
    },
    body: snappy.encodeCopy(encodeWriteRequestV1({ series })),
  });
}

test("a full queue answers 429 with Retry-After, queues nothing of the request, and takes writes once drained", async () => {
  const accepted: number[] = [];
  let refused: Response | null = null;
  for (let i = 0; i < 50 && refused === null; i++) {
    const r = await write(i);
    if (r.status === 204) accepted.push(i);
    else refused = r;
  }
  assert.ok(refused !== null, "the queue filled up");
  assert.ok(accepted.length > 0);
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("retry-after"), String(QUEUE_FULL_RETRY_AFTER_MS / 1000));
  const body = (await refused.json()) as { status: string; error: string };
  assert.equal(body.status, "error");
  assert.match(body.error, /remote-write queue of org "acme" is full/);
  assert.equal(pending(), accepted.length * 5, "only the accepted requests' samples are queued");

  down = false;
  const deadline = Date.now() + 5_000;
  while (pending() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(pending(), 0, "the queue drained within 5 s once the backend was back");
  assert.equal((await write(99)).status, 204);
});
