import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { Encbuf } from "../encoding/encbuf.ts";
import { decodeMetadata, encodeMetadata, MetadataBatch, type MetricType } from "../record/metadata.ts";
import { recordKind } from "../record/record.ts";
import { decodeSamples, encodeSamples, SampleBatch } from "../record/samples.ts";
import { decodeSeries, encodeSeries, SeriesBatch } from "../record/series.ts";
import { decodeTombstones, encodeTombstones, TombstoneBatch } from "../record/tombstones.ts";
import { checkpoint, checkpointDir, lastCheckpoint, listCheckpoints } from "./checkpoint.ts";
import { type SegmentRange, WalReader } from "./reader.ts";
import { segmentPath } from "./segment.ts";
import { Wal } from "./wal.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "contrail-cp-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Everything a replay would see, in comparable form. */
interface State {
  series: Map<number, string>;
  samples: string[];
  stones: string[];
  meta: Map<number, string>;
  unknown: number;
}

function replay(ranges: SegmentRange[]): State {
  const st: State = { series: new Map(), samples: [], stones: [], meta: new Map(), unknown: 0 };
  const r = new WalReader(ranges);
  const series = new SeriesBatch();
  const samples = new SampleBatch();
  const stones = new TombstoneBatch();
  const meta = new MetadataBatch();
  while (r.next()) {
    const rec = r.record();
    switch (recordKind(rec)) {
      case "series":
        decodeSeries(rec, series);
        for (let i = 0; i < series.length; i++) st.series.set(series.refs[i], series.labels[i].toString());
        break;
      case "samples":
        decodeSamples(rec, samples);
        for (let i = 0; i < samples.length; i++)
          st.samples.push(`${samples.refs[i]}@${samples.ts[i]}=${samples.vs[i]}`);
        break;
      case "tombstones":
        decodeTombstones(rec, stones);
        for (let i = 0; i < stones.length; i++)
          st.stones.push(`${stones.refs[i]}:${stones.mints[i]}..${stones.maxts[i]}`);
        break;
      case "metadata":
        decodeMetadata(rec, meta);
        for (let i = 0; i < meta.length; i++)
          st.meta.set(meta.refs[i], `${meta.types[i]}|${meta.units[i]}|${meta.helps[i]}`);
        break;
      case "unknown":
        st.unknown++;
        break;
    }
  }
  assert.equal(r.corruption(), null);
  r.close();
  return st;
}

const TYPES: MetricType[] = ["counter", "gauge", "summary"];

/**
 * Writes segments 0..5. Segment k: series 10k+1..10k+10, samples for all series so far at t = 1000k + 0..9,
 * one tombstone per segment, metadata for its series (re-sent in later segments with new help), an exemplar record.
 */
function buildWal(dir: string): void {
  const w = Wal.open(dir);
  const buf = new Encbuf();
  const put = (enc: (b: Encbuf) => void) => {
    buf.reset();
    enc(buf);
    w.log(buf.get());
  };
  for (let k = 0; k < 6; k++) {
    const s = new SeriesBatch();
    for (let i = 1; i <= 10; i++) s.push(10 * k + i, Labels.fromStrings("__name__", "m", "i", String(10 * k + i)));
    put((b) => encodeSeries(b, s));
    const smp = new SampleBatch();
    for (let ref = 1; ref <= 10 * (k + 1); ref++)
      for (let j = 0; j < 10; j++) smp.push(ref, 1000 * k + j, ref + j / 10);
    put((b) => encodeSamples(b, smp));
    put((b) => encodeTombstones(b, { length: 1, refs: [10 * k + 2], mints: [1000 * k], maxts: [1000 * k + 5] }));
    const m = new MetadataBatch();
    for (let ref = 1; ref <= 10 * (k + 1); ref++) m.push(ref, TYPES[ref % 3], "seconds", `help ${ref} v${k}`);
    put((b) => encodeMetadata(b, m));
    w.log(new Uint8Array([4, 0, 0, 0])); // an exemplar record, which Contrail does not decode
    if (k < 5) w.nextSegment();
  }
  w.close();
}

/** What a checkpoint of segments 0..to must hold, computed from a full replay of those segments. */
function expectedCheckpoint(full: State, keep: (ref: number) => boolean, mint: number): State {
  return {
    series: new Map([...full.series].filter(([ref]) => keep(ref))),
    samples: full.samples.filter((s) => Number(s.split("@")[1].split("=")[0]) >= mint),
    stones: full.stones.filter((s) => keep(Number(s.split(":")[0])) && Number(s.split("..")[1]) >= mint),
    meta: new Map([...full.meta].filter(([ref]) => keep(ref))),
    unknown: 0,
  };
}

function assertSameState(got: State, want: State): void {
  assert.deepEqual([...got.series].sort(), [...want.series].sort());
  assert.deepEqual(got.samples, want.samples);
  assert.deepEqual(got.stones, want.stones);
  assert.deepEqual([...got.meta].sort(), [...want.meta].sort());
  assert.equal(got.unknown, want.unknown);
}

describe("checkpoints", () => {
  test("a checkpoint keeps live series, recent samples and tombstones, and the latest metadata", () => {
    const dir = tempDir();
    buildWal(dir);
    const keep = (ref: number) => ref % 3 !== 0;
    const stats = checkpoint(dir, { from: 0, to: 3, keepSeries: keep, mint: 2003 });

    const cp = lastCheckpoint(dir);
    assert.deepEqual(cp, { dir: checkpointDir(dir, 3), index: 3 });
    assert.deepEqual(readdirSync(cp.dir), ["00000000"]);
    assert.ok(!readdirSync(dir).some((n) => n.endsWith(".tmp")));

    const full = replay([{ dir, last: 3 }]);
    assertSameState(replay([{ dir: cp.dir }]), expectedCheckpoint(full, keep, 2003));
    assert.equal(stats.totalSeries, 40);
    assert.equal(stats.droppedSeries, 13);
    assert.equal(stats.totalSamples, full.samples.length);
    assert.equal(stats.droppedSamples, 10 * 10 + 20 * 10 + 30 * 3);
    assert.equal(stats.totalTombstones, 4);
    assert.equal(stats.droppedTombstones, 2);
    assert.equal(stats.totalMetadata, 10 + 20 + 30 + 40);
    assert.equal(stats.droppedMetadata, 100 - 27);
    assert.equal(stats.skippedRecords, 4);
    // The metadata kept is the newest sent, from segment 3.
    assert.equal(replay([{ dir: cp.dir }]).meta.get(1), "gauge|seconds|help 1 v3");
  });

  test("the next checkpoint folds in the previous one and deletes it", () => {
    const dir = tempDir();
    buildWal(dir);
    checkpoint(dir, { from: 0, to: 2, keepSeries: (ref) => ref % 3 !== 0, mint: 1500 });
    const w = Wal.open(dir);
    w.truncate(3);
    w.close();
    // Segments 3 and 4 on top of checkpoint.00000002; from = 0 is raised to 3.
    const combined = replay([{ dir: checkpointDir(dir, 2) }, { dir, first: 3, last: 4 }]);
    const keep2 = (ref: number) => ref % 3 !== 0 && ref % 5 !== 0;
    const stats = checkpoint(dir, { from: 0, to: 4, keepSeries: keep2, mint: 3002 });
    assert.deepEqual(
      listCheckpoints(dir).map((c) => c.index),
      [4],
    );
    assert.equal(stats.totalSeries, combined.series.size);
    assertSameState(replay([{ dir: checkpointDir(dir, 4) }]), expectedCheckpoint(combined, keep2, 3002));

    // A replay of the checkpoint and the rest of the WAL sees live series 1..50 and all of segment 5 (51..60).
    const all = replay([{ dir: checkpointDir(dir, 4) }, { dir, first: 5 }]);
    const live = Array.from({ length: 60 }, (_, i) => i + 1).filter((ref) => ref > 50 || keep2(ref));
    assert.deepEqual(
      [...all.series.keys()].sort((a, b) => a - b),
      live,
    );
  });

  test("a gap after the last checkpoint is refused", () => {
    const dir = tempDir();
    buildWal(dir);
    checkpoint(dir, { from: 0, to: 1, keepSeries: () => true, mint: 0 });
    assert.throws(
      () => checkpoint(dir, { from: 3, to: 4, keepSeries: () => true, mint: 0 }),
      (e) => isContrailError(e, "bad_data"),
    );
  });

  test("damaged input fails the checkpoint and leaves nothing behind", () => {
    const dir = tempDir();
    buildWal(dir);
    const p = segmentPath(dir, 1);
    const b = readFileSync(p);
    b[100] ^= 1;
    writeFileSync(p, b);
    mkdirSync(join(dir, "checkpoint.00000000.tmp")); // a leftover from an earlier crash
    assert.throws(
      () => checkpoint(dir, { from: 0, to: 2, keepSeries: () => true, mint: 0 }),
      (e) => isContrailError(e, "corruption") && /00000001/.test((e as Error).message),
    );
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.startsWith("checkpoint")),
      [],
    );
  });

  test("listing", () => {
    const dir = tempDir();
    assert.equal(lastCheckpoint(dir), null);
    mkdirSync(join(dir, "checkpoint.00000007"));
    mkdirSync(join(dir, "checkpoint.00000012"));
    mkdirSync(join(dir, "checkpoint.00000013.tmp"));
    assert.deepEqual(lastCheckpoint(dir)?.index, 12);
    writeFileSync(join(dir, "checkpoint.00000020"), "");
    assert.throws(
      () => lastCheckpoint(dir),
      (e) => isContrailError(e, "corruption"),
    );
    assert.ok(existsSync(join(dir, "checkpoint.00000007")));
  });
});
