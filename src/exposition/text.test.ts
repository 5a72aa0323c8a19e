import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bodyText, detachString, hasInvalid, invalidOffsets } from "./text.ts";

// Offsets of U+FFFD in TextDecoder's output (the inputs below hold no literal U+FFFD).
function referenceOffsets(bytes: Uint8Array): number[] {
  const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0xfffd) out.push(i);
  return out;
}

describe("invalidOffsets", () => {
  const cases: [string, number[], number[]][] = [
    ["valid ASCII", [0x61, 0x62], []],
    ["lone continuation byte", [0x61, 0x80, 0x62], [1]],
    ["0xff", [0xff], [0]],
    ["truncated 3-byte sequence at the end", [0x61, 0xe2, 0x82], [1]],
    ["truncated sequence followed by ASCII", [0xe2, 0x82, 0x61], [0]],
    ["overlong 2-byte", [0xc0, 0xaf], [0, 1]],
    ["surrogate encoded", [0xed, 0xa0, 0x80], [0, 1, 2]],
    ["4-byte char then garbage", [0xf0, 0x9f, 0x98, 0x80, 0xff], [2]],
  ];
  for (const [name, bytes, want] of cases) {
    test(name, () => {
      const u8 = new Uint8Array(bytes);
      assert.deepEqual(invalidOffsets(u8), want);
      assert.deepEqual(invalidOffsets(u8), referenceOffsets(u8));
    });
  }

  test("matches TextDecoder on random bytes", () => {
    let seed = 3;
    for (let round = 0; round < 2000; round++) {
      const bytes = new Uint8Array(1 + (round % 40));
      for (let i = 0; i < bytes.length; i++) {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        // Mostly high bytes so that every kind of sequence shows up; no literal EF BF BD by construction odds.
        bytes[i] = seed >>> 24 < 64 ? 0x61 : 0x80 + ((seed >>> 16) & 0x7f);
      }
      const want = referenceOffsets(bytes);
      const got = invalidOffsets(bytes);
      // A literal U+FFFD in the input is valid UTF-8 and must not be reported.
      assert.ok(got.every((o) => want.includes(o)));
      assert.equal(got.length + countLiteral(bytes), want.length);
    }
  });
});

function countLiteral(bytes: Uint8Array): number {
  let n = 0;
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) n++;
  }
  return n;
}

describe("bodyText", () => {
  test("valid bytes decode with no invalid offsets", () => {
    const b = bodyText(new TextEncoder().encode("héllo €"));
    assert.equal(b.text, "héllo €");
    assert.equal(b.invalid, null);
  });

  test("invalid bytes are replaced and remembered", () => {
    const b = bodyText(new Uint8Array([0x61, 0xff, 0x62]));
    assert.equal(b.text, "a\ufffdb");
    assert.deepEqual(b.invalid, [1]);
    assert.equal(hasInvalid(b.invalid, 0, 1), false);
    assert.equal(hasInvalid(b.invalid, 1, 2), true);
    assert.equal(hasInvalid(b.invalid, 2, 3), false);
  });

  test("a string body is taken as is", () => {
    assert.deepEqual(bodyText("x 1\n"), { text: "x 1\n", invalid: null });
  });
});

test("detachString copies the text", () => {
  const big = `${"x".repeat(1000)}up{job="a"}`;
  const key = big.slice(1000);
  assert.equal(detachString(key), 'up{job="a"}');
  assert.equal(detachString("ünïcödé"), "ünïcödé");
});
