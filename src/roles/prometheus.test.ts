// `contrail up` next to a real Prometheus (the Debian 2.42 package, on loopback, in a temporary directory): it
// scrapes Contrail's own `/metrics` (`up == 1`), whose body `promtool check metrics` accepts, and remote-writes what
// it scrapes into an org of Contrail with a write token, where a read token queries it. A hand-made push with
// metadata shows in `/api/v1/metadata`. Skipped when prometheus or promtool is not installed.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Labels } from "../model/labels.ts";
import { encodeWriteRequestV1 } from "../storage/remote/codec-v1-encode.ts";
import { type Peer, remoteWritingConfig, startPrometheus } from "../testkit/peers.ts";
import { SnappyEncoder } from "../tsdb/encoding/snappy.ts";
import { byLabel, contrailOk, query, startUp, type UpProcess, waitFor } from "./testkit.ts";

function installed(cmd: string): boolean {
  const r = spawnSync(cmd, ["--version"], { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
}

const SKIP = installed("prometheus") && installed("promtool") ? false : "prometheus or promtool is not installed";

let root: string;
let data: string;
let up: UpProcess;
let readToken: string;
let writeToken: string;
let prom: Peer | null = null;

before(async () => {
  if (SKIP !== false) return;
  root = mkdtempSync(join(tmpdir(), "contrail-prometheus-"));
  data = join(root, "data");
  up = await startUp(data, ["--edge", "ord=127.0.0.1:0", "--scrape-interval", "1s"]);
  readToken = (await contrailOk(["tokens", "create", "--data", data])).trim();
  writeToken = (await contrailOk(["tokens", "create", "--scope", "write", "--data", data])).trim();
  const api = new URL(up.apiUrl);
  prom = await startPrometheus({
    dir: root,
    dataDir: join(root, "prometheus"),
    config: () =>
      remoteWritingConfig({
        job: "contrail",
        target: api.host,
        writeUrl: `${up.apiUrl}/prometheus/personal/api/v1/write`,
        token: writeToken,
      }),
  });
});

after(async () => {
  if (SKIP !== false) return;
  await prom?.stop(0);
  if (up !== undefined && up.proc.exitCode === null) await up.stop();
  rmSync(root, { recursive: true, force: true });
});

describe("a real Prometheus beside contrail up", { skip: SKIP }, () => {
  test("it scrapes Contrail's /metrics with up == 1", async () => {
    const upValue = await waitFor(
      async () => {
        const r = await fetch(`${prom?.url}/api/v1/query?query=${encodeURIComponent('up{job="contrail"}')}`);
        const body = (await r.json()) as { data: { result: { value: [number, string] }[] } };
        return body.data.result[0]?.value[1];
      },
      (v) => v === "1",
      30_000,
    );
    assert.equal(upValue, "1", prom?.log());
  });

  test("promtool check metrics accepts the /metrics body", async () => {
    const body = await (await fetch(`${up.apiUrl}/metrics`)).text();
    assert.match(body, /^# HELP /m);
    const r = spawnSync("promtool", ["check", "metrics"], { input: body, encoding: "utf8" });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });

  test("what Prometheus remote-writes with a write token is queryable with a read token", async () => {
    const got = await waitFor(
      async () => byLabel(await query(up.apiUrl, "personal", readToken, 'up{job="contrail"}'), "job"),
      (v) => v.contrail === 1,
      30_000,
    );
    assert.deepEqual(got, { contrail: 1 }, prom?.log());
    const md = await waitFor(
      async () => {
        const r = await fetch(`${up.apiUrl}/prometheus/personal/api/v1/metadata?metric=contrail_build_info`, {
          headers: { authorization: `Bearer ${readToken}` },
        });
        return ((await r.json()) as { data: Record<string, { type: string }[]> }).data;
      },
      (d) => d.contrail_build_info !== undefined,
      20_000,
    );
    assert.equal(md.contrail_build_info?.[0]?.type, "gauge", prom?.log());
  });

  test("a push of its own: 204 with the write token, 403 with the read token, then queryable", async () => {
    const now = Date.now();
    const body = new SnappyEncoder().encodeCopy(
      encodeWriteRequestV1({
        series: [
          {
            labels: Labels.fromStrings("__name__", "pushed_jobs_total", "queue", "mail"),
            samples: [
              { t: now - 2000, v: 41 },
              { t: now - 1000, v: 42 },
            ],
          },
        ],
        metadata: [{ name: "pushed_jobs_total", type: "counter", help: "Jobs pushed.", unit: "" }],
      }),
    );
    const post = (token: string) =>
      fetch(`${up.apiUrl}/prometheus/personal/api/v1/write`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/x-protobuf",
          "content-encoding": "snappy",
          "x-prometheus-remote-write-version": "0.1.0",
        },
        body,
      });
    assert.equal((await post(readToken)).status, 403);
    assert.equal((await post(writeToken)).status, 204);
    const got = await query(up.apiUrl, "personal", readToken, "pushed_jobs_total");
    assert.deepEqual(
      got.map((e) => [e.metric.queue, e.value[1]]),
      [["mail", "42"]],
    );
    const r = await fetch(`${up.apiUrl}/prometheus/personal/api/v1/metadata?metric=pushed_jobs_total`, {
      headers: { authorization: `Bearer ${readToken}` },
    });
    assert.deepEqual(((await r.json()) as { data: unknown }).data, {
      pushed_jobs_total: [{ type: "counter", help: "Jobs pushed.", unit: "" }],
    });
  });
});
