// The receiver's series cache (series-cache.ts) end to end: a series found by the raw bytes of its labels lands in
// the same series, with the same samples, as one decoded the slow way; hash collisions, other encodings of the same
// label set, stricter limits of a later request, and stores that forget refs or are opened again.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { SnappyEncoder } from "../../tsdb/encoding/snappy.ts";
import type { Appender, CommitReport, SeriesRef, TenantStore } from "../interface.ts";
import { MemoryStore } from "../memory.ts";
import { EmbeddedTenantStore } from "../tenants.ts";
import { encodeWriteRequestV1 } from "./codec-v1-encode.ts";
import { ProtoWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "./protobuf.ts";
import { type ReceiveLimits, ReceiverState, receiveWrite, type WriteOutcome } from "./receive.ts";
import type { SeriesCacheOptions } from "./series-cache.ts";
import { dumpSeries } from "./store-dump.ts";
import type { WriteSeries } from "./types.ts";

const NOW = 1_700_000_000_000;
const HEADERS = { "content-type": "application/x-protobuf", "content-encoding": "snappy" };
const snappy = new SnappyEncoder();

function send(
  store: TenantStore,
  state: ReceiverState,
  message: Uint8Array,
  limits: Partial<ReceiveLimits> = {},
): WriteOutcome {
  return receiveWrite(snappy.encodeCopy(message), HEADERS, () => store.appender("acme"), {
    org: "acme",
    state,
    limits,
    now: () => NOW,
  });
}

/** Sends `message` and checks that it was written whole (204). */
function written(store: TenantStore, state: ReceiverState, message: Uint8Array): void {
  const out = send(store, state, message);
  assert.equal(out.status, 204, out.kind === "written" ? "" : out.message);
}

/** A varied set of series: unicode, empty values (dropped), many labels, names sharing prefixes. */
function fleet(): Labels[] {
  const out: Labels[] = [];
  for (let i = 0; i < 40; i++) {
    out.push(
      Labels.fromStrings(
        "__name__",
        i % 3 === 0 ? "http_requests_total" : i % 3 === 1 ? "http_requests" : "température_°c",
        "a",
        String(i % 7),
        "aa",
        i % 5 === 0 ? "" : `v${i}`,
        "region",
        ["ams", "東京", "ñu"][i % 3],
        ...(i % 4 === 0 ? ["z", "x".repeat(200 + i)] : []),
      ),
    );
  }
  return out;
}

/** A request with one sample of each series in `labels` at `t`: value `v` for the first, `v + i * step` for the i-th. */
function request(labels: readonly Labels[], t: number, v: number, step = 0): Uint8Array {
  const series: WriteSeries[] = labels.map((l, i) => ({ labels: l, samples: [{ t, v: v + i * step }] }));
  return encodeWriteRequestV1({ series }).slice();
}

function withStore<T>(fn: (store: EmbeddedTenantStore, dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "contrail-receive-cache-"));
  const store = new EmbeddedTenantStore({ dataDir: dir, idleCloseMs: 0 });
  try {
    return fn(store, dir);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("receiver series cache: same series as the slow path", () => {
  const cases: [string, SeriesCacheOptions][] = [
    ["default cache", {}],
    ["every key colliding", { hash: () => 7 }],
    ["a cache of 3 entries (churn)", { maxEntries: 3 }],
  ];
  for (const [name, opts] of cases) {
    test(name, () => {
      const labels = fleet();
      withStore((cached) =>
        withStore((slow) => {
          const fast = new ReceiverState(opts);
          const none = new ReceiverState({ maxEntries: 0 });
          for (let round = 0; round < 4; round++) {
            // Each round sends the fleet in another order, so cached entries meet in other places of the body.
            const order = labels.map((_, i) => labels[(i * [1, 3, 7, 9][round]) % labels.length]);
            const m = request(order, NOW - 60_000 + round * 15_000, round * 100 + 0.5, 1);
            assert.equal(send(cached, fast, m).status, 204, `round ${round}, cached`);
            assert.equal(send(slow, none, m).status, 204, `round ${round}, uncached`);
          }
          const got = dumpSeries(cached.queryable("acme"));
          assert.equal(got.length, labels.length);
          assert.deepEqual(got, dumpSeries(slow.queryable("acme")));
          for (const line of got) assert.equal(line.split(" ").length - line.split("} ")[0].split(" ").length, 4);
        }),
      );
    });
  }
});

// A TimeSeries whose labels are written as given: pairs of [name, value] in order, with `valueFirst` writing the
// value field before the name field.
function rawSeries(pairs: [string, string][], t: number, v: number, valueFirst = false): Uint8Array {
  const w = new ProtoWriter();
  const ts = w.begin(1);
  for (const [name, value] of pairs) {
    const m = w.begin(1);
    const fields: [number, string][] = [
      [1, name],
      [2, value],
    ];
    if (valueFirst) fields.reverse();
    for (const [field, text] of fields) {
      w.tag(field, WIRE_LEN);
      w.string(text);
    }
    w.end(m);
  }
  const s = w.begin(2);
  w.tag(1, WIRE_FIXED64);
  w.double(v);
  w.tag(2, WIRE_VARINT);
  w.int64(t);
  w.end(s);
  w.end(ts);
  return w.finish().slice();
}

describe("receiver series cache: encodings and limits", () => {
  test("other encodings of the same label set reach the same series; unsorted labels stay refused", () => {
    withStore((store) => {
      const state = new ReceiverState();
      const pairs: [string, string][] = [
        ["__name__", "up"],
        ["job", "a"],
      ];
      written(store, state, rawSeries(pairs, NOW - 3000, 1));
      written(store, state, rawSeries(pairs, NOW - 2000, 2, true));
      written(store, state, rawSeries([...pairs, ["zone", ""]], NOW - 1000, 3));
      written(store, state, rawSeries(pairs, NOW, 4));
      const unsorted = send(store, state, rawSeries([pairs[1], pairs[0]], NOW + 1000, 5));
      assert.equal(unsorted.status, 400);
      assert.match(unsorted.kind === "partial" ? unsorted.message : "", /label names not sorted/);
      const got = dumpSeries(store.queryable("acme"));
      assert.equal(got.length, 1);
      assert.match(got[0], /^\{__name__="up", job="a"\} (\S+ ){3}\S+$/);
    });
  });

  test("a cached series is refused under a later request's stricter label length limits", () => {
    withStore((store) => {
      const state = new ReceiverState();
      const pairs: [string, string][] = [
        ["__name__", "up"],
        ["instance", "x".repeat(100)],
      ];
      written(store, state, rawSeries(pairs, NOW - 2000, 1));
      const value = send(store, state, rawSeries(pairs, NOW - 1000, 2), { maxLabelValueLength: 50 });
      assert.equal(value.status, 400);
      assert.match(value.kind === "partial" ? value.message : "", /100 bytes long, more than the limit of 50/);
      const name = send(store, state, rawSeries(pairs, NOW - 1000, 2), { maxLabelNameLength: 4 });
      assert.equal(name.status, 400);
      assert.match(name.kind === "partial" ? name.message : "", /label name "__name__" is 8 bytes long/);
      written(store, state, rawSeries(pairs, NOW, 3));
      assert.match(dumpSeries(store.queryable("acme"))[0], / \S+ \S+$/);
    });
  });
});

/**
 * A store over one MemoryStore whose appenders count appends by labels and by ref, and carry `scope` as their
 * refScope (null: none). `forget` makes the next appendRef of that ref fail as a store that dropped it does.
 */
class CountingTenants implements TenantStore {
  readonly mem = new MemoryStore();
  scope: object | null = {};
  byLabels = 0;
  byRef = 0;
  readonly forget = new Set<number>();

  appender(): Appender {
    const inner = this.mem.appender();
    const outer = this;
    const app: Appender = {
      append(labels: Labels, t: number, v: number): SeriesRef {
        outer.byLabels++;
        return inner.append(labels, t, v);
      },
      appendRef(ref: SeriesRef, t: number, v: number): SeriesRef {
        if (outer.forget.delete(ref)) throw new ContrailError("not_found", `unknown ref ${ref}`);
        outer.byRef++;
        return inner.appendRef(ref, t, v);
      },
      commit: (): CommitReport => inner.commit(),
      rollback: () => inner.rollback(),
    };
    return this.scope === null ? app : Object.assign(app, { refScope: this.scope });
  }
  querier(_org: string, mint: number, maxt: number) {
    return this.mem.querier(mint, maxt);
  }
  queryable() {
    return this.mem;
  }
}

describe("receiver series cache: refs", () => {
  const a = Labels.fromStrings("__name__", "up", "job", "a");
  const b = Labels.fromStrings("__name__", "up", "job", "b");

  test("a repeated series is appended by its ref while the store's ref scope stays the same", () => {
    const store = new CountingTenants();
    const state = new ReceiverState();
    written(store, state, request([a, b], NOW - 2000, 1));
    assert.deepEqual([store.byLabels, store.byRef], [2, 0]);
    written(store, state, request([a, b], NOW - 1000, 2));
    assert.deepEqual([store.byLabels, store.byRef], [2, 2]);
    // Another scope (a database opened again): refs of the old one are not used.
    store.scope = {};
    written(store, state, request([b, a], NOW, 3));
    assert.deepEqual([store.byLabels, store.byRef], [4, 2]);
    assert.deepEqual(dumpSeries(store.mem).length, 2);
  });

  test("a ref the store no longer knows falls back to the labels, and the new ref is kept", () => {
    const store = new CountingTenants();
    const state = new ReceiverState();
    written(store, state, request([a], NOW - 2000, 1));
    store.forget.add(store.mem.getOrCreate(a));
    written(store, state, request([a], NOW - 1000, 2));
    assert.deepEqual([store.byLabels, store.byRef], [2, 0]);
    written(store, state, request([a], NOW, 3));
    assert.deepEqual([store.byLabels, store.byRef], [2, 1]);
    assert.match(dumpSeries(store.mem)[0], /\} (\S+ ){2}\S+$/);
  });

  test("refs are not kept for a store without a ref scope", () => {
    const store = new CountingTenants();
    store.scope = null;
    const state = new ReceiverState();
    send(store, state, request([a], NOW - 1000, 1));
    send(store, state, request([a], NOW, 2));
    assert.deepEqual([store.byLabels, store.byRef], [2, 0]);
  });

  test("an org database closed and opened again is written by labels, into the same series", () => {
    let now = NOW;
    const dir = mkdtempSync(join(tmpdir(), "contrail-receive-cache-"));
    const store = new EmbeddedTenantStore({ dataDir: dir, idleCloseMs: 1000, now: () => now });
    try {
      const state = new ReceiverState();
      written(store, state, request([a, b], NOW - 2000, 1));
      written(store, state, request([a, b], NOW - 1000, 2));
      now += 5000;
      assert.deepEqual(store.closeIdle(), ["acme"]);
      written(store, state, request([b, a], NOW, 3));
      const got = dumpSeries(store.queryable("acme"));
      assert.equal(got.length, 2);
      for (const line of got) assert.match(line, /\} (\S+ ){2}\S+$/);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
