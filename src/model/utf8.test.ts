import assert from "node:assert/strict";
import { test } from "node:test";
import { isValidUtf8LabelName } from "./labels.ts";
import { quoteGo } from "./quote.ts";
import { decodeUtf8Escaped } from "./utf8.ts";

test("valid UTF-8 decodes to its characters", () => {
  const bytes = new TextEncoder().encode("aé€😀");
  assert.equal(decodeUtf8Escaped(bytes), "aé€😀");
});

test("invalid bytes are carried as surrogate escapes and quote back as \\x", () => {
  const cases: [number[], string][] = [
    [[0xff], '"\\xff"'],
    [[0x61, 0xc3], '"a\\xc3"'],
    [[0xc3, 0x28], '"\\xc3("'],
    [[0xed, 0xa0, 0x80], '"\\xed\\xa0\\x80"'], // an encoded surrogate is invalid UTF-8
    [[0xc0, 0xaf], '"\\xc0\\xaf"'], // overlong
    [[0xf4, 0x90, 0x80, 0x80], '"\\xf4\\x90\\x80\\x80"'], // above U+10FFFF
  ];
  for (const [bytes, quoted] of cases) {
    const s = decodeUtf8Escaped(bytes);
    assert.equal(quoteGo(s), quoted, JSON.stringify(bytes));
    assert.equal(isValidUtf8LabelName(s), false, "an invalid byte makes an invalid label name");
  }
});
