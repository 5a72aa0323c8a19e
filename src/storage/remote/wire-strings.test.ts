import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Labels } from "../../model/labels.ts";
import { asBuffer, compareBytes, LabelsCache, wireString } from "./wire-strings.ts";

describe("wire strings", () => {
  test("UTF-8 decoding refuses invalid sequences", () => {
    const table: [number[], string | null][] = [
      [[], ""],
      [[0x6a, 0x6f, 0x62], "job"],
      [[0xc3, 0xa9], "é"],
      [[0xf0, 0x9f, 0x98, 0x80], "😀"],
      [[0xff], null],
      [[0xc3], null],
      [[0xed, 0xa0, 0x80], null], // an encoded surrogate
      [[0xc0, 0xaf], null], // overlong
    ];
    for (const [bytes, want] of table) {
      const b = asBuffer(new Uint8Array([0x20, ...bytes, 0x20]));
      assert.equal(wireString(b, 1, 1 + bytes.length), want, JSON.stringify(bytes));
    }
  });

  test("byte comparison is UTF-8 (Go string) order", () => {
    const b = new TextEncoder().encode("abc|abd|ab|\uff61|😀");
    assert.equal(compareBytes(b, 0, 3, 4, 7), -1);
    assert.equal(compareBytes(b, 4, 7, 0, 3), 1);
    assert.equal(compareBytes(b, 8, 10, 0, 3), -1, "a prefix sorts first");
    assert.equal(compareBytes(b, 0, 3, 0, 3), 0);
    assert.equal(compareBytes(b, 11, 14, 15, 19), -1, "U+FF61 before U+1F600 in UTF-8");
  });
});

describe("LabelsCache", () => {
  const l = Labels.fromStrings("__name__", "up");

  test("starts over when the entry limit is reached", () => {
    const c = new LabelsCache({ maxEntries: 2 });
    c.set("a", l);
    c.set("b", l);
    assert.equal(c.size, 2);
    c.set("c", l);
    assert.equal(c.size, 1);
    assert.equal(c.get("a"), undefined);
    assert.ok(c.get("c")?.equals(l));
  });

  test("keeps a copy of each label set and hands it out from set on", () => {
    const c = new LabelsCache();
    const a = Labels.fromStrings("__name__", "up", "instance", "a:1");
    const kept = c.set("k", a);
    assert.ok(kept.equals(a));
    assert.equal(c.get("k"), kept);
    assert.equal(c.set("y".repeat(5000), a), a, "not cached: the caller keeps its own");
  });

  test("starts over when the key bytes limit is reached; skips keys over 4 KiB", () => {
    const c = new LabelsCache({ maxKeyBytes: 10 });
    c.set("12345", l);
    c.set("67890", l);
    assert.equal(c.size, 2);
    c.set("x", l);
    assert.equal(c.size, 1);
    c.set("y".repeat(5000), l);
    assert.equal(c.size, 1);
    assert.equal(LabelsCache.cacheable(4096), true);
    assert.equal(LabelsCache.cacheable(4097), false);
  });
});
