import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type BlockMeta, newUlid, type Ulid } from "./block-meta.ts";
import {
  compactBlockMetas,
  compactionRanges,
  type DirMeta,
  exponentialBlockRanges,
  planCompaction,
  splitByRange,
} from "./compact-plan.ts";

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

function dirMeta(name: string, minTime: number, maxTime: number, extra: Partial<BlockMeta> = {}): DirMeta {
  return {
    dir: name,
    meta: {
      ulid: newUlid(),
      minTime,
      maxTime,
      stats: {},
      compaction: { level: 1 },
      version: 1,
      ...extra,
    },
  };
}

describe("block ranges", () => {
  test("exponential ranges and the retention cap", () => {
    assert.deepEqual(exponentialBlockRanges(2 * HOUR, 4, 3), [2 * HOUR, 6 * HOUR, 18 * HOUR, 54 * HOUR]);
    const cases: [number | undefined, number[]][] = [
      [15 * DAY, [2 * HOUR, 6 * HOUR, 18 * HOUR]], // 10% of 15 d = 36 h
      [30 * DAY, [2 * HOUR, 6 * HOUR, 18 * HOUR, 54 * HOUR]], // 72 h
      [DAY, [2 * HOUR]], // 2.4 h
      [HOUR, [2 * HOUR]], // never below the smallest range
      [undefined, exponentialBlockRanges(2 * HOUR, 10, 3).filter((r) => r <= 31 * DAY)],
      [3650 * DAY, exponentialBlockRanges(2 * HOUR, 10, 3).filter((r) => r <= 31 * DAY)],
    ];
    for (const [retentionMs, want] of cases) {
      assert.deepEqual(compactionRanges({ retentionMs }), want, String(retentionMs));
    }
  });

  test("splitByRange groups blocks by the aligned range containing them", () => {
    const cases: [number, [number, number][], [number, number][][]][] = [
      [60, [[0, 10]], [[[0, 10]]]],
      [60, [[0, 60]], [[[0, 60]]]],
      [
        60,
        [
          [0, 10],
          [9, 15],
          [30, 60],
        ],
        [
          [
            [0, 10],
            [9, 15],
            [30, 60],
          ],
        ],
      ],
      [
        60,
        [
          [70, 90],
          [125, 130],
          [130, 180],
          [1000, 1001],
        ],
        [
          [[70, 90]],
          [
            [125, 130],
            [130, 180],
          ],
          [[1000, 1001]],
        ],
      ],
      // Blocks that straddle a range boundary or are larger than the range fit nowhere.
      [
        60,
        [
          [50, 70],
          [70, 80],
        ],
        [[[70, 80]]],
      ],
      [
        72,
        [
          [0, 144],
          [144, 216],
          [216, 288],
        ],
        [[[144, 216]], [[216, 288]]],
      ],
      // Negative times align downwards.
      [
        60,
        [
          [-60, -50],
          [-10, -5],
          [0, 15],
        ],
        [
          [
            [-60, -50],
            [-10, -5],
          ],
          [[0, 15]],
        ],
      ],
    ];
    for (const [tr, input, want] of cases) {
      const got = splitByRange(
        input.map(([a, b], i) => dirMeta(String(i), a, b)),
        tr,
      ).map((g) => g.map((d) => [d.meta.minTime, d.meta.maxTime]));
      assert.deepEqual(got, want, `${tr} ${JSON.stringify(input)}`);
    }
  });
});

describe("leveled planning", () => {
  // Ranges 20, 60, 180, 540, 1620: the default progression scaled down.
  const ranges = exponentialBlockRanges(20, 5, 3);
  const cases: { name: string; blocks: DirMeta[]; want: string[] }[] = [
    { name: "one block", blocks: [dirMeta("a", 0, 20)], want: [] },
    { name: "two small blocks: wait", blocks: [dirMeta("a", 0, 20), dirMeta("b", 20, 40)], want: [] },
    {
      name: "three small blocks, the newest left out: still waiting",
      blocks: [dirMeta("a", 0, 20), dirMeta("b", 20, 40), dirMeta("c", 40, 60)],
      want: [],
    },
    {
      name: "a full 60 range once a newer block exists",
      blocks: [dirMeta("a", 0, 20), dirMeta("b", 20, 40), dirMeta("c", 40, 60), dirMeta("d", 60, 80)],
      want: ["a", "b", "c"],
    },
    {
      name: "input order does not matter",
      blocks: [dirMeta("d", 60, 80), dirMeta("b", 20, 40), dirMeta("a", 0, 20), dirMeta("c", 40, 60)],
      want: ["a", "b", "c"],
    },
    {
      name: "a gap, but only the fresh block after it: wait",
      blocks: [dirMeta("a", 0, 20), dirMeta("b", 20, 40), dirMeta("c", 60, 80)],
      want: [],
    },
    {
      name: "a gap that can no longer be filled: compact what is there",
      blocks: [dirMeta("a", 0, 20), dirMeta("b", 20, 40), dirMeta("c", 60, 80), dirMeta("d", 80, 100)],
      want: ["a", "b"],
    },
    {
      name: "small blocks before larger ones",
      blocks: [
        dirMeta("a", 0, 20),
        dirMeta("b", 20, 40),
        dirMeta("c", 40, 60),
        dirMeta("d", 60, 120),
        dirMeta("e", 120, 180),
      ],
      want: ["a", "b", "c"],
    },
    {
      name: "mixed sizes merge into the next level",
      blocks: [
        dirMeta("b", 20, 40),
        dirMeta("d", 60, 120),
        dirMeta("fresh", 960, 980),
        dirMeta("f", 120, 180),
        dirMeta("g", 720, 960),
      ],
      want: ["b", "d", "f"],
    },
    {
      name: "the fresh block is the one with the latest start, not the newest ULID",
      blocks: [dirMeta("e", 0, 360), dirMeta("f", 540, 560), dirMeta("g", 360, 420), dirMeta("h", 420, 540)],
      want: ["g", "h"],
    },
    {
      name: "a range holding a failed block is skipped",
      blocks: [
        dirMeta("a", 0, 20),
        dirMeta("b", 20, 40, { compaction: { level: 1, failed: true } }),
        dirMeta("c", 40, 60),
        dirMeta("d", 60, 80),
      ],
      want: [],
    },
    {
      name: "a large block with many tombstones once a fresh block exists",
      blocks: [dirMeta("a", 0, 540, { stats: { numSeries: 10, numTombstones: 3 } }), dirMeta("b", 540, 560)],
      want: ["a"],
    },
    {
      name: "a large block with many tombstones alone: nothing",
      blocks: [dirMeta("a", 0, 540, { stats: { numSeries: 10, numTombstones: 3 } })],
      want: [],
    },
    {
      name: "a small block with tombstones is left alone",
      blocks: [dirMeta("a", 0, 60, { stats: { numSeries: 10, numTombstones: 3 } }), dirMeta("b", 60, 80)],
      want: [],
    },
    {
      name: "a small block deleted entirely is rewritten",
      blocks: [dirMeta("a", 0, 60, { stats: { numSeries: 3, numTombstones: 3 } }), dirMeta("b", 60, 80)],
      want: ["a"],
    },
    {
      name: "no tombstones and no series: no endless recompaction",
      blocks: [dirMeta("a", 0, 540, { stats: { numSeries: 0, numTombstones: 0 } }), dirMeta("b", 540, 560)],
      want: [],
    },
    {
      name: "overlap touching by one ms",
      blocks: [dirMeta("a", 0, 20), dirMeta("b", 19, 40), dirMeta("c", 40, 60)],
      want: ["a", "b"],
    },
    {
      name: "overlap of the last two",
      blocks: [dirMeta("a", 0, 20), dirMeta("b", 20, 40), dirMeta("c", 30, 50)],
      want: ["b", "c"],
    },
    {
      name: "a chain of overlaps",
      blocks: [dirMeta("a", 0, 20), dirMeta("b", 10, 40), dirMeta("c", 30, 50)],
      want: ["a", "b", "c"],
    },
    {
      name: "a large block overlapping several",
      blocks: [dirMeta("e", 0, 360), dirMeta("f", 340, 560), dirMeta("g", 360, 420), dirMeta("h", 420, 540)],
      want: ["e", "f", "g", "h"],
    },
    {
      name: "only the first overlapping group",
      blocks: [dirMeta("a", 0, 10), dirMeta("b", 9, 20), dirMeta("c", 30, 40), dirMeta("d", 39, 50)],
      want: ["a", "b"],
    },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(planCompaction(c.blocks, ranges), c.want));
  }
  test("a single range never merges non-overlapping blocks", () => {
    const blocks = [dirMeta("a", 0, 20), dirMeta("b", 20, 40), dirMeta("c", 40, 60), dirMeta("d", 60, 80)];
    assert.deepEqual(planCompaction(blocks, [20]), []);
  });
});

describe("compactBlockMetas", () => {
  test("union of ranges and sources, parents, one level above the highest", () => {
    const u = (t: number) => newUlid(t);
    const a = dirMeta("a", 0, 20, { compaction: { level: 1, sources: [u(3)] } }).meta;
    const b = dirMeta("b", 20, 40, { compaction: { level: 2, sources: [u(1), u(2)] } }).meta;
    const m = compactBlockMetas("01ARZ3NDEKTSV4RRFFQ69G5FAV" as Ulid, [b, a]);
    assert.equal(m.minTime, 0);
    assert.equal(m.maxTime, 40);
    assert.equal(m.compaction.level, 3);
    assert.deepEqual(m.compaction.sources, [...(b.compaction.sources ?? []), ...(a.compaction.sources ?? [])].sort());
    assert.deepEqual(
      m.compaction.parents?.map((p) => p.ulid),
      [b.ulid, a.ulid],
    );
    assert.equal(m.compaction.hints, undefined);
  });
});
