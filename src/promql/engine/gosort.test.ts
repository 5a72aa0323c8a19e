import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { goSort, goSortFunc, heapFix, heapUp, reversed, type Sortable } from "./gosort.ts";

function sortable(a: number[]): Sortable {
  return {
    len: () => a.length,
    less: (i, j) => a[i] < a[j],
    swap: (i, j) => {
      [a[i], a[j]] = [a[j], a[i]];
    },
  };
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

describe("goSort", () => {
  for (const n of [0, 1, 5, 12, 13, 50, 51, 300, 2000]) {
    it(`sorts ${n} values of several shapes`, () => {
      const rnd = lcg(n);
      const shapes = [
        Array.from({ length: n }, () => Math.floor(rnd() * 10)),
        Array.from({ length: n }, (_, i) => i),
        Array.from({ length: n }, (_, i) => n - i),
        Array.from({ length: n }, () => 7),
      ];
      for (const a of shapes) {
        const want = [...a].sort((x, y) => x - y);
        goSort(sortable(a));
        assert.deepEqual(a, want);
      }
    });
  }

  it("is deterministic on ties (insertion sort below 13 elements keeps input order)", () => {
    const keys = [2, 1, 2, 1];
    const ids = [0, 1, 2, 3];
    goSort({
      len: () => ids.length,
      less: (i, j) => keys[ids[i]] < keys[ids[j]],
      swap: (i, j) => {
        [ids[i], ids[j]] = [ids[j], ids[i]];
      },
    });
    assert.deepEqual(ids, [1, 3, 0, 2]);
  });

  it("reverses and sorts with a comparison function", () => {
    const a = [3, 1, 2];
    goSort(reversed(sortable(a)));
    assert.deepEqual(a, [3, 2, 1]);
    const s = ["b", "c", "a"];
    goSortFunc(s, (x, y) => (x < y ? -1 : x > y ? 1 : 0));
    assert.deepEqual(s, ["a", "b", "c"]);
  });
});

describe("heap", () => {
  it("keeps the smallest element on top", () => {
    const a: number[] = [];
    const h = sortable(a);
    for (const v of [5, 3, 8, 1, 9, 2]) {
      a.push(v);
      heapUp(h, a.length - 1);
      assert.equal(a[0], Math.min(...a));
    }
    a[0] = 10;
    heapFix(h, 0);
    assert.equal(a[0], 2);
  });
});
