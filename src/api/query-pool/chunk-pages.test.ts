// Series sent as chunks read back exactly as the TSDB reads them: random data in a real database (blocks, some
// overlapping, some with deletions, and a head with full and open chunks, stale markers and deletions), selected
// over random ranges, read page by page with the chunks decoded on the reading side, against the database's own
// iterators; then random queries through the pool against the same queries evaluated in-thread.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { type Matcher, newMatcher } from "../../model/matcher.ts";
import { SampleBuffer, STALE_NAN } from "../../model/sample.ts";
import { Engine } from "../../promql/engine/index.ts";
import type { SampleIterator, Series, SeriesSet } from "../../storage/interface.ts";
import { floatBits } from "../../testkit/float-bits.ts";
import { fuzzSeeds, Random } from "../../testkit/random.ts";
import { Block } from "../../tsdb/block.ts";
import { headBlockMeta, writeBlock } from "../../tsdb/compact.ts";
import { Db } from "../../tsdb/db.ts";
import { MemBlockBuilder } from "../../tsdb/import/mem-block.ts";
import { MemTombstones, writeTombstonesFile } from "../../tsdb/tombstones/tombstones.ts";
import { queryAnswerBytes } from "../query-answer.ts";
import { PageReader } from "./page-reader.ts";
import { type PageBounds, SelectionCursor } from "./pages.ts";
import { QueryPool } from "./pool.ts";
import type { SeriesPage } from "./protocol.ts";
import { SampleBudget } from "./sample-budget.ts";

const MIN = 60_000;
/** Each block covers this much time; the overlapping ones straddle two of them. */
const BLOCK = 30 * MIN;
const BLOCKS = 3;
const HEAD_START = BLOCKS * BLOCK;
const END = HEAD_START + 90 * MIN;
const SERIES = 12;

const dirs: string[] = [];
const dbs: Db[] = [];
after(() => {
  for (const db of dbs) db.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function labelsOf(metric: string, i: number): Labels {
  return Labels.fromStrings("__name__", metric, "i", String(i), "zone", i % 3 === 0 ? "zürich" : "ams");
}

// A random value: mostly a counter-like float, sometimes a stale marker or a NaN.
function value(rnd: Random, t: number): number {
  if (rnd.chance(0.03)) return STALE_NAN;
  if (rnd.chance(0.01)) return Number.NaN;
  return Math.floor(t / 1000) + rnd.int(0, 9) / 4;
}

// Samples of one series over [from, to): random gaps on a grid (so overlapping blocks share timestamps, with
// different values), dense stretches, sometimes nothing.
function times(rnd: Random, from: number, to: number): number[] {
  const out: number[] = [];
  const grid = rnd.chance(0.3) ? 1000 : 5000;
  for (let t = from + rnd.int(0, 6) * grid; t < to; t += rnd.int(1, 12) * grid) out.push(t);
  return rnd.chance(0.1) ? [] : out;
}

// Writes a block of random samples over [from, to); a few series get deleted intervals.
function block(dir: string, rnd: Random, from: number, to: number, metric: string): void {
  const b = new MemBlockBuilder();
  for (let i = 0; i < SERIES; i++) {
    for (const t of times(rnd, from, to)) b.add(labelsOf(metric, i), t, value(rnd, t), "test");
  }
  if (b.numSamples === 0) return;
  const meta = writeBlock({ dest: dir, readers: [b.seal()], meta: headBlockMeta(from, to) });
  if (meta === null || !rnd.chance(0.5)) return;
  // Deletions, written into the block's tombstones file before the database opens it.
  const opened = Block.open(join(dir, meta.ulid));
  const stones = new MemTombstones();
  const ix = opened.index();
  for (const ref of Array.from(ix.postings("__name__", [metric]))) {
    if (!rnd.chance(0.3)) continue;
    const lo = rnd.int(from, to);
    stones.addInterval(ref, { mint: lo, maxt: lo + rnd.int(0, 10 * MIN) });
  }
  opened.close();
  writeTombstonesFile(join(dir, meta.ulid), stones);
}

/** A database with blocks (two of them overlapping others), a head, stale markers and deletions. */
function randomDb(seed: number): Db {
  const rnd = new Random(seed);
  const dir = mkdtempSync(join(tmpdir(), "chunk-pages-"));
  dirs.push(dir);
  for (let b = 0; b < BLOCKS; b++) block(dir, rnd, b * BLOCK, (b + 1) * BLOCK, "m");
  block(dir, rnd, BLOCK / 2, BLOCK / 2 + BLOCK, "m");
  block(dir, rnd, BLOCK, 2 * BLOCK, "m");
  for (let b = 0; b < BLOCKS; b++) block(dir, rnd, b * BLOCK, (b + 1) * BLOCK, "n");
  const db = Db.open({ dir, autoCompact: false });
  dbs.push(db);
  // The head: long series cut into several chunks (written to the head chunk files), the last one open.
  const app = db.appender();
  for (let i = 0; i < SERIES; i++) {
    for (const metric of ["m", "n"]) {
      for (const t of times(rnd, HEAD_START, END)) app.append(labelsOf(metric, i), t, value(rnd, t));
    }
  }
  app.commit();
  db.head.delete(HEAD_START + 20 * MIN, HEAD_START + 25 * MIN, [newMatcher("=", "i", "1")]);
  return db;
}

// Every sample of a series through next(), as text.
function viaNext(it: SampleIterator): string {
  const out: string[] = [];
  for (let k = it.next(); k !== "none"; k = it.next()) out.push(`${it.atT()}=${floatBits(it.atV())}`);
  return out.join(" ");
}

// The samples a batch read of [mint, maxt] gives, as text.
function viaReadInto(s: Series, mint: number, maxt: number): string {
  const it = s.iterator();
  const buf = new SampleBuffer(8);
  if (it.readInto === undefined) return "no batch read";
  it.readInto(mint, maxt, buf);
  const out: string[] = [];
  for (let i = 0; i < buf.n; i++) out.push(`${buf.t[i]}=${floatBits(buf.v[i])}`);
  return out.join(" ");
}

function dump(set: Iterable<Series>, reads: readonly [number, number][]): string[] {
  return [...set].map((s) => {
    const parts = [s.labels.toString(), viaNext(s.iterator())];
    const it = s.iterator();
    parts.push(it.seek(reads[0][0]) === "none" ? "-" : `${it.atT()}`);
    for (const [lo, hi] of reads) parts.push(viaReadInto(s, lo, hi));
    return parts.join(" | ");
  });
}

function pages(set: SeriesSet, range: { mint: number; maxt: number }, bounds: PageBounds): SeriesPage[] {
  const cursor = new SelectionCursor(set, range, bounds);
  const out: SeriesPage[] = [];
  do out.push(cursor.nextPage(1));
  while (!cursor.done);
  return out;
}

const MATCHERS: Matcher[][] = [
  [newMatcher("=", "__name__", "m")],
  [newMatcher("=~", "__name__", "m|n"), newMatcher("=~", "i", "1|2|3|10")],
  [newMatcher("=", "zone", "zürich")],
];

describe("series sent as chunks", () => {
  for (const seed of fuzzSeeds([1, 2, 3])) {
    test(`read back exactly as the database reads them (seed ${seed})`, () => {
      const db = randomDb(seed);
      const rnd = new Random(seed * 7919);
      let chunked = 0;
      let decoded = 0;
      for (let round = 0; round < 12; round++) {
        const mint = rnd.chance(0.2) ? -1e12 : rnd.int(-MIN, END);
        const maxt = rnd.chance(0.2) ? 1e12 : rnd.int(mint, END + MIN);
        const ms = rnd.pick(MATCHERS);
        const hints = { start: mint, end: maxt, sorted: rnd.chance(0.5) };
        const bounds: PageBounds = {
          series: rnd.int(1, 8),
          samples: rnd.int(10, 500),
          bytes: rnd.int(1, 4000),
          ms: 1000,
          readSamples: rnd.int(5, 200),
        };
        const lo = rnd.int(mint < 0 ? -MIN : mint, END);
        const reads: [number, number][] = [
          [mint, maxt],
          [lo, rnd.int(lo, END + MIN)],
          [-1e13, 1e13],
        ];
        const q = db.querier(mint, maxt);
        const want = dump(q.select(ms, hints), reads);
        const budget = new SampleBudget(Number.POSITIVE_INFINITY);
        const reader = new PageReader(budget);
        const cursor = new SelectionCursor(q.select(ms, hints), { mint, maxt }, bounds);
        do {
          const p = cursor.nextPage(1);
          for (const c of p.chunked) c === 1 ? chunked++ : decoded++;
          reader.add(p);
        } while (!cursor.done);
        const got = dump(reader.result(), reads);
        q.close();
        assert.deepEqual(got, want, `round ${round}: ${mint}..${maxt}`);
        const exact = want.reduce(
          (n, row) => n + (row.split(" | ")[1] === "" ? 0 : row.split(" | ")[1].split(" ").length),
          0,
        );
        assert.equal(budget.read, exact, "the reading side counts every sample once");
        assert.ok(cursor.counted <= exact, `the main thread's count ${cursor.counted} is a lower bound of ${exact}`);
      }
      assert.ok(chunked > 0, "series travelled as chunks");
      assert.ok(decoded > 0, "series with deleted samples travelled decoded");
    });
  }

  test("the head's open chunk is copied as it was when its series was selected", () => {
    const dir = mkdtempSync(join(tmpdir(), "chunk-pages-"));
    dirs.push(dir);
    const db = Db.open({ dir, autoCompact: false });
    dbs.push(db);
    const labels = labelsOf("m", 0);
    const app = db.appender();
    for (let t = 0; t < 300_000; t += 1000) app.append(labels, t, t / 1000);
    app.commit();
    const q = db.querier(0, 1e12);
    const want = dump(q.select(MATCHERS[0], { start: 0, end: 1e12 }), [[0, 1e12]]);
    // One chunk per page: the open chunk is copied pages after its series was selected, once more samples were
    // appended to it (and it was cut: it moved to the head chunk files, a new chunk was opened).
    const bounds = { series: 1, samples: 1, bytes: 1, ms: 1000, readSamples: 1 };
    const cursor = new SelectionCursor(q.select(MATCHERS[0], { start: 0, end: 1e12 }), { mint: 0, maxt: 1e12 }, bounds);
    const reader = new PageReader();
    let pageCount = 0;
    for (let t = 300_000; !cursor.done; t += 1000) {
      reader.add(cursor.nextPage(1));
      pageCount++;
      const more = db.appender();
      for (let k = 0; k < 100; k++) more.append(labels, t + k * 10, -1);
      more.commit();
    }
    q.close();
    assert.ok(pageCount > 2, `${pageCount} pages`);
    assert.deepEqual(dump(reader.result(), [[0, 1e12]]), want);
  });

  test("pages keep to their byte bound; a series' chunks continue on the next page", () => {
    const db = randomDb(11);
    const q = db.querier(-1e12, 1e12);
    const bounds = { series: 100, samples: 1_000_000, bytes: 300, ms: 1000, readSamples: 1000 };
    const ps = pages(q.select(MATCHERS[0], { start: -1e12, end: 1e12 }), { mint: -1e12, maxt: 1e12 }, bounds);
    let continued = 0;
    for (const p of ps) {
      // A page stops before a chunk once past its bound: only its last chunk may cross it (blocks' chunks can be
      // several kilobytes).
      const ends = p.chunkEnds;
      const beforeLast = ends.length > 1 ? ends[ends.length - 2] : 0;
      assert.ok(beforeLast <= bounds.bytes, `${beforeLast} bytes before the last chunk`);
      if (p.continued && p.chunked[0] === 1) continued++;
    }
    q.close();
    assert.ok(continued > 5, `${continued} continued series`);
  });

  test("cursors building their pages in turn (one byte scratch for all) each read back as the database reads", () => {
    const db = randomDb(13);
    const q = db.querier(-1e12, 1e12);
    const hints = { start: -1e12, end: 1e12 };
    const range = { mint: -1e12, maxt: 1e12 };
    const bounds = { series: 2, samples: 1_000_000, bytes: 2000, ms: 1000, readSamples: 1000 };
    const cursors = MATCHERS.map((ms) => new SelectionCursor(q.select(ms, hints), range, bounds));
    const readers = MATCHERS.map(() => new PageReader());
    let turns = 0;
    while (cursors.some((c) => !c.done)) {
      cursors.forEach((c, i) => {
        if (!c.done) readers[i].add(c.nextPage(1));
      });
      turns++;
    }
    assert.ok(turns > 2, `${turns} turns`);
    MATCHERS.forEach((ms, i) => {
      const want = dump(q.select(ms, hints), [[-1e12, 1e12]]);
      assert.deepEqual(dump(readers[i].result(), [[-1e12, 1e12]]), want, `selection ${i}`);
    });
    q.close();
  });
});

describe("queries through the pool over chunks", () => {
  const pool = new QueryPool({
    workers: 1,
    pageBounds: { series: 3, samples: 100, bytes: 500, ms: 4, readSamples: 50 },
  });
  after(() => pool.close());
  const engine = new Engine();
  const QUERIES = [
    "m",
    "n",
    "m[10m]",
    "rate(m[5m])",
    "sum by (zone) (rate(m[10m]))",
    "count_over_time({__name__=~'m|n'}[7m])",
    "last_over_time(m[1h])",
    "timestamp(n)",
    "max_over_time(m[3m] offset 2m)",
    "m + on (i) group_left n",
  ];

  // The whole JSON body of `result`, rendered as the worker renders its answer.
  function render(result: Awaited<ReturnType<Engine["instantQuery"]>>): string {
    const body = Buffer.concat(
      queryAnswerBytes(result, { limit: 0, maxSeries: 1e9, stats: "", queueSeconds: 0, evalSeconds: 0 }),
    ).toString("utf8");
    return body;
  }

  // The answer, or the error as text.
  async function outcome<T>(run: () => Promise<T>): Promise<T | string> {
    try {
      return await run();
    } catch (err) {
      return `${(err as { code?: string }).code}: ${(err as Error).message}`;
    }
  }

  test("the sample limit counts the samples decoded from chunks, exactly", async () => {
    const db = randomDb(21);
    const sub = { org: "o", maxConcurrent: 1, maxQueued: 10, queryable: db };
    // timestamp(m) holds one point per series but reads every sample of the lookback window [t - 5m + 1, t].
    const t = END - 1;
    const q = db.querier(t - 299_999, t);
    let read = 0;
    for (const s of q.select(MATCHERS[0], { start: t - 299_999, end: t })) {
      const it = s.iterator();
      while (it.next() !== "none") read++;
    }
    q.close();
    assert.ok(read > 50, `${read} samples`);
    const run = (maxSamples: number) =>
      pool.run(
        {
          query: "timestamp(m)",
          at: { kind: "instant", time: t },
          timeoutMs: 30_000,
          maxSamples,
          render: { kind: "json" as const, limit: 0, maxSeries: 1e9, stats: "" },
        },
        sub,
      );
    await run(read);
    await assert.rejects(run(read - 1), (e) => isContrailError(e) && e.code === "too_many_samples");
  });

  for (const seed of fuzzSeeds([5])) {
    test(`give the answers of in-thread evaluation (seed ${seed})`, async () => {
      const db = randomDb(seed);
      const rnd = new Random(seed);
      const sub = { org: "o", maxConcurrent: 1, maxQueued: 10, queryable: db };
      for (const query of QUERIES) {
        const instant = rnd.chance(0.4);
        const start = rnd.int(0, END);
        const end = rnd.int(start, END + 10 * MIN);
        const step = rnd.pick([15_000, 60_000, 7_000]);
        const spec = {
          timeoutMs: 30_000,
          maxSamples: 50_000_000,
          render: { kind: "json" as const, limit: 0, maxSeries: 1e9, stats: "" },
        };
        const [want, got] = await Promise.all([
          outcome(() =>
            instant ? engine.instantQuery(db, query, start) : engine.rangeQuery(db, query, { start, end, step }),
          ).then((r) => (typeof r === "string" ? r : render(r))),
          outcome(async () => {
            const at = instant
              ? ({ kind: "instant", time: start } as const)
              : ({ kind: "range", start, end, step } as const);
            return Buffer.concat(await pool.run({ ...spec, query, at }, sub)).toString("utf8");
          }),
        ]);
        assert.equal(got, want, query);
      }
    });
  }
});
