import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { until } from "./testkit.ts";
import { type Held, holdWrite, releaseNow } from "./write-batch.ts";

/** A connected pair: `local` (written to, through `owner`) and what its peer has received so far. */
interface Pair {
  readonly local: Socket;
  readonly owner: Held;
  readonly peer: Socket;
  readonly received: () => string;
  readonly closed: () => boolean;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("edge: writes held until the loop's check phase", () => {
  let server: Server;
  let port = 0;
  const peers: Socket[] = [];
  const texts: string[] = [];
  const ends: boolean[] = [];

  before(async () => {
    server = createServer((s) => {
      const i = peers.length;
      peers.push(s);
      texts.push("");
      ends.push(false);
      s.on("data", (d: Buffer) => {
        texts[i] += d.toString("latin1");
      });
      s.on("close", () => {
        ends[i] = true;
      });
      s.on("error", () => {});
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    for (const p of peers) p.destroy();
    server.close();
  });

  async function pair(): Promise<Pair> {
    const i = peers.length;
    const local = connect(port, "127.0.0.1");
    local.on("error", () => {});
    await once(local, "connect");
    await until(() => peers.length > i);
    return {
      local,
      owner: { socket: local, held: null, unsent: 0 },
      peer: peers[i],
      received: () => texts[i],
      closed: () => ends[i],
    };
  }

  test("writes of one turn stay with their owner, in order, and leave together in the check phase", async () => {
    const a = await pair();
    const b = await pair();
    assert.equal(holdWrite(a.owner, "one "), true);
    holdWrite(b.owner, Buffer.from("other"));
    holdWrite(a.owner, Buffer.from("two"));
    holdWrite(a.owner, " three");
    assert.deepEqual(a.owner.held, ["one ", Buffer.from("two"), " three"], "nothing went to the kernel in the turn");
    assert.equal(a.local.bytesWritten, 0);
    await turn();
    assert.equal(a.owner.held, null);
    assert.equal(a.local.writableLength, 0, "the Writable was passed by");
    assert.equal(a.local.bytesWritten, 13, "the handle counts what it wrote");
    await until(() => a.received() === "one two three" && b.received() === "other");
    a.local.destroy();
    b.local.destroy();
  });

  test("a peer that stops reading meets the Writable's high-water mark; every byte arrives in order", async () => {
    const a = await pair();
    a.peer.pause();
    const piece = 16 * 1024;
    let sent = 0;
    let refused = false;
    let queued = 0;
    // One piece a turn, as responses leave, until the socket says to wait.
    for (let i = 0; i < 4096 && !refused; i++) {
      refused = !holdWrite(a.owner, Buffer.alloc(piece, 0x61 + (i % 26)));
      sent++;
      await turn();
      queued = Math.max(queued, a.owner.unsent);
    }
    assert.ok(refused, "the socket asked its writer to wait");
    assert.equal(queued, 1, "one direct write waited in libuv's queue, the later ones in the Writable");
    assert.ok(a.local.writableNeedDrain);
    const drained = once(a.local, "drain");
    a.peer.resume();
    await drained;
    await until(() => a.received().length === sent * piece);
    assert.equal(a.owner.unsent, 0);
    const text = a.received();
    for (let i = 0; i < sent; i++) {
      assert.equal(text.charCodeAt(i * piece), 0x61 + (i % 26), `piece ${i} in its place`);
      assert.equal(text.charCodeAt(i * piece + piece - 1), 0x61 + (i % 26));
    }
    a.local.destroy();
  });

  test("releaseNow sends what was held before a destroy or an end", async () => {
    const a = await pair();
    holdWrite(a.owner, "before the cut");
    releaseNow(a.owner);
    a.local.destroy();
    await until(() => a.closed());
    assert.equal(a.received(), "before the cut");
    const b = await pair();
    holdWrite(b.owner, "last ");
    holdWrite(b.owner, Buffer.from("words"));
    releaseNow(b.owner);
    b.local.end();
    await until(() => b.closed());
    assert.equal(b.received(), "last words");
  });

  test("held writes and later writes past the module keep their order", async () => {
    const a = await pair();
    holdWrite(a.owner, "head ");
    releaseNow(a.owner);
    a.local.write("body ", "latin1");
    holdWrite(a.owner, "next");
    await until(() => a.received() === "head body next");
    a.local.destroy();
  });

  test("a socket still connecting gets its held writes through the Writable, after the connect", async () => {
    const local = connect(port, "127.0.0.1");
    local.on("error", () => {});
    const i = peers.length;
    const owner: Held = { socket: local, held: null, unsent: 0 };
    holdWrite(owner, "early ");
    holdWrite(owner, Buffer.from("bytes"));
    await turn();
    await until(() => peers.length > i && texts[i] === "early bytes");
    local.destroy();
  });

  test("a write the kernel refuses ends the socket with the write's error; the process goes on", async () => {
    const a = await pair();
    const failed = once(a.local, "error");
    // The reset reaches the local socket's kernel side at once; its read would notice it only in a later poll.
    a.peer.resetAndDestroy();
    holdWrite(a.owner, "into a reset connection");
    releaseNow(a.owner);
    const [err] = (await failed) as [NodeJS.ErrnoException];
    assert.match(String(err.code), /^(EPIPE|ECONNRESET)$/);
    assert.equal(err.syscall, "write");
    assert.equal(err.message, `write ${err.code}`);
    assert.equal(a.local.destroyed, true);
    const b = await pair();
    holdWrite(b.owner, "still serving");
    await until(() => b.received() === "still serving");
    b.local.destroy();
  });

  test("a held socket destroyed before the release drops its writes quietly", async () => {
    const a = await pair();
    holdWrite(a.owner, "never sent");
    a.local.destroy();
    await turn();
    assert.equal(a.owner.held, null);
    await until(() => a.closed());
    assert.equal(a.received(), "");
  });
});
