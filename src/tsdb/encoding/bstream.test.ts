import assert from "node:assert/strict";
import { test } from "node:test";
import { BIT_STREAM_EOF, BitReader, BitWriter } from "./bstream.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("bits are packed most significant first", () => {
  const w = new BitWriter(8);
  w.writeBit(1);
  w.writeBit(0);
  w.writeBit(1);
  assert.equal(hex(w.bytes()), "a0");
  assert.equal(w.bitLength, 3);
  w.writeBitsNum(0b11111, 5);
  assert.equal(hex(w.bytes()), "bf");
  w.writeBitsNum(0x123, 12);
  assert.equal(hex(w.bytes()), "bf1230");
  w.writeBits(0x80000001, 0x00000003, 64);
  assert.equal(hex(w.bytes()), "bf12380000001000000030");
  assert.equal(w.bitLength, 3 + 5 + 12 + 64);
});

test("random bit fields round trip", () => {
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const fields: [number, number, number][] = [];
  const w = new BitWriter(4);
  for (let i = 0; i < 5000; i++) {
    const n = rnd() % 65;
    const hi = n > 32 ? (rnd() * 3) >>> (64 - n) : 0;
    const lo = n === 0 ? 0 : (rnd() * 7 + rnd()) >>> Math.max(0, 32 - n);
    fields.push([hi >>> 0, lo >>> 0, n]);
    w.writeBits(hi >>> 0, lo >>> 0, n);
  }
  const r = new BitReader(w.bytes());
  for (const [hi, lo, n] of fields) {
    const gotHi = n > 32 ? r.readBitsNum(n - 32) : 0;
    const gotLo = r.readBitsNum(Math.min(n, 32));
    assert.deepEqual([gotHi, gotLo], [hi, lo], `field of ${n} bits`);
  }
  assert.equal(r.err(), null);
});

test("varints inside an unaligned bit stream", () => {
  const values = [0, 1, -1, 63, -64, 300, -300, 1_700_000_000_000, -(2 ** 53 - 1), 2 ** 53 - 1];
  const w = new BitWriter();
  w.writeBit(1);
  for (const v of values) {
    w.writeVarint(v);
    w.writeUvarint(Math.abs(v));
  }
  const r = new BitReader(w.bytes());
  assert.equal(r.readBit(), 1);
  for (const v of values) {
    assert.equal(r.readVarint(), v);
    assert.equal(r.readUvarint(), Math.abs(v));
  }
  // Aligned varint bytes are exactly Go's: -1 → 01, 300 → ac02.
  const a = new BitWriter();
  a.writeVarint(-1);
  a.writeUvarint(300);
  assert.equal(hex(a.bytes()), "01ac02");
});

test("reading past the end records a sticky error", () => {
  const r = new BitReader(Uint8Array.of(0xff), 0, 1);
  assert.equal(r.readBitsNum(7), 0x7f);
  assert.equal(r.readBitsNum(2), 0);
  assert.equal(r.err(), BIT_STREAM_EOF);
  assert.equal(r.readBit(), 0);
  r.reset(Uint8Array.of(0x80));
  assert.equal(r.err(), null);
  assert.equal(r.readBit(), 1);
  assert.equal(r.bitPos, 1);
});

test("resume continues after a given bit length; setByte patches a header", () => {
  const w = new BitWriter();
  w.writeBitsNum(0b101, 3);
  const copy = w.bytes().slice();
  const v = new BitWriter();
  v.resume(copy, 3);
  v.writeBitsNum(0b11111, 5);
  v.writeBitsNum(0xab, 8);
  v.setByte(0, 0x01);
  assert.equal(hex(v.bytes()), "01ab");
  v.reset();
  assert.equal(v.length, 0);
});

test("writeBitsNum of every width at every bit offset matches a bit-by-bit writer", () => {
  // Bit-by-bit reference: writeBit only.
  for (let offset = 0; offset < 8; offset++) {
    for (let nbits = 0; nbits <= 32; nbits++) {
      const v = (0x9e3779b9 ^ Math.imul(nbits + 1, 0x85ebca6b) ^ offset) >>> 0;
      const w = new BitWriter(2);
      const ref = new BitWriter(2);
      for (let i = 0; i < offset; i++) {
        w.writeBit((i & 1) as 0 | 1);
        ref.writeBit((i & 1) as 0 | 1);
      }
      w.writeBitsNum(v, nbits);
      for (let i = nbits - 1; i >= 0; i--) ref.writeBit(((v >>> i) & 1) as 0 | 1);
      // A bit after, so a wrongly left free count shows.
      w.writeBit(1);
      ref.writeBit(1);
      assert.equal(hex(w.bytes()), hex(ref.bytes()), `offset ${offset}, ${nbits} bits`);
      assert.equal(w.bitLength, ref.bitLength);
    }
  }
});
