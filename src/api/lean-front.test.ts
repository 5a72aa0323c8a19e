// The lean query way's connection handling (lean-query.ts) on a bare node:http server: requests sent ahead are
// answered in order, a connection goes to node:http at its first request that is not plain (with the bytes after
// it), heads and bodies not whole go there too, idle connections close after the keep-alive time, streamed bodies
// go out in chunks, a client ending its side stops the answer, a stop closes idle connections at once and busy ones
// after their answer, and hostile bytes get node:http's refusal while the server goes on answering.

import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ContrailError } from "../model/errors.ts";
import { type LeanQueryDeps, type LeanQueryFront, leanQueryFront } from "./lean-query.ts";
import type { Outgoing } from "./respond.ts";

/** Keep-alive time of the test server, ms: short, so the idle close can be seen. */
const KEEP_ALIVE_MS = 300;
const BODY_LIMIT = 1024;
const Q = "/prometheus/acme/api/v1/query";
/** An answer of 64 KiB: a few hundred of them are more than the sockets' buffers hold. */
const BIG = "b".repeat(64 * 1024);

let server: Server;
let front: LeanQueryFront;
let port: number;
/** Sockets the lean way saw a query stopped on (its connection closed while the answer was under way). */
let stoppedQueries = 0;
const observed: number[] = [];

/** The answer of the fake handler: the query, or a stream, or a wait, as the query asks. */
async function serve(form: { get(n: string): string }, socket: Socket, send: (o: Outgoing) => Promise<void>) {
  const query = form.get("query");
  if (query === "stream") {
    const parts = ["alpha-", "beta-", "gamma"].map((s) => Buffer.from(s));
    return send({ status: 200, headers: { "content-type": "text/plain" }, body: Readable.from(parts) });
  }
  if (query === "big") return send({ status: 200, headers: { "content-type": "text/plain" }, body: BIG });
  if (query.startsWith("wait")) {
    const closed = new Promise((resolve) => socket.once("close", resolve));
    const waited = await Promise.race([sleep(Number(query.slice(4))).then(() => false), closed.then(() => true)]);
    if (waited) {
      stoppedQueries++;
      return;
    }
  }
  return send({ status: 200, headers: { "content-type": "text/plain", "x-way": "lean" }, body: `q=${query}` });
}

before(async () => {
  server = createServer((req, res) => {
    req.resume();
    const body = `node ${req.url}`;
    const headers = { "content-type": "text/plain", "x-way": "node", "content-length": Buffer.byteLength(body) };
    req.on("end", () => res.writeHead(200, headers).end(body));
  });
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  const deps: LeanQueryDeps = {
    bodyLimit: BODY_LIMIT,
    keepAliveMs: KEEP_ALIVE_MS,
    closing: () => false,
    refusal: (request) => {
      if (request.headers.authorization === "Bearer boom") throw new Error("the token store failed");
      return request.headers.authorization === "Bearer good"
        ? null
        : { status: 401, headers: {}, body: '{"status":"error"}' };
    },
    serve: (_path, _org, form, _request, socket, send) => serve(form, socket, send),
    failure: (err) => new ContrailError("internal", String(err)),
    observe: (_route, status) => observed.push(status),
  };
  front = leanQueryFront(server, deps);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

function get(path: string, extra = ""): string {
  return `GET ${path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer good\r\n${extra}\r\n`;
}

function post(body: string): string {
  return (
    `POST ${Q} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer good\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** A connection and everything it has received so far, as latin1 text. */
async function open(): Promise<{ socket: Socket; text: () => string; closed: Promise<void> }> {
  const socket = connect(port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  let text = "";
  socket.on("data", (d: Buffer) => {
    text += d.toString("latin1");
  });
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return { socket, text: () => text, closed };
}

/** Waits until `text()` holds `n` responses (status lines), or fails after a while. */
async function responses(text: () => string, n: number): Promise<string[]> {
  for (let i = 0; i < 200; i++) {
    const parts = text().split(/(?=HTTP\/1\.1 \d{3} )/);
    if (parts.length >= n && complete(parts[n - 1])) return parts;
    await sleep(10);
  }
  assert.fail(`expected ${n} responses, got:\n${text()}`);
}

// Whether one response's body has come whole (by its length or its last chunk).
function complete(response: string): boolean {
  const end = response.indexOf("\r\n\r\n");
  if (end < 0) return false;
  const length = /content-length: (\d+)/i.exec(response);
  if (length !== null) return response.length - end - 4 >= Number(length[1]);
  return response.endsWith("0\r\n\r\n");
}

describe("the lean query way's connections", () => {
  test("answer requests sent ahead in order, and go to node:http at the first one that is not plain", async () => {
    const c = await open();
    c.socket.write(get(`${Q}?query=a`) + post("query=b") + get("/healthz") + get(`${Q}?query=c`));
    const got = await responses(c.text, 4);
    assert.deepEqual(
      got.map((r) => /x-way: (\w+)/.exec(r)?.[1]),
      ["lean", "lean", "node", "node"],
    );
    assert.match(got[0], /q=a$/);
    assert.match(got[1], /q=b$/);
    assert.match(got[2], /node \/healthz$/);
    assert.match(got[3], /node \/prometheus\/acme\/api\/v1\/query\?query=c$/);
    c.socket.destroy();
  });

  test("give node:http a head or a body that has not come whole", async () => {
    const a = await open();
    const request = get(`${Q}?query=split`);
    a.socket.write(request.slice(0, 20));
    await sleep(30);
    a.socket.write(request.slice(20));
    assert.match((await responses(a.text, 1))[0], /x-way: node/);
    const b = await open();
    const body = post("query=late");
    b.socket.write(body.slice(0, body.length - 3));
    await sleep(30);
    b.socket.write(body.slice(body.length - 3));
    assert.match((await responses(b.text, 1))[0], /x-way: node/);
    a.socket.destroy();
    b.socket.destroy();
  });

  test("answer with node:http's headers: Date, keep-alive and its timeout, or close when asked", async () => {
    const c = await open();
    c.socket.write(get(`${Q}?query=h`) + get(`${Q}?query=last`, "Connection: close\r\n"));
    const got = await responses(c.text, 2);
    assert.match(got[0], /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(got[0], /\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n/);
    assert.match(got[0], /\r\nConnection: keep-alive\r\nKeep-Alive: timeout=0\r\n/);
    assert.match(got[1], /\r\nConnection: close\r\n/);
    await c.closed;
  });

  test("refuse without credentials, and count each answer", async () => {
    const before = observed.length;
    const c = await open();
    c.socket.write(`GET ${Q}?query=x HTTP/1.1\r\nHost: t\r\n\r\n`);
    assert.match((await responses(c.text, 1))[0], /^HTTP\/1\.1 401 Unauthorized\r\n/);
    assert.deepEqual(observed.slice(before), [401]);
    c.socket.destroy();
  });

  test("answer a failing access check with the API's error, and go on answering", async () => {
    const c = await open();
    c.socket.write(
      `GET ${Q}?query=x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer boom\r\n\r\n${get(`${Q}?query=after`)}`,
    );
    const got = await responses(c.text, 2);
    assert.match(got[0], /^HTTP\/1\.1 500 Internal Server Error\r\n[\s\S]*the token store failed/);
    assert.match(got[1], /q=after$/);
    c.socket.destroy();
  });

  test("close a connection idle for the keep-alive time, but not while its answer is under way", async () => {
    const c = await open();
    c.socket.write(get(`${Q}?query=wait${KEEP_ALIVE_MS * 2}`));
    const started = performance.now();
    await c.closed;
    const ms = performance.now() - started;
    assert.match((await responses(c.text, 1))[0], /q=wait/);
    assert.ok(ms >= KEEP_ALIVE_MS * 2, `closed after ${ms.toFixed(0)} ms`);
  });

  test("send a streamed body in chunks that a client reads whole", async () => {
    const r = await fetch(`http://127.0.0.1:${port}${Q}?query=stream`, { headers: { authorization: "Bearer good" } });
    assert.equal(r.headers.get("transfer-encoding"), "chunked");
    assert.equal(await r.text(), "alpha-beta-gamma");
  });

  test("stop the answer when the client ends its side of the connection", async () => {
    const before = stoppedQueries;
    const c = await open();
    c.socket.write(get(`${Q}?query=wait5000`));
    await sleep(50);
    c.socket.end();
    await c.closed;
    assert.equal(stoppedQueries, before + 1);
    assert.equal(c.text(), "");
  });

  test("refuse hostile bytes as node:http does, and go on answering", async () => {
    const hostile = [
      "GARBAGE\r\n\r\n",
      `GET ${Q}?query=x HTTP/1.1\r\nHost: t\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
      `GET ${Q}?query=x HTTP/1.1\r\nHost: t\r\nbad header\r\n\r\n`,
      `POST ${Q} HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab`,
      `GET ${Q}?query=x HTTP/9.9\r\nHost: t\r\n\r\n`,
    ];
    for (const bytes of hostile) {
      const c = await open();
      c.socket.write(bytes);
      await c.closed;
      assert.match(c.text(), /^HTTP\/1\.1 (400|431|505) /, JSON.stringify(bytes.slice(0, 60)));
    }
    const c = await open();
    c.socket.write(get(`${Q}?query=still`));
    assert.match((await responses(c.text, 1))[0], /q=still$/);
    c.socket.destroy();
  });

  test("answer thousands of requests sent ahead at once, in order, whichever way each goes", async () => {
    // They come in several reads: the first request cut between two goes to node:http with the rest.
    const n = 2000;
    const c = await open();
    c.socket.write(Array.from({ length: n }, (_, i) => get(`${Q}?query=n${i}`)).join(""));
    const got = await responses(c.text, n);
    assert.equal(got.length, n);
    assert.match(got[0], /x-way: lean/);
    for (const [i, r] of got.entries()) assert.ok(r.endsWith(`q=n${i}`) || r.endsWith(`query=n${i}`), r);
    c.socket.destroy();
  });

  test("stop answering a client that does not read its answers, and go on once it does", async () => {
    const n = 400;
    const c = await open();
    c.socket.pause();
    const before = observed.length;
    c.socket.write(Array.from({ length: n }, () => get(`${Q}?query=big`)).join(""));
    await sleep(300);
    const held = observed.length - before;
    assert.ok(held < n, `all ${n} answers were made for a client reading none`);
    await sleep(200);
    assert.equal(observed.length - before, held, "answers went on while none was read");
    c.socket.resume();
    const got = await responses(c.text, n);
    assert.equal(got.length, n);
    c.socket.destroy();
  });

  test("a stop closes idle connections at once, and a busy one after its answer, marked close", async () => {
    const idle = await open();
    const busy = await open();
    busy.socket.write(get(`${Q}?query=wait200`));
    await sleep(50);
    front.stop();
    await idle.closed;
    await busy.closed;
    const got = await responses(busy.text, 1);
    assert.match(got[0], /\r\nConnection: close\r\n[\s\S]*q=wait200$/);
    const late = connect(port, "127.0.0.1");
    await new Promise((resolve) => late.once("close", resolve));
  });
});
