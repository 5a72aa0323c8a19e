// Streamed remote read over stored chunks: over ranges that cut chunks anywhere (inside one chunk, across the
// block/head boundary, at chunk edges), the client decodes from the frames exactly the samples SAMPLES gives, floats
// and native histograms; chunks inside the range go as the store holds them (block chunks, head chunks, the head's
// open chunk), byte for byte, and every chunk's range is that of its first and last sample.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CounterResetHint, type Histogram } from "../../model/histogram.ts";
import { Labels } from "../../model/labels.ts";
import { newMatcher } from "../../model/matcher.ts";
import { EmbeddedTenantStore } from "../../storage/tenants.ts";
import { startTestServer, type TestControl, type TestServer, testControl } from "../test-support.ts";
import type { WireChunk } from "./codec.ts";
import {
  chunkSamples,
  decodeFrames,
  decodeReadResponse,
  postRead,
  readRequestBody,
  type TestQuery,
} from "./test-codec.ts";

const HOUR = 3_600_000;
const STEP = 15_000;
const BASE = 1_700_000_000_000 - (1_700_000_000_000 % (2 * HOUR));
/** Samples per series: five hours at 15 s, so a block of the first two hours is cut and the rest stays in the head. */
const SAMPLES = (5 * HOUR) / STEP;

const H: Histogram = {
  integer: true,
  counterResetHint: CounterResetHint.unknown,
  schema: 1,
  zeroThreshold: 0.001,
  zeroCount: 2,
  count: 12,
  sum: 30,
  positiveSpans: [{ offset: 0, length: 3 }],
  negativeSpans: [],
  positiveBuckets: [4, 3, 3],
  negativeBuckets: [],
  customValues: [],
};

let control: TestControl;
let store: EmbeddedTenantStore;
let server: TestServer;
let token: string;

before(async () => {
  control = testControl();
  token = control.org("acme", ["read"]);
  store = new EmbeddedTenantStore({ dataDir: control.dir, db: { autoCompact: false, blockRange: 2 * HOUR } });
  server = await startTestServer(control, store);
  const app = store.appender("acme");
  for (let i = 0; i < SAMPLES; i++) {
    const t = BASE + i * STEP;
    for (let n = 0; n < 3; n++)
      app.append(Labels.fromStrings("__name__", "c", "n", String(n)), t, i * (n + 1) + (i % 7));
    app.append(Labels.fromStrings("__name__", "g"), t, Math.sin(i));
    if (i % 4 === 0) {
      const k = i / 4;
      app.appendHistogram?.(Labels.fromStrings("__name__", "h"), t, {
        ...H,
        count: H.count + 3 * k,
        sum: H.sum + k,
        positiveBuckets: H.positiveBuckets.map((c) => c + k),
      });
    }
  }
  app.commit();
  await store.withDb("acme", (db) => db.compact());
});

after(async () => {
  await server.close();
  store.close();
  control.cleanup();
});

async function post(queries: readonly TestQuery[], accepted: readonly number[]): Promise<Uint8Array> {
  const r = await postRead(server.url, "acme", token, readRequestBody(queries, accepted));
  assert.equal(r.status, 200, await r.clone().text());
  return new Uint8Array(await r.arrayBuffer());
}

// The chunks the store holds for the series `__name__=name` over [mint, maxt], whole ones only.
function storedChunks(name: string, mint: number, maxt: number): WireChunk[] {
  const q = store.querier("acme", mint, maxt);
  try {
    const out: WireChunk[] = [];
    for (const s of q.select([newMatcher("=", "__name__", name)], { start: mint, end: maxt })) {
      for (const src of s.chunks?.() ?? []) {
        for (let i = 0; i < src.length; i++) {
          const c = src.chunk(i);
          if (c.samples > 0 && c.mint >= mint && c.maxt <= maxt) out.push({ ...c, data: c.data.slice() });
        }
      }
    }
    return out;
  } finally {
    q.close();
  }
}

describe("streamed chunks as stored", () => {
  test("the store gives a block and the head, the head with full chunks and an open one", () => {
    const q = store.querier("acme", BASE, BASE + SAMPLES * STEP);
    try {
      const [g] = q.select([newMatcher("=", "__name__", "g")], { start: BASE, end: BASE + SAMPLES * STEP });
      const sources = g.chunks?.() ?? [];
      assert.deepEqual(
        sources.map((s) => s.length > 0),
        [true, true],
        "a block and the head",
      );
      assert.ok(sources[1].length >= 2, "the head holds full chunks and an open one");
    } finally {
      q.close();
    }
  });

  test("over ranges that cut chunks, the frames decode to exactly the SAMPLES answer", async () => {
    const end = BASE + (SAMPLES - 1) * STEP;
    const ranges: [number, number][] = [
      [BASE, end],
      [BASE - HOUR, end + HOUR],
      [BASE + 7 * STEP + 1, end - 13 * STEP - 1],
      [BASE + 30 * STEP, BASE + 50 * STEP],
      [BASE + 2 * HOUR - 5 * STEP, BASE + 2 * HOUR + 5 * STEP],
      [BASE + 119 * STEP, BASE + 240 * STEP],
      [end - 3 * STEP, end],
      [end, end],
      [BASE + 3, BASE + 4],
    ];
    for (const [start, stop] of ranges) {
      const q: TestQuery = { start, end: stop, matchers: [["=~", "__name__", "c|g|h"]] };
      const [viaSamples] = decodeReadResponse(await post([q], [0]));
      const frames = decodeFrames(await post([q], [1]));
      const bySeries = new Map<string, WireChunk[]>();
      for (const f of frames) {
        const key = JSON.stringify(f.labels);
        bySeries.set(key, [...(bySeries.get(key) ?? []), ...f.chunks]);
      }
      assert.deepEqual(
        [...bySeries.keys()],
        viaSamples.map((s) => JSON.stringify(s.labels)),
        `series of [${start}, ${stop}]`,
      );
      for (const s of viaSamples) {
        const chunks = bySeries.get(JSON.stringify(s.labels)) ?? [];
        const got = chunkSamples(chunks);
        assert.deepEqual(got.samples, s.samples, `floats of ${JSON.stringify(s.labels)} in [${start}, ${stop}]`);
        // A re-encoded chunk starts with an unknown counter reset hint, as Prometheus's trimmed chunks do: hints
        // are compared where the iterator's own chunk boundaries give them.
        assert.deepEqual(
          got.histograms.map(([t, h]) => [t, { ...h, counterResetHint: 0 }]),
          s.histograms.map(([t, h]) => [t, { ...h, counterResetHint: 0 }]),
          `histograms of ${JSON.stringify(s.labels)}`,
        );
        for (const c of chunks) {
          const one = chunkSamples([c]);
          const ts = [...one.samples.map(([t]) => t), ...one.histograms.map(([t]) => t)];
          assert.deepEqual([c.mint, c.maxt], [ts[0], ts.at(-1)], "a chunk's range is its samples'");
        }
      }
    }
  });

  test("chunks inside the range go byte for byte as the store holds them, the open head chunk included", async () => {
    const end = BASE + (SAMPLES - 1) * STEP;
    for (const [start, stop] of [
      [BASE, end],
      [BASE + 7 * STEP, end],
    ]) {
      const frames = decodeFrames(await post([{ start, end: stop, matchers: [["=~", "__name__", "g|h"]] }], [1]));
      for (const name of ["g", "h"]) {
        const sent = frames.filter((f) => f.labels.__name__ === name).flatMap((f) => f.chunks);
        const stored = storedChunks(name, start, stop);
        assert.ok(stored.length >= 2, `${name}: chunks in the head (${stored.length})`);
        // When the range's start cuts the block's first chunk, that chunk's samples in the range come re-encoded
        // first; every chunk after them is sent as stored.
        if (start === BASE) assert.equal(sent.length, stored.length, name);
        assert.deepEqual(
          sent.slice(-stored.length).map((c) => [c.mint, c.maxt, c.encoding, Buffer.from(c.data).toString("hex")]),
          stored.map((c) => [c.mint, c.maxt, c.encoding, Buffer.from(c.data).toString("hex")]),
          name,
        );
      }
    }
  });
});
