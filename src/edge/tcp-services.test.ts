import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { Registry } from "../exposition/registry.ts";
import { type Edge, startEdge } from "./edge.ts";
import type { AppRoute } from "./routes.ts";
import { appRoute, instanceRoute, sumOf, until } from "./testkit.ts";

/** A TCP echo server that replies "<prefix>" + data and half-closes when the client does. */
async function echoServer(prefix: string): Promise<{ server: Server; port: number; bytes: () => number[] }> {
  const sockets = new Set<Socket>();
  let read = 0;
  let written = 0;
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on("data", (d: Buffer) => s.write(`${prefix}${d}`));
    s.on("end", () => s.end());
    s.on("close", () => {
      sockets.delete(s);
      read += s.bytesRead;
      written += s.bytesWritten;
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    server,
    port: (server.address() as { port: number }).port,
    bytes: () => [read + [...sockets].reduce((a, s) => a + s.bytesRead, 0), written],
  };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Connects, sends each message after the previous reply, half-closes and resolves with all it read. */
function converse(port: number, messages: readonly string[]): Promise<{ replies: string; sent: number }> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    let replies = "";
    let i = 0;
    let sent = 0;
    const next = (): void => {
      if (i === messages.length) {
        s.end();
        return;
      }
      sent += Buffer.byteLength(messages[i]);
      s.write(messages[i++]);
    };
    s.on("connect", next);
    s.on("data", (d: Buffer) => {
      replies += d;
      next();
    });
    s.on("error", reject);
    s.on("close", () => resolve({ replies, sent }));
  });
}

const registry = new Registry();
const routes = new Map<string, AppRoute>();
let echo: Awaited<ReturnType<typeof echoServer>>;
let edge: Edge;
let publicPort: number;

before(async () => {
  echo = await echoServer("echo:");
  publicPort = await freePort();
  const inst = instanceRoute("a1", "ord", "127.0.0.1:1"); // the HTTP port is unused here
  routes.set(
    "db",
    appRoute([inst], { type: "connections", softLimit: 10, hardLimit: 20 }, [
      {
        internalPort: echo.port,
        ports: [publicPort],
        concurrency: { type: "connections", softLimit: 1, hardLimit: 1 },
      },
    ]),
  );
  edge = await startEdge({ listeners: [{ region: "ord", host: "a1b2", address: "127.0.0.1:0" }], routes, registry });
});

after(async () => {
  await edge.close();
  echo.server.close();
});

test("a TCP service port pipes to the instance and counts connections and bytes", async () => {
  const instance = "a1".padStart(14, "0");
  const { replies, sent } = await converse(publicPort, ["one", "two", "three"]);
  assert.equal(replies, "echo:oneecho:twoecho:three");
  await until(() => sumOf(registry, "fly_edge_tcp_disconnects_count", { app: "db" }) === 1);
  assert.equal(sumOf(registry, "fly_edge_tcp_connects_count", { app: "db", region: "ord", host: "a1b2" }), 1);
  assert.equal(sumOf(registry, "fly_edge_data_in", { app: "db" }), sent);
  assert.equal(sumOf(registry, "fly_edge_data_out", { app: "db" }), replies.length);
  await until(() => sumOf(registry, "fly_app_tcp_disconnects_count", { instance }) === 1);
  assert.equal(sumOf(registry, "fly_app_tcp_connects_count", { instance }), 1);
  assert.equal(sumOf(registry, "fly_app_concurrency", { instance }), 0);
  const [upRead, upWritten] = echo.bytes();
  assert.deepEqual(edge.proxiedBytes(instance), { sent: upRead, recv: upWritten });
  assert.equal(upRead, sent);
});

test("connections count against the service's limits while open", async () => {
  const instance = "a1".padStart(14, "0");
  const first = connect({ port: publicPort, host: "127.0.0.1" });
  await until(() => sumOf(registry, "fly_app_concurrency", { instance }) === 1);
  // The hard limit is 1: a second connection waits in the queue until the first closes.
  const second = converse(publicPort, ["later"]);
  await until(() => sumOf(registry, "fly_app_hard_limit_reached_count", { instance }) === 1);
  assert.equal(sumOf(registry, "fly_app_concurrency", { instance }), 1);
  first.destroy();
  assert.equal((await second).replies, "echo:later");
  await until(() => sumOf(registry, "fly_app_concurrency", { instance }) === 0);
});

test("with no healthy instance a connection is closed at once and counted as an edge error", async () => {
  const route = routes.get("db")!;
  routes.set("db", { ...route, instances: route.instances.map((i) => ({ ...i, healthy: false })) });
  try {
    const got = await new Promise<string>((resolve) => {
      const s = connect(publicPort, "127.0.0.1");
      let data = "";
      s.on("data", (d: Buffer) => {
        data += d;
      });
      s.on("error", () => {});
      s.on("close", () => resolve(data));
    });
    assert.equal(got, "");
    await until(() => sumOf(registry, "fly_edge_error_count", { app: "db", kind: "no_instance" }) === 1);
  } finally {
    routes.set("db", route);
  }
  assert.equal((await converse(publicPort, ["back"])).replies, "echo:back");
});

test("syncTcpServices follows the route table", async () => {
  const other = await freePort();
  const route = routes.get("db")!;
  routes.set("db", { ...route, tcpServices: [{ ...route.tcpServices[0], ports: [other] }] });
  const bindings = await edge.syncTcpServices();
  assert.deepEqual(
    bindings.map((b) => [b.app, b.publicPort, b.error]),
    [["db", other, null]],
  );
  assert.equal((await converse(other, ["moved"])).replies, "echo:moved");
  await assert.rejects(
    new Promise((resolve, reject) => {
      const s = connect(publicPort, "127.0.0.1");
      s.on("connect", () => {
        s.destroy();
        resolve(null);
      });
      s.on("error", reject);
    }),
    /ECONNREFUSED/,
  );
});
