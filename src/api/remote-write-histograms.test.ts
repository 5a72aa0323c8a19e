// Native histograms through the remote-write route into the embedded store, over HTTP on loopback, with both
// protocol versions. While the embedded store keeps no histograms, they are refused with 400 naming the series and
// the reason, and the request's float samples (of the same series too) are written; once it keeps them (its
// appender has `appendHistogram`), the same requests must answer 204 with the histograms counted as written.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CounterResetHint, type Histogram } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import { encodeWriteRequestV1 } from "../storage/remote/codec-v1-encode.ts";
import { encodeRequestV2 } from "../storage/remote/codec-v2.ts";
import { MetadataStore } from "../storage/remote/metadata.ts";
import type { WriteRequestData } from "../storage/remote/types.ts";
import { EmbeddedTenantStore } from "../storage/tenants.ts";
import { SnappyEncoder } from "../tsdb/encoding/snappy.ts";
import { startTestServer, type TestControl, type TestServer, testControl, withRemoteWrite } from "./test-support.ts";

// Whole seconds, so query answers carry it exactly.
const NOW = Math.floor(Date.now() / 1000) * 1000;
const HEADERS = {
  v1: { "content-type": "application/x-protobuf", "content-encoding": "snappy" },
  v2: { "content-type": "application/x-protobuf;proto=io.prometheus.write.v2.Request", "content-encoding": "snappy" },
} as const;
const snappy = new SnappyEncoder();

const H: Histogram = {
  integer: true,
  counterResetHint: CounterResetHint.unknown,
  schema: 2,
  zeroThreshold: 0.001,
  zeroCount: 1,
  count: 6,
  sum: 4.5,
  positiveSpans: [
    { offset: 0, length: 2 },
    { offset: 3, length: 1 },
  ],
  negativeSpans: [],
  positiveBuckets: [1, 3, 1],
  negativeBuckets: [],
  customValues: [],
};

let control: TestControl;
let store: EmbeddedTenantStore;
let server: TestServer;
let token: string;

before(async () => {
  control = testControl();
  token = control.org("acme", ["read", "write"]);
  store = new EmbeddedTenantStore({ dataDir: control.dir, db: { autoCompact: false } });
  server = await startTestServer(
    control,
    store,
    {},
    withRemoteWrite(control, { tenants: store, metadata: new MetadataStore() }),
  );
});

after(async () => {
  await server.close();
  store.close();
  control.cleanup();
});

/** The result of an instant query at NOW (a vector or, for a range selector, a matrix). */
async function query(q: string): Promise<{ metric: Record<string, string> }[]> {
  const r = await fetch(
    `${server.url}/prometheus/acme/api/v1/query?query=${encodeURIComponent(q)}&time=${NOW / 1000}`,
    {
      headers: { authorization: `Bearer ${token}` },
    },
  );
  assert.equal(r.status, 200, await r.clone().text());
  return ((await r.json()) as { data: { result: { metric: Record<string, string> }[] } }).data.result;
}

describe("remote write of native histograms into the embedded store", () => {
  for (const proto of ["v1", "v2"] as const) {
    test(`${proto}: stored when the store keeps histograms, refused clearly otherwise`, async () => {
      const name = `rpc_seconds_${proto}`;
      const req: WriteRequestData = {
        series: [
          {
            labels: Labels.fromStrings("__name__", name, "job", "api"),
            samples: [{ t: NOW - 1000, v: 1 }],
            histograms: [{ t: NOW, h: H }],
          },
        ],
      };
      const body = snappy.encodeCopy(proto === "v1" ? encodeWriteRequestV1(req) : encodeRequestV2(req));
      const r = await fetch(`${server.url}/prometheus/acme/api/v1/write`, {
        method: "POST",
        headers: { ...HEADERS[proto], authorization: `Bearer ${token}` },
        body,
      });
      const text = await r.text();
      const probe = store.appender("acme");
      const keeps = probe.appendHistogram !== undefined;
      probe.rollback();
      if (keeps) {
        assert.equal(r.status, 204, text);
        if (proto === "v2") assert.equal(r.headers.get("x-prometheus-remote-write-histograms-written"), "1");
        return;
      }
      assert.equal(r.status, 400, text);
      assert.match(
        text,
        new RegExp(
          `series \\{__name__=\\\\"${name}\\\\", job=\\\\"api\\\\"\\}: native histogram samples cannot be stored`,
        ),
      );
      if (proto === "v2") {
        assert.equal(r.headers.get("x-prometheus-remote-write-histograms-written"), "0");
        assert.equal(r.headers.get("x-prometheus-remote-write-samples-written"), "1");
      }
      // The series' float sample was written all the same.
      const got = await query(`${name}[5s]`);
      assert.equal(got.length, 1);
    });
  }
});
