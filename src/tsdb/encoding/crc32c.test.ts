import assert from "node:assert/strict";
import { test } from "node:test";
import { crc32c } from "./crc32c.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

test("crc32c known vectors", () => {
  const cases: [Uint8Array, number][] = [
    [ascii(""), 0],
    [ascii("a"), 0xc1d04330],
    [ascii("123456789"), 0xe3069283],
    [new Uint8Array(32), 0x8a9136aa], // RFC 3720 B.4: 32 bytes of zeros
    [new Uint8Array(32).fill(0xff), 0x62a8ab43], // RFC 3720 B.4: 32 bytes of 0xff
    [Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e], // RFC 3720 B.4: incrementing
    [Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c], // RFC 3720 B.4: decrementing
  ];
  for (const [input, want] of cases) assert.equal(crc32c(input), want, `len ${input.length}`);
});

test("crc32c over a sub-range and chained with a seed equals the whole", () => {
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff);
  const whole = crc32c(data);
  for (const cut of [0, 1, 7, 8, 9, 63, 500, 999, 1000]) {
    assert.equal(crc32c(data, cut, data.length, crc32c(data, 0, cut)), whole, `cut ${cut}`);
  }
  const padded = new Uint8Array(1010);
  padded.set(data, 5);
  assert.equal(crc32c(padded, 5, 1005), whole);
});

test("crc32c slicing-by-8 agrees with the bitwise definition", () => {
  const bitwise = (b: Uint8Array) => {
    let c = 0xffffffff;
    for (const x of b) {
      c ^= x;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return ~c >>> 0;
  };
  let seed = 12345;
  for (let len = 0; len < 70; len++) {
    const b = Uint8Array.from({ length: len }, () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed & 0xff;
    });
    assert.equal(crc32c(b), bitwise(b), `len ${len}`);
  }
});
