import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProtoReader, ProtoWriter, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "./protobuf.ts";
import { float64Bits, STALE_NAN } from "./sample.ts";

function bytes(w: ProtoWriter): number[] {
  return [...w.finish()];
}

describe("protobuf varints", () => {
  test("int64 round trips, with Go's byte layouts for known values", () => {
    const table: [number, number[]][] = [
      [0, [0x00]],
      [1, [0x01]],
      [127, [0x7f]],
      [128, [0x80, 0x01]],
      [300, [0xac, 0x02]],
      [2 ** 31, [0x80, 0x80, 0x80, 0x80, 0x08]],
      [2 ** 32, [0x80, 0x80, 0x80, 0x80, 0x10]],
      // A millisecond timestamp (2024-01-01T00:00:00Z).
      [1_704_067_200_000, [0x80, 0xe8, 0xc7, 0x92, 0xcc, 0x31]],
      [2 ** 53 - 1, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]],
      [-1, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
      [-2, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
      [-(2 ** 32), [0x80, 0x80, 0x80, 0x80, 0xf0, 0xff, 0xff, 0xff, 0xff, 0x01]],
      [-1_704_067_200_000, [0x80, 0x98, 0xb8, 0xed, 0xb3, 0xce, 0xff, 0xff, 0xff, 0x01]],
    ];
    for (const [v, want] of table) {
      const w = new ProtoWriter(16);
      w.int64(v);
      assert.deepEqual(bytes(w), want, `encode ${v}`);
      const r = new ProtoReader(new Uint8Array(want));
      assert.equal(r.int64(), v, `decode ${v}`);
      assert.ok(r.done());
    }
  });

  test("uint32 keeps the low 32 bits of longer varints", () => {
    const r = new ProtoReader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
    assert.equal(r.uint32(), 0xffff_ffff);
    const w = new ProtoWriter();
    w.uint32(0xffff_ffff);
    assert.deepEqual(bytes(w), [0xff, 0xff, 0xff, 0xff, 0x0f]);
  });

  test("zigzag", () => {
    const table: [number, number[]][] = [
      [0, [0x00]],
      [-1, [0x01]],
      [1, [0x02]],
      [-2, [0x03]],
      [2147483647, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
      [-2147483648, [0xff, 0xff, 0xff, 0xff, 0x0f]],
      [-(2 ** 40), [0xff, 0xff, 0xff, 0xff, 0xff, 0x3f]],
    ];
    for (const [v, want] of table) {
      const w = new ProtoWriter();
      w.sint64(v);
      assert.deepEqual(bytes(w), want, `encode ${v}`);
      assert.equal(new ProtoReader(new Uint8Array(want)).sint64(), v, `decode ${v}`);
    }
  });

  test("malformed varints name the offset", () => {
    assert.throws(() => new ProtoReader(new Uint8Array([0x80, 0x80])).int64(), /truncated varint at byte 2/);
    assert.throws(() => new ProtoReader(new Uint8Array([0x80])).uint32(), /truncated varint/);
    const eleven = new Uint8Array(11).fill(0x80);
    assert.throws(() => new ProtoReader(eleven).int64(), /longer than 10 bytes/);
    assert.throws(() => new ProtoReader(eleven).uint32(), /longer than 10 bytes/);
  });
});

describe("protobuf fields", () => {
  test("doubles keep their exact bits, the staleness marker and -0 included", () => {
    for (const v of [0, -0, 1.5, -1e300, Number.POSITIVE_INFINITY, Number.NaN, STALE_NAN, 5e-324]) {
      const w = new ProtoWriter();
      w.double(v);
      assert.equal(w.length, 8);
      const got = new ProtoReader(w.finish()).double();
      assert.deepEqual(float64Bits(got), float64Bits(v), String(v));
    }
    const w = new ProtoWriter();
    w.double(1);
    assert.deepEqual(bytes(w), [0, 0, 0, 0, 0, 0, 0xf0, 0x3f], "little-endian");
  });

  test("strings: ASCII, multi-byte and astral characters", () => {
    for (const s of ["", "job", "région", "日本", "😀 ok"]) {
      const w = new ProtoWriter(4);
      w.string(s);
      const enc = new TextEncoder().encode(s);
      assert.deepEqual(bytes(w), [enc.length, ...enc], s);
    }
  });

  test("sub-messages of every length class get minimal length prefixes", () => {
    for (const n of [0, 1, 127, 128, 300, 16_383, 16_384, 70_000]) {
      const w = new ProtoWriter(8);
      w.uint32(0xab);
      const m = w.begin(3);
      for (let i = 0; i < n; i++) w.uint32(i & 0x7f);
      w.end(m);
      w.uint32(0xcd);
      const r = new ProtoReader(w.finish());
      assert.equal(r.uint32(), 0xab);
      assert.equal(r.tag(), (3 << 3) | WIRE_LEN);
      const end = r.lengthDelimited();
      assert.equal(end - r.pos, n, `length ${n}`);
      for (let i = 0; i < n; i++) assert.equal(r.uint32(), i & 0x7f);
      assert.equal(r.uint32(), 0xcd);
      assert.ok(r.done());
    }
  });

  test("skip passes over every wire type and refuses groups", () => {
    const w = new ProtoWriter();
    w.tag(1, WIRE_VARINT);
    w.int64(-5);
    w.tag(2, WIRE_FIXED64);
    w.double(2.5);
    w.tag(3, WIRE_LEN);
    w.string("skipped");
    w.tag(4, WIRE_FIXED32);
    w.uint32(0); // four bytes of fixed32 written by hand below
    const buf = new Uint8Array([...bytes(w).slice(0, -1), 1, 2, 3, 4]);
    const r = new ProtoReader(buf);
    let fields = 0;
    while (!r.done()) {
      r.skip(r.tag() & 7);
      fields++;
    }
    assert.equal(fields, 4);
    assert.throws(() => new ProtoReader(new Uint8Array([0x0b])).skip(3), /unsupported wire type 3/);
  });

  test("lengths past the message and field number 0 are refused", () => {
    assert.throws(() => new ProtoReader(new Uint8Array([0x0a, 0x05, 0x01])).skip(2), /runs past the end/);
    assert.throws(() => new ProtoReader(new Uint8Array([0x00])).tag(), /field number 0 at byte 0/);
    assert.throws(() => new ProtoReader(new Uint8Array([0x09, 1, 2])).skip(1), /truncated fixed64/);
    const r = new ProtoReader(new Uint8Array([0x01, 2, 3, 4, 5, 6, 7, 8, 9]), 1, 5);
    assert.throws(() => r.double(), /truncated fixed64 at byte 1/);
  });
});
