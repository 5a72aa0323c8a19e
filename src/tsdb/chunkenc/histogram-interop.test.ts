// Histogram chunks against the ones Prometheus writes: integer histograms are remote-written to a real Prometheus
// (2.42, native histograms enabled), a snapshot turns its head into a block, and every chunk of it is decoded by our
// iterator (same samples as sent) and re-encoded by our appender (same bytes). Skipped when prometheus is absent.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Histogram } from "../../model/histogram.ts";
import { CounterResetHint } from "../../model/histogram.ts";
import { ProtoWriter, WIRE_FIXED64, WIRE_VARINT } from "../../storage/remote/protobuf.ts";
import { IDLE_PROMETHEUS_CONFIG, type Peer, startPrometheus } from "../../testkit/peers.ts";
import { Block } from "../block.ts";
import { SnappyEncoder } from "../encoding/snappy.ts";
import { Encoding } from "./chunk.ts";
import { IntHistogramAppender, IntHistogramIterator } from "./histogram.ts";
import { COUNTER_RESET_MASK, type CounterResetHeader, HISTOGRAM_FLAG_POS } from "./histogram-layout.ts";
import { counterSequence, encodeSequence } from "./histogram-testdata.ts";

/** One series to send: a metric name and its samples (ms, histogram). */
interface HistogramSeries {
  readonly name: string;
  readonly samples: readonly (readonly [number, Histogram])[];
}

/** prompb.Histogram.ResetHint values by our hint. */
const RESET_HINT = {
  [CounterResetHint.unknown]: 0,
  [CounterResetHint.counterReset]: 1,
  [CounterResetHint.notCounterReset]: 2,
  [CounterResetHint.gauge]: 3,
} as const;

/** Buckets as prompb wants them: integer histograms as deltas between buckets, float ones as counts. */
function writeBuckets(w: ProtoWriter, h: Histogram, counts: readonly number[], deltaField: number): void {
  if (counts.length === 0) return;
  const mark = w.begin(h.integer ? deltaField : deltaField + 1);
  let prev = 0;
  for (const c of counts) {
    if (h.integer) w.sint64(c - prev);
    else w.double(c);
    prev = c;
  }
  w.end(mark);
}

function writeHistogram(w: ProtoWriter, t: number, h: Histogram): void {
  const m = w.begin(4);
  if (h.integer) {
    w.tag(1, WIRE_VARINT);
    w.int64(h.count);
  } else {
    w.tag(2, WIRE_FIXED64);
    w.double(h.count);
  }
  w.tag(3, WIRE_FIXED64);
  w.double(h.sum);
  w.tag(4, WIRE_VARINT);
  w.sint64(h.schema);
  w.tag(5, WIRE_FIXED64);
  w.double(h.zeroThreshold);
  if (h.integer) {
    w.tag(6, WIRE_VARINT);
    w.int64(h.zeroCount);
  } else {
    w.tag(7, WIRE_FIXED64);
    w.double(h.zeroCount);
  }
  for (const [field, spans] of [
    [8, h.negativeSpans],
    [11, h.positiveSpans],
  ] as const) {
    for (const s of spans) {
      const sm = w.begin(field);
      w.tag(1, WIRE_VARINT);
      w.sint64(s.offset);
      w.tag(2, WIRE_VARINT);
      w.uint32(s.length);
      w.end(sm);
    }
  }
  writeBuckets(w, h, h.negativeBuckets, 9);
  writeBuckets(w, h, h.positiveBuckets, 12);
  w.tag(14, WIRE_VARINT);
  w.uint32(RESET_HINT[h.counterResetHint]);
  w.tag(15, WIRE_VARINT);
  w.int64(t);
  w.end(m);
}

/** A snappy-compressed remote write 1.0 request carrying the series' histograms. */
function histogramWriteRequest(series: readonly HistogramSeries[]): Uint8Array {
  const w = new ProtoWriter();
  for (const s of series) {
    const ts = w.begin(1);
    const l = w.begin(1);
    w.tag(1, 2);
    w.string("__name__");
    w.tag(2, 2);
    w.string(s.name);
    w.end(l);
    for (const [t, h] of s.samples) writeHistogram(w, t, h);
    w.end(ts);
  }
  return new SnappyEncoder().encode(w.finish()).slice();
}

/** POSTs the series to a Prometheus remote-write receiver at `url`; throws with its answer on failure. */
async function sendHistograms(url: string, series: readonly HistogramSeries[]): Promise<void> {
  const res = await fetch(`${url}/api/v1/write`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-protobuf",
      "Content-Encoding": "snappy",
      "X-Prometheus-Remote-Write-Version": "0.1.0",
    },
    body: histogramWriteRequest(series),
  });
  if (res.status >= 300) throw new Error(`remote write answered ${res.status}: ${await res.text()}`);
}

const HAVE_PROMETHEUS = spawnSync("prometheus", ["--version"], { stdio: "ignore" }).status === 0;
const SKIP = HAVE_PROMETHEUS ? false : "prometheus is not installed";
/** Samples 15 s apart, one of them off by 7 ms so the timestamps' delta-of-delta is not always 0. */
const STEP_MS = 15_000;
/** Prometheus's head chunk range (its smallest block), ms: it also cuts a chunk where a sample crosses one. */
const CHUNK_RANGE_MS = 2 * 3600_000;
/** Samples of the counter sequence up to (not including) the first one Prometheus 2.42 cuts a chunk for. */
const SAME_CHUNK_PREFIX = 4;

let dir: string;
let prom: Peer | null = null;
let block: Block | null = null;
let series: HistogramSeries;

before(async () => {
  if (!HAVE_PROMETHEUS) return;
  dir = mkdtempSync(join(tmpdir(), "contrail-histchunks-"));
  prom = await startPrometheus({
    dir,
    config: () => IDLE_PROMETHEUS_CONFIG,
    flags: ["--enable-feature=native-histograms", "--web.enable-remote-write-receiver", "--web.enable-admin-api"],
  });
  // At the start of the last whole chunk range, so no range boundary falls between the samples.
  const t0 = Math.floor(Date.now() / CHUNK_RANGE_MS) * CHUNK_RANGE_MS - CHUNK_RANGE_MS;
  series = {
    name: "h_int",
    samples: counterSequence(true).map((h, i) => [t0 + i * STEP_MS + (i === 3 ? 7 : 0), h] as const),
  };
  await sendHistograms(prom.url, [series]);
  const res = await fetch(`${prom.url}/api/v1/admin/tsdb/snapshot`, { method: "POST" });
  const body = (await res.json()) as { data: { name: string } };
  const snap = join(dir, "data", "snapshots", body.data.name);
  block = Block.open(join(snap, readdirSync(snap)[0]));
});

after(async () => {
  block?.close();
  await prom?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function promChunks(): Uint8Array[] {
  const b = block as Block;
  const ix = b.index();
  const refs = ix.sortedPostings(ix.allPostings());
  assert.equal(refs.length, 1);
  const s = ix.series(refs[0]);
  assert.ok(s !== null);
  return s.chunks.map((m) => {
    const c = b.chunks().chunk(m);
    assert.equal(c.encoding, Encoding.histogram);
    return c.data.slice();
  });
}

function decode(bytes: Uint8Array): [number, Histogram][] {
  const it = new IntHistogramIterator(bytes);
  const out: [number, Histogram][] = [];
  while (it.next() !== "none") out.push([it.atT(), it.atH()]);
  assert.equal(it.err(), null);
  return out;
}

test("every chunk Prometheus wrote decodes to the samples sent and re-encodes to the same bytes", {
  skip: SKIP,
}, () => {
  const chunks = promChunks();
  assert.ok(chunks.length >= 3, `Prometheus cut ${chunks.length} chunks`);
  const sent = new Map(series.samples.map(([t, h]) => [t, h]));
  let seen = 0;
  for (const bytes of chunks) {
    const samples = decode(bytes);
    const again = new IntHistogramAppender();
    for (const [t, h] of samples) {
      const want = sent.get(t);
      assert.ok(want !== undefined, `unexpected sample at ${t}`);
      assert.equal(Object.is(h.sum, want.sum) || (Number.isNaN(h.sum) && Number.isNaN(want.sum)), true);
      if (!Number.isNaN(want.sum)) {
        assert.equal(h.count, want.count);
        assert.equal(h.zeroCount, want.zeroCount);
        assert.equal(h.schema, want.schema);
        // A recoded chunk holds more (empty) buckets than were sent; the sent ones keep their counts.
        assert.equal(
          h.positiveBuckets.reduce((a, b) => a + b, 0),
          want.positiveBuckets.reduce((a, b) => a + b, 0),
        );
      }
      again.appendRaw(t, h);
      seen++;
    }
    again.header = (bytes[HISTOGRAM_FLAG_POS] & COUNTER_RESET_MASK) as CounterResetHeader;
    assert.deepEqual(Buffer.from(again.bytes()).toString("hex"), Buffer.from(bytes).toString("hex"));
  }
  assert.equal(seen, series.samples.length);
});

test("a new bucket recodes the chunk to exactly Prometheus's bytes", { skip: SKIP }, () => {
  const first = promChunks()[0];
  const ours = encodeSequence(series.samples.slice(0, SAME_CHUNK_PREFIX));
  assert.equal(ours.length, 1);
  assert.equal(Buffer.from(ours[0]).toString("hex"), Buffer.from(first).toString("hex"));
});
