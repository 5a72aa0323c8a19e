// XOR chunk codec throughput: encode and decode samples/s for scrape-like series (15 s interval with a little
// jitter), counters and gauges, cut into 120-sample chunks as the head does. Median of 5 runs. Also the head's way
// of encoding ("slots append"): every series' open chunk in an XorSlots, a sample appended to each series in turn,
// checked to give the encoder's bytes.
// Then the `query` bench's large case in process (xor-query.ts): its 4,800 `x` series as a block, selected into
// the pages a query worker receives, decoded through the worker's page reader (with a hash of every decoded bit,
// so variants of the decoder can be checked to give the same samples), and `sum by (job) (rate(x[5m]))` evaluated
// over those pages, both halves' work on one thread.
// Run: npm run bench -- xor [--only codec|query|decode] [--runs 5] (decode: the query case without the query)

import { parseArgs } from "node:util";
import { XorAppender, XorIterator } from "../src/tsdb/chunkenc/xor.ts";
import { XorSlots } from "../src/tsdb/chunkenc/xor-slots.ts";
import { ByteArena } from "../src/tsdb/encoding/byte-arena.ts";
import { type Figure, printFigures, timeRuns } from "./harness.ts";
import { queryCaseFigures } from "./xor-query.ts";

const { values: args } = parseArgs({
  options: { only: { type: "string", default: "" }, runs: { type: "string", default: "5" } },
});
const RUNS = Number(args.runs);

const SERIES = 2000;
const SAMPLES = 720; // three hours at 15 s
const CHUNK = 120;

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

interface Series {
  readonly t: Float64Array;
  readonly v: Float64Array;
}

function makeSeries(kind: "counter" | "gauge", n: number): Series[] {
  const rnd = lcg(kind === "counter" ? 1 : 2);
  const out: Series[] = [];
  const start = 1_700_000_000_000;
  for (let s = 0; s < n; s++) {
    const t = new Float64Array(SAMPLES);
    const v = new Float64Array(SAMPLES);
    let c = Math.floor(rnd() * 1e6);
    let g = rnd() * 100;
    for (let i = 0; i < SAMPLES; i++) {
      // Most scrapes land on the millisecond; some drift by a few ms.
      t[i] = start + i * 15_000 + (rnd() < 0.2 ? Math.floor(rnd() * 10) - 5 : 0);
      if (kind === "counter") {
        c += rnd() < 0.3 ? 0 : Math.floor(rnd() * 50);
        v[i] = c;
      } else {
        g = Math.max(0, g + (rnd() - 0.5) * 2);
        v[i] = Math.round(g * 1000) / 1000;
      }
    }
    out.push({ t, v });
  }
  return out;
}

function encodeAll(series: readonly Series[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (const s of series) {
    for (let from = 0; from < SAMPLES; from += CHUNK) {
      const a = new XorAppender();
      for (let i = from; i < from + CHUNK; i++) a.append(s.t[i], s.v[i]);
      chunks.push(a.bytes());
    }
  }
  return chunks;
}

/**
 * Encodes the series as a head does, through slots: a sample of each series in turn, a chunk cut every CHUNK
 * samples (the next one started with the room the last one took). Returns the chunks in `encodeAll`'s order.
 */
function encodeSlots(series: readonly Series[]): Uint8Array[] {
  const slots = new XorSlots(new ByteArena(), series.length);
  const chunks: Uint8Array[] = new Array(series.length * (SAMPLES / CHUNK));
  for (let s = 0; s < series.length; s++) slots.start(s, 32);
  for (let i = 0; i < SAMPLES; i++) {
    const cut = i > 0 && i % CHUNK === 0;
    for (let s = 0; s < series.length; s++) {
      if (cut) {
        const size = slots.size(s);
        chunks[s * (SAMPLES / CHUNK) + i / CHUNK - 1] = slots.bytes(s).slice();
        slots.release(s);
        slots.start(s, size);
      }
      slots.append(s, series[s].t[i], series[s].v[i]);
    }
  }
  for (let s = 0; s < series.length; s++) chunks[(s + 1) * (SAMPLES / CHUNK) - 1] = slots.bytes(s).slice();
  return chunks;
}

function decodeAll(chunks: readonly Uint8Array[]): number {
  const it = new XorIterator();
  let sum = 0;
  for (const c of chunks) {
    it.reset(c);
    while (it.next() !== "none") sum += it.atV();
  }
  return sum;
}

const figures: Figure[] = [];
const total = SERIES * SAMPLES;
for (const kind of args.only !== "" && args.only !== "codec" ? [] : (["counter", "gauge"] as const)) {
  const series = makeSeries(kind, SERIES);
  let chunks: Uint8Array[] = [];
  const enc = await timeRuns(
    () => {
      chunks = encodeAll(series);
    },
    { runs: RUNS },
  );
  const bytes = chunks.reduce((s, c) => s + c.length, 0);
  let slotChunks: Uint8Array[] = [];
  const slots = await timeRuns(
    () => {
      slotChunks = encodeSlots(series);
    },
    { runs: RUNS },
  );
  if (!slotChunks.every((c, i) => Buffer.compare(c, chunks[i]) === 0)) {
    throw new Error(`${kind}: the chunks appended through slots differ from the encoder's`);
  }
  const dec = await timeRuns(() => decodeAll(chunks), { runs: RUNS });
  figures.push({
    name: `${kind} encode`,
    unit: "samples/s",
    runs: enc.map((ms) => total / (ms / 1000)),
    higherIsBetter: true,
  });
  figures.push({
    name: `${kind} slots append`,
    unit: "samples/s",
    runs: slots.map((ms) => total / (ms / 1000)),
    higherIsBetter: true,
  });
  figures.push({
    name: `${kind} decode`,
    unit: "samples/s",
    runs: dec.map((ms) => total / (ms / 1000)),
    higherIsBetter: true,
  });
  figures.push({ name: `${kind} size`, unit: "bytes/sample", runs: [bytes / total], higherIsBetter: false });
}
if (figures.length > 0) printFigures(`XOR chunks: ${SERIES} series x ${SAMPLES} samples, ${CHUNK} per chunk`, figures);
if (args.only !== "codec") {
  const q = await queryCaseFigures(RUNS, args.only === "decode");
  printFigures(q.title, q.figures);
  console.log(`decoded samples ${q.samples}, hash of their bits ${q.hash}`);
}
