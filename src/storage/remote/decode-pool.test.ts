import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Labels } from "../../model/labels.ts";
import { SnappyEncoder } from "../../tsdb/encoding/snappy.ts";
import { encodeWriteRequestV1 } from "./codec-v1-encode.ts";
import {
  DEFAULT_DECODE_WORKER_YOUNG_GENERATION_MB,
  type Decoded,
  DecodePool,
  type DecodePoolOptions,
  type PoolDecode,
} from "./decode-pool.ts";
import { DEFAULT_RECEIVE_LIMITS } from "./receive.ts";

const TEST_WORKER = new URL("./decode-test-worker.ts", import.meta.url);
const CRASH = () => Uint8Array.of(0xde, 0xad, 1);
const STUCK = () => Uint8Array.of(0xde, 0xad, 2);
const LIMITS = DEFAULT_RECEIVE_LIMITS;

function body(): Uint8Array {
  const req = { series: [{ labels: Labels.fromStrings("__name__", "up"), samples: [{ t: 1000, v: 1 }] }] };
  return new SnappyEncoder().encodeCopy(encodeWriteRequestV1(req));
}

function pool(opts: DecodePoolOptions = {}): DecodePool {
  return new DecodePool({ workers: 1, workerScript: TEST_WORKER, ...opts });
}

function decoded(d: PoolDecode): Decoded {
  assert.ok("walked" in d, JSON.stringify(d));
  return d;
}

describe("DecodePool", () => {
  test("decompresses and walks a 1.0 body; nothing is detached, the answer is the caller's", async () => {
    const p = pool();
    try {
      const b = body();
      const want = encodeWriteRequestV1({
        series: [{ labels: Labels.fromStrings("__name__", "up"), samples: [{ t: 1000, v: 1 }] }],
      }).slice();
      const d = decoded(await p.decode(b, "v1", LIMITS));
      assert.ok(b.byteLength > 0, "the body was not transferred (no buffer of this thread is detached)");
      assert.ok(d.message.buffer instanceof SharedArrayBuffer, "the message is shared by the worker, not copied");
      assert.deepEqual(d.message, want);
      assert.deepEqual([...d.walked!.samples], [1000, 1]);
      const v2 = decoded(await p.decode(new SnappyEncoder().encodeCopy(want), "v2", LIMITS));
      assert.equal(v2.walked, null, "only 1.0 bodies are walked");
    } finally {
      await p.close();
    }
  });

  test("a recycled output buffer goes back to the worker with the next job, which decodes into it", async () => {
    const p = pool();
    try {
      const first = decoded(await p.decode(body(), "v1", LIMITS));
      const buffer = first.message.buffer;
      const view = first.message;
      p.recycle(first);
      const req = { series: [{ labels: Labels.fromStrings("__name__", "up"), samples: [{ t: 2000, v: 2 }] }] };
      const want = encodeWriteRequestV1(req).slice();
      const second = decoded(await p.decode(new SnappyEncoder().encodeCopy(want), "v1", LIMITS));
      assert.ok(buffer.byteLength > 0, "the spare was shared with the job, not transferred");
      assert.deepEqual(second.message, want);
      // Shared memory: the view of the recycled output now reads the second message, decoded into it.
      assert.deepEqual(view.subarray(0, want.length), want, "the worker decoded into the spare");
    } finally {
      await p.close();
    }
  });

  test("a view into a larger buffer is copied, and the buffer left alone", async () => {
    const p = pool();
    try {
      const b = body();
      const big = new Uint8Array(b.length + 10);
      big.set(b, 5);
      decoded(await p.decode(big.subarray(5, 5 + b.length), "v1", LIMITS));
      assert.equal(big.byteLength, b.length + 10);
    } finally {
      await p.close();
    }
  });

  test("refusals are decompressWrite's", async () => {
    const p = pool();
    try {
      const bad = await p.decode(Uint8Array.of(0x05, 0xff, 0xff), "v1", LIMITS);
      assert.ok("status" in bad && bad.status === 400, JSON.stringify(bad));
      const big = await p.decode(body(), "v1", { ...LIMITS, maxWriteBytes: 4 });
      assert.ok("status" in big && big.status === 413, JSON.stringify(big));
    } finally {
      await p.close();
    }
  });

  test("each worker runs with the pool's heap limit and the default young generation limit", async () => {
    const p = pool({ workerHeapMb: 40 });
    try {
      const d = await p.decode(Uint8Array.of(0xde, 0xad, 3), "v1", LIMITS);
      assert.ok("status" in d && d.status === 400, JSON.stringify(d));
      const limits = JSON.parse(d.message);
      assert.equal(limits.maxOldGenerationSizeMb, 40);
      assert.equal(limits.maxYoungGenerationSizeMb, DEFAULT_DECODE_WORKER_YOUNG_GENERATION_MB);
    } finally {
      await p.close();
    }
  });

  test("a crashed worker fails only the jobs it held, with a 503, and is replaced", async () => {
    const p = pool();
    try {
      const [crashed, held] = await Promise.all([p.decode(CRASH(), "v1", LIMITS), p.decode(body(), "v1", LIMITS)]);
      for (const d of [crashed, held]) {
        assert.ok("status" in d && d.status === 503 && "retryAfterMs" in d, JSON.stringify(d));
        assert.match(d.message, /decode worker .* failed; retry/);
      }
      assert.equal(p.figures().crashed, 1);
      assert.equal(p.figures().pendingJobs, 0);
      decoded(await p.decode(body(), "v1", LIMITS));
      assert.equal(p.figures().workers, 1);
    } finally {
      await p.close();
    }
  });

  test("a stuck worker is terminated after stuckMs, its jobs fail with a 503, the next job is decoded", async () => {
    const p = pool({ stuckMs: 200 });
    try {
      const d = await p.decode(STUCK(), "v1", LIMITS);
      assert.ok("status" in d && d.status === 503, JSON.stringify(d));
      assert.match(d.message, /did not finish this request within 200 ms/);
      assert.equal(p.figures().stuck, 1);
      decoded(await p.decode(body(), "v1", LIMITS));
    } finally {
      await p.close();
    }
  });

  test("bounded: jobs past maxPendingJobs or maxPendingBytes are refused at once with a 503", async () => {
    const b = body();
    const p = pool({ maxPendingJobs: 2, maxPendingBytes: 3 + 2 * b.length, stuckMs: 60_000 });
    try {
      const stuck = p.decode(STUCK(), "v1", LIMITS);
      const queued = p.decode(body(), "v1", LIMITS);
      assert.deepEqual(p.figures().pendingJobs, 2);
      const full = await p.decode(body(), "v1", LIMITS);
      assert.ok("status" in full && full.status === 503 && "retryAfterMs" in full, JSON.stringify(full));
      assert.match(full.message, /as many as it holds at once \(2 requests/);
      assert.equal(p.figures().rejected, 1);
      await p.close();
      for (const d of await Promise.all([stuck, queued])) {
        assert.ok("status" in d && d.status === 503, JSON.stringify(d));
        assert.match(d.message, /shut down/);
      }
      assert.deepEqual(p.figures().pendingBytes, 0);
    } finally {
      await p.close();
    }
    const q = pool({ maxPendingBytes: b.length - 1 });
    try {
      const over = await q.decode(body(), "v1", LIMITS);
      assert.ok("status" in over && over.status === 503, JSON.stringify(over));
      assert.equal(q.figures().workers, 0, "nothing was started for a refused job");
    } finally {
      await q.close();
    }
  });

  test("a worker that never says it is ready is terminated after startMs; its jobs fail with a 503", async () => {
    // A module that loads but never serves: the job is never answered.
    const silent = new URL("data:text/javascript,setInterval(() => {}, 1000);");
    const p = new DecodePool({ workers: 1, workerScript: silent, startMs: 300, stuckMs: 100 });
    try {
      const d = await p.decode(body(), "v1", LIMITS);
      assert.ok("status" in d && d.status === 503, JSON.stringify(d));
      assert.match(d.message, /did not start within 300 ms/);
      assert.equal(p.figures().workers, 0);
    } finally {
      await p.close();
    }
  });

  test("a closed pool answers at once", async () => {
    const p = pool();
    await p.close();
    const d = await p.decode(body(), "v1", LIMITS);
    assert.ok("status" in d && d.status === 503, JSON.stringify(d));
  });
});
