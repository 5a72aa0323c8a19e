import assert from "node:assert/strict";
import { test } from "node:test";
import { bitString, boolean, oid, sequence, smallInteger, time, tlv, unsignedInteger, utf8String } from "./der.ts";

const hex = (b: Buffer): string => b.toString("hex");

test("encodings of known values (X.690 examples and RFC 5280 OIDs)", () => {
  const cases: [Buffer, string][] = [
    [oid("2.5.4.3"), "0603550403"],
    [oid("1.2.840.10045.4.3.2"), "06082a8648ce3d040302"],
    [smallInteger(0), "020100"],
    [smallInteger(2), "020102"],
    [smallInteger(128), "02020080"],
    [unsignedInteger(Buffer.from([0, 0, 0x7f])), "02017f"],
    [unsignedInteger(Buffer.from([0xff])), "020200ff"],
    [boolean(true), "0101ff"],
    [bitString(Buffer.from([0x80]), 7), "03020780"],
    [utf8String("é"), "0c02c3a9"],
    [sequence(), "3000"],
    [time(new Date("2026-12-05T21:15:49.999Z")), `170d${Buffer.from("261205211549Z").toString("hex")}`],
    [time(new Date("2050-01-01T00:00:00Z")), `180f${Buffer.from("20500101000000Z").toString("hex")}`],
  ];
  for (const [got, want] of cases) assert.equal(hex(got), want);
});

test("lengths from 128 on use the long form with the fewest octets", () => {
  assert.equal(hex(tlv(0x04, Buffer.alloc(127)).subarray(0, 2)), "047f");
  assert.equal(hex(tlv(0x04, Buffer.alloc(128)).subarray(0, 3)), "048180");
  assert.equal(hex(tlv(0x04, Buffer.alloc(300)).subarray(0, 4)), "0482012c");
  assert.equal(tlv(0x04, Buffer.alloc(70_000)).length, 70_000 + 5);
});

test("a malformed OID is refused", () => {
  assert.throws(() => oid("2"), /bad OID/);
  assert.throws(() => oid("1.x.3"), /bad OID/);
});
