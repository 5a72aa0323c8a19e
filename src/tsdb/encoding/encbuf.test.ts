import assert from "node:assert/strict";
import { test } from "node:test";
import { Decbuf, INVALID_SIZE, UNSAFE_INTEGER, VARINT_OVERFLOW } from "./decbuf.ts";
import { Encbuf } from "./encbuf.ts";
import { floatFromBits } from "./float-bits.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (s: string) => new Uint8Array(Buffer.from(s.replace(/ /g, ""), "hex"));

// Vectors as Go's binary.PutUvarint / PutVarint produce them.
const UVARINTS: [number, string][] = [
  [0, "00"],
  [1, "01"],
  [127, "7f"],
  [128, "8001"],
  [300, "ac02"],
  [16383, "ff7f"],
  [16384, "808001"],
  [2 ** 31 - 1, "ffffffff07"],
  [2 ** 31, "8080808008"],
  [2 ** 32, "8080808010"],
  [2 ** 53 - 1, "ffffffffffffff0f"],
];

const VARINTS: [number, string][] = [
  [0, "00"],
  [-1, "01"],
  [1, "02"],
  [-2, "03"],
  [63, "7e"],
  [-64, "7f"],
  [64, "8001"],
  [-65, "8101"],
  [1_700_000_000_000, "80a0abfef962"],
  [-1_700_000_000_000, "ff9fabfef962"],
  [-300, "d704"],
  // Either side of the small-magnitude fast path (|n| < 2^30).
  [2 ** 30 - 1, "feffffff07"],
  [-(2 ** 30 - 1), "fdffffff07"],
  [-(2 ** 30), "ffffffff07"],
  [2 ** 30, "8080808008"],
  [2 ** 53 - 1, "feffffffffffff1f"],
  [-(2 ** 53 - 1), "fdffffffffffff1f"],
];

test("putUvarint matches Go's encoding and uvarint reads it back", () => {
  for (const [n, want] of UVARINTS) {
    const e = new Encbuf();
    e.putUvarint(n);
    assert.equal(hex(e.get()), want, `uvarint ${n}`);
    const d = new Decbuf(e.get());
    assert.equal(d.uvarint(), n);
    assert.equal(d.err(), null);
    assert.equal(d.remaining(), 0);
  }
});

test("putVarint matches Go's zig-zag encoding and varint reads it back", () => {
  for (const [n, want] of VARINTS) {
    const e = new Encbuf();
    e.putVarint(n);
    assert.equal(hex(e.get()), want, `varint ${n}`);
    const d = new Decbuf(e.get());
    assert.equal(d.varint(), n);
    assert.equal(d.err(), null);
  }
});

test("int64 extremes saturate and survive a round trip", () => {
  const minInt64 = "ffffffffffffffffff01";
  const maxInt64 = "feffffffffffffffff01";
  const cases: [number, string][] = [
    [-(2 ** 63), minInt64],
    [Number.NEGATIVE_INFINITY, minInt64],
    [2 ** 63, maxInt64],
    [Number.POSITIVE_INFINITY, maxInt64],
  ];
  for (const [n, want] of cases) {
    const e = new Encbuf();
    e.putVarint(n);
    assert.equal(hex(e.get()), want, `varint ${n}`);
  }
  const d = new Decbuf(unhex(`${minInt64}${maxInt64}ffffffffffffffffff01`));
  assert.equal(d.varint(), -(2 ** 63));
  assert.equal(d.varint(), 2 ** 63);
  assert.equal(d.uvarint(), 2 ** 64); // MaxUint64, nearest double
  assert.equal(d.err(), null);
});

test("fixed-width big-endian integers and floats", () => {
  const e = new Encbuf(16);
  e.putByte(0xab);
  e.putBE16(0x1234);
  e.putBE32(0x85bd40dd);
  e.putBE64(2 ** 53 - 1);
  e.putBE64Int(-2);
  e.putBE64Float(1.5);
  assert.equal(hex(e.get()), "ab123485bd40dd001fffffffffffff" + "fffffffffffffffe" + "3ff8000000000000");
  const d = new Decbuf(e.get());
  assert.deepEqual(
    [d.byte(), d.be16(), d.be32(), d.be64(), d.be64Int(), d.be64Float()],
    [0xab, 0x1234, 0x85bd40dd, 2 ** 53 - 1, -2, 1.5],
  );
  assert.equal(d.err(), null);
  assert.equal(d.remaining(), 0);
});

test("be64Int covers the signed range and saturates", () => {
  for (const n of [0, 1, -1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, 1_700_000_000_123, -(2 ** 53 - 1), 2 ** 53 - 1]) {
    const e = new Encbuf();
    e.putBE64Int(n);
    assert.equal(new Decbuf(e.get()).be64Int(), n, `${n}`);
  }
  const e = new Encbuf();
  e.putBE64Int(Number.NEGATIVE_INFINITY);
  e.putBE64Int(Number.POSITIVE_INFINITY);
  assert.equal(hex(e.get()), "8000000000000000" + "7fffffffffffffff");
});

test("float bits are preserved, NaN payloads included", () => {
  // Values go straight from floatFromBits into the writer: a plain JS array would quiet the signalling NaN.
  const e = new Encbuf();
  e.putBE64Float(floatFromBits(0x7ff00000, 2));
  e.putBE64Float(floatFromBits(0x7ff80000, 1));
  e.putBE64Float(-0);
  e.putBE64Float(Number.POSITIVE_INFINITY);
  assert.equal(hex(e.get()), "7ff0000000000002" + "7ff8000000000001" + "8000000000000000" + "7ff0000000000000");
  const d = new Decbuf(e.get());
  const back = new Encbuf();
  for (let i = 0; i < 4; i++) back.putBE64Float(d.be64Float());
  assert.equal(hex(back.get()), hex(e.get()));
});

test("strings and byte slices with uvarint lengths", () => {
  const e = new Encbuf(16);
  const strs = ["", "__name__", "héllo wörld", "日本語", "😀 emoji", "x".repeat(300)];
  for (const s of strs) e.putUvarintStr(s);
  e.putUvarintBytes(Uint8Array.of(1, 2, 3));
  e.putString("ab");
  e.putBytes(Uint8Array.of(9));
  const d = new Decbuf(e.get());
  for (const s of strs) assert.equal(d.uvarintStr(), s);
  assert.deepEqual([...d.uvarintBytes()], [1, 2, 3]);
  assert.deepEqual([...d.bytes(3)], [0x61, 0x62, 9]);
  assert.equal(d.err(), null);
  assert.equal(hex(new Encbuf().get()), "");
  const one = new Encbuf();
  one.putUvarintStr("é");
  assert.equal(hex(one.get()), "02c3a9");
});

test("growth keeps earlier bytes and reset reuses the buffer", () => {
  const e = new Encbuf(16);
  for (let i = 0; i < 5000; i++) e.putBE32(i);
  assert.equal(e.length, 20000);
  const d = new Decbuf(e.get());
  for (let i = 0; i < 5000; i++) assert.equal(d.be32(), i);
  e.reset();
  assert.equal(e.length, 0);
  e.putByte(7);
  assert.deepEqual([...e.get()], [7]);
});

test("decbuf errors are sticky and reads after them return zero values", () => {
  const cases: { name: string; bytes: string; read: (d: Decbuf) => unknown; err: string }[] = [
    { name: "byte past end", bytes: "", read: (d) => d.byte(), err: INVALID_SIZE },
    { name: "be16 short", bytes: "01", read: (d) => d.be16(), err: INVALID_SIZE },
    { name: "be32 short", bytes: "010203", read: (d) => d.be32(), err: INVALID_SIZE },
    { name: "be64 short", bytes: "01020304050607", read: (d) => d.be64(), err: INVALID_SIZE },
    { name: "be64 unsafe", bytes: "0020000000000000", read: (d) => d.be64(), err: UNSAFE_INTEGER },
    { name: "uvarint cut", bytes: "8080", read: (d) => d.uvarint(), err: INVALID_SIZE },
    { name: "varint cut", bytes: "ff", read: (d) => d.varint(), err: INVALID_SIZE },
    { name: "uvarint 11 bytes", bytes: "ffffffffffffffffff02", read: (d) => d.uvarint(), err: VARINT_OVERFLOW },
    { name: "string too long", bytes: "0561", read: (d) => d.uvarintStr(), err: INVALID_SIZE },
    { name: "bytes too long", bytes: "0561", read: (d) => d.uvarintBytes(), err: INVALID_SIZE },
    { name: "skip too far", bytes: "00", read: (d) => d.skip(2), err: INVALID_SIZE },
  ];
  for (const c of cases) {
    const d = new Decbuf(unhex(`${c.bytes}`));
    c.read(d);
    assert.equal(d.err(), c.err, c.name);
    assert.equal(d.byte(), 0, c.name);
    assert.equal(d.uvarintStr(), "", c.name);
    assert.equal(d.bytes(0).length, 0, c.name);
    assert.equal(d.err(), c.err, `${c.name}: first error kept`);
  }
});

test("decbuf honours start and end and reports offsets", () => {
  const buf = unhex("ff 0102 0304 ff");
  const d = new Decbuf(buf, 1, 5);
  assert.equal(d.offset, 1);
  assert.equal(d.be16(), 0x0102);
  assert.equal(d.offset, 3);
  assert.equal(d.remaining(), 2);
  assert.equal(d.be32(), 0);
  assert.equal(d.err(), INVALID_SIZE);
  assert.equal(new Decbuf(buf, 4, 2).err(), INVALID_SIZE);
  assert.equal(new Decbuf(buf, 0, 99).err(), INVALID_SIZE);
});

test("consumePadding skips zeros but leaves the last byte", () => {
  const d = new Decbuf(unhex("00000007"));
  d.consumePadding();
  assert.equal(d.byte(), 7);
  const z = new Decbuf(unhex("0000"));
  z.consumePadding();
  assert.equal(z.remaining(), 1);
  assert.equal(z.err(), null);
});
