// ClientConn on a socket that reads into the process's shared buffer: what it keeps, and what it hands to a
// request's user, must outlive the read that delivered it (the next read overwrites the buffer).

import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { ClientConn, type ClientSide, type ConnOwner } from "./client-conn.ts";
import { ClientMeter } from "./core.ts";
import type { RequestHead } from "./request-parser.ts";
import { adoptSharedReads } from "./shared-reads.ts";
import { until } from "./testkit.ts";

/** Serves every request by keeping its body chunks as handed over (no copy), then answers with them. */
class KeepingOwner implements ConnOwner {
  /** Body bytes the current request's user got so far. */
  kept: Buffer[] = [];
  /** Whether the socket was corked (its writes held) right after each response's body write. */
  heldAfterBody: boolean[] = [];
  /** No idle sweep here: the clock stands still. */
  readonly clock = 0;

  onRequest(conn: ClientConn, head: RequestHead): void {
    const client: ClientSide = conn;
    const kept: Buffer[] = [];
    this.kept = kept;
    client.attach({
      onRequestBody: (chunk) => kept.push(chunk),
      onRequestEnd: () => {
        const body = Buffer.concat(kept);
        client.writeHead(200, ["Content-Length", String(body.length + head.target.length + 1)]);
        client.write(Buffer.from(`${head.target} `, "latin1"));
        client.write(body);
        this.heldAfterBody.push(conn.held !== null);
        client.end();
      },
      onClientDrain: () => {},
      onClientClose: () => {},
    });
    client.readBody();
  }

  onUpgrade(): void {}
  onRefused(): void {}
  watchHead(): void {}
  onConnClose(): void {}
}

const LIMITS = { maxHeaderBytes: 8192, headersTimeoutMs: 5000, clientIdleTimeoutMs: 5000 };

describe("a client connection reading into the shared buffer", () => {
  const owner = new KeepingOwner();
  let server: Server;
  let port: number;
  /** The server side of the latest connection. */
  let served: Socket | null = null;

  before(async () => {
    server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (accepted) => {
      let conn: ClientConn | null = null;
      const socket = adoptSharedReads(accepted, true, (bytes) => conn?.receive(bytes));
      assert.ok(socket !== null);
      served = socket;
      conn = new ClientConn(socket, new ClientMeter(socket), owner, LIMITS, true);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as { port: number }).port;
  });

  after(() => server.close());

  /** Sends `pieces` one read at a time: each after the server read the one before. */
  async function trickle(socket: Socket, pieces: readonly string[]): Promise<void> {
    for (const p of pieces) {
      const expected = (served?.bytesRead ?? 0) + p.length;
      socket.write(p, "latin1");
      await until(() => (served?.bytesRead ?? 0) >= expected);
    }
  }

  test("body chunks kept by the user and a head split over reads stay intact (Content-Length and chunked)", async () => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    socket.on("data", (d: Buffer) => {
      reply += d.toString("latin1");
    });
    await once(socket, "connect");
    await until(() => served !== null);
    // A head in three reads, then a body in four.
    await trickle(socket, [
      "POST /a HT",
      "TP/1.1\r\nHost: x\r\nConte",
      "nt-Length: 16\r\n\r\n",
      "aaaa",
      "bbbb",
      "cccc",
      "dddd",
    ]);
    await until(() => reply.includes("/a aaaabbbbccccdddd"));
    // A chunked body, each chunk in a read of its own.
    const chunked = [
      "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
      "3\r\nxyz\r\n",
      "2\r\nuv\r\n",
    ];
    await trickle(socket, [...chunked, "4\r\nqrst\r\n", "0\r\n\r\n"]);
    await until(() => reply.includes("/b xyzuvqrst"));
    assert.deepEqual(
      owner.kept.map((b) => b.toString("latin1")),
      ["xyz", "uv", "qrst"],
    );
    // Pipelined requests in one read: the second waits in the connection's buffer while the first is served.
    socket.write("GET /c HTTP/1.1\r\nHost: x\r\n\r\nGET /d HTTP/1.1\r\nHost: x\r\n\r\n", "latin1");
    await until(() => reply.includes("/d "));
    assert.ok(reply.indexOf("/c ") < reply.indexOf("/d "));
    socket.destroy();
  });

  test("small writes are held for the turn; a large one leaves at once, after them and in order", async () => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    socket.on("data", (d: Buffer) => {
      reply += d.toString("latin1");
    });
    await once(socket, "connect");
    try {
      owner.heldAfterBody = [];
      socket.write("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd", "latin1");
      await until(() => reply.endsWith("/small abcd"));
      const big = "y".repeat(40_000);
      socket.write(`POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\n\r\n${big}`, "latin1");
      await until(() => reply.endsWith(`/big ${big}`));
      // The small body was held (it left with the head in one write); the large one released what the turn held.
      assert.deepEqual(owner.heldAfterBody, [true, false]);
      assert.match(reply, /^HTTP\/1\.1 200 OK\r\nContent-Length: 11\r\n/);
    } finally {
      socket.destroy();
    }
  });
});
