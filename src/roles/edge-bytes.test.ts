import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { beat, clearHeartbeat, openControlDb } from "../control/index.ts";
import { EdgeBytes } from "./edge-bytes.ts";

const root = mkdtempSync(join(tmpdir(), "contrail-edge-bytes-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** A stand-in edge metrics listener whose `/proxied-bytes` answers `counts` (or 500 when it is null). */
async function fakeEdge(): Promise<{ url: string; counts: Record<string, unknown> | null; close(): void }> {
  const state: { counts: Record<string, unknown> | null } = { counts: {} };
  const server = http.createServer((req, res) => {
    if (req.url !== "/proxied-bytes" || state.counts === null) {
      res.writeHead(500);
      res.end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(state.counts));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    get counts() {
      return state.counts;
    },
    set counts(c) {
      state.counts = c;
    },
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

test("bytes are summed over the edges and stay monotonic when an edge restarts, stalls or leaves", async () => {
  const db = openControlDb({ dataDir: join(root, "d") });
  const ord = await fakeEdge();
  const ams = await fakeEdge();
  const edgeBeat = (role: string, url: string, startedAt: number) =>
    beat(db, { role, pid: process.pid, hostname: hostname(), info: { metrics: url }, startedAt });
  try {
    edgeBeat("edge/ord", ord.url, 1);
    edgeBeat("edge/ams", ams.url, 1);
    ord.counts = { i1: { sent: 100, recv: 1000 }, i2: { sent: 5, recv: 50 } };
    ams.counts = { i1: { sent: 10, recv: 20 } };
    const bytes = new EdgeBytes(db);
    const keep = new Set(["i1", "i2"]);
    await bytes.refresh(keep);
    assert.deepEqual(bytes.of("i1"), { sent: 110, recv: 1020 });
    assert.deepEqual(bytes.of("i2"), { sent: 5, recv: 50 });
    assert.equal(bytes.of("i3"), undefined);

    // ord restarts (a new start time): its counts begin again at zero and add to what it had counted.
    edgeBeat("edge/ord", ord.url, 2);
    ord.counts = { i1: { sent: 1, recv: 2 } };
    await bytes.refresh(keep);
    assert.deepEqual(bytes.of("i1"), { sent: 111, recv: 1022 });
    assert.deepEqual(bytes.of("i2"), { sent: 5, recv: 50 });

    // ams stops answering: its last counts stay.
    ams.counts = null;
    await bytes.refresh(keep);
    assert.deepEqual(bytes.of("i1"), { sent: 111, recv: 1022 });

    // ams leaves (no heartbeat): its counts are kept; an instance no longer published is dropped.
    clearHeartbeat(db, "edge/ams", process.pid);
    await bytes.refresh(new Set(["i1"]));
    assert.deepEqual(bytes.of("i1"), { sent: 111, recv: 1022 });
    assert.equal(bytes.of("i2"), undefined);
  } finally {
    ord.close();
    ams.close();
    db.close();
  }
});
