import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import type { Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { Registry } from "../exposition/registry.ts";
import { type Edge, startEdge } from "./edge.ts";
import type { AppRoute } from "./routes.ts";
import { answer, appRoute, instanceRoute, startUpstream, sumOf, type TestUpstream, until } from "./testkit.ts";

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

function acceptKey(key: string): string {
  return createHash("sha1")
    .update(key + WS_GUID)
    .digest("base64");
}

/** A masked client text frame (payload < 126 bytes), as RFC 6455 requires of clients. */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const out = Buffer.alloc(6 + payload.length);
  out[0] = 0x81;
  out[1] = 0x80 | payload.length;
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i] ^ mask[i & 3];
  return out;
}

/** Decodes one masked client frame (small payloads only). */
function readClientFrame(buf: Buffer): string {
  const len = buf[1] & 0x7f;
  const mask = buf.subarray(2, 6);
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i++) out[i] = buf[6 + i] ^ mask[i & 3];
  return out.toString();
}

/** An unmasked server text frame. */
function serverFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
}

describe("edge: Upgrade passthrough", () => {
  const registry = new Registry();
  const routes = new Map<string, AppRoute>();
  let upstream: TestUpstream;
  let edge: Edge;
  let port: number;
  let seenHeaders: Record<string, string | string[] | undefined> = {};

  before(async () => {
    upstream = await startUpstream(answer("plain"), (req, socket: Socket) => {
      seenHeaders = req.headers;
      if (req.url === "/refuse") {
        socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope");
        return;
      }
      const key = String(req.headers["sec-websocket-key"]);
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
      );
      socket.on("data", (d: Buffer) => socket.write(serverFrame(`echo: ${readClientFrame(d)}`)));
      socket.on("end", () => socket.end()); // the client closed: close too (a real server sends a close frame)
    });
    routes.set("chat", appRoute([instanceRoute("a1", "ord", upstream.address)]));
    edge = await startEdge({ listeners: [{ region: "ord", host: "a1b2", address: "127.0.0.1:0" }], routes, registry });
    port = Number(edge.listeners[0].address.split(":")[1]);
  });

  after(async () => {
    await edge.close();
    await upstream.close();
  });

  function upgrade(path: string): Promise<{ status: number; headers: Record<string, unknown>; socket: Socket | null }> {
    const key = randomBytes(16).toString("base64");
    return new Promise((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        port,
        path,
        headers: {
          host: "chat.localhost",
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-key": key,
          "sec-websocket-version": "13",
        },
      });
      req.on("upgrade", (res, socket) => {
        assert.equal(res.headers["sec-websocket-accept"], acceptKey(key));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, socket });
      });
      req.on("response", (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, socket: null });
      });
      req.on("error", reject);
      req.end();
    });
  }

  test("a WebSocket handshake and frames pass both ways; concurrency counts the open tunnel", async () => {
    const inst = { instance: "a1".padStart(14, "0") };
    const { status, socket } = await upgrade("/ws");
    assert.equal(status, 101);
    assert.ok(socket);
    assert.equal(seenHeaders.upgrade, "websocket");
    assert.equal(String(seenHeaders.connection).toLowerCase(), "upgrade");
    assert.equal(seenHeaders["fly-region"], "ord");
    assert.equal(seenHeaders.via, "1.1 contrail");
    assert.equal(sumOf(registry, "fly_app_concurrency", inst), 1);

    const replies: string[] = [];
    socket.on("data", (d: Buffer) => replies.push(d.subarray(2).toString()));
    for (const msg of ["hello", "world"]) {
      socket.write(clientFrame(msg));
      await until(() => replies.length > 0 && replies.at(-1) === `echo: ${msg}`);
    }
    assert.equal(sumOf(registry, "fly_app_concurrency", inst), 1, "still open after traffic");
    socket.end();
    await until(() => sumOf(registry, "fly_app_concurrency", inst) === 0);
    assert.equal(sumOf(registry, "fly_edge_http_responses_count", { app: "chat", status: "101" }), 1);
    assert.equal(sumOf(registry, "fly_app_http_responses_count", { ...inst, status: "101" }), 1);
    await until(() => sumOf(registry, "fly_edge_tcp_disconnects_count", { app: "chat" }) === 1);
    const bytes = edge.proxiedBytes(inst.instance);
    const up = upstream.bytes();
    assert.equal(bytes.sent, up.read);
    assert.equal(bytes.recv, up.written);
    assert.ok(sumOf(registry, "fly_edge_data_in", { app: "chat" }) > 0);
  });

  test("a refused upgrade is passed back and counted under its status", async () => {
    const { status } = await upgrade("/refuse");
    assert.equal(status, 403);
    await until(() => sumOf(registry, "fly_edge_http_responses_count", { app: "chat", status: "403" }) === 1);
    await until(() => sumOf(registry, "fly_app_concurrency", { app: "chat" }) === 0);
  });
});
