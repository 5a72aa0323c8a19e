import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Labels } from "../../model/labels.ts";
import { Random } from "../../testkit/random.ts";
import { encodeWriteRequestV1 } from "./codec-v1-encode.ts";
import { type WalkedV1, type WalkLimits, walkWriteRequestV1 } from "./codec-v1-walk.ts";
import { ProtoReader } from "./protobuf.ts";
import { DEFAULT_RECEIVE_LIMITS } from "./receive.ts";
import type { WriteSeries } from "./types.ts";

/**
 * The walk as ProtoReader reads it, field by field (every varint form, unknown fields skipped): the reference the
 * walk's direct byte reads must agree with wherever they walk a request at all.
 */
function referenceWalk(body: Uint8Array, limits: WalkLimits): WalkedV1 | null {
  try {
    const r = new ProtoReader(body);
    const found: number[][] = [];
    const samples: number[] = [];
    while (!r.done()) {
      if (r.tag() !== 0x0a) return null;
      const end = r.lengthDelimited();
      let from = -1;
      let to = -1;
      let labels = 0;
      let own = 0;
      while (r.pos < end) {
        const at = r.pos;
        const key = r.tag();
        if (key === 0x0a) {
          const e = r.lengthDelimited();
          if (from < 0) from = at;
          else if (to !== at) return null;
          to = e;
          r.pos = e;
          labels++;
        } else if (key === 0x12) {
          const e = r.lengthDelimited();
          const outer = r.end;
          r.end = e;
          let t = 0;
          let v = 0;
          while (!r.done()) {
            const k = r.tag();
            if (k === 0x09) v = r.double();
            else if (k === 0x10) t = r.int64();
            else if (k >>> 3 === 1 || k >>> 3 === 2) return null;
            else r.skip(k & 7);
          }
          r.end = outer;
          samples.push(t, v);
          own++;
        } else if (key >>> 3 <= 4) return null;
        else r.skip(key & 7);
      }
      if (labels === 0 || labels > limits.maxLabelNamesPerSeries) return null;
      found.push([from, to, labels, own, -1]);
    }
    if (found.length > limits.maxSeriesPerWrite || samples.length / 2 > limits.maxSamplesPerWrite) return null;
    return { series: Int32Array.from(found.flat()), samples: Float64Array.from(samples), generation: -1 };
  } catch {
    return null;
  }
}

/** A seeded uniform source in [0, 1), so a failing case reproduces. */
function rng(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

const TIMES = [0, 1, -1, 1_700_000_000_123, 2 ** 49 - 1, 2 ** 49, 2 ** 53 - 1, -(2 ** 40), 127, 128];
const VALUES = [0, -0, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 1e300, -3];

function randomRequest(rand: () => number): Uint8Array {
  const series: WriteSeries[] = [];
  const n = 1 + Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) {
    const pairs: string[] = ["__name__", `m${Math.floor(rand() * 5)}`];
    const extra = Math.floor(rand() * 4);
    for (let k = 0; k < extra; k++) pairs.push(`l${k}`, "v".repeat(Math.floor(rand() * 200)) || "x");
    const samples = Array.from({ length: Math.floor(rand() * 3) }, () => ({
      t: TIMES[Math.floor(rand() * TIMES.length)],
      v: VALUES[Math.floor(rand() * VALUES.length)],
    }));
    series.push({ labels: Labels.fromStrings(...pairs), samples });
  }
  return encodeWriteRequestV1({ series }).slice();
}

const plain = (w: WalkedV1 | null) =>
  w === null ? null : { series: [...w.series], samples: [...w.samples].map((v) => (Number.isNaN(v) ? "NaN" : v)) };

describe("the 1.0 walk against a field-by-field reference", () => {
  const limits = DEFAULT_RECEIVE_LIMITS;

  test("random plain requests walk to the reference's places and samples", () => {
    const rand = rng(5);
    for (let round = 0; round < 500; round++) {
      const body = randomRequest(rand);
      const want = referenceWalk(body, limits);
      assert.ok(want !== null, `round ${round}`);
      assert.deepEqual(plain(walkWriteRequestV1(body, limits)), plain(want), `round ${round}`);
    }
  });

  test("corrupt requests: the walk gives up, or agrees with the reference", () => {
    const rand = rng(9);
    for (let round = 0; round < 3000; round++) {
      const body = randomRequest(rand);
      const mutated =
        round % 3 === 0
          ? body.subarray(0, Math.floor(rand() * body.length))
          : body.map((b) => (rand() < 3 / body.length ? Math.floor(rand() * 256) : b));
      const got = walkWriteRequestV1(mutated, limits);
      if (got !== null) assert.deepEqual(plain(got), plain(referenceWalk(mutated, limits)), `round ${round}`);
    }
  });

  test("unknown fields and keys in longer varint forms are left to the full decoder", () => {
    // One series {__name__="up"} with one sample at t=1, v=0 (no value field), then variants of it.
    const label = [0x0a, 0x0e, 0x0a, 0x08, ...Buffer.from("__name__"), 0x12, 0x02, ...Buffer.from("up")];
    const series = (inner: number[]) => Uint8Array.of(0x0a, inner.length, ...inner);
    assert.notEqual(walkWriteRequestV1(series([...label, 0x12, 0x02, 0x10, 0x01]), limits), null);
    // An unknown field 5 in the series; a key written in two bytes. A length in two bytes is walked.
    assert.equal(walkWriteRequestV1(series([...label, 0x28, 0x01, 0x12, 0x02, 0x10, 0x01]), limits), null);
    assert.equal(walkWriteRequestV1(series([...label, 0x92, 0x00, 0x02, 0x10, 0x01]), limits), null);
    const long = series([...label, 0x12, 0x82, 0x00, 0x10, 0x01]);
    assert.deepEqual(plain(walkWriteRequestV1(long, limits)), plain(referenceWalk(long, limits)));
  });
});
