import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Labels } from "../../model/labels.ts";
import type { SeriesRef } from "../interface.ts";
import { labelFields } from "./label-fields.ts";
import { hashBytes, NO_ENTRY, NO_SERIES_REF, SeriesCache } from "./series-cache.ts";

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** `key` at offset `at` of a buffer filled with other bytes around it. */
function embedded(key: number[], at: number): Uint8Array {
  const b = new Uint8Array(at + key.length + 5).fill(0xaa);
  b.set(key, at);
  return b;
}

describe("hashBytes", () => {
  test("depends on the bytes and the seed only, not on where the bytes lie", () => {
    for (let n = 0; n <= 9; n++) {
      const key = Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);
      const a = embedded(key, 0);
      const b = embedded(key, 3);
      assert.equal(hashBytes(view(a), 0, n, 7), hashBytes(view(b), 3, 3 + n, 7), `length ${n}`);
      if (n > 0) {
        const c = embedded(key, 1);
        c[1 + n - 1] ^= 1;
        assert.notEqual(hashBytes(view(c), 1, 1 + n, 7), hashBytes(view(a), 0, n, 7), `length ${n}, last byte`);
      }
    }
    const k = embedded([1, 2, 3, 4, 5], 0);
    assert.notEqual(hashBytes(view(k), 0, 5, 1), hashBytes(view(k), 0, 5, 2));
  });

  test("a trailing zero byte changes the hash (the length is part of it)", () => {
    const b = new Uint8Array([9, 8, 7, 0, 0]);
    assert.notEqual(hashBytes(view(b), 0, 3, 1), hashBytes(view(b), 0, 4, 1));
  });
});

describe("SeriesCache", () => {
  test("finds an entry by exactly its bytes, wherever they lie; copies the key", () => {
    const c = new SeriesCache();
    const key = [10, 2, 8, 1, 18, 3, 97, 98, 99];
    const a = embedded(key, 2);
    const h = c.hash(view(a), 2, 2 + key.length);
    const e = c.add(view(a), 2, 2 + key.length, h, 1, 3);
    assert.notEqual(e, NO_ENTRY);
    a.fill(0);
    const b = embedded(key, 5);
    assert.equal(c.get(view(b), 5, 5 + key.length, c.hash(view(b), 5, 5 + key.length)), e);
    assert.equal(c.maxNameBytes(e), 1);
    assert.equal(c.maxValueBytes(e), 3);
    // One byte more, one less, one changed: not found.
    assert.equal(c.get(view(b), 5, 6 + key.length, c.hash(view(b), 5, 6 + key.length)), NO_ENTRY);
    assert.equal(c.get(view(b), 5, 4 + key.length, c.hash(view(b), 5, 4 + key.length)), NO_ENTRY);
    b[7] ^= 0x40;
    assert.equal(c.get(view(b), 5, 5 + key.length, c.hash(view(b), 5, 5 + key.length)), NO_ENTRY);
  });

  test("keys of the same hash are told apart by their bytes", () => {
    const c = new SeriesCache({ hash: () => 42 });
    const keys = [[1], [1, 2, 3, 4], [1, 2, 3, 4, 5], [1, 2, 3, 5], [2], []];
    const entries = keys.map((k, i) => {
      const b = new Uint8Array(k);
      assert.equal(c.get(view(b), 0, k.length, 42), NO_ENTRY, `key ${i} before it is added`);
      return c.add(view(b), 0, k.length, 42, 0, 0);
    });
    keys.forEach((k, i) => {
      const b = embedded(k, 3);
      assert.equal(c.get(view(b), 3, 3 + k.length, c.hash(view(b), 3, 3 + k.length)), entries[i], `key ${i}`);
    });
    assert.equal(c.size, keys.length);
  });

  test("thousands of keys of every length modulo 4 are all found, each as its own entry", () => {
    const c = new SeriesCache();
    const keyOf = (i: number) => {
      const k = new Uint8Array(97 + (i % 7));
      for (let j = 0; j < k.length; j++) k[j] = (i * 31 + j * 7) & 255;
      k[0] = i & 255;
      k[1] = i >> 8;
      return k;
    };
    const entries = [];
    for (let i = 0; i < 3000; i++) {
      const k = keyOf(i);
      entries.push(c.add(view(k), 0, k.length, c.hash(view(k), 0, k.length), 0, 0));
    }
    assert.ok(c.bytes > 64 * 1024, "more keys than the arena's first size");
    for (let i = 0; i < 3000; i++) {
      const k = embedded([...keyOf(i)], i % 5);
      const from = i % 5;
      assert.equal(
        c.get(view(k), from, from + keyOf(i).length, c.hash(view(k), from, from + keyOf(i).length)),
        entries[i],
      );
    }
  });

  test("find tries the previous entry's successor first, and takes a guess only when its bytes match", () => {
    const c = new SeriesCache();
    const add = (k: number[]) => {
      const b = new Uint8Array(k);
      return c.add(view(b), 0, k.length, c.hash(view(b), 0, k.length), 0, 0);
    };
    const find = (k: number[], prev: number) => {
      const b = embedded(k, 1);
      return c.find(view(b), 1, 1 + k.length, prev);
    };
    const b = add([2, 2, 2, 2, 2]);
    const a = add([1, 1, 1]);
    c.follow(a, b);
    assert.equal(find([2, 2, 2, 2, 2], a), b, "the guess");
    const other = add([3, 3, 3]);
    assert.equal(find([3, 3, 3], a), other, "a wrong guess, then the hash");
    assert.equal(find([4], a), NO_ENTRY);
    const miss = new Uint8Array([4]);
    assert.equal(c.lastHash, c.hash(view(miss), 0, 1));
    // After a clear, `b`'s arena words hold another key of its length: the stale guess must not match it.
    c.clear();
    const x = add([9, 9, 9, 9, 9]);
    assert.equal(c.offsetOf(x), c.offsetOf(b));
    assert.equal(find([9, 9, 9, 9, 9], a), x);
  });

  test("keys sharing label fields keep each field once and are still told apart by every byte", () => {
    const c = new SeriesCache();
    const keyOf = (app: string, le: string) =>
      labelFields([
        ["__name__", "fly_edge_http_response_time_seconds_bucket"],
        ["app", app],
        ["le", le],
      ]);
    const apps = ["a", "bb", "ccc", "dddd"];
    const les = ["0.005", "0.01", "+Inf"];
    const entries = new Map<string, number>();
    for (const app of apps) {
      for (const le of les) {
        const k = keyOf(app, le);
        entries.set(`${app}/${le}`, c.add(view(k), 0, k.length, c.hash(view(k), 0, k.length), 8, 43));
      }
    }
    assert.equal(c.pieceCount, 1 + apps.length + les.length);
    for (const app of apps) {
      for (const le of les) {
        const k = embedded([...keyOf(app, le)], 3);
        const n = keyOf(app, le).length;
        assert.equal(c.get(view(k), 3, 3 + n, c.hash(view(k), 3, 3 + n)), entries.get(`${app}/${le}`));
        assert.equal(c.labelsOf(entries.get(`${app}/${le}`)!).get("app"), app);
      }
    }
    // The same fields in another order, and a field changed in its last byte: not found.
    const a = keyOf("a", "0.01");
    const swapped = new Uint8Array(a.length);
    const nameLen = 2 + a[1];
    swapped.set(a.subarray(nameLen));
    swapped.set(a.subarray(0, nameLen), a.length - nameLen);
    assert.equal(c.get(view(swapped), 0, a.length, c.hash(view(swapped), 0, a.length)), NO_ENTRY);
    const changed = keyOf("a", "0.02");
    assert.equal(c.get(view(changed), 0, changed.length, c.hash(view(changed), 0, changed.length)), NO_ENTRY);
  });

  test("a key table numbers keys as a full cache does, past the columns' first growth and a start over", () => {
    const full = new SeriesCache({ maxEntries: 2000 });
    const table = new SeriesCache({ maxEntries: 2000, keysOnly: true });
    const keyOf = (i: number) =>
      labelFields([
        ["__name__", "m"],
        ["i", String(i % 2500)],
      ]);
    let prevFull = NO_ENTRY;
    let prevTable = NO_ENTRY;
    for (let i = 0; i < 4000; i++) {
      const k = keyOf(i);
      const v = view(k);
      let f = full.find(v, 0, k.length, prevFull);
      if (f === NO_ENTRY) f = full.add(v, 0, k.length, full.lastHash, 1, 2);
      let t = table.find(v, 0, k.length, prevTable);
      if (t === NO_ENTRY) t = table.add(v, 0, k.length, table.lastHash, 0, 0);
      assert.equal(t, f, `key ${i}`);
      assert.equal(table.offsetOf(t), full.offsetOf(f));
      if (prevFull !== NO_ENTRY) full.follow(prevFull, f);
      if (prevTable !== NO_ENTRY) table.follow(prevTable, t);
      prevFull = f;
      prevTable = t;
    }
    assert.equal(table.size, full.size);
    assert.ok(full.generation >= 1);
    assert.equal(table.generation, full.generation);
  });

  test("keys stay found and decoded as their piece ids outgrow 16 bits", () => {
    const c = new SeriesCache();
    // Each key brings two new label fields: past 65,536 pieces the key array widens to 32-bit ids.
    const keyOf = (i: number) =>
      labelFields([
        ["__name__", "m"],
        ["a", `x${i}`],
        ["b", `y${i}`],
      ]);
    const n = 40_000;
    const entries: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = keyOf(i);
      const v = view(k);
      assert.equal(c.find(v, 0, k.length, NO_ENTRY), NO_ENTRY);
      entries.push(c.add(v, 0, k.length, c.lastHash, 1, 3));
    }
    assert.ok(c.pieceCount > 0x10000, `pieces ${c.pieceCount}`);
    for (const i of [0, 1, 32_767, 32_768, 39_999]) {
      const k = keyOf(i);
      assert.equal(c.find(view(k), 0, k.length, NO_ENTRY), entries[i], `key ${i}`);
      assert.equal(c.labelsOf(entries[i]).get("b"), `y${i}`);
    }
  });

  test("starts over when the entry limit is reached", () => {
    const c = new SeriesCache({ maxEntries: 2 });
    const add = (k: number[]) => {
      const b = new Uint8Array(k);
      return c.add(view(b), 0, k.length, c.hash(view(b), 0, k.length), 0, 0);
    };
    const find = (k: number[]) => {
      const b = new Uint8Array(k);
      return c.get(view(b), 0, k.length, c.hash(view(b), 0, k.length));
    };
    add([1]);
    add([2]);
    assert.equal(c.size, 2);
    const e = add([3]);
    assert.equal(c.size, 1);
    assert.equal(find([1]), NO_ENTRY);
    assert.equal(find([3]), e);
  });

  test("starts over when the key bytes limit is reached; keys over 4 KiB are not cached", () => {
    const c = new SeriesCache({ maxKeyBytes: 10 });
    const add = (n: number) => {
      const b = new Uint8Array(n).fill(n & 255);
      return c.add(view(b), 0, n, c.hash(view(b), 0, n), 0, 0);
    };
    add(5);
    add(4);
    assert.equal(c.size, 2);
    assert.equal(c.bytes, 9);
    add(3);
    assert.equal(c.size, 1);
    assert.equal(c.bytes, 3);
    assert.equal(add(5000), NO_ENTRY);
    assert.equal(c.size, 1);
    assert.equal(SeriesCache.cacheable(4096), true);
    assert.equal(SeriesCache.cacheable(4097), false);
  });

  test("an entry's labels are decoded from its key: empty values left out, strings interned", () => {
    const c = new SeriesCache();
    const pairs: [string, string][] = [
      ["__name__", "http_requests_total"],
      ["app", "caf\u00e9"],
      ["empty", ""],
      ["region", "\u{1F30D}"],
      ["z", "x".repeat(300)],
    ];
    const key = labelFields(pairs);
    const a = embedded([...key], 3);
    const e = c.add(view(a), 3, 3 + key.length, c.hash(view(a), 3, 3 + key.length), 6, 300);
    a.fill(0);
    const want = Labels.fromPairs(pairs.filter(([, v]) => v !== ""));
    const got = c.labelsOf(e);
    assert.ok(got.equals(want), got.toString());
    assert.ok(got.interned);
    // Decoded again, the same strings (the cache's interned copies).
    assert.equal(c.labelsOf(e).get("z"), got.get("z"));
  });

  test("an entry's ref slot keeps a ref of 32 bits with its scope; too many scopes forget every ref", () => {
    const c = new SeriesCache();
    const add = (k: number[]) => {
      const b = new Uint8Array(k);
      return c.add(view(b), 0, k.length, c.hash(view(b), 0, k.length), 0, 0);
    };
    const e1 = add([1, 1]);
    const e2 = add([2, 2]);
    const db = {};
    assert.equal(c.slotOf(e1).scope, null);
    assert.equal(c.slotOf(e1).ref, NO_SERIES_REF);
    const s1 = c.slotOf(e1);
    s1.scope = db;
    s1.ref = (2 ** 32 - 1) as SeriesRef;
    const s2 = c.slotOf(e2);
    s2.scope = db;
    s2.ref = 7 as SeriesRef;
    assert.equal(c.slotOf(e1).scope, db);
    assert.equal(c.slotOf(e1).ref, 2 ** 32 - 1);
    assert.equal(c.refOf(e2), 7);
    // Each of 4,096 more databases takes a ref of e2 in turn: past the limit every entry's ref is forgotten.
    for (let i = 0; i < 4096; i++) c.setScope(e2, {});
    assert.equal(c.scopeOf(e1), null);
    assert.equal(c.refOf(e1), NO_SERIES_REF);
    assert.notEqual(c.scopeOf(e2), null);
  });
});
