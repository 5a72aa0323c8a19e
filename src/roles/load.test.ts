// `contrail up` under load, end to end: 20,000 mixed requests (200/404/500 in a fixed proportion) sent through two
// edge regions at once over 16 kept-alive connections, then the platform's own metrics read back through the query
// API after a scrape: responses and histogram counts per status at the edge and the app, client connections, the
// bytes the clients moved on their sockets, and concurrency back to 0.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { after, before, test } from "node:test";
import { byLabel, contrail, contrailOk, edgeGet, query, startUp, type UpProcess, writeTestApp } from "./testkit.ts";

const APP = "surge";
const TOTAL = 20_000;
const PER_REGION = 8; // kept-alive client connections per edge region, one request in flight on each
const REGIONS = ["ord", "ams"] as const;
/** One cycle of the traffic mix: 7 × 200, 2 × 404, 1 × 500 (by the test app's paths). */
const MIX = [200, 200, 200, 200, 200, 200, 200, 404, 404, 500] as const;
const PATHS: Record<(typeof MIX)[number], string> = { 200: "/ok", 404: "/missing", 500: "/fail" };

let root: string;
let data: string;
let up: UpProcess;
let token: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), "contrail-load-"));
  data = join(root, "data");
  const appDir = join(root, "app");
  mkdirSync(appDir);
  const toml = writeTestApp(appDir, APP);
  up = await startUp(data, ["--edge", "ord=127.0.0.1:0", "--edge", "ams=127.0.0.1:0", "--scrape-interval", "1s"]);
  token = (await contrailOk(["tokens", "create", "--data", data])).trim();
  const deployed = await contrail(["deploy", "-c", toml, "--data", data, "--wait", "--wait-timeout", "20s"]);
  assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
});

after(async () => {
  if (up !== undefined && up.proc.exitCode === null) await up.stop();
  rmSync(root, { recursive: true, force: true });
});

/** A keep-alive agent that records every socket it opens (to count connections and bytes on the client side). */
class CountingAgent extends http.Agent {
  constructor(private readonly opened: Set<Socket>) {
    super({ keepAlive: true, maxSockets: 1 });
  }

  override createConnection(
    options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const socket = super.createConnection(options, callback);
    if (socket !== null && socket !== undefined) this.opened.add(socket as Socket);
    return socket;
  }
}

/**
 * Reads `read` every 250 ms until its value equals `want` and has not changed for `stableMs` (longer than a scrape
 * interval, so at least one later scrape agreed); returns that value, or the last one read after `timeoutMs`.
 */
async function settle<T>(read: () => Promise<T>, want: T, stableMs: number, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  const wanted = JSON.stringify(want);
  let last = "";
  let since = Date.now();
  let value: T;
  for (;;) {
    value = await read();
    const now = Date.now();
    const seen = JSON.stringify(value);
    if (seen !== last) {
      last = seen;
      since = now;
    } else if (seen === wanted && now - since >= stableMs) {
      return value;
    }
    if (now > end) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
}

test(`${TOTAL} mixed requests through two edge regions are counted exactly after a scrape`, async (t) => {
  const sockets = new Set<Socket>();
  const sent: Record<string, number> = {};
  const started = performance.now();

  const worker = async (w: number): Promise<void> => {
    const agent = new CountingAgent(sockets);
    const port = up.edges.get(REGIONS[w % REGIONS.length])!;
    for (let i = w; i < TOTAL; i += PER_REGION * REGIONS.length) {
      const status = MIX[i % MIX.length];
      const res = await edgeGet(port, APP, PATHS[status], agent);
      assert.equal(res.status, status, res.body);
      sent[status] = (sent[status] ?? 0) + 1;
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: PER_REGION * REGIONS.length }, (_, w) => worker(w)));
  const loadMs = performance.now() - started;
  // Every client socket closed, so the edges have seen the close and counted the last bytes.
  await Promise.all([...sockets].map((s) => (s.closed ? null : new Promise((r) => s.once("close", r)))));

  let wrote = 0;
  let readBytes = 0;
  for (const s of sockets) {
    wrote += s.bytesWritten;
    readBytes += s.bytesRead;
  }
  assert.deepEqual(sent, { "200": 14_000, "404": 4_000, "500": 2_000 });
  assert.equal(sockets.size, PER_REGION * REGIONS.length, "one kept-alive connection per worker");

  const sel = `{app="${APP}"}`;
  const q = async (promql: string, by: string) => byLabel(await query(up.apiUrl, "personal", token, promql), by);
  const snapshot = async () => ({
    edgeResponses: await q(`sum by (status) (fly_edge_http_responses_count${sel})`, "status"),
    appResponses: await q(`sum by (status) (fly_app_http_responses_count${sel})`, "status"),
    edgeHistogram: await q(`sum by (status) (fly_edge_http_response_time_seconds_count${sel})`, "status"),
    appHistogram: await q(`sum by (status) (fly_app_http_response_time_seconds_count${sel})`, "status"),
    connects: await q(`sum(fly_edge_tcp_connects_count${sel})`, ""),
    concurrency: await q(`sum(fly_app_concurrency${sel})`, ""),
    dataIn: await q(`sum(fly_edge_data_in${sel})`, ""),
    dataOut: await q(`sum(fly_edge_data_out${sel})`, ""),
  });
  const want = {
    edgeResponses: sent,
    appResponses: sent,
    edgeHistogram: sent,
    appHistogram: sent,
    connects: { "": sockets.size },
    concurrency: { "": 0 },
    dataIn: { "": wrote },
    dataOut: { "": readBytes },
  };
  const settleStart = performance.now();
  const got = await settle(snapshot, want, 1500, 25_000);
  const settleMs = performance.now() - settleStart;
  assert.deepEqual(got, want);

  t.diagnostic(
    `${TOTAL} requests on ${sockets.size} connections in ${Math.round(loadMs)} ms ` +
      `(${Math.round(TOTAL / (loadMs / 1000))} req/s); client wrote ${wrote} B, read ${readBytes} B; ` +
      `metrics settled ${Math.round(settleMs)} ms after the last close`,
  );
});
