import assert from "node:assert/strict";
import { Agent } from "node:http";
import { createServer, type Server } from "node:net";
import { after, before, describe, test } from "node:test";
import { Registry } from "../exposition/registry.ts";
import { type Edge, startEdge } from "./edge.ts";
import type { AppRoute } from "./routes.ts";
import {
  answer,
  appRoute,
  instanceRoute,
  rawExchange,
  rawServer,
  samplesOf,
  send,
  startUpstream,
  sumOf,
  type TestUpstream,
  until,
} from "./testkit.ts";

/** A port nothing listens on (bound once, then closed). */
async function deadAddress(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `127.0.0.1:${port}`;
}

describe("edge: error statuses and retries", () => {
  const registry = new Registry();
  const routes = new Map<string, AppRoute>();
  const servers: Server[] = [];
  let good: TestUpstream;
  let edge: Edge;
  let port: number;

  before(async () => {
    good = await startUpstream((req, res) => {
      let size = 0;
      req.on("data", (d: Buffer) => {
        size += d.length;
      });
      req.on("end", () => res.end(`good got ${size}`));
    });
    const garbage = await rawServer((s) => s.on("data", () => s.end("NOT HTTP AT ALL\r\n\r\n")));
    const cut = await rawServer((s) =>
      s.on("data", () => s.end("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part")),
    );
    const badChunk = await rawServer((s) =>
      s.on("data", () => s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n")),
    );
    const silent = await rawServer(() => {});
    servers.push(garbage.server, cut.server, badChunk.server, silent.server);
    const dead = await deadAddress();
    routes.set("idle", appRoute([instanceRoute("i1", "ord", good.address)]));
    routes.set("down", appRoute([instanceRoute("a1", "ord", good.address, false)]));
    routes.set("garbage", appRoute([instanceRoute("b1", "ord", garbage.address)]));
    routes.set("cut", appRoute([instanceRoute("c1", "ord", cut.address)]));
    routes.set("badchunk", appRoute([instanceRoute("g1", "ord", badChunk.address)]));
    routes.set("silent", appRoute([instanceRoute("d1", "ord", silent.address)]));
    routes.set("unreachable", appRoute([instanceRoute("e1", "ord", dead), instanceRoute("e2", "ams", dead)]));
    // The dead instance is the edge region's, so it is tried first; the retry goes to the good one.
    routes.set("retry", appRoute([instanceRoute("f1", "ord", dead), instanceRoute("f2", "ams", good.address)]));
    edge = await startEdge({
      listeners: [{ region: "ord", host: "a1b2", address: "127.0.0.1:0" }],
      routes,
      registry,
      upstreamTimeoutMs: 200,
      maxHeaderBytes: 2048,
      headersTimeoutMs: 300,
      clientIdleTimeoutMs: 600,
    });
    port = Number(edge.listeners[0].address.split(":")[1]);
  });

  after(async () => {
    await edge.close();
    await good.close();
    for (const s of servers) s.close();
  });

  test("each failure gets its status and is counted under it", async () => {
    const cases: { name: string; run: () => Promise<number>; status: number; app: string }[] = [
      {
        name: "malformed request",
        run: async () => Number((await rawExchange(port, "GARBAGE\r\n\r\n")).slice(9, 12)),
        status: 400,
        app: "",
      },
      {
        name: "oversized head",
        run: async () =>
          Number(
            (
              await rawExchange(port, `GET / HTTP/1.1\r\nHost: x.localhost\r\nX-Big: ${"a".repeat(4000)}\r\n\r\n`)
            ).slice(9, 12),
          ),
        status: 431,
        app: "",
      },
      { name: "unknown app", run: async () => (await send(port, "ghost.localhost")).status, status: 404, app: "" },
      {
        name: "no healthy instance",
        run: async () => (await send(port, "down.localhost")).status,
        status: 503,
        app: "down",
      },
      {
        name: "garbage from upstream",
        run: async () => (await send(port, "garbage.localhost")).status,
        status: 502,
        app: "garbage",
      },
      {
        name: "unreachable instances",
        run: async () => (await send(port, "unreachable.localhost")).status,
        status: 502,
        app: "unreachable",
      },
      {
        name: "upstream timeout",
        run: async () => (await send(port, "silent.localhost")).status,
        status: 504,
        app: "silent",
      },
    ];
    for (const c of cases) {
      const before = sumOf(registry, "fly_edge_http_responses_count", { app: c.app, status: String(c.status) });
      assert.equal(await c.run(), c.status, c.name);
      await until(
        () => sumOf(registry, "fly_edge_http_responses_count", { app: c.app, status: String(c.status) }) === before + 1,
      );
    }
    // Nothing was created per requested host name.
    assert.equal(sumOf(registry, "fly_edge_http_responses_count", { app: "ghost" }), 0);
    assert.equal(sumOf(registry, "fly_edge_http_responses_count", { app: "x" }), 0);
  });

  test("a client that does not finish its request head gets 408; an idle one is closed", async () => {
    const t0 = Date.now();
    const slow = await rawExchange(port, "GET / HTTP/1.1\r\nHost: garbage.localhost\r\n");
    assert.match(slow, /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - t0 >= 250, `answered after ${Date.now() - t0} ms`);
    assert.equal(sumOf(registry, "fly_edge_http_responses_count", { app: "", status: "408" }), 1);
    const fresh = Date.now();
    assert.equal(await rawExchange(port, ""), "", "a connection that never sends is closed without an answer");
    assert.ok(Date.now() - fresh >= 250, `closed after ${Date.now() - fresh} ms`);
    assert.equal(sumOf(registry, "fly_edge_http_responses_count", { app: "", status: "408" }), 1);
    // A keep-alive connection idle after its response is closed after the client idle timeout.
    const idle = Date.now();
    const reply = await rawExchange(port, "GET / HTTP/1.1\r\nHost: idle.localhost\r\n\r\n");
    assert.match(reply, /^HTTP\/1\.1 200 /);
    assert.ok(Date.now() - idle >= 550, `closed after ${Date.now() - idle} ms`);
  });

  test("a body cut short by the instance aborts the client's response", async () => {
    // The head and the part that came leave before the cut: the client sees fewer bytes than announced, then a close.
    const reply = await rawExchange(port, "GET / HTTP/1.1\r\nHost: cut.localhost\r\n\r\n");
    assert.match(reply, /^HTTP\/1\.1 200 OK\r\n[\s\S]*Content-Length: 100\r\n[\s\S]*\r\n\r\nonly a part$/);
    await until(() => sumOf(registry, "fly_edge_http_responses_count", { app: "cut", status: "200" }) === 1);
    assert.equal(sumOf(registry, "fly_app_http_responses_count", { app: "cut", status: "200" }), 1);
  });

  test("a malformed chunk after good ones cuts the response after the bytes already passed on", async () => {
    // The good chunk is written and the client cut while handling the same read: the written bytes still leave.
    const reply = await rawExchange(port, "GET / HTTP/1.1\r\nHost: badchunk.localhost\r\n\r\n");
    assert.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(reply.endsWith("\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"), reply);
  });

  test("a failed connect is retried on another instance with the body intact", async () => {
    const body = "x".repeat(100_000);
    // A connection of its own: one kept alive by the global agent from an earlier case may be past the idle timeout.
    const r = await send(port, "retry.localhost", { method: "POST", body, agent: new Agent() });
    assert.equal(r.status, 200);
    assert.equal(r.body, `good got ${body.length}`);
    assert.equal(sumOf(registry, "fly_app_tcp_connects_count", { instance: "f1".padStart(14, "0") }), 0);
    assert.equal(sumOf(registry, "fly_app_http_responses_count", { instance: "f2".padStart(14, "0") }), 1);
    assert.equal(sumOf(registry, "fly_app_concurrency", { app: "retry" }), 0);
    assert.equal(sumOf(registry, "fly_app_concurrency", { app: "unreachable" }), 0);
    assert.equal(sumOf(registry, "fly_app_concurrency", { app: "silent" }), 0);
  });

  test("the timed-out and failed exchanges left no load behind", async () => {
    for (const app of ["garbage", "silent", "cut", "badchunk", "down"]) {
      assert.equal(sumOf(registry, "fly_app_concurrency", { app }), 0, app);
    }
  });

  test("an app without routes keeps answering once it reappears", async () => {
    routes.set("late", appRoute([instanceRoute("g1", "ord", good.address)]));
    const r = await send(port, "late.localhost");
    assert.equal(r.status, 200);
    routes.delete("late");
    assert.equal((await send(port, "late.localhost")).status, 404);
  });

  test("the errors the edge answered itself are counted by kind, per app", async () => {
    // After the cases above: one request each to down, garbage, unreachable and silent, the cut body, the bad chunk, the retry.
    const expected: [string, string][] = [
      ["down", "no_instance"],
      ["garbage", "bad_response"],
      ["unreachable", "connect"],
      ["silent", "timeout"],
      ["cut", "closed"],
      ["badchunk", "bad_response"],
    ];
    const samples = samplesOf(registry, "fly_edge_error_count");
    assert.deepEqual(
      samples.map((x) => [x.labels.app, x.labels.kind]).sort(),
      expected.sort(),
      "one series per app and kind, none for unknown apps, the retried request or bad requests",
    );
    for (const x of samples) {
      assert.equal(x.value, 1, `${x.labels.app} ${x.labels.kind}`);
      assert.deepEqual(Object.keys(x.labels).sort(), ["app", "host", "kind", "region"]);
    }
  });

  test("instance error responses are passed through and counted under their status", async () => {
    const u = await startUpstream(answer("t", 500));
    routes.set("five", appRoute([instanceRoute("h1", "ord", u.address)]));
    const r = await send(port, "five.localhost", { path: "/boom" });
    assert.equal(r.status, 500);
    assert.equal(r.body, "t GET /boom\n");
    assert.equal(sumOf(registry, "fly_app_http_responses_count", { app: "five", status: "500" }), 1);
    routes.delete("five");
    await u.close();
  });
});
