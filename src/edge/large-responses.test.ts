// Large responses through pooled upstream connections, to fast, stalled and slow clients at once: the bytes each
// response passes on, and a response head split over several reads, must come out intact. Pooled connections read
// into one buffer shared by the edge process, so every other connection's reads overwrite it in between, and a slow
// client makes the edge pause and resume the instance's socket many times within one response.

import assert from "node:assert/strict";
import { Agent, get } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { Registry } from "../exposition/registry.ts";
import { type Edge, startEdge } from "./edge.ts";
import type { AppRoute } from "./routes.ts";
import { appRoute, instanceRoute, send, startUpstream, type TestUpstream } from "./testkit.ts";

/** Bytes of a body: a pattern that differs by `seed` and by position, so a byte from elsewhere shows. */
function pattern(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 97 + (i >> 8)) & 0xff;
  return out;
}

/** How a test client reads a response: at once, stalled once after the first bytes, or pausing after every read. */
interface Reading {
  /** Stop reading for this long (ms) after the first bytes. */
  readonly stallMs?: number;
  /** Stop reading for this long (ms) after every read. */
  readonly everyReadMs?: number;
  /** The connection to send on (keep-alive), else one of its own. */
  readonly agent?: Agent;
}

/**
 * GET / of app `host` through the edge at `port`: the status and the body's bytes. A stalled or slow client makes
 * the edge queue writes to it and pause the instance's socket.
 */
function download(port: number, host: string, reading: Reading = {}): Promise<{ status: number; body: Buffer }> {
  const { stallMs = 0, everyReadMs = 0 } = reading;
  return new Promise((resolve, reject) => {
    // Without an agent, a connection of its own (agent: false): a client socket paused by a stalled download is
    // never reused.
    get({ host: "127.0.0.1", port, path: "/", headers: { host }, agent: reading.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => {
        const pauseMs = everyReadMs > 0 ? everyReadMs : chunks.length === 0 ? stallMs : 0;
        if (pauseMs > 0) {
          res.pause();
          setTimeout(() => res.resume(), pauseMs);
        }
        chunks.push(d);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    }).on("error", reject);
  });
}

const BODY_BYTES = 6_000_000;
const PIECE_BYTES = 7_001;
/** Time between the pieces of the split response head, ms. */
const PIECE_GAP_MS = 20;
/** How long a stalled client stops reading, ms. */
const STALL_MS = 150;
/** How long a slow client stops reading after each read, ms. */
const SLOW_READ_MS = 3;
/** Responses a slow client reads one after another on one keep-alive connection. */
const SLOW_RESPONSES = 3;

describe("edge: large and split responses of pooled upstream connections", () => {
  const upstreams: TestUpstream[] = [];
  let splitHead: NetServer;
  const splitSockets = new Set<Socket>();
  let edge: Edge;
  let port: number;

  before(async () => {
    const routes = new Map<string, AppRoute>();
    for (const seed of [1, 2, 3]) {
      // Seed 1 and 3 send Content-Length bodies, seed 2 a chunked one; all in many small writes.
      const up = await startUpstream((req, res) => {
        req.resume();
        const body = pattern(seed, BODY_BYTES);
        res.writeHead(200, seed === 2 ? {} : { "content-length": BODY_BYTES });
        let at = 0;
        const next = () => {
          while (at < body.length) {
            const piece = body.subarray(at, at + PIECE_BYTES);
            at += piece.length;
            if (!res.write(piece)) {
              res.once("drain", next);
              return;
            }
          }
          res.end();
        };
        next();
      });
      upstreams.push(up);
      routes.set(`app${seed}`, appRoute([instanceRoute(`a${seed}`, "ord", up.address)]));
    }
    // An instance whose response head arrives in three pieces, PIECE_GAP_MS apart. Each piece is written from the
    // timer of the one before: timers of different delays set at once can run out of order when the event loop is
    // late (Node runs every due timer of one delay before the next delay's), and pieces written out of order made
    // a head without its Content-Length, whose body the edge then rightly read until a close that never came.
    splitHead = createNetServer((socket) => {
      splitSockets.add(socket);
      socket.on("close", () => splitSockets.delete(socket));
      socket.on("data", () => {
        const pieces = [
          "HTTP/1.1 200 OK\r\nX-First: one-",
          "value\r\nX-Second: two-value\r\nContent-Le",
          "ngth: 5\r\n\r\nhello",
        ];
        let i = 0;
        const next = (): void => {
          socket.write(pieces[i++]);
          if (i < pieces.length) setTimeout(next, PIECE_GAP_MS);
        };
        next();
      });
    });
    await new Promise<void>((resolve) => splitHead.listen(0, "127.0.0.1", resolve));
    const splitPort = (splitHead.address() as { port: number }).port;
    routes.set("split", appRoute([instanceRoute("b1", "ord", `127.0.0.1:${splitPort}`)]));
    edge = await startEdge({
      listeners: [{ region: "ord", host: "a1b2", address: "127.0.0.1:0" }],
      routes,
      registry: new Registry(),
    });
    port = Number(edge.listeners[0].address.split(":")[1]);
  });

  after(async () => {
    await edge.close();
    for (const up of upstreams) await up.close();
    for (const s of splitSockets) s.destroy();
    await new Promise<void>((resolve) => splitHead.close(() => resolve()));
  });

  test("bodies of concurrent responses arrive byte for byte, to slow clients too", async () => {
    const seeds = [1, 2, 3, 1, 2, 3];
    const bodies = await Promise.all(
      seeds.map(async (seed, i) => {
        const res = await download(port, `app${seed}.localhost`, { stallMs: i % 2 === 0 ? STALL_MS : 0 });
        assert.equal(res.status, 200);
        return res.body;
      }),
    );
    for (let i = 0; i < seeds.length; i++) {
      assert.equal(bodies[i].length, BODY_BYTES);
      assert.ok(bodies[i].equals(pattern(seeds[i], BODY_BYTES)), `body ${i} (app${seeds[i]}) differs`);
    }
  });

  test("a slow client's responses, one after another, arrive whole while fast ones go on", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const slow = async (): Promise<Buffer[]> => {
        const bodies: Buffer[] = [];
        for (let i = 0; i < SLOW_RESPONSES; i++) {
          const res = await download(port, "app1.localhost", { everyReadMs: SLOW_READ_MS, agent });
          assert.equal(res.status, 200);
          bodies.push(res.body);
        }
        return bodies;
      };
      const fast = async (): Promise<Buffer[]> => {
        const bodies: Buffer[] = [];
        for (let i = 0; i < SLOW_RESPONSES; i++) bodies.push((await download(port, "app2.localhost")).body);
        return bodies;
      };
      const [slowBodies, fastBodies] = await Promise.all([slow(), fast()]);
      for (const body of slowBodies) assert.ok(body.equals(pattern(1, BODY_BYTES)), "a slow client's body differs");
      for (const body of fastBodies) assert.ok(body.equals(pattern(2, BODY_BYTES)), "a fast client's body differs");
    } finally {
      agent.destroy();
    }
  });

  test("a response head split over several reads is put together intact while other reads go on", async () => {
    const [split, big] = await Promise.all([
      Promise.all([1, 2, 3].map(() => send(port, "split.localhost"))),
      download(port, "app1.localhost"),
    ]);
    for (const r of split) {
      assert.equal(r.status, 200);
      assert.equal(r.headers["x-first"], "one-value");
      assert.equal(r.headers["x-second"], "two-value");
      assert.equal(r.body, "hello");
    }
    assert.equal(big.status, 200);
    assert.ok(big.body.equals(pattern(1, BODY_BYTES)));
  });
});
