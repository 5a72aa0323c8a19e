import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SnappyDecoder, SnappyEncoder, snappyDecodedLength, snappyMaxEncodedLength } from "./snappy.ts";

/**
 * A naive snappy block encoder for the decoder tests: greedy matching on 4-byte hashes over the whole input. Unlike
 * SnappyEncoder it emits every element kind the format has (literals with 1..3 length bytes, copies with 1-, 2- and
 * 4-byte offsets, overlapping copies), so the decoder is tested on all of them.
 */
function naiveEncode(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  let n = src.length;
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  const literal = (from: number, to: number) => {
    const len = to - from;
    if (len === 0) return;
    const m = len - 1;
    if (m < 60) out.push(m << 2);
    else if (m < 1 << 8) out.push(60 << 2, m);
    else if (m < 1 << 16) out.push(61 << 2, m & 0xff, m >> 8);
    else if (m < 1 << 24) out.push(62 << 2, m & 0xff, (m >> 8) & 0xff, m >> 16);
    else out.push(63 << 2, m & 0xff, (m >> 8) & 0xff, (m >> 16) & 0xff, m >>> 24);
    for (let i = from; i < to; i++) out.push(src[i]);
  };
  const copy = (offset: number, len: number) => {
    while (len > 0) {
      const l = Math.min(len, 64);
      if (l >= 4 && l <= 11 && offset < 2048) out.push(((offset >> 8) << 5) | ((l - 4) << 2) | 1, offset & 0xff);
      else if (offset < 65536) out.push(((l - 1) << 2) | 2, offset & 0xff, offset >> 8);
      else out.push(((l - 1) << 2) | 3, offset & 0xff, (offset >> 8) & 0xff, (offset >> 16) & 0xff, offset >>> 24);
      len -= l;
    }
  };
  const table = new Map<number, number>();
  const key = (i: number) => src[i] | (src[i + 1] << 8) | (src[i + 2] << 16) | (src[i + 3] << 24);
  let lit = 0;
  let i = 0;
  while (i + 4 <= src.length) {
    const k = key(i);
    const cand = table.get(k);
    table.set(k, i);
    if (cand !== undefined && key(cand) === k) {
      let len = 4;
      while (i + len < src.length && src[cand + len] === src[i + len]) len++;
      literal(lit, i);
      copy(i - cand, len);
      i += len;
      lit = i;
    } else i++;
  }
  literal(lit, src.length);
  return new Uint8Array(out);
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Counts element kinds of a block (literal length classes, copy kinds) to prove the round trips cover them all. */
const kinds = new Set<string>();
function countKinds(block: Uint8Array): void {
  let p = 0;
  while (block[p] >= 0x80) p++;
  p++;
  while (p < block.length) {
    const tag = block[p++];
    switch (tag & 3) {
      case 0: {
        let n = tag >>> 2;
        if (n >= 60) {
          kinds.add(`literal${n}`);
          const extra = n - 59;
          n = 0;
          for (let i = 0; i < extra; i++) n += block[p + i] * 2 ** (8 * i);
          p += extra;
        } else kinds.add("literal");
        p += n + 1;
        break;
      }
      case 1:
        kinds.add("copy1");
        p += 1;
        break;
      case 2:
        kinds.add("copy2");
        p += 2;
        break;
      default:
        kinds.add("copy4");
        p += 4;
    }
  }
}

describe("snappy block decoding", () => {
  test("hand-made blocks", () => {
    const d = new SnappyDecoder();
    const table: [string, number[]][] = [
      ["", [0x00]],
      ["a", [0x01, 0x00, 0x61]],
      ["abcabcabcabc", [0x0c, 0x08, 0x61, 0x62, 0x63, 0x15, 0x03]], // literal + overlapping 1-byte-offset copy
      ["aaaaaaaaaa", [0x0a, 0x00, 0x61, 0x22, 0x01, 0x00]], // literal "a" + 2-byte-offset copy of 9 at offset 1
      ["xyxy", [0x04, 0x04, 0x78, 0x79, 0x07, 0x02, 0x00, 0x00, 0x00]], // 4-byte-offset copy of 2 at offset 2
    ];
    for (const [want, block] of table) {
      assert.equal(Buffer.from(d.decode(new Uint8Array(block))).toString(), want, want);
    }
  });

  test("long overlapping copies repeat the last offset bytes", () => {
    const d = new SnappyDecoder();
    // Up to 60: the pattern fits a literal with its length in the tag.
    for (let offset = 1; offset <= 60; offset++) {
      const pattern = Array.from({ length: offset }, (_, i) => 97 + (i % 26));
      const copies = 5;
      const total = offset + copies * 64;
      const want = Array.from({ length: total }, (_, i) => pattern[i % offset]);
      // uvarint length, literal of the pattern, then 2-byte-offset copies of 64 bytes at `offset`.
      const block = [(total & 0x7f) | (total > 0x7f ? 0x80 : 0), ...(total > 0x7f ? [total >> 7] : [])];
      block.push((offset - 1) << 2, ...pattern);
      for (let c = 0; c < copies; c++) block.push((63 << 2) | 2, offset & 0xff, offset >> 8);
      assert.deepEqual([...d.decode(new Uint8Array(block))], want, `offset ${offset}`);
    }
  });

  test("literal lengths in three and four bytes", () => {
    const d = new SnappyDecoder();
    const big = new Uint8Array(70_000).map((_, i) => i % 251);
    // length 70000 as uvarint (f0 a2 04), then tag 62 with length-1 in three little-endian bytes.
    const block = new Uint8Array([0xf0, 0xa2, 0x04, 62 << 2, 0x6f, 0x11, 0x01, ...big]);
    assert.deepEqual(d.decode(block), big);
    // A short literal written with the four-byte form is valid too.
    assert.equal(Buffer.from(d.decode(new Uint8Array([0x02, 63 << 2, 0x01, 0, 0, 0, 0x68, 0x69]))).toString(), "hi");
  });

  test("round trips of random data with every element kind", () => {
    const d = new SnappyDecoder();
    const rand = rng(7);
    const words = ["http_requests_total", "instance", "job", "le", "0.005", "region", "ams", "{", "}", "="];
    for (let round = 0; round < 40; round++) {
      const size = round < 30 ? (rand() * 5000) | 0 : 70_000 + ((rand() * 200_000) | 0);
      const src = new Uint8Array(size);
      let i = 0;
      while (i < size) {
        if (rand() < 0.3) {
          src[i++] = (rand() * 256) | 0;
        } else {
          const w = words[(rand() * words.length) | 0];
          for (let k = 0; k < w.length && i < size; k++) src[i++] = w.charCodeAt(k);
        }
      }
      if (round % 10 === 9) for (let k = 0; k < size; k++) src[k] = (rand() * 256) | 0; // long literals
      if (size > 140_000) src.copyWithin(size - 1000, 10, 1010); // a match far back: 4-byte offsets
      const enc = naiveEncode(src);
      countKinds(enc);
      assert.deepEqual(d.decode(enc), src, `round ${round}, ${size} bytes`);
      // Decoding from the middle of a larger buffer.
      const framed = new Uint8Array(enc.length + 10);
      framed.set(enc, 5);
      assert.deepEqual(d.decode(framed, 5, 5 + enc.length), src);
    }
    assert.deepEqual([...kinds].sort(), ["copy1", "copy2", "copy4", "literal", "literal60", "literal61"]);
  });

  test("malformed blocks are rejected with a reason", () => {
    const d = new SnappyDecoder();
    const table: [string, number[], RegExp][] = [
      ["empty input", [], /truncated length/],
      ["unterminated length", [0x80, 0x80], /truncated length/],
      ["literal past the input", [0x05, 0x10, 0x61], /literal runs past/],
      ["literal past the header length", [0x01, 0x04, 0x61, 0x62], /overflows/],
      ["copy before any output", [0x04, 0x01, 0x01], /copy offset/],
      ["zero offset", [0x05, 0x00, 0x61, 0x01, 0x00], /copy offset 0/],
      ["copy past the header length", [0x03, 0x00, 0x61, 0x05, 0x01], /overflows/],
      ["short output", [0x05, 0x00, 0x61], /decoded 1 bytes, header says 5/],
      ["truncated copy", [0x05, 0x00, 0x61, 0x02], /truncated copy/],
      ["length over 32 bits", [0xff, 0xff, 0xff, 0xff, 0x1f], /too large/],
    ];
    for (const [name, block, re] of table) {
      assert.throws(() => d.decode(new Uint8Array(block)), re, name);
    }
  });
});

/** Inputs shaped like the data snappy meets here: protobuf write requests, WAL records, random and constant bytes. */
function corpus(): [string, Uint8Array][] {
  const rand = rng(11);
  const out: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["one byte", new Uint8Array([7])],
    ["16 bytes", new Uint8Array(16).map((_, i) => i)],
    ["17 zero bytes", new Uint8Array(17)],
    ["1 MiB of zeros", new Uint8Array(1 << 20)],
    ["random 100 KiB", new Uint8Array(100_000).map(() => (rand() * 256) | 0)],
  ];
  const parts: string[] = [];
  for (let i = 0; i < 5000; i++) {
    parts.push(`\n\x0b__name__\x13http_requests_total\x0finstance\x0chost-${i % 97}:9100\t${(rand() * 1e9) | 0}`);
  }
  const text = new TextEncoder().encode(parts.join(""));
  out.push(["write-request-like text", text]);
  // Exactly one fragment, one fragment and a byte, and a tail shorter than the compressible minimum.
  for (const n of [1 << 16, (1 << 16) + 1, (1 << 16) + 16, 3 * (1 << 16) + 5]) {
    out.push([`${n} bytes of text`, text.subarray(0, n)]);
  }
  return out;
}

describe("snappy block encoding", () => {
  test("round trips through the decoder within the worst-case size", () => {
    const enc = new SnappyEncoder();
    const dec = new SnappyDecoder();
    for (const [name, src] of corpus()) {
      const block = enc.encode(src);
      assert.ok(block.length <= snappyMaxEncodedLength(src.length), name);
      assert.equal(snappyDecodedLength(block), src.length, name);
      assert.deepEqual(dec.decode(block), src, name);
    }
  });

  test("compresses repetitive input and keeps incompressible input near its size", () => {
    const enc = new SnappyEncoder();
    const [, text] = corpus().find(([n]) => n === "write-request-like text")!;
    assert.ok(enc.encode(text).length < text.length / 2, "text halves at least");
    assert.ok(enc.encode(new Uint8Array(1 << 20)).length < 50_000, "zeros collapse");
    const random = new Uint8Array(100_000).map((_, i) => (Math.imul(i + 1, 2654435761) >>> 13) & 0xff);
    assert.ok(enc.encode(random).length <= random.length + 100);
  });

  test("hand-checked encodings", () => {
    const enc = new SnappyEncoder();
    const table: [string, number[]][] = [
      ["", [0x00]],
      ["a", [0x01, 0x00, 0x61]],
      // Under 17 bytes: a single literal.
      ["abcabcabcabc", [0x0c, 0x2c, ...new TextEncoder().encode("abcabcabcabc")]],
      // 20 x "a": literal "a", then a 1-byte-offset copy of 19 does not fit (4..11), so a 2-byte-offset copy.
      ["aaaaaaaaaaaaaaaaaaaa", [0x14, 0x00, 0x61, 0x4a, 0x01, 0x00]],
    ];
    for (const [text, want] of table) {
      assert.deepEqual([...enc.encode(new TextEncoder().encode(text))], want, JSON.stringify(text));
    }
  });

  test("encodeCopy survives the next call; encode's view does not", () => {
    const enc = new SnappyEncoder();
    const a = enc.encodeCopy(new TextEncoder().encode("first input, long enough to matter"));
    const before = [...a];
    enc.encode(new TextEncoder().encode("second input that overwrites the shared buffer"));
    assert.deepEqual([...a], before);
  });

  test("the decoder does not keep outputs above maxRetainedBytes", () => {
    const dec = new SnappyDecoder({ maxRetainedBytes: 1024 });
    const enc = new SnappyEncoder();
    const big = dec.decode(enc.encode(new Uint8Array(10_000).fill(3)));
    const small = dec.decode(enc.encode(new Uint8Array(10).fill(4)));
    assert.equal(big.length, 10_000);
    assert.ok(
      big.every((b) => b === 3),
      "a large output is not overwritten by the next call",
    );
    assert.deepEqual([...small], new Array(10).fill(4));
  });

  test("declared length is read without decoding", () => {
    assert.equal(snappyDecodedLength(new Uint8Array([0xf0, 0xa2, 0x04, 0xff])), 70_000);
    assert.equal(snappyDecodedLength(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f])), 0xffff_ffff);
    assert.throws(() => snappyDecodedLength(new Uint8Array([0x80])), /truncated/);
  });
});
