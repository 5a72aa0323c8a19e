import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mulberry32 } from "../../testkit/random.ts";
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
    const rand = mulberry32(7);
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

/**
 * The decoder's semantics in the plainest form, byte by byte, as a reference for the differential tests: the same
 * output for every valid block and the same error message for every malformed one.
 */
function referenceDecode(src: Uint8Array): Uint8Array {
  let p = 0;
  let dLen = 0;
  for (let shift = 0; ; shift += 7) {
    if (p >= src.length) throw new Error("snappy: truncated length header");
    const b = src[p++];
    if (shift === 28 && b > 0x0f) throw new Error("snappy: decoded length too large");
    dLen += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  const out = new Uint8Array(dLen);
  let d = 0;
  const le = (at: number, n: number) => {
    let v = 0;
    for (let i = 0; i < n; i++) v += src[at + i] * 2 ** (8 * i);
    return v;
  };
  while (p < src.length) {
    const tag = src[p++];
    let len: number;
    let offset: number;
    if ((tag & 3) === 0) {
      len = (tag >>> 2) + 1;
      if (len > 60) {
        const extra = len - 60;
        if (p + extra > src.length) throw new Error("snappy: truncated literal length");
        len = le(p, extra) + 1;
        p += extra;
      }
      if (len > src.length - p) throw new Error("snappy: literal runs past the input");
      if (len > dLen - d) throw new Error("snappy: literal overflows the decoded length");
      for (let i = 0; i < len; i++) out[d++] = src[p++];
      continue;
    }
    const width = [0, 1, 2, 4][tag & 3];
    if (p + width > src.length) throw new Error("snappy: truncated copy");
    if ((tag & 3) === 1) {
      len = 4 + ((tag >>> 2) & 7);
      offset = (tag >>> 5) * 256 + src[p];
    } else {
      len = (tag >>> 2) + 1;
      offset = le(p, width);
    }
    p += width;
    if (offset === 0 || offset > d) throw new Error(`snappy: copy offset ${offset} out of range at ${d}`);
    if (len > dLen - d) throw new Error("snappy: copy overflows the decoded length");
    for (let i = 0; i < len; i++, d++) out[d] = out[d - offset];
  }
  if (d !== dLen) throw new Error(`snappy: decoded ${d} bytes, header says ${dLen}`);
  return out;
}

/** The outcome of decoding `block`: its bytes, or its error message. */
function outcome(decode: (b: Uint8Array) => Uint8Array, block: Uint8Array): string {
  try {
    return `ok ${Buffer.from(decode(block)).toString("hex")}`;
  } catch (err) {
    return `error ${(err as Error).message}`;
  }
}

/**
 * A random block of `elements` elements, written by hand rather than by an encoder so that every kind appears in
 * every length class: literals with the length in the tag and in 1..4 bytes, copies with 1-, 2- and 4-byte offsets
 * from 1 (overlapping runs) up to the whole output, and lengths 1..64.
 */
function randomBlock(rand: () => number, elements: number): Uint8Array {
  const body: number[] = [];
  let d = 0;
  const int = (n: number) => Math.floor(rand() * n);
  for (let e = 0; e < elements; e++) {
    if (d === 0 || rand() < 0.35) {
      const cls = int(10);
      const len = cls < 6 ? 1 + int(60) : cls < 8 ? 61 + int(196) : cls < 9 ? 257 + int(2000) : 1 + int(100);
      const m = len - 1;
      // Longer length forms than needed are valid too; class 9 takes the 3- and 4-byte forms for short lengths.
      const bytes = cls === 9 ? 3 + int(2) : m < 60 ? 0 : m < 256 ? 1 : 2;
      body.push(bytes === 0 ? m << 2 : (59 + bytes) << 2);
      for (let i = 0; i < bytes; i++) body.push((m >>> (8 * i)) & 0xff);
      for (let i = 0; i < len; i++) body.push(rand() < 0.5 ? 97 + int(4) : int(256));
      d += len;
      continue;
    }
    const kind = 1 + int(3);
    const near = rand() < 0.5;
    const offset = 1 + (near ? int(Math.min(d, 64)) : int(Math.min(d, kind === 1 ? 2047 : 1 << 20)));
    if (kind === 1) {
      const len = 4 + int(8);
      body.push(((offset >>> 8) << 5) | ((len - 4) << 2) | 1, offset & 0xff);
      d += len;
    } else {
      const len = 1 + int(64);
      const o = kind === 2 ? Math.min(offset, 0xffff) : offset;
      body.push(((len - 1) << 2) | kind, o & 0xff, (o >>> 8) & 0xff);
      if (kind === 3) body.push((o >>> 16) & 0xff, o >>> 24);
      d += len;
    }
  }
  const header: number[] = [];
  for (let n = d; ; n = Math.floor(n / 128)) {
    header.push(n < 0x80 ? n : (n & 0x7f) | 0x80);
    if (n < 0x80) break;
  }
  return new Uint8Array([...header, ...body]);
}

describe("snappy decoding against the reference", () => {
  test("random blocks of every element kind decode to the reference's bytes", () => {
    const rand = mulberry32(23);
    const d = new SnappyDecoder();
    for (let round = 0; round < 400; round++) {
      const block = randomBlock(rand, 1 + Math.floor(rand() * (round < 300 ? 40 : 400)));
      const want = referenceDecode(block);
      assert.deepEqual(d.decode(block), want, `round ${round}`);
      // With an output buffer that has no room past the output, and within a larger input with bytes around it.
      const exact = new SnappyDecoder({ maxRetainedBytes: 0 });
      assert.deepEqual(exact.decode(block), want, `round ${round}, exact buffer`);
      const framed = new Uint8Array(block.length + 40).fill(0xee);
      framed.set(block, 20);
      assert.deepEqual(d.decode(framed, 20, 20 + block.length), want, `round ${round}, framed`);
    }
  });

  test("copies at every offset from 1 to 64 and every length, overlapping or not", () => {
    const d = new SnappyDecoder();
    const pattern = Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff);
    for (let offset = 1; offset <= 64; offset++) {
      for (let len = 1; len <= 64; len++) {
        const kinds = len >= 4 && len <= 11 ? [1, 2, 3] : [2, 3];
        for (const kind of kinds) {
          const total = 64 + len + 5;
          const copy =
            kind === 1
              ? [((len - 4) << 2) | 1, offset]
              : kind === 2
                ? [((len - 1) << 2) | 2, offset, 0]
                : [((len - 1) << 2) | 3, offset, 0, 0, 0];
          const header = total < 0x80 ? [total] : [(total & 0x7f) | 0x80, total >> 7];
          const block = new Uint8Array([...header, 60 << 2, 63, ...pattern, ...copy, 4 << 2, 1, 2, 3, 4, 5]);
          assert.deepEqual(d.decode(block), referenceDecode(block), `offset ${offset}, length ${len}, kind ${kind}`);
        }
      }
    }
  });

  test("corrupt blocks fail with the reference's message, or decode to its bytes", () => {
    const rand = mulberry32(29);
    const d = new SnappyDecoder();
    const int = (n: number) => Math.floor(rand() * n);
    for (let round = 0; round < 3000; round++) {
      const block = randomBlock(rand, 1 + int(30)).slice();
      const mutated =
        round % 3 === 0
          ? block.subarray(0, int(block.length + 1))
          : block.map((b) => (rand() < 4 / block.length ? int(256) : b));
      assert.equal(
        outcome((b) => d.decode(b), mutated),
        outcome(referenceDecode, mutated),
        `round ${round}`,
      );
    }
    // Lengths and offsets of 2^31 and more, in the four-byte forms.
    const huge: number[][] = [
      [0x05, 63 << 2, 0xff, 0xff, 0xff, 0xff, 0x61],
      [0x05, 63 << 2, 0x00, 0x00, 0x00, 0x80, 0x61],
      [0x05, 0x00, 0x61, (3 << 2) | 3, 0x00, 0x00, 0x00, 0x80],
      [0x05, 0x00, 0x61, (3 << 2) | 3, 0xff, 0xff, 0xff, 0xff],
    ];
    for (const block of huge) {
      const b = new Uint8Array(block);
      assert.equal(
        outcome((x) => d.decode(x), b),
        outcome(referenceDecode, b),
        block.join(","),
      );
    }
  });
});

/** Inputs shaped like the data snappy meets here: protobuf write requests, WAL records, random and constant bytes. */
function corpus(): [string, Uint8Array][] {
  const rand = mulberry32(11);
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

  test("a shared decoder's handed-over output is never written again; one it does not own changes nothing", () => {
    const dec = new SnappyDecoder({ maxRetainedBytes: 1024, shared: true });
    const enc = new SnappyEncoder();
    const first = dec.decode(enc.encode(new Uint8Array(100).fill(1)));
    assert.ok(first.buffer instanceof SharedArrayBuffer, "outputs are views of shared buffers");
    dec.handOver(first);
    const second = dec.decode(enc.encode(new Uint8Array(100).fill(2)));
    assert.notEqual(second.buffer, first.buffer, "a new buffer after the hand-over");
    assert.ok(
      first.every((b) => b === 1),
      "the handed-over output keeps its bytes",
    );
    // An output above maxRetainedBytes is a fresh buffer: handing it over keeps the retained one in use.
    const big = dec.decode(enc.encode(new Uint8Array(5_000).fill(3)));
    dec.handOver(big);
    const third = dec.decode(enc.encode(new Uint8Array(100).fill(4)));
    assert.equal(third.buffer, second.buffer, "the retained buffer is used again");
    assert.ok(third.buffer instanceof SharedArrayBuffer && big.buffer instanceof SharedArrayBuffer);
  });

  test("declared length is read without decoding", () => {
    assert.equal(snappyDecodedLength(new Uint8Array([0xf0, 0xa2, 0x04, 0xff])), 70_000);
    assert.equal(snappyDecodedLength(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f])), 0xffff_ffff);
    assert.throws(() => snappyDecodedLength(new Uint8Array([0x80])), /truncated/);
  });
});
