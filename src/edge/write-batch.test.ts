import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { until } from "./testkit.ts";
import { holdWrites, releaseNow } from "./write-batch.ts";

/** A connected pair: `local` (written to) and what its peer has received so far. */
interface Pair {
  readonly local: Socket;
  readonly received: () => string;
  readonly closed: () => boolean;
}

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
    const local = connect(port, "127.0.0.1");
    local.on("error", () => {});
    await once(local, "connect");
    await until(() => peers.length === texts.length && texts.length > 0);
    const i = peers.length - 1;
    return { local, received: () => texts[i], closed: () => ends[i] };
  }

  test("writes of one turn stay buffered, in order, and leave together in the check phase", async () => {
    const a = await pair();
    const b = await pair();
    holdWrites(a.local);
    a.local.write("one ", "latin1");
    holdWrites(b.local);
    b.local.write(Buffer.from("other"));
    holdWrites(a.local); // held already: nothing changes
    a.local.write(Buffer.from("two"));
    assert.equal(a.local.writableLength, 7, "nothing went to the kernel during the turn");
    assert.equal(b.local.writableLength, 5);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(a.local.writableLength, 0);
    assert.equal(a.local.writableCorked, 0);
    await until(() => a.received() === "one two" && b.received() === "other");
    a.local.destroy();
    b.local.destroy();
  });

  test("a held socket still answers false past its high-water mark, and drains once released", async () => {
    const a = await pair();
    holdWrites(a.local);
    const big = Buffer.alloc(a.local.writableHighWaterMark, 0x61);
    assert.equal(a.local.write(big), false);
    await once(a.local, "drain");
    await until(() => a.received().length === big.length);
    a.local.destroy();
  });

  test("releaseNow sends what was held before a destroy; end sends it by itself", async () => {
    const a = await pair();
    holdWrites(a.local);
    a.local.write("before the cut", "latin1");
    releaseNow(a.local);
    a.local.destroy();
    await until(() => a.closed());
    assert.equal(a.received(), "before the cut");
    const b = await pair();
    holdWrites(b.local);
    b.local.write("last words", "latin1");
    b.local.end();
    await until(() => b.closed());
    assert.equal(b.received(), "last words");
  });

  test("a socket its user corked is neither held nor uncorked by the release", async () => {
    const a = await pair();
    a.local.cork();
    holdWrites(a.local);
    a.local.write("kept", "latin1");
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(a.local.writableCorked, 1);
    assert.equal(a.local.writableLength, 4);
    a.local.uncork();
    await until(() => a.received() === "kept");
    a.local.destroy();
  });
});
