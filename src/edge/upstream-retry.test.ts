import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { Registry } from "../exposition/registry.ts";
import { type Edge, startEdge } from "./edge.ts";
import { EdgeMetrics, InstanceMetrics } from "./metrics.ts";
import type { AppRoute, InstanceRoute } from "./routes.ts";
import { answer, appRoute, instanceRoute, send, startUpstream, sumOf, type TestUpstream, until } from "./testkit.ts";
import { type ConnUser, InstanceState, type UpstreamConn } from "./upstream.ts";

/** What a one-shot server does with a connection after answering its first request. */
type Afterwards = "end" | "race" | "later" | "drop" | "partial";

/** A raw HTTP server that answers only the first request of each connection, advertising keep-alive. */
interface OneShotServer {
  readonly address: string;
  readonly connections: () => number;
  /** Requests that arrived on an answered connection and were cut without an answer. */
  readonly drops: () => number;
  close(): void;
}

/**
 * Starts a one-shot server. After the answer, `afterwards(k)` (k: the connection's index) decides: "end" closes at
 * once, "race" closes a moment later, "later" after 50 ms, "drop" and "partial" wait for the next request and then cut the connection,
 * "partial" after writing the start of a status line. `onDrop` runs just before a request is cut.
 */
async function oneShotServer(
  name: string,
  afterwards: (k: number) => Afterwards,
  onDrop: () => void = () => {},
): Promise<OneShotServer> {
  let connections = 0;
  let drops = 0;
  const server: Server = createServer((socket: Socket) => {
    const mode = afterwards(connections++);
    socket.on("error", () => {});
    let head = "";
    let answered = false;
    socket.on("data", (chunk: Buffer) => {
      if (answered) {
        drops++;
        onDrop();
        if (mode === "partial") socket.write("HTTP/1.1 200 O");
        socket.destroy();
        return;
      }
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      answered = true;
      const method = head.slice(0, head.indexOf(" "));
      const body = `${name} ${method}\n`;
      const resHead = `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n`;
      socket.write(method === "HEAD" ? resHead : resHead + body);
      if (mode === "end") socket.end();
      else if (mode === "race") setTimeout(() => socket.end(), connections % 2);
      else if (mode === "later") setTimeout(() => socket.end(), 50);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    address: `127.0.0.1:${(server.address() as { port: number }).port}`,
    connections: () => connections,
    drops: () => drops,
    close: () => {
      server.close();
    },
  };
}

/** Starts a keep-alive HTTP server in a child process and resolves with it and its address. */
async function childUpstream(): Promise<{ child: ChildProcess; address: string }> {
  const script = `
    const http = require("node:http");
    const server = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => res.end("child " + req.method + "\\n"));
    });
    server.keepAliveTimeout = 60000;
    server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(out.trim());
    });
    child.on("exit", () => reject(new Error("child upstream exited")));
  });
  return { child, address: `127.0.0.1:${port}` };
}

describe("edge: retrying requests lost with a reused upstream connection", () => {
  const registry = new Registry();
  const routes = new Map<string, AppRoute>();
  const oneShots: OneShotServer[] = [];
  let good: TestUpstream;
  let edge: Edge;
  let port: number;

  const edgeCount = (app: string, status?: number): number =>
    sumOf(registry, "fly_edge_http_responses_count", status === undefined ? { app } : { app, status: String(status) });

  before(async () => {
    good = await startUpstream(answer("good"));
    edge = await startEdge({
      listeners: [{ region: "ord", host: "a1b2", address: "127.0.0.1:0" }],
      routes,
      registry,
      upstreamTimeoutMs: 2000,
    });
    port = Number(edge.listeners[0].address.split(":")[1]);
  });

  after(async () => {
    await edge.close();
    await good.close();
    for (const s of oneShots) s.close();
  });

  test("an instance closing keep-alive connections right after each response: 1,000 GETs all get 200", async () => {
    const modes: readonly Afterwards[] = ["end", "race", "drop"];
    const flaky = await oneShotServer("flaky", (k) => modes[k % modes.length]);
    oneShots.push(flaky);
    routes.set("flaky", appRoute([instanceRoute("r1", "ord", flaky.address)]));
    for (let i = 0; i < 1000; i++) {
      const r = await send(port, "flaky.localhost", { path: `/${i}` });
      assert.equal(r.status, 200, `request ${i}: ${r.body}`);
      assert.equal(r.body, "flaky GET\n");
    }
    assert.ok(flaky.drops() > 0, "some requests were lost on a reused connection and sent again");
    assert.equal(edgeCount("flaky"), 1000, "each client request is counted once");
    assert.equal(edgeCount("flaky", 200), 1000);
    assert.equal(sumOf(registry, "fly_app_http_responses_count", { app: "flaky" }), 1000);
    assert.equal(sumOf(registry, "fly_app_concurrency", { app: "flaky" }), 0);
  });

  test("a request lost on a dying pooled connection is sent again only when that is safe", async () => {
    const cases: {
      name: string;
      mode?: Afterwards;
      method: string;
      headers?: Record<string, string>;
      body?: string;
      status: number;
      resent: boolean;
    }[] = [
      { name: "GET", method: "GET", status: 200, resent: true },
      { name: "HEAD", method: "HEAD", status: 200, resent: true },
      { name: "OPTIONS", method: "OPTIONS", status: 200, resent: true },
      { name: "DELETE", method: "DELETE", status: 200, resent: true },
      { name: "PUT without a body", method: "PUT", headers: { "content-length": "0" }, status: 200, resent: true },
      { name: "PUT with a body", method: "PUT", body: "abc", status: 502, resent: false },
      { name: "POST with a body", method: "POST", body: "abc", status: 502, resent: false },
      {
        name: "POST with a chunked body",
        method: "POST",
        headers: { "transfer-encoding": "chunked" },
        body: "abc",
        status: 502,
        resent: false,
      },
      {
        name: "POST without a body (not idempotent)",
        method: "POST",
        headers: { "content-length": "0" },
        status: 502,
        resent: false,
      },
      {
        name: "POST without a body, with an idempotency key",
        method: "POST",
        headers: { "content-length": "0", "idempotency-key": "k1" },
        status: 200,
        resent: true,
      },
      { name: "GET after a response byte arrived", mode: "partial", method: "GET", status: 502, resent: false },
    ];
    for (const [i, c] of cases.entries()) {
      // A server and an app per case, so each starts with an empty pool.
      const app = `case${i}`;
      const server = await oneShotServer(app, () => c.mode ?? "drop");
      oneShots.push(server);
      routes.set(app, appRoute([instanceRoute(`c${i}`, "ord", server.address)]));
      // The warm-up leaves one idle pooled connection, which the server cuts when the case's request arrives.
      assert.equal((await send(port, `${app}.localhost`)).status, 200, `${c.name}: warm-up`);
      const r = await send(port, `${app}.localhost`, { method: c.method, headers: c.headers, body: c.body });
      assert.equal(r.status, c.status, `${c.name}: ${r.body}`);
      if (c.status === 200) assert.equal(r.body, c.method === "HEAD" ? "" : `${app} ${c.method}\n`, c.name);
      assert.equal(server.drops(), 1, `${c.name}: the request went out on the pooled connection`);
      assert.equal(server.connections(), c.resent ? 2 : 1, `${c.name}: connections opened`);
      await until(() => edgeCount(app) === 2);
      assert.equal(edgeCount(app, c.status), c.status === 200 ? 2 : 1, `${c.name}: counted once`);
      assert.equal(sumOf(registry, "fly_app_concurrency", { app }), 0, `${c.name}: load released`);
    }

    const movedGood = instanceRoute("m2", "ams", good.address);
    const moving = await oneShotServer(
      "moving",
      () => "drop",
      () => {
        // The instance leaves the route table while the request is on its way.
        routes.set("moved", appRoute([instanceRoute("m1", "ord", moving.address, false), movedGood]));
      },
    );
    oneShots.push(moving);
    // The instance left the route table while the request was lost: the retry goes to another instance.
    routes.set("moved", appRoute([instanceRoute("m1", "ord", moving.address), movedGood]));
    assert.equal((await send(port, "moved.localhost")).body, "moving GET\n");
    const r = await send(port, "moved.localhost", { path: "/x" });
    assert.equal(r.status, 200);
    assert.equal(r.body, "good GET /x\n");
    assert.equal(moving.drops(), 1);
    assert.equal(moving.connections(), 1, "no fresh connection to an instance that is no longer routable");
    assert.equal(edgeCount("moved"), 2);
    assert.equal(sumOf(registry, "fly_app_concurrency", { app: "moved" }), 0);
  });

  test("an instance killed between requests: the next GETs all succeed on the other instance", async () => {
    const { child, address } = await childUpstream();
    const exited = new Promise<void>((r) => child.on("exit", () => r()));
    try {
      routes.set("killed", appRoute([instanceRoute("k1", "ord", address), instanceRoute("k2", "ams", good.address)]));
      // Concurrent requests leave several idle pooled connections to the child, all dead after the kill.
      const warm = await Promise.all(Array.from({ length: 8 }, () => send(port, "killed.localhost")));
      for (const w of warm) assert.equal(w.body, "child GET\n");
      const counted = edgeCount("killed");
      child.kill("SIGKILL");
      await exited;
      const later: Awaited<ReturnType<typeof send>>[] = [];
      for (let i = 0; i < 20; i++) later.push(await send(port, "killed.localhost", { path: `/l${i}` }));
      for (const [i, r] of later.entries()) {
        assert.equal(r.status, 200, r.body);
        assert.equal(r.body, `good GET /l${i}\n`);
      }
      assert.equal(edgeCount("killed"), counted + 20, "each client request is counted once");
      assert.equal(edgeCount("killed", 200), counted + 20);
      assert.equal(sumOf(registry, "fly_app_concurrency", { app: "killed" }), 0);
    } finally {
      child.kill("SIGKILL");
    }
  });
});

/** The connection state of one instance of app `app`, with its own registry and 4 idle connections at most. */
function poolOf(app: string, route: InstanceRoute): InstanceState {
  const metrics = new InstanceMetrics(new EdgeMetrics(new Registry()), app, "ord", "a1b2", route.id);
  return new InstanceState(route, metrics, { connectTimeoutMs: 1000, idleTimeoutMs: 60_000, maxIdle: 4 }, () => {});
}

/** Sends one GET on a pooled connection of `inst` and resolves with it once a response ending in `ending` arrived. */
function pooledGet(inst: InstanceState, ending: string): Promise<UpstreamConn> {
  const request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  return new Promise((resolve, reject) => {
    let got = "";
    const user: ConnUser = {
      onConnect: (c) => c.socket.write(request),
      onData: (chunk) => {
        got += chunk.toString("latin1");
        if (got.endsWith(ending)) resolve(conn);
      },
      onDrain: () => {},
      onEnd: () => {},
      onClose: () => reject(new Error("closed")),
    };
    const conn = inst.acquire(user);
    if (conn.connected) conn.socket.write(request);
  });
}

describe("upstream pool", () => {
  test("an idle pooled connection the instance closes leaves the pool at once", async () => {
    const server = await oneShotServer("pool", (k) => (k === 0 ? "later" : "drop"));
    const inst = poolOf("pool", instanceRoute("q1", "ord", server.address));
    const get = () => pooledGet(inst, "pool GET\n");
    const first = await get();
    inst.release(first, true, performance.now());
    assert.equal(inst.idleCount, 1);
    await until(() => inst.idleCount === 0, 1000);
    assert.equal(first.socket.destroyed, true);
    const second = await get();
    assert.notEqual(second, first);
    assert.equal(server.connections(), 2);
    inst.closeAll();
    server.close();
  });

  test("a connection paused for a slow client reads again once back in the pool", async () => {
    const up = await startUpstream(answer("paused"));
    const inst = poolOf("paused", instanceRoute("q2", "ord", up.address));
    const get = () => pooledGet(inst, "paused GET /\n");
    const first = await get();
    // As an exchange does when the client cannot take the response's last bytes yet.
    first.socket.pause();
    inst.release(first, true, performance.now());
    let timer: NodeJS.Timeout | undefined;
    const second = await Promise.race([
      get(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no answer within 5 s on the reused connection")), 5000);
      }),
    ]);
    clearTimeout(timer);
    assert.equal(second, first, "the pooled connection was reused");
    assert.equal(up.connections(), 1);
    inst.closeAll();
    await up.close();
  });
});
