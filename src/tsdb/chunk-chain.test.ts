import assert from "node:assert/strict";
import { test } from "node:test";
import { SampleBuffer, STALE_NAN } from "../model/sample.ts";
import { Random } from "../testkit/random.ts";
import { type Chain, ChainReader, mergeParts } from "./chunk-chain.ts";
import { type Chunk, Encoding } from "./chunkenc/chunk.ts";
import { XorAppender } from "./chunkenc/xor.ts";

/** A chain over chunks held in memory, with each chunk's range as its first and last sample times. */
function chainOf(chunks: { bytes: Uint8Array; mint: number; maxt: number }[], mint: number, maxt: number): Chain {
  return {
    mint,
    maxt,
    deleted: [],
    length: chunks.length,
    chunkMint: (i) => chunks[i].mint,
    chunkMaxt: (i) => chunks[i].maxt,
    chunkData: (i): Chunk => ({ encoding: Encoding.xor, data: chunks[i].bytes }),
    chunkName: (i) => `${i}`,
  };
}

// Chains of consecutive time ranges (as blocks are), each a few chunks of scrape-like samples; now and then a
// chunk damaged (cut short, so it decodes with an error after some samples) and a value special.
function chains(rnd: Random): Chain[] {
  const out: Chain[] = [];
  let t = 1_700_000_000_000 + rnd.int(0, 10_000);
  for (let c = rnd.int(1, 4); c > 0; c--) {
    const chunks: { bytes: Uint8Array; mint: number; maxt: number }[] = [];
    const from = t;
    for (let k = rnd.int(0, 3); k > 0; k--) {
      const a = new XorAppender();
      const mint = t;
      let last = t;
      for (let i = rnd.int(1, 50); i > 0; i--) {
        a.append(t, rnd.chance(0.05) ? STALE_NAN : rnd.int(0, 1000));
        last = t;
        t += 15_000 + (rnd.chance(0.2) ? rnd.int(-500, 500) : 0);
      }
      let bytes = a.bytes().slice();
      if (rnd.chance(0.1)) bytes = bytes.slice(0, rnd.int(2, bytes.length - 1));
      chunks.push({ bytes, mint, maxt: last });
    }
    out.push(chainOf(chunks, from - rnd.int(0, 20_000), t + rnd.int(0, 20_000)));
    t += rnd.int(1, 100_000);
  }
  return out;
}

// What `read` appends to an empty buffer, as text (values by their bits), then the error it threw, if any.
function outcome(read: (out: SampleBuffer) => void): string {
  const out = new SampleBuffer(4);
  let end = "";
  try {
    read(out);
  } catch (err) {
    end = ` error ${(err as Error).message}`;
  }
  const f = new Float64Array(out.v.buffer, 0, out.n);
  const bits = new Uint32Array(f.buffer, 0, out.n * 2);
  const parts: string[] = [];
  for (let i = 0; i < out.n; i++) parts.push(`${out.t[i]}=${bits[2 * i]}:${bits[2 * i + 1]}`);
  return parts.join(" ") + end;
}

test("chains following each other in time read merged as each read alone and merged by mergeParts", () => {
  const rnd = new Random(71);
  const reader = new ChainReader();
  let failed = 0;
  for (let trial = 0; trial < 400; trial++) {
    const cs = chains(rnd);
    const mint = 1_700_000_000_000 + rnd.int(-100_000, 2_000_000);
    const maxt = mint + rnd.int(0, 8_000_000);
    const want = outcome((out) => {
      const parts = cs.map(() => new SampleBuffer(4));
      const errors: unknown[] = cs.map(() => undefined);
      const each = new ChainReader();
      for (let i = 0; i < cs.length; i++) {
        try {
          each.read(cs[i], mint, maxt, parts[i]);
        } catch (err) {
          errors[i] = err;
        }
      }
      mergeParts(parts, errors, cs.length, out);
    });
    if (want.includes(" error ") || want.startsWith("error")) failed++;
    assert.equal(
      outcome((out) => reader.readMerged(cs, mint, maxt, out)),
      want,
      `trial ${trial}`,
    );
  }
  assert.ok(failed > 20, `only ${failed} reads met a damaged chunk`);
});
