import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Agent, request } from "node:http";
import { after, before, describe, test } from "node:test";
import { Registry } from "../exposition/registry.ts";
import { type Edge, startEdge } from "./edge.ts";
import type { AppRoute } from "./routes.ts";
import {
  answer,
  appRoute,
  instanceRoute,
  rawExchange,
  send,
  startUpstream,
  sumOf,
  type TestUpstream,
  until,
} from "./testkit.ts";

describe("edge: routing, streaming, keep-alive, headers", () => {
  const registry = new Registry();
  const routes = new Map<string, AppRoute>();
  let web: TestUpstream;
  let api: TestUpstream;
  let echo: TestUpstream;
  let edge: Edge;
  let port: number;

  before(async () => {
    web = await startUpstream(answer("web"));
    api = await startUpstream(answer("api"));
    echo = await startUpstream((req, res) => {
      const body = JSON.stringify(req.rawHeaders);
      res.setHeader("Connection", "keep-alive, X-Hop");
      res.setHeader("X-Hop", "secret");
      res.setHeader("Proxy-Authenticate", "Basic");
      res.setHeader("X-End-To-End", "kept");
      res.setHeader("Content-Type", "application/json");
      res.end(body);
    });
    routes.set("web", appRoute([instanceRoute("a1", "ord", web.address)]));
    routes.set("api", appRoute([instanceRoute("b1", "ord", api.address)]));
    routes.set("echo", appRoute([instanceRoute("c1", "ord", echo.address)]));
    edge = await startEdge({ listeners: [{ region: "ord", host: "a1b2", address: "127.0.0.1:0" }], routes, registry });
    port = Number(edge.listeners[0].address.split(":")[1]);
  });

  after(async () => {
    await edge.close();
    await Promise.all([web.close(), api.close(), echo.close()]);
  });

  test("routes by Host, case-insensitively and with or without the port", async () => {
    const cases: [string, number, string][] = [
      ["web.localhost", 200, "web GET /x"],
      [`api.localhost:${port}`, 200, "api GET /x"],
      ["WEB.LocalHost.", 200, "web GET /x"],
      ["nope.localhost", 404, "no app at nope.localhost"],
      ["web.example.com", 404, "no app at web.example.com"],
      ["localhost", 404, "no app at localhost"],
      ["a.web.localhost", 404, "no app at a.web.localhost"],
    ];
    for (const [host, status, body] of cases) {
      const r = await send(port, host, { path: "/x" });
      assert.equal(r.status, status, host);
      assert.equal(r.body.trim(), body, host);
    }
    assert.equal(sumOf(registry, "fly_edge_http_responses_count", { app: "", status: "404" }), 4);
    assert.equal(sumOf(registry, "fly_edge_http_responses_count", { app: "nope" }), 0);
    const raw = await rawExchange(port, "GET / HTTP/1.0\r\n\r\n");
    assert.match(raw, /^HTTP\/1\.1 400 /);
    assert.match(raw, /missing Host header/);
  });

  test("reuses keep-alive connections on both sides", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = web.connections();
    const connectsBefore = sumOf(registry, "fly_edge_tcp_connects_count", { app: "web" });
    const disconnectsBefore = sumOf(registry, "fly_edge_tcp_disconnects_count", { app: "web" });
    for (let i = 0; i < 20; i++) {
      const r = await send(port, "web.localhost", { agent, path: `/${i}` });
      assert.equal(r.status, 200);
    }
    agent.destroy();
    assert.ok(web.connections() - before <= 1, `upstream connections: ${web.connections() - before}`);
    assert.equal(sumOf(registry, "fly_edge_tcp_connects_count", { app: "web" }), connectsBefore + 1);
    await until(() => sumOf(registry, "fly_edge_tcp_disconnects_count", { app: "web" }) === disconnectsBefore + 1);
  });

  test("strips hop-by-hop headers and adds forwarding headers", async () => {
    const headers = {
      Connection: "keep-alive, X-Private",
      "Keep-Alive": "timeout=5",
      "X-Private": "hop",
      "Proxy-Authorization": "Basic abc",
      TE: "trailers",
      "X-Forwarded-For": "10.0.0.1",
      Via: "1.0 other",
      "Fly-Client-IP": "6.6.6.6",
      "Fly-Region": "zzz",
      "X-Kept": "yes",
    };
    const r1 = await send(port, "echo.localhost", { headers });
    const r2 = await send(port, "echo.localhost", { headers });
    const seen = (raw: string): Map<string, string[]> => {
      const list = JSON.parse(raw) as string[];
      const m = new Map<string, string[]>();
      for (let i = 0; i < list.length; i += 2) {
        const k = list[i].toLowerCase();
        m.set(k, [...(m.get(k) ?? []), list[i + 1]]);
      }
      return m;
    };
    const h = seen(r1.body);
    for (const gone of ["connection", "keep-alive", "x-private", "proxy-authorization", "te"]) {
      assert.equal(h.has(gone), false, `${gone} should be stripped`);
    }
    assert.deepEqual(h.get("host"), ["echo.localhost"]);
    assert.deepEqual(h.get("x-kept"), ["yes"]);
    assert.deepEqual(h.get("x-forwarded-for"), ["10.0.0.1, 127.0.0.1"]);
    assert.deepEqual(h.get("fly-client-ip"), ["127.0.0.1"]);
    assert.deepEqual(h.get("x-forwarded-proto"), ["http"]);
    assert.deepEqual(h.get("x-forwarded-port"), [String(port)]);
    assert.deepEqual(h.get("fly-forwarded-port"), [String(port)]);
    assert.deepEqual(h.get("fly-region"), ["ord"]);
    assert.deepEqual(h.get("via"), ["1.0 other, 1.1 contrail"]);
    const id1 = h.get("fly-request-id")?.[0] ?? "";
    const id2 = seen(r2.body).get("fly-request-id")?.[0] ?? "";
    assert.match(id1, /-ord$/);
    assert.notEqual(id1, id2);
    // Response side: the upstream's hop-by-hop headers are gone, end-to-end ones stay.
    assert.equal(r1.headers["x-hop"], undefined);
    assert.equal(r1.headers["proxy-authenticate"], undefined);
    assert.equal(r1.headers["x-end-to-end"], "kept");
    assert.equal(r1.headers.via, "1.1 contrail");
  });

  test("passes chunked bodies both ways", async () => {
    const upstream = await startUpstream((req, res) => {
      res.writeHead(200, { "content-type": "text/plain" }); // no length: chunked to the edge
      req.on("data", (d: Buffer) => res.write(d.toString().toUpperCase()));
      req.on("end", () => res.end("!"));
    });
    routes.set("chunky", appRoute([instanceRoute("d1", "ord", upstream.address)]));
    try {
      const r = await new Promise<{ body: string; te: string | undefined }>((resolve, reject) => {
        const req = request(
          { host: "127.0.0.1", port, method: "POST", path: "/", headers: { host: "chunky.localhost" } },
          (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => {
              body += d;
            });
            res.on("end", () => resolve({ body, te: res.headers["transfer-encoding"] }));
          },
        );
        req.on("error", reject);
        req.write("abc");
        setTimeout(() => req.end("def"), 20);
      });
      assert.equal(r.body, "ABCDEF!");
      assert.equal(r.te, "chunked");
    } finally {
      routes.delete("chunky");
      await upstream.close();
    }
  });

  test("streams a large download with backpressure, not buffering it", async () => {
    const total = 64 * 1024 * 1024;
    const block = Buffer.alloc(64 * 1024, 7);
    let written = 0;
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-length": total });
      const pump = (): void => {
        while (written < total) {
          written += block.length;
          if (!res.write(block)) {
            res.once("drain", pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    routes.set("big", appRoute([instanceRoute("e1", "ord", upstream.address)]));
    try {
      const got = await new Promise<{ size: number; whilePaused: number }>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path: "/", headers: { host: "big.localhost" } }, (res) => {
          let size = 0;
          let whilePaused = -1;
          res.once("data", () => {
            res.pause();
            setTimeout(() => {
              whilePaused = written;
              res.resume();
            }, 300);
          });
          res.on("data", (d: Buffer) => {
            size += d.length;
          });
          res.on("end", () => resolve({ size, whilePaused }));
        });
        req.on("error", reject);
        req.end();
      });
      assert.equal(got.size, total);
      // While the client did not read, the upstream could only fill socket and stream buffers (about 8 MiB on
      // loopback here), far from the whole body.
      assert.ok(got.whilePaused < total / 2, `upstream wrote ${got.whilePaused} bytes while the client paused`);
    } finally {
      routes.delete("big");
      await upstream.close();
    }
  });

  test("streams a large upload with backpressure, not buffering it", async () => {
    const total = 64 * 1024 * 1024;
    let clientSent = 0;
    let sentWhileUpstreamPaused = -1;
    const upstream = await startUpstream((req, res) => {
      req.pause();
      setTimeout(() => {
        sentWhileUpstreamPaused = clientSent;
        const hash = createHash("sha256");
        let size = 0;
        req.on("data", (d: Buffer) => {
          size += d.length;
          hash.update(d);
        });
        req.on("end", () => res.end(`${size} ${hash.digest("hex")}`));
        req.resume();
      }, 300);
    });
    routes.set("upload", appRoute([instanceRoute("f1", "ord", upstream.address)]));
    try {
      const expected = createHash("sha256");
      const block = Buffer.alloc(64 * 1024);
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port,
            method: "PUT",
            path: "/",
            headers: { host: "upload.localhost", "content-length": total },
          },
          (res) => {
            let text = "";
            res.on("data", (d: Buffer) => {
              text += d;
            });
            res.on("end", () => resolve(text));
          },
        );
        req.on("error", reject);
        let i = 0;
        const pump = (): void => {
          while (clientSent < total) {
            block.fill(i++ & 0xff);
            expected.update(block);
            clientSent += block.length;
            if (!req.write(block)) {
              req.once("drain", pump);
              return;
            }
          }
          req.end();
        };
        pump();
      });
      assert.equal(body, `${total} ${expected.digest("hex")}`);
      assert.ok(
        sentWhileUpstreamPaused < total / 2,
        `client sent ${sentWhileUpstreamPaused} bytes while the upstream did not read`,
      );
    } finally {
      routes.delete("upload");
      await upstream.close();
    }
  });

  test("an answer before the request body was sent leaves the client connection usable", async () => {
    const upstream = await startUpstream((req, res) => {
      if (req.url === "/early") {
        res.writeHead(413, { "content-type": "text/plain" });
        res.end("too large");
        return;
      }
      req.resume();
      req.on("end", () => res.end("fine"));
    });
    routes.set("early", appRoute([instanceRoute("h1", "ord", upstream.address)]));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const sockets = new Set<unknown>();
      agent.on("free", (s) => sockets.add(s));
      const big = Buffer.alloc(4 * 1024 * 1024, 1);
      const early = await send(port, "early.localhost", { path: "/early", method: "POST", body: big, agent });
      assert.equal(early.status, 413);
      assert.equal(early.body, "too large");
      const next = await send(port, "early.localhost", { path: "/next", agent });
      assert.equal(next.status, 200);
      assert.equal(next.body, "fine");
      assert.equal(sockets.size, 1, "both requests went over one client connection");
      assert.equal(sumOf(registry, "fly_app_concurrency", { app: "early" }), 0);
    } finally {
      agent.destroy();
      routes.delete("early");
      await upstream.close();
    }
  });

  test("HEAD and 304 responses carry no body and keep the connection usable", async () => {
    const upstream = await startUpstream((req, res) => {
      if (req.url === "/cached") {
        res.writeHead(304, { etag: '"x"' });
        res.end();
        return;
      }
      res.writeHead(200, { "content-length": 11, "content-type": "text/plain" });
      res.end(req.method === "HEAD" ? undefined : "hello world");
    });
    routes.set("heady", appRoute([instanceRoute("g1", "ord", upstream.address)]));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const head = await send(port, "heady.localhost", { method: "HEAD", agent });
      assert.equal(head.status, 200);
      assert.equal(head.headers["content-length"], "11");
      assert.equal(head.body, "");
      const cached = await send(port, "heady.localhost", { path: "/cached", agent });
      assert.equal(cached.status, 304);
      const get = await send(port, "heady.localhost", { agent });
      assert.equal(get.body, "hello world");
      assert.equal(upstream.connections(), 1);
    } finally {
      agent.destroy();
      routes.delete("heady");
      await upstream.close();
    }
  });
});
