// Series found by their decode worker's key numbers (key-index.ts, codec-v1-walk.ts): the numbering is exact and
// bounded, the main thread's rows are bounded by workers and by rows, and a receiver fed numbered walks answers and
// stores exactly what a receiver decoding in place does, through series churn, key tables that start over, rows past
// their bound, stricter label limits, the org's series limit and a worker that crashed and was replaced.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Labels } from "../../model/labels.ts";
import { SnappyEncoder } from "../../tsdb/encoding/snappy.ts";
import type { SeriesRef } from "../interface.ts";
import { EmbeddedTenantStore } from "../tenants.ts";
import { encodeWriteRequestV1 } from "./codec-v1-encode.ts";
import { WALK_KEY, WALK_STRIDE, walkWriteRequestV1 } from "./codec-v1-walk.ts";
import { DecodePool, type DecodePoolOptions } from "./decode-pool.ts";
import { KeyIndex, MAX_SOURCES } from "./key-index.ts";
import {
  DEFAULT_RECEIVE_LIMITS,
  type ReceiveLimits,
  ReceiverState,
  receiveWrite,
  type WriteOutcome,
} from "./receive.ts";
import { receiveWriteOffloaded } from "./receive-offload.ts";
import { NO_ENTRY, NO_SERIES_REF, SeriesCache, type SeriesCacheOptions } from "./series-cache.ts";
import { dumpSeries } from "./store-dump.ts";

const NOW = 1_700_000_000_000;
const HEADERS = { "content-type": "application/x-protobuf", "content-encoding": "snappy" };
const TEST_WORKER = new URL("./decode-test-worker.ts", import.meta.url);
const snappy = new SnappyEncoder();

const series = (i: number) => Labels.fromStrings("__name__", "up", "job", `j${i}`, "region", i % 2 ? "ams" : "東京");

/** A message with one sample at `t` (value `t + i`) for each series numbered in `ids`. */
function message(ids: readonly number[], t: number): Uint8Array {
  return encodeWriteRequestV1({ series: ids.map((i) => ({ labels: series(i), samples: [{ t, v: t + i }] })) }).slice();
}

/** The key numbers of a walk, in series order. */
function keysOf(m: Uint8Array, keys: SeriesCache): number[] {
  const w = walkWriteRequestV1(m, DEFAULT_RECEIVE_LIMITS, keys);
  assert.ok(w !== null);
  const out: number[] = [];
  for (let at = 0; at < w.series.length; at += WALK_STRIDE) out.push(w.series[at + WALK_KEY]);
  return out;
}

describe("key numbers of the walk", () => {
  test("the same label bytes get the same number in every request, others another", () => {
    const keys = new SeriesCache();
    const first = keysOf(message([0, 1, 2], NOW), keys);
    assert.deepEqual(first, [0, 1, 2]);
    assert.deepEqual(keysOf(message([2, 0, 3, 1], NOW + 1), keys), [2, 0, 3, 1]);
    assert.equal(keys.generation, 0);
  });

  test("a full table starts a new generation; the request's series numbered before lose their numbers", () => {
    const keys = new SeriesCache({ maxEntries: 3 });
    assert.deepEqual(keysOf(message([0, 1, 2], NOW), keys), [0, 1, 2]);
    // Series 3 does not fit: the table starts over at it, so 0 and 1, numbered in the old generation, lose theirs.
    assert.deepEqual(keysOf(message([0, 1, 3, 2], NOW + 1), keys), [NO_ENTRY, NO_ENTRY, 0, 1]);
    assert.equal(keys.generation, 1);
    assert.equal(keys.size, 2);
  });

  test("without a table, or for keys too long to keep, nothing is numbered", () => {
    const w = walkWriteRequestV1(message([0], NOW), DEFAULT_RECEIVE_LIMITS);
    assert.ok(w !== null);
    assert.equal(w.generation, -1);
    assert.equal(w.series[WALK_KEY], NO_ENTRY);
    const long = Labels.fromStrings("__name__", "up", "x", "v".repeat(5000));
    const m = encodeWriteRequestV1({ series: [{ labels: long, samples: [{ t: NOW, v: 1 }] }] }).slice();
    assert.deepEqual(keysOf(m, new SeriesCache()), [NO_ENTRY]);
  });
});

describe("key index bounds", () => {
  test("rows of at most MAX_SOURCES workers; the first seen is dropped for a new one", () => {
    const index = new KeyIndex();
    const first = index.rows(1, 0);
    first.validated(0, 3, 4);
    for (let s = 2; s <= MAX_SOURCES; s++) index.rows(s, 0);
    assert.equal(index.size, MAX_SOURCES);
    assert.equal(index.rows(1, 0), first, "a known worker keeps its rows");
    index.rows(MAX_SOURCES + 1, 0);
    assert.equal(index.size, MAX_SOURCES);
    assert.notEqual(index.rows(1, 0).maxNameBytes(0), 3, "worker 1's rows were dropped and made again");
  });

  test("the rows of workers that ended are dropped once their pool says so", () => {
    const index = new KeyIndex();
    for (const s of [1, 2, 3]) index.rows(s, 0);
    const pool = { endedWorkers: 0, sources: () => [2, 3, 4] };
    index.retain(pool);
    assert.equal(index.size, 3, "nothing ended yet: nothing dropped");
    pool.endedWorkers = 1;
    index.retain(pool);
    assert.equal(index.size, 2);
    index.rows(1, 0);
    index.retain(pool);
    assert.equal(index.size, 3, "the same count of ended workers: no scan");
  });

  test("a new generation forgets every row; rows never grow past the bound", () => {
    const index = new KeyIndex(3000);
    const rows = index.rows(7, 0);
    assert.ok(rows.fits(2999));
    assert.equal(rows.capacity, 3000);
    assert.equal(rows.fits(3000), false);
    rows.validated(5, 1, 2);
    rows.setScope(5, {});
    rows.setRef(5, 42 as SeriesRef);
    assert.equal(rows.refOf(5), 42);
    assert.equal(index.rows(7, 1), rows);
    assert.equal(rows.maxNameBytes(5), -1);
    assert.equal(rows.scopeOf(5), null);
    assert.equal(rows.capacity, 3000);
  });
});

describe("key index scopes", () => {
  test("label lengths of 65,535 bytes or more are not kept: such a row is checked again at each request", () => {
    const rows = new KeyIndex(100).rows(1, 0);
    rows.validated(1, 65_534, 65_534);
    assert.equal(rows.maxNameBytes(1), 65_534);
    assert.equal(rows.maxValueBytes(1), 65_534);
    rows.validated(2, 10, 65_535);
    assert.equal(rows.maxNameBytes(2), -1);
    rows.validated(3, 70_000, 5);
    assert.equal(rows.maxNameBytes(3), -1);
    assert.equal(rows.maxNameBytes(4), -1, "never validated");
  });

  test("a ref past 32 bits unsigned is not kept: its row has no ref and goes by labels", () => {
    const rows = new KeyIndex(100).rows(1, 0);
    const scope = {};
    for (const ref of [2 ** 32, 2 ** 40 + 3, 1.5]) {
      rows.setScope(3, scope);
      rows.setRef(3, ref as SeriesRef);
      assert.equal(rows.refOf(3), NO_SERIES_REF, `ref ${ref}`);
      assert.equal(rows.scopeOf(3), null);
    }
    rows.setScope(3, scope);
    rows.setRef(3, (2 ** 32 - 1) as SeriesRef);
    assert.equal(rows.refOf(3), 2 ** 32 - 1);
    assert.equal(rows.scopeOf(3), scope);
  });

  test("each row keeps its scope and ref across the rows' growth; null scope means no ref", () => {
    const rows = new KeyIndex(100_000).rows(1, 0);
    const dbs = [{}, {}, {}];
    for (let k = 0; k < 5000; k++) {
      assert.ok(rows.fits(k));
      if (k % 4 === 3) continue;
      rows.setScope(k, dbs[k % 3]);
      rows.setRef(k, (2 ** 32 - 1 - k) as SeriesRef);
    }
    for (let k = 0; k < 5000; k++) {
      if (k % 4 === 3) {
        assert.equal(rows.scopeOf(k), null);
        assert.equal(rows.refOf(k), NO_SERIES_REF);
      } else {
        assert.equal(rows.scopeOf(k), dbs[k % 3], `row ${k}`);
        assert.equal(rows.refOf(k), 2 ** 32 - 1 - k);
      }
    }
    rows.setScope(0, null);
    assert.equal(rows.refOf(0), NO_SERIES_REF);
  });

  test("past 65,535 distinct scopes every row's ref is forgotten, then scopes are numbered afresh", () => {
    const rows = new KeyIndex().rows(1, 0);
    rows.fits(1);
    const first = {};
    rows.setScope(0, first);
    rows.setRef(0, 9 as SeriesRef);
    for (let i = 1; i < 0xffff; i++) rows.setScope(1, {});
    assert.equal(rows.scopeOf(0), first, "65,535 scopes are remembered");
    const last = {};
    rows.setScope(1, last);
    assert.equal(rows.scopeOf(0), null);
    assert.equal(rows.refOf(0), NO_SERIES_REF);
    assert.equal(rows.scopeOf(1), last);
  });
});

/** A request: series ids at time t, under limits over the defaults; `crash` first crashes the pool's worker. */
interface Step {
  readonly ids: readonly number[];
  readonly t: number;
  readonly limits?: Partial<ReceiveLimits>;
  readonly crash?: boolean;
}

/** Series churn: each round drops the oldest few series and adds new ones, over 30 rounds. */
function churn(): Step[] {
  const steps: Step[] = [];
  for (let round = 0; round < 30; round++) {
    const ids: number[] = [];
    for (let i = round * 3; i < round * 3 + 12; i++) ids.push(i);
    if (round % 2 === 1) ids.reverse();
    const step: Step = {
      ids,
      t: NOW - 100_000 + round * 1000,
      // A stricter value length in one round (series with "東京", 6 bytes, are refused), the crash in another.
      limits: round === 11 ? { maxLabelValueLength: 5 } : undefined,
      crash: round === 17,
    };
    steps.push(step);
  }
  return steps;
}

async function compare(
  steps: readonly Step[],
  pool: Partial<DecodePoolOptions>,
  cache: SeriesCacheOptions,
  maxActiveSeries?: number,
): Promise<void> {
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), "contrail-key-index-")));
  const limit = maxActiveSeries === undefined ? {} : { maxActiveSeries: () => maxActiveSeries };
  const [inline, offloaded] = dirs.map((d) => new EmbeddedTenantStore({ dataDir: d, idleCloseMs: 0, ...limit }));
  const decodes = new DecodePool({ workers: 1, workerScript: TEST_WORKER, ...pool });
  const inlineState = new ReceiverState(cache);
  const offloadedState = new ReceiverState(cache);
  try {
    for (const step of steps) {
      if (step.crash === true) {
        const crashed = await decodes.decode(Uint8Array.of(0xde, 0xad, 0x01), "v1", DEFAULT_RECEIVE_LIMITS);
        assert.equal("status" in crashed && crashed.status, 503);
      }
      const body = snappy.encodeCopy(message(step.ids, step.t));
      const opts = (state: ReceiverState) => ({ org: "acme", state, limits: step.limits, now: () => NOW });
      const want: WriteOutcome = receiveWrite(body.slice(), HEADERS, () => inline.appender("acme"), opts(inlineState));
      const got = await receiveWriteOffloaded(body.slice(), HEADERS, () => offloaded.appender("acme"), {
        ...opts(offloadedState),
        pool: decodes,
        inlineBelowBytes: 0,
      });
      assert.deepEqual(got, want);
    }
    assert.deepEqual(dumpSeries(offloaded.queryable("acme")), dumpSeries(inline.queryable("acme")));
    assert.ok(decodes.figures().decoded >= steps.length);
    // The rows of the worker that crashed were dropped: only its replacement's are kept (none without numbers).
    assert.equal(offloadedState.v1.indexedWorkers, pool.keyTable?.maxEntries === 0 ? 0 : 1);
  } finally {
    await decodes.close();
    inline.close();
    offloaded.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

describe("numbered walks: the same answers and series as decoding in place", () => {
  test("series churn, a stricter limit and a replaced worker", async () => {
    await compare(churn(), {}, {});
  });

  test("a worker key table that starts over every few requests", async () => {
    await compare(churn(), { keyTable: { maxEntries: 20 } }, {});
  });

  test("a key table that numbers nothing", async () => {
    await compare(churn(), { keyTable: { maxEntries: 0 } }, {});
  });

  test("rows past the receiver's bound go by the series cache", async () => {
    await compare(churn(), {}, { maxEntries: 8 });
  });

  test("new series over the org's series limit are refused with the same answers", async () => {
    await compare(churn(), {}, {}, 25);
  });
});
