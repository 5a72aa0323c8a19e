// What shared-reads.ts relies on in Node's net.Socket: a test here fails when Node changes it.

import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, test } from "node:test";
import { adoptSharedReads, viewsSharedBuffer } from "./shared-reads.ts";
import { until } from "./testkit.ts";

/** A server whose connections are adopted for shared reads; every read is recorded (copied) per socket. */
interface Harness {
  readonly server: Server;
  port: number;
  /** Adopted sockets, in accept order. */
  readonly sockets: Socket[];
  /** What each adopted socket read, as text, and whether every read viewed the shared buffer. */
  readonly reads: { text: string; shared: boolean }[];
  /** Called for every read after it is recorded. */
  onRead: (socket: Socket, bytes: Buffer) => void;
}

async function harness(): Promise<Harness> {
  const h: Harness = {
    server: createServer({ pauseOnConnect: true, allowHalfOpen: true }, (accepted) => {
      const i = h.sockets.length;
      h.reads.push({ text: "", shared: true });
      const socket = adoptSharedReads(accepted, true, (bytes) => {
        h.reads[i].text += bytes.toString("latin1");
        h.reads[i].shared &&= viewsSharedBuffer(bytes);
        h.onRead(h.sockets[i], bytes);
      });
      assert.ok(socket !== null, "Node no longer lets an accepted socket be rebuilt over its handle");
      h.sockets.push(socket);
    }),
    port: 0,
    sockets: [],
    reads: [],
    onRead: () => {},
  };
  h.server.listen(0, "127.0.0.1");
  await once(h.server, "listening");
  h.port = (h.server.address() as { port: number }).port;
  return h;
}

/** A client connection that collects what it receives. */
function client(port: number): { socket: Socket; received: () => string } {
  const socket = connect(port, "127.0.0.1");
  let text = "";
  socket.on("data", (d: Buffer) => {
    text += d.toString("latin1");
  });
  socket.on("error", () => {});
  return { socket, received: () => text };
}

describe("shared reads on accepted sockets (Node's net internals)", () => {
  let server: Server | null = null;
  afterEach(() => {
    server?.close();
    server = null;
  });

  /** A harness with one client connected, and the adopted server side of that connection. */
  async function connected(): Promise<{ h: Harness; c: ReturnType<typeof client>; s: Socket }> {
    const h = await harness();
    server = h.server;
    const c = client(h.port);
    await until(() => h.sockets.length === 1);
    return { h, c, s: h.sockets[0] };
  }

  test("reads arrive as views of the shared buffer, writes go out, and the byte counts hold", async () => {
    const { h, c, s } = await connected();
    let dataEvents = 0;
    s.on("data", () => dataEvents++);
    c.socket.write("ping-1");
    await until(() => h.reads[0].text === "ping-1");
    s.write("pong-1");
    await until(() => c.received() === "pong-1");
    c.socket.write("ping-2");
    await until(() => h.reads[0].text === "ping-1ping-2");
    assert.equal(h.reads[0].shared, true);
    assert.equal(dataEvents, 0);
    assert.equal(s.bytesRead, 12);
    assert.equal(s.bytesWritten, 6);
    assert.equal(s.remoteAddress, "127.0.0.1");
    assert.equal(s.remotePort, c.socket.localPort);
    c.socket.destroy();
  });

  test("pause stops reading at once and resume starts it again", async () => {
    const { h, c, s } = await connected();
    h.onRead = (socket) => socket.pause();
    c.socket.write("first");
    await until(() => h.reads[0].text === "first");
    assert.equal(s.isPaused(), true);
    c.socket.write("second");
    // The bytes wait in the kernel while the socket is paused (a stream socket would have read them on).
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.reads[0].text, "first");
    h.onRead = () => {};
    s.resume();
    await until(() => h.reads[0].text === "firstsecond");
    c.socket.destroy();
  });

  test("the client's end arrives as 'end', the half-open socket still writes, and the server counts it", async () => {
    const { h, c, s } = await connected();
    const count = (): Promise<number> =>
      new Promise((resolve, reject) => h.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    assert.equal(await count(), 1);
    const ended = once(s, "end");
    c.socket.end("last words");
    await ended;
    assert.equal(h.reads[0].text, "last words");
    s.end("goodbye");
    await once(c.socket, "close");
    assert.equal(c.received(), "goodbye");
    await until(() => s.destroyed);
    assert.equal(await count(), 0);
    // The adopted socket stands for the connection: closing the server completes once it is gone.
    const closed = once(h.server, "close");
    h.server.close();
    await closed;
    server = null;
  });

  test("a socket that is already destroyed is not adopted", async () => {
    const srv = createServer({ pauseOnConnect: true }, (accepted) => {
      accepted.destroy();
      assert.equal(
        adoptSharedReads(accepted, true, () => {}),
        null,
      );
      srv.emit("checked");
    });
    server = srv;
    srv.listen(0, "127.0.0.1");
    await once(srv, "listening");
    const checked = once(srv, "checked");
    const c = client((srv.address() as { port: number }).port);
    await checked;
    c.socket.destroy();
  });
});
