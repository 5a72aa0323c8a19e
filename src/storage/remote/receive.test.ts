import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { newMatcher } from "../../model/matcher.ts";
import { isStaleNaN, STALE_NAN } from "../../model/sample.ts";
import { SnappyEncoder } from "../../tsdb/encoding/snappy.ts";
import type { Appender, Querier, Queryable, TenantStore } from "../interface.ts";
import { MemoryStore } from "../memory.ts";
import { EmbeddedTenantStore } from "../tenants.ts";
import { encodeWriteRequestV1 } from "./codec-v1-encode.ts";
import { encodeRequestV2 } from "./codec-v2.ts";
import { MetadataStore } from "./metadata.ts";
import { outcomeHeaders, ReceiverState, receiveWrite, type WriteHeaders, type WriteOutcome } from "./receive.ts";
import type { WriteProto, WriteRequestData } from "./types.ts";

const NOW = 1_700_000_000_000;
const snappy = new SnappyEncoder();

/** A TenantStore keeping each org in its own MemoryStore. */
class MemoryTenants implements TenantStore {
  readonly stores = new Map<string, MemoryStore>();
  opened = 0;
  of(org: string): MemoryStore {
    let s = this.stores.get(org);
    if (s === undefined) {
      s = new MemoryStore();
      this.stores.set(org, s);
    }
    return s;
  }
  appender(org: string): Appender {
    this.opened++;
    return this.of(org).appender();
  }
  querier(org: string, mint: number, maxt: number): Querier {
    return this.of(org).querier(mint, maxt);
  }
  queryable(org: string): Queryable {
    return { querier: (mint, maxt) => this.querier(org, mint, maxt) };
  }
}

const HEADERS: Record<WriteProto, WriteHeaders> = {
  v1: { "content-type": "application/x-protobuf", "content-encoding": "snappy" },
  v2: { "content-type": "application/x-protobuf;proto=io.prometheus.write.v2.Request", "content-encoding": "snappy" },
};

function body(proto: WriteProto, req: WriteRequestData): Uint8Array {
  return snappy.encodeCopy(proto === "v1" ? encodeWriteRequestV1(req) : encodeRequestV2(req));
}

interface Harness {
  readonly tenants: MemoryTenants;
  readonly metadata: MetadataStore;
  send(b: Uint8Array, headers: WriteHeaders, limits?: Parameters<typeof receiveWrite>[3]["limits"]): WriteOutcome;
  samples(name: string): [number, number][];
}

function harness(): Harness {
  const tenants = new MemoryTenants();
  const metadata = new MetadataStore();
  const state = new ReceiverState();
  return {
    tenants,
    metadata,
    send: (b, headers, limits) =>
      receiveWrite(b, headers, () => tenants.appender("acme"), {
        org: "acme",
        state,
        metadata,
        limits,
        now: () => NOW,
      }),
    samples(name) {
      const q = tenants.querier("acme", Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
      const out: [number, number][] = [];
      for (const s of q.select([newMatcher("=", "__name__", name)], { start: 0, end: Number.MAX_SAFE_INTEGER })) {
        const it = s.iterator();
        while (it.next() !== "none") out.push([it.atT(), it.atV()]);
      }
      q.close();
      return out;
    },
  };
}

function series(name: string, samples: [number, number][], extra: string[] = []) {
  return { labels: Labels.fromStrings("__name__", name, ...extra), samples: samples.map(([t, v]) => ({ t, v })) };
}

describe("receiveWrite: success", () => {
  for (const proto of ["v1", "v2"] as const) {
    test(`${proto}: 204, samples queryable, written counts`, () => {
      const h = harness();
      const out = h.send(
        body(proto, {
          series: [
            series("up", [
              [NOW - 30_000, 1],
              [NOW - 15_000, 0],
            ]),
            series("temp", [[NOW, 21.5]], ["room", "a"]),
          ],
        }),
        HEADERS[proto],
      );
      assert.equal(out.status, 204, JSON.stringify(out));
      assert.equal(out.kind, "written");
      assert.equal(out.stats.samplesWritten, 3);
      assert.deepEqual(h.samples("up"), [
        [NOW - 30_000, 1],
        [NOW - 15_000, 0],
      ]);
      assert.deepEqual(h.samples("temp"), [[NOW, 21.5]]);
      const headers = outcomeHeaders(out);
      if (proto === "v1") assert.deepEqual(headers, {});
      else {
        assert.deepEqual(headers, {
          "x-prometheus-remote-write-samples-written": "3",
          "x-prometheus-remote-write-histograms-written": "0",
          "x-prometheus-remote-write-exemplars-written": "0",
        });
      }
    });
  }

  test("resending the same request is idempotent: 204 again, every sample counted as written", () => {
    const h = harness();
    const b = body("v1", { series: [series("up", [[NOW, 1]])] });
    assert.equal(h.send(b, HEADERS.v1).status, 204);
    const again = h.send(b, HEADERS.v1);
    assert.equal(again.status, 204);
    assert.equal(again.stats.samplesWritten, 1);
    assert.deepEqual(h.samples("up"), [[NOW, 1]]);
  });

  test("content types: no header means 1.0, proto= in any case and quoted, header parameters", () => {
    const h = harness();
    const b1 = body("v1", { series: [series("a", [[NOW, 1]])] });
    const b2 = body("v2", { series: [series("b", [[NOW, 1]])] });
    assert.equal(h.send(b1, { "content-encoding": "snappy" }).status, 204);
    assert.equal(
      h.send(b1, { ...HEADERS.v1, "content-type": "application/x-protobuf; proto=prometheus.WriteRequest" }).proto,
      "v1",
    );
    const v2 = h.send(b2, {
      "content-encoding": "Snappy",
      "content-type": 'Application/X-Protobuf; charset=utf-8; PROTO="io.prometheus.write.v2.Request"',
    });
    assert.equal(v2.status, 204);
    assert.equal(v2.proto, "v2");
  });

  test("metadata: 1.0's family list and 2.0's per-series metadata land in the MetadataStore", () => {
    const h = harness();
    h.send(
      body("v1", { series: [], metadata: [{ name: "up", type: "gauge", help: "Target is up.", unit: "" }] }),
      HEADERS.v1,
    );
    h.send(
      body("v2", {
        series: [
          { ...series("req_seconds_total", [[NOW, 1]]), metadata: { type: "counter", help: "Time.", unit: "seconds" } },
        ],
      }),
      HEADERS.v2,
    );
    assert.deepEqual(h.metadata.list("acme"), [
      ["req_seconds_total", { type: "counter", help: "Time.", unit: "seconds" }],
      ["up", { type: "gauge", help: "Target is up.", unit: "" }],
    ]);
  });

  test("staleness markers are stored as such (embedded TSDB, through its WAL)", () => {
    const dir = mkdtempSync(join(tmpdir(), "contrail-rw-"));
    const store = new EmbeddedTenantStore({ dataDir: dir, idleCloseMs: 0 });
    try {
      const b = body("v1", {
        series: [
          series("up", [
            [NOW - 15_000, 1],
            [NOW, STALE_NAN],
          ]),
        ],
      });
      const out = receiveWrite(b, HEADERS.v1, () => store.appender("acme"), { org: "acme", now: () => NOW });
      assert.equal(out.status, 204);
      const q = store.querier("acme", 0, NOW);
      const [s] = [...q.select([newMatcher("=", "__name__", "up")], { start: 0, end: NOW })];
      const it = s.iterator();
      assert.equal(it.next(), "float");
      assert.equal(it.atV(), 1);
      assert.equal(it.next(), "float");
      assert.ok(isStaleNaN(it.atV()));
      q.close();
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("receiveWrite: refusals (nothing written)", () => {
  const good = body("v1", { series: [series("up", [[NOW, 1]])] });
  const table: [string, Uint8Array, WriteHeaders, number, RegExp][] = [
    ["no Content-Encoding", good, { "content-type": "application/x-protobuf" }, 415, /no Content-Encoding/],
    ["gzip", good, { ...HEADERS.v1, "content-encoding": "gzip" }, 415, /Content-Encoding gzip/],
    ["JSON", good, { ...HEADERS.v1, "content-type": "application/json" }, 415, /unsupported Content-Type/],
    [
      "unknown proto",
      good,
      { ...HEADERS.v1, "content-type": "application/x-protobuf;proto=io.prometheus.write.v3.Request" },
      415,
      /unsupported proto "io.prometheus.write.v3.Request"/,
    ],
    ["not snappy", new Uint8Array([0x05, 0x01]), HEADERS.v1, 400, /invalid snappy block/],
    ["empty body", new Uint8Array(0), HEADERS.v1, 400, /invalid snappy block: snappy: truncated length header/],
    [
      "not protobuf",
      snappy.encodeCopy(new Uint8Array([0x0a, 0x7f, 0x01])),
      HEADERS.v1,
      400,
      /invalid protobuf: length 127 runs past the end of the message at byte 1/,
    ],
  ];
  for (const [name, b, headers, status, re] of table) {
    test(`${status}: ${name}`, () => {
      const h = harness();
      const out = h.send(b, headers);
      assert.equal(out.status, status);
      assert.equal(out.kind, "refused");
      if (out.kind === "refused") assert.match(out.message, re);
      assert.equal(out.stats.samplesWritten, 0);
      assert.deepEqual(h.samples("up"), []);
      if (status === 415) assert.equal(h.tenants.opened, 0, "storage is not opened for a refused request");
    });
  }

  test("413: compressed size over what snappy can make of the decompressed limit", () => {
    const h = harness();
    const out = h.send(new Uint8Array(32 + 600 + 100 + 1), HEADERS.v1, { maxWriteBytes: 600 });
    assert.equal(out.status, 413);
    if (out.kind === "refused") assert.match(out.message, /body of 733 bytes exceeds 732, the most a snappy body/);
    assert.equal(h.tenants.opened, 0);
  });

  test("413: the declared decompressed size is checked before anything is allocated", () => {
    const h = harness();
    // A 5-byte body declaring 4 GiB - 1 of output.
    const out = h.send(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]), HEADERS.v1);
    assert.equal(out.status, 413);
    if (out.kind === "refused")
      assert.match(
        out.message,
        /decompressed body of 4294967295 bytes \(as its snappy header declares\) would exceed the limit of 33554432 \(max_write_bytes\)/,
      );
  });

  test("a protobuf error after valid series rolls the whole batch back", () => {
    const h = harness();
    const valid = encodeWriteRequestV1({ series: [series("up", [[NOW, 1]])] });
    const broken = new Uint8Array([...valid, 0x0a, 0x10, 0x01]);
    const out = h.send(snappy.encodeCopy(broken), HEADERS.v1);
    assert.equal(out.status, 400);
    assert.deepEqual(h.samples("up"), []);
    assert.deepEqual(h.metadata.list("acme"), []);
  });

  test("503 when the org's storage cannot be opened, 500 when the commit fails; the sender retries both", () => {
    const unavailable = receiveWrite(
      body("v2", { series: [series("up", [[NOW, 1]])] }),
      HEADERS.v2,
      () => {
        throw new ContrailError("unavailable", "storage of org acme is unavailable");
      },
      { org: "acme" },
    );
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.proto, "v2");
    assert.equal(outcomeHeaders(unavailable)["x-prometheus-remote-write-samples-written"], "0");
    const store = new MemoryStore();
    const failing = (): Appender => {
      const app = store.appender();
      return {
        append: (l, t, v) => app.append(l, t, v),
        appendRef: (r, t, v) => app.appendRef(r, t, v),
        commit: () => {
          app.rollback();
          throw new ContrailError("internal", "WAL write failed: disk full");
        },
        rollback: () => app.rollback(),
      };
    };
    const failed = receiveWrite(good, HEADERS.v1, failing, { org: "acme" });
    assert.equal(failed.status, 500);
    if (failed.kind === "refused") assert.match(failed.message, /storage failure: WAL write failed: disk full/);
  });
});

describe("receiveWrite: partial writes (400, accepted samples committed)", () => {
  test("out-of-order and duplicate samples: counted, named, the rest written", () => {
    const h = harness();
    assert.equal(h.send(body("v1", { series: [series("up", [[NOW, 1]])] }), HEADERS.v1).status, 204);
    const out = h.send(
      body("v2", {
        series: [
          series("up", [
            [NOW - 15_000, 5],
            [NOW, 2],
            [NOW + 15_000, 3],
          ]),
          series("other", [[NOW, 7]]),
        ],
      }),
      HEADERS.v2,
    );
    assert.equal(out.status, 400);
    assert.equal(out.kind, "partial");
    if (out.kind !== "partial") return;
    assert.equal(out.code, "out_of_order_sample");
    assert.deepEqual(out.stats, {
      samplesWritten: 2,
      samplesRejected: 2,
      histogramsWritten: 0,
      histogramsRejected: 0,
      exemplarsDropped: 0,
    });
    assert.match(out.message, /^partial write: 2 of 4 samples rejected, 2 written \(1 out of order, 1 duplicate\)/);
    assert.match(out.message, /first: sample at 1699999985000 for \{__name__="up"\} is older than its newest/);
    assert.equal(outcomeHeaders(out)["x-prometheus-remote-write-samples-written"], "2");
    assert.deepEqual(h.samples("up"), [
      [NOW, 1],
      [NOW + 15_000, 3],
    ]);
    assert.deepEqual(h.samples("other"), [[NOW, 7]]);
  });

  test("invalid labels: that series refused, the others written", () => {
    const h = harness();
    const w = encodeWriteRequestV1({ series: [series("good", [[NOW, 1]])] });
    // Append a TimeSeries with labels out of order: {b="1", a="2"}.
    const bad = Buffer.from("0a1e" + "0a060a0162120131" + "0a060a0161120132" + "120c09000000000000f03f10e807", "hex");
    const out = h.send(snappy.encodeCopy(new Uint8Array([...w, ...bad])), HEADERS.v1);
    assert.equal(out.status, 400);
    if (out.kind !== "partial") return assert.fail(out.kind);
    assert.equal(out.code, "bad_data");
    assert.match(out.message, /1 of 2 samples rejected, 1 written \(1 series with invalid labels\)/);
    assert.match(out.message, /series \{b="1", a="2"\}: label names not sorted: "b" before "a"/);
    assert.deepEqual(h.samples("good"), [[NOW, 1]]);
  });

  test("samples too far in the future are refused as out of bounds", () => {
    const h = harness();
    const out = h.send(
      body("v1", {
        series: [
          series("up", [
            [NOW + 60_000, 1],
            [NOW + 3_600_000, 2],
          ]),
        ],
      }),
      HEADERS.v1,
    );
    assert.equal(out.status, 400);
    if (out.kind !== "partial") return assert.fail(out.kind);
    assert.match(out.message, /1 of 2 samples rejected, 1 written \(1 too far in the future\)/);
    assert.deepEqual(h.samples("up"), [[NOW + 60_000, 1]]);
  });

  test("a series the decoder's cache knows is named in refusals, and written again by labels after its store changed", () => {
    const h = harness();
    const known = series("up", [[NOW, 1]], ["zone", "eu"]);
    assert.equal(h.send(body("v1", { series: [known] }), HEADERS.v1).status, 204);
    const out = h.send(body("v1", { series: [{ ...known, samples: [{ t: NOW + 3_600_000, v: 2 }] }] }), HEADERS.v1);
    if (out.kind !== "partial") return assert.fail(out.kind);
    assert.match(out.message, /series \{__name__="up", zone="eu"\}: sample at \d+ is too far in the future/);
    // A fresh store: the ref the cache kept is of the old one, so the series is appended by its decoded labels.
    h.tenants.stores.clear();
    assert.equal(
      h.send(body("v1", { series: [{ ...known, samples: [{ t: NOW + 1, v: 3 }] }] }), HEADERS.v1).status,
      204,
    );
    assert.deepEqual(h.samples("up"), [[NOW + 1, 3]]);
  });

  test("exemplars are dropped without failing the request (no exemplar storage yet)", () => {
    const h = harness();
    const out = h.send(
      body("v2", {
        series: [
          { ...series("up", [[NOW, 1]]), exemplars: [{ labels: Labels.fromStrings("trace_id", "t1"), v: 1, t: NOW }] },
        ],
      }),
      HEADERS.v2,
    );
    assert.equal(out.status, 204);
    assert.equal(out.stats.exemplarsDropped, 1);
    assert.equal(outcomeHeaders(out)["x-prometheus-remote-write-exemplars-written"], "0");
  });
});
