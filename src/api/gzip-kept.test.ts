import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createGzip, gunzipSync, gzipSync } from "node:zlib";
import { mulberry32 } from "../testkit/random.ts";
import { KeptGzip } from "./gzip-kept.ts";

const LEVEL = 2;

/** A range answer's JSON of `bytes` bytes (cut short), as the query routes send, its values drawn from `seed`. */
function answerJson(bytes: number, seed: number): string {
  const random = mulberry32(seed);
  let s = '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":"a"},"values":[';
  for (let t = 1_700_000_000; s.length < bytes; t += 15) s += `[${t},"${(random() * 1e5).toFixed(3)}"],`;
  return s.slice(0, bytes);
}

/** `n` bytes that do not compress, drawn from `seed`. */
function noise(n: number, seed: number): Buffer {
  const random = mulberry32(seed);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * 256);
  return out;
}

describe("KeptGzip", () => {
  it("finds the internals it drives on Node's Gzip object (without them every body would take gzipSync's way)", () => {
    const engine = createGzip() as unknown as {
      _handle: { writeSync?: unknown; reset?: unknown } | null;
      _writeState?: unknown;
      close(): void;
    };
    assert.equal(typeof engine._handle?.writeSync, "function");
    assert.equal(typeof engine._handle?.reset, "function");
    assert.ok(engine._writeState instanceof Uint32Array);
    engine.close();
  });

  it("gives gzipSync's bytes for bodies around the gzip threshold, empty and large", () => {
    const gz = new KeptGzip(LEVEL);
    for (const n of [0, 1, 1023, 1024, 1025, 5_000, 65_536, 73_000, 256 * 1024, 10 * 1024 * 1024]) {
      const body = Buffer.from(answerJson(n, n));
      const out = gz.compress(body);
      assert.deepEqual(out, gzipSync(body, { level: LEVEL }), `${n} bytes`);
      assert.deepEqual(gunzipSync(out), body, `${n} bytes round trip`);
    }
  });

  it("compresses incompressible bytes whose output outgrows one output stretch", () => {
    const gz = new KeptGzip(LEVEL);
    const body = noise(300 * 1024, 1);
    const out = gz.compress(body);
    assert.ok(out.length > body.length);
    assert.deepEqual(out, gzipSync(body, { level: LEVEL }));
    assert.deepEqual(gunzipSync(out), body);
  });

  it("encodes a string as UTF-8, as gzipSync does", () => {
    const gz = new KeptGzip(LEVEL);
    const text = `${"é€😀 ".repeat(400)}${answerJson(3_000, 7)}`;
    assert.deepEqual(gz.compress(text), gzipSync(text, { level: LEVEL }));
    assert.equal(gunzipSync(gz.compress(text)).toString("utf8"), text);
  });

  it("never mixes two answers: each output holds its own body alone, whatever came before", () => {
    const gz = new KeptGzip(LEVEL);
    const bodies = [answerJson(5_000, 1), answerJson(70_000, 2), "", answerJson(5_000, 1), answerJson(1_500, 3)];
    const outs = bodies.map((b) => gz.compress(b));
    for (const [i, b] of bodies.entries()) {
      assert.equal(gunzipSync(outs[i]).toString("utf8"), b, `answer ${i}`);
      assert.deepEqual(outs[i], gzipSync(b, { level: LEVEL }), `answer ${i} bytes`);
    }
    // The same body twice gives the same bytes: no history of the first is carried into the second.
    assert.deepEqual(outs[0], outs[3]);
  });

  it("gives gzipSync's bytes over a long random sequence of shorter and longer bodies", () => {
    const gz = new KeptGzip(LEVEL);
    const random = mulberry32(42);
    const next = (n: number) => Math.floor(random() * n);
    for (let i = 0; i < 600; i++) {
      const kind = next(10);
      const n = kind < 3 ? next(2_000) : kind < 9 ? next(70_000) : next(200_000);
      const body = i % 7 === 0 ? noise(n, i) : Buffer.from(answerJson(n, i));
      assert.deepEqual(gz.compress(body), gzipSync(body, { level: LEVEL }), `body ${i}, ${n} bytes`);
    }
  });

  it("returns buffers that later answers do not overwrite", () => {
    const gz = new KeptGzip(LEVEL);
    const first = gz.compress(answerJson(4_000, 5));
    const copy = Buffer.from(first);
    gz.compress(answerJson(60_000, 6));
    gz.compress(noise(100_000, 2));
    assert.deepEqual(first, copy);
  });

  it("compresses at the level it was made with", () => {
    const body = answerJson(20_000, 9);
    assert.deepEqual(new KeptGzip(9).compress(body), gzipSync(body, { level: 9 }));
    assert.deepEqual(new KeptGzip(1).compress(body), gzipSync(body, { level: 1 }));
  });
});
