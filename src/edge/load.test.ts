import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import type { Socket } from "node:net";
import { after, before, test } from "node:test";
import { Registry } from "../exposition/registry.ts";
import { type Edge, startEdge } from "./edge.ts";
import type { AppRoute } from "./routes.ts";
import { appRoute, instanceRoute, startUpstream, sumOf, type TestUpstream, until } from "./testkit.ts";

const TOTAL = 5000;
const WORKERS = 8; // client connections, half per edge region
const STATUSES = [200, 200, 200, 404, 500] as const;

const registry = new Registry();
const routes = new Map<string, AppRoute>();
const upstreams: TestUpstream[] = [];
let edge: Edge;

before(async () => {
  for (let i = 0; i < 3; i++) {
    upstreams.push(
      await startUpstream((req, res) => {
        let size = 0;
        req.on("data", (d: Buffer) => {
          size += d.length;
        });
        req.on("end", () => {
          const status = Number(req.url?.split("/")[2] ?? 200);
          const body = `status ${status} for ${req.method} with ${size} bytes\n`.repeat(1 + (status % 7));
          res.writeHead(status, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) });
          res.end(body);
        });
      }),
    );
  }
  routes.set(
    "shop",
    appRoute([
      instanceRoute("a1", "ord", upstreams[0].address),
      instanceRoute("a2", "ord", upstreams[1].address),
      instanceRoute("b1", "ams", upstreams[2].address),
    ]),
  );
  edge = await startEdge({
    listeners: [
      { region: "ord", host: "a1b2", address: "127.0.0.1:0" },
      { region: "ams", host: "c3d4", address: "127.0.0.1:0" },
    ],
    routes,
    registry,
  });
});

after(async () => {
  await edge.close();
  await Promise.all(upstreams.map((u) => u.close()));
});

test(`${TOTAL} mixed requests through two regions: every counter matches what was sent`, async () => {
  const sockets = new Set<Socket>();
  const sent = new Map<string, number>(); // `${region}/${status}` → count
  const ports = edge.listeners.map((l) => Number(l.address.split(":")[1]));
  const regions = edge.listeners.map((l) => l.region);
  const body = Buffer.alloc(1024, "x");

  const worker = async (w: number): Promise<void> => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const port = ports[w % 2];
    const region = regions[w % 2];
    for (let i = w; i < TOTAL; i += WORKERS) {
      const status = STATUSES[i % STATUSES.length];
      const post = i % 7 === 0;
      await new Promise<void>((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port,
            agent,
            method: post ? "POST" : "GET",
            path: `/s/${status}/${i}`,
            headers: { host: "shop.localhost", ...(post ? { "content-length": body.length } : {}) },
          },
          (res) => {
            assert.equal(res.statusCode, status);
            res.resume();
            res.on("end", resolve);
          },
        );
        req.on("socket", (s: Socket) => sockets.add(s));
        req.on("error", reject);
        req.end(post ? body : undefined);
      });
      const key = `${region}/${status}`;
      sent.set(key, (sent.get(key) ?? 0) + 1);
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  await until(() => sumOf(registry, "fly_edge_tcp_disconnects_count", { app: "shop" }) === sockets.size);

  assert.equal(sockets.size, WORKERS, "one keep-alive connection per worker");
  for (const region of regions) {
    for (const status of new Set(STATUSES)) {
      const want = sent.get(`${region}/${status}`) ?? 0;
      const labels = { app: "shop", region, status: String(status) };
      assert.equal(sumOf(registry, "fly_edge_http_responses_count", labels), want, `edge ${region} ${status}`);
      assert.equal(sumOf(registry, "fly_edge_http_response_time_seconds_count", labels), want);
      assert.equal(
        sumOf(registry, "fly_edge_http_response_time_seconds_bucket", { ...labels, le: "+Inf" }),
        want,
        "the +Inf bucket holds every observation",
      );
    }
  }
  for (const status of new Set(STATUSES)) {
    const want = (sent.get(`ord/${status}`) ?? 0) + (sent.get(`ams/${status}`) ?? 0);
    const labels = { app: "shop", status: String(status) };
    assert.equal(sumOf(registry, "fly_app_http_responses_count", labels), want, `app ${status}`);
    assert.equal(sumOf(registry, "fly_app_http_response_time_seconds_count", labels), want);
  }
  assert.equal(sumOf(registry, "fly_edge_http_responses_count"), TOTAL);
  assert.equal(sumOf(registry, "fly_edge_tcp_connects_count", { app: "shop" }), WORKERS);
  for (const region of regions) {
    assert.equal(sumOf(registry, "fly_edge_tcp_connects_count", { app: "shop", region }), WORKERS / 2);
  }
  assert.equal(sumOf(registry, "fly_app_concurrency"), 0);

  // Client bytes: what the clients wrote is what the edge read, and the other way round.
  let clientWrote = 0;
  let clientRead = 0;
  for (const s of sockets) {
    clientWrote += s.bytesWritten;
    clientRead += s.bytesRead;
  }
  assert.equal(sumOf(registry, "fly_edge_data_in", { app: "shop" }), clientWrote);
  assert.equal(sumOf(registry, "fly_edge_data_out", { app: "shop" }), clientRead);
  assert.equal(sumOf(registry, "fly_edge_data_in", { app: "" }), 0);

  // Instance bytes: what the proxy says it sent and received is what each upstream read and wrote.
  const ids = ["a1", "a2", "b1"].map((id) => id.padStart(14, "0"));
  for (let i = 0; i < ids.length; i++) {
    const up = upstreams[i].bytes();
    assert.deepEqual(edge.proxiedBytes(ids[i]), { sent: up.read, recv: up.written }, ids[i]);
    assert.ok(up.read > 0, `instance ${ids[i]} got traffic`);
  }
  // Same-region preference: the ord edge used only ord instances while they had room.
  const amsFromOrd = sumOf(registry, "fly_app_http_responses_count", { instance: ids[2] });
  assert.equal(amsFromOrd, TOTAL / 2, "the ams instance served exactly the ams edge's requests");
});
