import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { asBuffer, compareBytes, wireString } from "./wire-strings.ts";

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
