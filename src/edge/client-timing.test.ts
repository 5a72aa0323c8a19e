// When the edge writes and closes on a client connection: the idle timeout (enforced by the listener's sweep from
// the activity each connection stamps) and a response head that arrives from the instance without body bytes.

import assert from "node:assert/strict";
import { connect, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { Registry } from "../exposition/registry.ts";
import { type Edge, startEdge } from "./edge.ts";
import type { AppRoute } from "./routes.ts";
import { appRoute, instanceRoute, rawServer, startUpstream, type TestUpstream, until } from "./testkit.ts";

const IDLE_MS = 600;
/** Pause between two pieces of traffic: well inside the idle timeout. */
const STEP_MS = 200;
/** Pieces of traffic sent a step apart: together well past the idle timeout. */
const STEPS = 6;
/**
 * Rounding between the clocks compared (libuv's millisecond loop time for timers, `Date.now()` here): a close
 * measured 1 ms short of the bound is on time.
 */
const CLOCK_SLACK_MS = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw client connection that collects everything the edge sends. */
class RawClient {
  readonly socket: Socket;
  private readonly chunks: Buffer[] = [];
  /** `Date.now()` when the edge closed the connection, 0 while it is open. */
  closedAt = 0;
  /** `Date.now()` when the latest bytes from the edge arrived, 0 before any. */
  lastDataAt = 0;

  constructor(port: number) {
    this.socket = connect(port, "127.0.0.1");
    this.socket.on("data", (d: Buffer) => {
      this.chunks.push(d);
      this.lastDataAt = Date.now();
    });
    this.socket.on("error", () => {});
    this.socket.on("close", () => {
      this.closedAt = Date.now();
    });
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString("latin1");
  }
}

describe("edge: client connection timing", () => {
  const routes = new Map<string, AppRoute>();
  const servers: Server[] = [];
  /** The instance side of the latest request to the `later` app, which answers the body only when told. */
  let later: Socket | null = null;
  let echo: TestUpstream;
  let edge: Edge;
  let port: number;

  before(async () => {
    echo = await startUpstream((req, res) => res.end(`got ${req.url}`));
    const trickle = await rawServer((s) =>
      s.once("data", async () => {
        s.write("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n");
        for (let i = 0; i < STEPS; i++) {
          await sleep(STEP_MS);
          s.write(String(i));
        }
      }),
    );
    const held = await rawServer((s) =>
      s.once("data", () => {
        s.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n");
        later = s;
      }),
    );
    servers.push(trickle.server, held.server);
    routes.set("echo", appRoute([instanceRoute("a1", "ord", echo.address)]));
    routes.set("trickle", appRoute([instanceRoute("b1", "ord", trickle.address)]));
    routes.set("later", appRoute([instanceRoute("c1", "ord", held.address)]));
    edge = await startEdge({
      listeners: [{ region: "ord", host: "a1b2", address: "127.0.0.1:0" }],
      routes,
      registry: new Registry(),
      headersTimeoutMs: 5000,
      clientIdleTimeoutMs: IDLE_MS,
    });
    port = Number(edge.listeners[0].address.split(":")[1]);
  });

  after(async () => {
    await edge.close();
    await echo.close();
    for (const s of servers) s.close();
  });

  test("requests more often than the idle timeout keep a connection open past it; idle, it is closed", async () => {
    const c = new RawClient(port);
    const start = Date.now();
    for (let i = 0; i < STEPS; i++) {
      c.socket.write(`GET /${i} HTTP/1.1\r\nHost: echo.localhost\r\n\r\n`);
      await until(() => c.text.endsWith(`got /${i}`));
      await sleep(STEP_MS);
    }
    assert.equal(c.closedAt, 0, `closed after ${Date.now() - start} ms of steady traffic`);
    await until(() => c.closedAt !== 0, 5000);
    // Idle since the last response arrived: the test's own pause after it may end late on a loaded machine, so
    // counting from its end understated the idle time.
    const idleFor = c.closedAt - c.lastDataAt;
    assert.ok(idleFor >= IDLE_MS - CLOCK_SLACK_MS, `closed ${idleFor} ms after the last response`);
    assert.equal(c.text.match(/HTTP\/1\.1 200 /g)?.length, STEPS);
  });

  test("a response trickling for longer than the idle timeout reaches the client whole", async () => {
    const c = new RawClient(port);
    c.socket.write("GET / HTTP/1.1\r\nHost: trickle.localhost\r\n\r\n");
    await until(() => c.text.endsWith("012345") || c.closedAt !== 0, 5000);
    assert.match(c.text, /^HTTP\/1\.1 200 .*\r\n\r\n012345$/s);
    assert.equal(c.closedAt, 0);
    c.socket.destroy();
  });

  test("a response head that arrives without body bytes is passed on at once", async () => {
    const c = new RawClient(port);
    c.socket.write("GET / HTTP/1.1\r\nHost: later.localhost\r\n\r\n");
    // The instance sends the body only once the client holds the head.
    await until(() => c.text.includes("\r\n\r\n"));
    assert.match(c.text, /^HTTP\/1\.1 200 OK\r\n.*Content-Length: 4\r\n.*\r\n\r\n$/s);
    assert.ok(later !== null);
    later.write("body");
    await until(() => c.text.endsWith("\r\n\r\nbody"));
    c.socket.destroy();
  });
});
