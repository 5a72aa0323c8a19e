// Interoperability with real Prometheus binaries, when they are installed: promtool must replay a WAL (segments and a
// checkpoint) written by Contrail, and Contrail must replay a WAL written by a Prometheus server (snappy-compressed).
// Each test is skipped when its binary is not on the PATH.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { Labels } from "../../model/labels.ts";
import { Encbuf } from "../encoding/encbuf.ts";
import { encodeMetadata } from "../record/metadata.ts";
import { recordKind } from "../record/record.ts";
import { decodeSamples, encodeSamples, SampleBatch } from "../record/samples.ts";
import { decodeSeries, encodeSeries, SeriesBatch } from "../record/series.ts";
import { encodeTombstones } from "../record/tombstones.ts";
import { checkpoint } from "./checkpoint.ts";
import { WalReader } from "./reader.ts";
import {
  FLAG_SNAPPY,
  FRAG_PAGE_TERM,
  FRAG_TYPE_MASK,
  HEADER_SIZE,
  listSegments,
  PAGE_SIZE,
  segmentPath,
} from "./segment.ts";
import { Wal } from "./wal.ts";

function installed(bin: string): boolean {
  const r = spawnSync(bin, ["--version"], { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "contrail-interop-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const T0 = 1_700_000_000_000;
const STEP = 15_000;

describe("interoperability with Prometheus", () => {
  test("promtool replays a Contrail WAL with a checkpoint, several segments and a tombstone", {
    skip: !installed("promtool"),
  }, () => {
    const data = tempDir();
    const walDir = join(data, "wal");
    const w = Wal.open(walDir, { segmentSize: PAGE_SIZE });
    const buf = new Encbuf();
    const put = (enc: (b: Encbuf) => void) => {
      buf.reset();
      enc(buf);
      w.log(buf.get());
    };
    const SERIES = 60;
    const STEPS = 120;
    const series = new SeriesBatch();
    for (let ref = 1; ref <= SERIES; ref++) {
      series.push(ref, Labels.fromStrings("__name__", "contrail_test", "app", `app-${ref % 7}`, "n", String(ref)));
    }
    put((b) => encodeSeries(b, series));
    put((b) =>
      encodeMetadata(b, { length: 1, refs: [1], types: ["counter"], units: ["seconds"], helps: ["A test metric."] }),
    );
    const expected = new Map<string, string[]>();
    const samples = new SampleBatch();
    for (let step = 0; step < STEPS; step++) {
      samples.clear();
      for (let ref = 1; ref <= SERIES; ref++) samples.push(ref, T0 + step * STEP, ref * 1000 + step + 0.25);
      put((b) => encodeSamples(b, samples));
    }
    // Delete series 5's samples at steps 10..19.
    put((b) => encodeTombstones(b, { length: 1, refs: [5], mints: [T0 + 10 * STEP], maxts: [T0 + 19 * STEP] }));
    w.close();
    const segs = listSegments(walDir);
    assert.ok(segs.length >= 3, `${segs.length} segments`);
    // Fold the first two segments into a checkpoint and drop them, as the head does.
    checkpoint(walDir, { from: 0, to: 1, keepSeries: () => true, mint: 0 });
    const w2 = Wal.open(walDir);
    w2.truncate(2);
    w2.close();

    for (let ref = 1; ref <= SERIES; ref++) {
      const key = series.labels[ref - 1].toString();
      const lines: string[] = [];
      for (let step = 0; step < STEPS; step++) {
        if (ref === 5 && step >= 10 && step <= 19) continue;
        lines.push(`${key} ${ref * 1000 + step + 0.25} ${T0 + step * STEP}`);
      }
      expected.set(key, lines);
    }

    const r = spawnSync("promtool", ["tsdb", "dump", data], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    assert.equal(r.status, 0, r.stderr);
    const got = new Map<string, string[]>();
    for (const line of r.stdout.split("\n")) {
      if (line === "") continue;
      const key = line.slice(0, line.indexOf("}") + 1);
      const list = got.get(key) ?? [];
      list.push(line);
      got.set(key, list);
    }
    assert.equal(got.size, SERIES);
    for (const [key, lines] of expected) assert.deepEqual(got.get(key), lines, key);
  });

  test("Contrail replays the snappy-compressed WAL of a Prometheus server", {
    skip: !installed("prometheus"),
    timeout: 60_000,
  }, async () => {
    const data = tempDir();
    const port = await freePort();
    const config = join(data, "prometheus.yml");
    writeFileSync(
      config,
      `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ["127.0.0.1:${port}"]\n`,
    );
    const child = spawn(
      "prometheus",
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(data, "tsdb")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: "ignore" },
    );
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const walDir = join(data, "tsdb", "wal");
    try {
      // Wait until at least two scrapes of `up` are in the WAL.
      const deadline = Date.now() + 40_000;
      while (Date.now() < deadline && countUpSamples(walDir) < 2) await sleep(250);
    } finally {
      child.kill("SIGTERM");
      await exited;
    }

    const r = WalReader.open(walDir);
    const s = new SeriesBatch();
    const m = new SampleBatch();
    const refs = new Map<number, Labels>();
    let upRef = -1;
    let upValues = 0;
    let sampleCount = 0;
    while (r.next()) {
      const rec = r.record();
      const kind = recordKind(rec);
      if (kind === "series") {
        decodeSeries(rec, s);
        for (let i = 0; i < s.length; i++) {
          refs.set(s.refs[i], s.labels[i]);
          if (s.labels[i].metricName() === "up") upRef = s.refs[i];
        }
      } else if (kind === "samples") {
        decodeSamples(rec, m);
        for (let i = 0; i < m.length; i++) {
          assert.ok(refs.has(m.refs[i]), `sample for a series logged before it (ref ${m.refs[i]})`);
          if (m.refs[i] === upRef) {
            assert.equal(m.vs[i], 1);
            upValues++;
          }
        }
        sampleCount += m.length;
      }
    }
    assert.equal(r.corruption(), null);
    r.close();
    assert.equal(refs.get(upRef)?.toString(), `{__name__="up", instance="127.0.0.1:${port}", job="self"}`);
    assert.ok(upValues >= 2, `${upValues} samples of up`);
    assert.ok(refs.size > 50 && sampleCount > 100, `${refs.size} series, ${sampleCount} samples`);
    assert.ok(snappyFragments(walDir) > 0, "Prometheus compressed its records with snappy");
  });
});

/** Samples of `up` in the WAL so far (a reader of a WAL being written may stop at its torn tail: that is fine). */
function countUpSamples(walDir: string): number {
  let r: WalReader;
  try {
    r = WalReader.open(walDir);
  } catch {
    return 0;
  }
  const s = new SeriesBatch();
  const m = new SampleBatch();
  let upRef = -1;
  let n = 0;
  try {
    while (r.next()) {
      const rec = r.record();
      if (recordKind(rec) === "series") {
        decodeSeries(rec, s);
        for (let i = 0; i < s.length; i++) if (s.labels[i].metricName() === "up") upRef = s.refs[i];
      } else if (recordKind(rec) === "samples") {
        decodeSamples(rec, m);
        for (let i = 0; i < m.length; i++) if (m.refs[i] === upRef) n++;
      }
    }
  } finally {
    r.close();
  }
  return n;
}

/** Fragments with the snappy flag in the WAL's segments, found by walking fragment headers page by page. */
function snappyFragments(walDir: string): number {
  let n = 0;
  for (const seg of listSegments(walDir)) {
    const b = readFileSync(segmentPath(walDir, seg));
    let p = 0;
    while (p + HEADER_SIZE <= b.length) {
      if ((b[p] & FRAG_TYPE_MASK) === FRAG_PAGE_TERM) {
        p = (Math.floor(p / PAGE_SIZE) + 1) * PAGE_SIZE;
        continue;
      }
      if ((b[p] & FLAG_SNAPPY) !== 0) n++;
      p += HEADER_SIZE + b.readUInt16BE(p + 1);
    }
  }
  return n;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
