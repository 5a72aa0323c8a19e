// Rules' queries with remote storage on a real Prometheus (Debian's 2.42, native histograms on, serving its API
// below /prometheus as Mimir does): a rule expression that gives native histograms is refused with an execution
// error naming the series and why (the backend's JSON has no schema, spans or reset hint to record), while float
// expressions over the same histograms evaluate as they always did.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { CounterResetHint, type Histogram } from "../../model/histogram.ts";
import { Labels } from "../../model/labels.ts";
import { DEFAULT_ORG_LIMITS } from "../../model/limits.ts";
import { encodeWriteRequestV1 } from "../../storage/remote/codec-v1-encode.ts";
import { freePort, IDLE_PROMETHEUS_CONFIG, type PeerProcess, startProcess, waitReady } from "../../testkit/peers.ts";
import { skipUnlessCi } from "../../testkit/shared-data.ts";
import { SnappyEncoder } from "../../tsdb/encoding/snappy.ts";
import { backendRuleQuery } from "../rule-queries.ts";
import { ReadBackend } from "./read-backend.ts";

const HAVE_PROMETHEUS = spawnSync("prometheus", ["--version"], { stdio: "ignore" }).status === 0;
const SKIP = skipUnlessCi(HAVE_PROMETHEUS ? undefined : "prometheus is not installed");
/** Whole seconds, so the backend's answers carry it exactly. */
const NOW = Math.floor(Date.now() / 1000) * 1000;
/** Liveness bound of each query, ms. */
const LIVENESS_MS = 10_000;

const H: Histogram = {
  integer: true,
  counterResetHint: CounterResetHint.unknown,
  schema: 1,
  zeroThreshold: 0.001,
  zeroCount: 1,
  count: 6,
  sum: 4.5,
  positiveSpans: [{ offset: 0, length: 2 }],
  positiveBuckets: [2, 3],
  negativeSpans: [],
  negativeBuckets: [],
  customValues: [],
};

let dir: string;
let prom: PeerProcess | null = null;
let url: string;

before(async () => {
  if (SKIP !== false) return;
  dir = mkdtempSync(join(tmpdir(), "contrail-prom-rules-"));
  writeFileSync(join(dir, "prometheus.yml"), IDLE_PROMETHEUS_CONFIG);
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  prom = startProcess("prometheus", [
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--web.route-prefix=/prometheus",
    "--web.enable-remote-write-receiver",
    "--enable-feature=native-histograms",
  ]);
  await waitReady(`${url}/prometheus/-/ready`, { what: "prometheus" });
  const series = ["a", "b"].map((job) => ({
    labels: Labels.fromStrings("__name__", "h", "job", job),
    samples: [],
    histograms: [{ t: NOW - 10_000, h: H }],
  }));
  const r = await fetch(`${url}/prometheus/api/v1/write`, {
    method: "POST",
    headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy" },
    body: new SnappyEncoder().encodeCopy(encodeWriteRequestV1({ series })),
  });
  assert.equal(r.status, 204, await r.text());
});

after(async () => {
  await prom?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("rules' queries on a Prometheus backend holding native histograms", { skip: SKIP }, () => {
  const query = () => backendRuleQuery(new ReadBackend({ spec: { kind: "mimir", url } }), () => DEFAULT_ORG_LIMITS);

  test("a histogram result is refused, naming the series and why", async () => {
    for (const expr of ["h", "sum by (job) (h)"]) {
      await assert.rejects(
        query()("acme", expr, NOW, AbortSignal.timeout(LIVENESS_MS)),
        (err) =>
          isContrailError(err, "execution") &&
          /^rule expression gave a native histogram for \{(__name__="h", )?job="a"\}: with remote storage the backend answers in JSON, which has no histogram schema, bucket spans or counter reset hint/.test(
            err.message,
          ),
        expr,
      );
    }
  });

  test("float expressions over the same histograms evaluate", async () => {
    const v = await query()("acme", "histogram_count(h)", NOW, AbortSignal.timeout(LIVENESS_MS));
    assert.deepEqual(
      v.map((s) => [s.labels.toString(), s.t, s.v, s.h]),
      [
        ['{job="a"}', NOW, 6, undefined],
        ['{job="b"}', NOW, 6, undefined],
      ],
    );
  });
});
