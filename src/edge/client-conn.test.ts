import assert from "node:assert/strict";
import { connect, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { Registry } from "../exposition/registry.ts";
import { type Edge, startEdge } from "./edge.ts";
import type { AppRoute } from "./routes.ts";
import {
  appRoute,
  instanceRoute,
  rawExchange,
  rawServer,
  send,
  startUpstream,
  sumOf,
  type TestUpstream,
  until,
} from "./testkit.ts";

/** A raw client connection that collects everything the edge sends. */
class RawClient {
  readonly socket: Socket;
  private chunks: Buffer[] = [];
  closed = false;

  constructor(port: number) {
    this.socket = connect(port, "127.0.0.1");
    this.socket.on("data", (d: Buffer) => this.chunks.push(d));
    this.socket.on("error", () => {});
    this.socket.on("close", () => {
      this.closed = true;
    });
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString("latin1");
  }

  /** Waits until `n` complete responses with Content-Length bodies arrived; returns them. */
  async responses(n: number): Promise<string[]> {
    await until(() => splitResponses(this.text).length >= n, 5000);
    return splitResponses(this.text);
  }
}

/** Splits a stream of Content-Length framed responses into whole responses. */
function splitResponses(text: string): string[] {
  const out: string[] = [];
  let pos = 0;
  while (pos < text.length) {
    const end = text.indexOf("\r\n\r\n", pos);
    if (end < 0) break;
    const head = text.slice(pos, end);
    const m = /\r\ncontent-length: (\d+)/i.exec(head);
    const len = m === null ? 0 : Number(m[1]);
    if (text.length < end + 4 + len) break;
    out.push(text.slice(pos, end + 4 + len));
    pos = end + 4 + len;
  }
  return out;
}

const statusOf = (response: string): number => Number(response.slice(9, 12));

describe("edge: the client side's HTTP/1.1 server under hostile input", () => {
  const registry = new Registry();
  const routes = new Map<string, AppRoute>();
  /** Every request the echo instance received, as "METHOD target body-length". */
  const seen: string[] = [];
  let echo: TestUpstream;
  let bad: Server;
  let edge: Edge;
  let port: number;

  before(async () => {
    echo = await startUpstream((req, res) => {
      let size = 0;
      req.on("data", (d: Buffer) => {
        size += d.length;
      });
      req.on("end", () => {
        seen.push(`${req.method} ${req.url} ${size}`);
        res.setHeader("Content-Type", "text/plain");
        res.end(`${req.method} ${req.url} ${size}`);
      });
    });
    const badApp = await rawServer((s) =>
      s.on("data", () => s.end("HTTP/1.1 200 OK\r\nX-Bad: a\rInjected: yes\r\nContent-Length: 2\r\n\r\nok")),
    );
    bad = badApp.server;
    routes.set("echo", appRoute([instanceRoute("e1", "ord", echo.address)]));
    routes.set("bad", appRoute([instanceRoute("b1", "ord", badApp.address)]));
    edge = await startEdge({
      listeners: [{ region: "ord", host: "a1b2", address: "127.0.0.1:0" }],
      routes,
      registry,
      maxHeaderBytes: 2048,
      headersTimeoutMs: 300,
      clientIdleTimeoutMs: 2000,
    });
    port = Number(edge.listeners[0].address.split(":")[1]);
  });

  after(async () => {
    await edge.close();
    await echo.close();
    bad.close();
  });

  /** The edge still serves a plain request after a hostile one. */
  async function stillAnswers(label: string): Promise<void> {
    const r = await send(port, "echo.localhost", { path: "/after" });
    assert.equal(r.status, 200, `${label}: the edge still answers`);
  }

  test("smuggling attempts, malformed and oversized heads get their status, reach no app, and close", async () => {
    const h = "Host: echo.localhost\r\n";
    const cases: { name: string; wire: string; status: number }[] = [
      {
        name: "CL.TE",
        wire: `POST /s1 HTTP/1.1\r\n${h}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG`,
        status: 400,
      },
      {
        name: "TE.CL",
        wire: `POST /s2 HTTP/1.1\r\n${h}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`,
        status: 400,
      },
      {
        name: "obfuscated TE",
        wire: `POST /s3 HTTP/1.1\r\n${h}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`,
        status: 400,
      },
      { name: "TE obs-fold", wire: `POST /s4 HTTP/1.1\r\n${h}Transfer-Encoding:\r\n chunked\r\n\r\n`, status: 400 },
      {
        name: "TE space before colon",
        wire: `POST /s5 HTTP/1.1\r\n${h}Transfer-Encoding : chunked\r\n\r\n`,
        status: 400,
      },
      {
        name: "differing Content-Lengths",
        wire: `POST /s6 HTTP/1.1\r\n${h}Content-Length: 1\r\nContent-Length: 20\r\n\r\nx`,
        status: 400,
      },
      { name: "non-numeric length", wire: `POST /s7 HTTP/1.1\r\n${h}Content-Length: 1x\r\n\r\nx`, status: 400 },
      { name: "bare LF head", wire: `GET /s8 HTTP/1.1\n${h}\n`, status: 400 },
      { name: "bare LF mid head", wire: `GET /s9 HTTP/1.1\r\nX-A: 1\n${h}`, status: 400 },
      { name: "bare CR in a value", wire: `GET /s10 HTTP/1.1\r\nX-A: 1\rX-B: 2\r\n${h}\r\n`, status: 400 },
      { name: "NUL in a value", wire: `GET /s11 HTTP/1.1\r\nX-A: 1\u0000\r\n${h}\r\n`, status: 400 },
      { name: "invalid name", wire: `GET /s12 HTTP/1.1\r\nX[A]: 1\r\n${h}\r\n`, status: 400 },
      { name: "space in the target", wire: `GET /s13 x HTTP/1.1\r\n${h}\r\n`, status: 400 },
      { name: "control byte in the target", wire: `GET /s14\u0001 HTTP/1.1\r\n${h}\r\n`, status: 400 },
      { name: "two Hosts", wire: `GET /s15 HTTP/1.1\r\n${h}Host: other.localhost\r\n\r\n`, status: 400 },
      {
        name: "TE in HTTP/1.0",
        wire: `POST /s16 HTTP/1.0\r\n${h}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        status: 400,
      },
      {
        name: "unsupported coding",
        wire: `POST /s17 HTTP/1.1\r\n${h}Transfer-Encoding: gzip, chunked\r\n\r\n`,
        status: 501,
      },
      { name: "HTTP/2.0 line", wire: `GET /s18 HTTP/2.0\r\n${h}\r\n`, status: 505 },
      { name: "oversized head", wire: `GET /s19 HTTP/1.1\r\n${h}X-Big: ${"a".repeat(3000)}\r\n\r\n`, status: 431 },
      { name: "oversized, unfinished head", wire: `GET /s20 HTTP/1.1\r\nX-Big: ${"a".repeat(3000)}`, status: 431 },
      {
        name: "unmet expectation",
        wire: `POST /s21 HTTP/1.1\r\n${h}Expect: magic\r\nContent-Length: 1\r\n\r\nx`,
        status: 417,
      },
      { name: "CONNECT", wire: `CONNECT echo.localhost:443 HTTP/1.1\r\n${h}\r\n`, status: 405 },
    ];
    for (const c of cases) {
      const before = sumOf(registry, "fly_edge_http_responses_count", { app: "", status: String(c.status) });
      const reply = await rawExchange(port, c.wire);
      assert.equal(statusOf(reply), c.status, `${c.name}: ${reply.split("\r\n")[0]}`);
      assert.match(reply, /\r\nConnection: close\r\n/, c.name);
      assert.equal(splitResponses(reply).length, 1, `${c.name}: one response only`);
      await until(
        () => sumOf(registry, "fly_edge_http_responses_count", { app: "", status: String(c.status) }) === before + 1,
      );
      await stillAnswers(c.name);
    }
    assert.deepEqual(
      seen.filter((s) => / \/s\d+ /.test(s)),
      [],
      "no hostile request reached the app",
    );
  });

  test("chunked bodies with an overflowing or malformed size get 400 and the edge keeps serving", async () => {
    const h = "Host: echo.localhost\r\nTransfer-Encoding: chunked\r\n";
    for (const [name, body] of [
      ["size overflow", "ffffffffffffffffffff\r\n"],
      ["size past 2^53", "20000000000000\r\nabc"],
      ["bare LF after size", "3\nabc\r\n0\r\n\r\n"],
      ["data without CRLF", "3\r\nabcd\r\n0\r\n\r\n"],
    ]) {
      const reply = await rawExchange(port, `POST /c HTTP/1.1\r\n${h}\r\n${body}`);
      assert.equal(statusOf(reply), 400, `${name}: ${reply}`);
      await stillAnswers(name);
    }
  });

  test("a head trickled slower than the head deadline gets 408, though bytes keep coming", async () => {
    const client = new RawClient(port);
    const wire = "GET /slow HTTP/1.1\r\nHost: echo.localhost\r\nX-Pad: 0123456789\r\n\r\n";
    const t0 = Date.now();
    for (let i = 0; i < wire.length && !client.closed; i++) {
      client.socket.write(wire[i]);
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => client.closed, 3000);
    assert.match(client.text, /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - t0 >= 250, `answered after ${Date.now() - t0} ms`);
    await stillAnswers("slow head");
  });

  test("pipelined requests are answered in order; a body's bytes never start a request", async () => {
    const client = new RawClient(port);
    client.socket.write(
      "POST /p1 HTTP/1.1\r\nHost: echo.localhost\r\nContent-Length: 33\r\n\r\n" +
        "GET /hidden HTTP/1.1\r\nHost: x\r\n\r\n" +
        "POST /p2 HTTP/1.1\r\nHost: echo.localhost\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5\r\nhello\r\n0\r\n\r\n" +
        "\r\nGET /p3 HTTP/1.1\r\nHost: echo.localhost\r\n\r\n",
    );
    const rs = await client.responses(3);
    assert.deepEqual(
      rs.map((r) => r.slice(r.indexOf("\r\n\r\n") + 4)),
      ["POST /p1 33", "POST /p2 5", "GET /p3 0"],
    );
    assert.ok(!seen.some((s) => s.includes("/hidden")));
    client.socket.destroy();
  });

  test("a client that pipelines without reading its responses is read no further until it reads", async () => {
    const request = `GET / HTTP/1.1\r\nHost: ${"n".repeat(180)}.localhost\r\n\r\n`;
    const total = 60_000;
    const before = sumOf(registry, "fly_edge_http_responses_count", { app: "", status: "404" });
    const answered = (): number =>
      sumOf(registry, "fly_edge_http_responses_count", { app: "", status: "404" }) - before;
    const client = connect(port, "127.0.0.1");
    client.on("error", () => {});
    client.pause();
    await new Promise((r) => client.once("connect", r));
    const batch = request.repeat(1000);
    for (let i = 0; i < total / 1000; i++) client.write(batch);
    // The edge stops once the kernel's buffers hold what the client did not read: far from every answer.
    let last = -1;
    await until(() => {
      const now = answered();
      const settled = now === last && now > 0;
      last = now;
      return settled;
    }, 5000);
    assert.ok(answered() < total, `answered ${answered()} of ${total} with nobody reading`);
    let bytes = 0;
    client.on("data", (d: Buffer) => {
      bytes += d.length;
    });
    client.resume();
    await until(() => answered() === total, 10_000);
    client.destroy();
    assert.ok(bytes > 0);
  });

  test("Expect: 100-continue gets an interim response before the body is sent", async () => {
    const client = new RawClient(port);
    client.socket.write("PUT /e HTTP/1.1\r\nHost: echo.localhost\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    await until(() => client.text.startsWith("HTTP/1.1 100 Continue\r\n\r\n"));
    client.socket.write("data");
    await until(() => client.text.includes("PUT /e 4"));
    client.socket.destroy();
  });

  test("HEAD gets no body, Connection: close and HTTP/1.0 close after the response", async () => {
    const head = new RawClient(port);
    head.socket.write(
      "HEAD /h HTTP/1.1\r\nHost: echo.localhost\r\n\r\nGET /h2 HTTP/1.1\r\nHost: echo.localhost\r\n\r\n",
    );
    await until(() => head.text.includes("GET /h2 0"));
    const [first] = head.text.split("HTTP/1.1 200").filter((s) => s !== "");
    assert.ok(first.endsWith("\r\n\r\n"), "the HEAD response ends with its head");
    head.socket.destroy();

    const close = await rawExchange(port, "GET /c1 HTTP/1.1\r\nHost: echo.localhost\r\nConnection: close\r\n\r\n");
    assert.match(close, /^HTTP\/1\.1 200 /);
    assert.match(close, /\r\nConnection: close\r\n/);
    assert.ok(close.endsWith("GET /c1 0"), close);
    const old = await rawExchange(port, "GET /c2 HTTP/1.0\r\nHost: echo.localhost\r\n\r\n");
    assert.match(old, /^HTTP\/1\.1 200 /);
    assert.ok(old.endsWith("GET /c2 0"), old);
  });

  test("a response header with a bare CR from the app becomes 502, never a header of its own", async () => {
    const r = await send(port, "bad.localhost");
    assert.equal(r.status, 502);
    assert.equal(r.headers.injected, undefined);
    await stillAnswers("bad response header");
  });
});
