import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Matcher, newMatcher } from "../../model/matcher.ts";
import { PostingsCache } from "./postings-cache.ts";

const app = (v: string): Matcher => newMatcher("=", "app", v);

// A compute function that records the matcher sets it was asked for and answers `size` postings.
function counting(size = 3): { compute: (ms: readonly Matcher[]) => number[]; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    compute: (ms) => {
      asked.push(ms.map((m) => `${m.name}${m.type}${m.value}`).join(","));
      return Array.from({ length: size }, (_, i) => i * 16);
    },
  };
}

describe("PostingsCache", () => {
  test("a matcher set asked again is answered from the cache with the same list", () => {
    const cache = new PostingsCache<string>();
    const c = counting();
    const first = cache.get([app("a"), newMatcher("=", "__name__", "up")], c.compute);
    const again = cache.get([app("a"), newMatcher("=", "__name__", "up")], c.compute);
    assert.equal(again, first);
    assert.deepEqual(c.asked, ["app=a,__name__=up"]);
  });

  test("matcher sets differing in a type, name, value or order are told apart", () => {
    const cache = new PostingsCache<string>();
    const c = counting();
    const sets: Matcher[][] = [
      [app("a")],
      [newMatcher("=~", "app", "a")],
      [newMatcher("!=", "app", "a")],
      [newMatcher("=", "job", "a")],
      [app("a,b")],
      [app("a"), app("b")],
      [app("b"), app("a")],
      [],
    ];
    for (const ms of sets) cache.get(ms, c.compute);
    for (const ms of sets) cache.get(ms, c.compute);
    assert.equal(c.asked.length, sets.length);
    assert.deepEqual(cache.size(), { entries: sets.length, refs: 3 * sets.length, series: 3 * sets.length });
  });

  test("bounded by entries: the least recently used goes first", () => {
    const cache = new PostingsCache<string>({ entries: 2 });
    const c = counting();
    cache.get([app("a")], c.compute);
    cache.get([app("b")], c.compute);
    cache.get([app("a")], c.compute); // a is now the most recent
    cache.get([app("c")], c.compute); // drops b
    cache.get([app("a")], c.compute);
    cache.get([app("b")], c.compute);
    assert.deepEqual(c.asked, ["app=a", "app=b", "app=c", "app=b"]);
    assert.deepEqual(cache.size(), { entries: 2, refs: 6, series: 6 });
  });

  test("bounded by postings: entries are dropped until the new list fits, a list over the bound is not kept", () => {
    const cache = new PostingsCache<string>({ refs: 10 });
    const small = counting(4);
    cache.get([app("a")], small.compute);
    cache.get([app("b")], small.compute);
    assert.deepEqual(cache.size(), { entries: 2, refs: 8, series: 8 });
    cache.get([app("c")], small.compute); // 12 > 10: a goes
    assert.deepEqual(cache.size(), { entries: 2, refs: 8, series: 8 });
    const big = counting(11);
    const list = cache.get([app("huge")], big.compute);
    assert.equal(list.refs.length, 11);
    assert.equal(list.entries, null);
    assert.deepEqual(cache.size(), { entries: 2, refs: 8, series: 8 });
    cache.get([app("huge")], big.compute);
    assert.equal(big.asked.length, 2);
    cache.get([app("b")], small.compute);
    cache.get([app("c")], small.compute);
    assert.deepEqual(small.asked, ["app=a", "app=b", "app=c"]);
  });

  test("series entries are kept for lists within their own bound; a list's slots go with its postings", () => {
    const cache = new PostingsCache<string>({ series: 6 });
    const c = counting(4);
    const a = cache.get([app("a")], c.compute);
    assert.deepEqual([...(a.entries ?? [])], [undefined, undefined, undefined, undefined]);
    (a.entries as (string | undefined)[])[1] = "read";
    assert.equal(cache.get([app("a")], c.compute).entries?.[1], "read");
    const b = cache.get([app("b")], c.compute); // 8 > 6: postings kept, no entries
    assert.equal(b.entries, null);
    assert.deepEqual(cache.size(), { entries: 2, refs: 8, series: 4 });
    const small = new PostingsCache<string>({ entries: 1, series: 6 });
    small.get([app("a")], c.compute);
    assert.notEqual(small.get([app("b")], c.compute).entries, null); // a dropped, its slots with it
    assert.deepEqual(small.size(), { entries: 1, refs: 4, series: 4 });
  });
});
