// A small DER writer (ITU-T X.690, distinguished encoding): the few ASN.1 types an X.509 certificate needs, each a
// function returning the complete encoding (tag, length, contents) as a new Buffer. Values are built bottom-up, so a
// SEQUENCE is written once its members are known. Certificates are issued rarely (once per host name and month), so
// clarity wins over avoiding copies here.

/** Universal tags used below. */
const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Context-specific class bits; constructed adds 0x20. */
const CONTEXT = 0x80;
const CONSTRUCTED = 0x20;

/** UTCTime covers 1950–2049 (RFC 5280 4.1.2.5); later dates use GeneralizedTime. */
const UTC_TIME_LAST_YEAR = 2049;

/** The length octets of DER: short form below 128, else the long form with the fewest bytes. */
function lengthOctets(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** A complete encoding of `tag` over the concatenated `contents`. */
export function tlv(tag: number, ...contents: readonly Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), lengthOctets(body.length), body]);
}

/** SEQUENCE of already encoded members, in order. */
export function sequence(...members: readonly Uint8Array[]): Buffer {
  return tlv(TAG.sequence, ...members);
}

/** SET OF already encoded members; DER wants them sorted, so callers pass one member (all a Name needs here). */
export function set(member: Uint8Array): Buffer {
  return tlv(TAG.set, member);
}

/** INTEGER from unsigned big-endian bytes: leading zeros dropped, one 0x00 added when the top bit is set. */
export function unsignedInteger(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  if (trimmed.length === 0) return tlv(TAG.integer, Buffer.from([0]));
  return (trimmed[0] & 0x80) !== 0 ? tlv(TAG.integer, Buffer.from([0]), trimmed) : tlv(TAG.integer, trimmed);
}

/** INTEGER of a small non-negative number (0 ≤ n < 2^31). */
export function smallInteger(n: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(n);
  return unsignedInteger(bytes);
}

/** BOOLEAN (DER: 0xff for true). */
export function boolean(value: boolean): Buffer {
  return tlv(TAG.boolean, Buffer.from([value ? 0xff : 0]));
}

/** OBJECT IDENTIFIER from its dotted form, e.g. "2.5.4.3". */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split(".").map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) throw new Error(`bad OID ${dotted}`);
  const out: number[] = [];
  const values = [arcs[0] * 40 + arcs[1], ...arcs.slice(2)];
  for (const v of values) {
    // Base 128, most significant group first, every group but the last with the high bit set.
    const groups: number[] = [v & 0x7f];
    for (let n = Math.floor(v / 128); n > 0; n = Math.floor(n / 128)) groups.unshift((n & 0x7f) | 0x80);
    out.push(...groups);
  }
  return tlv(TAG.oid, Buffer.from(out));
}

/** UTF8String. */
export function utf8String(text: string): Buffer {
  return tlv(TAG.utf8String, Buffer.from(text, "utf8"));
}

/** BIT STRING whose last `unusedBits` (0–7) bits are padding. */
export function bitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  return tlv(TAG.bitString, Buffer.from([unusedBits]), bytes);
}

/** OCTET STRING. */
export function octetString(bytes: Uint8Array): Buffer {
  return tlv(TAG.octetString, bytes);
}

/** A certificate time, whole seconds in UTC: UTCTime up to 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  if (date.getUTCFullYear() <= UTC_TIME_LAST_YEAR) return tlv(TAG.utcTime, Buffer.from(digits.slice(2), "ascii"));
  return tlv(TAG.generalizedTime, Buffer.from(digits, "ascii"));
}

/** `[n] EXPLICIT`: a context-specific constructed wrapper around one encoded value. */
export function explicit(n: number, inner: Uint8Array): Buffer {
  return tlv(CONTEXT | CONSTRUCTED | n, inner);
}

/** `[n] IMPLICIT` of a primitive type (such as IA5String or OCTET STRING): its contents under the context tag. */
export function implicitPrimitive(n: number, contents: Uint8Array): Buffer {
  return tlv(CONTEXT | n, contents);
}

/** IA5String contents, for use under an implicit tag (a dNSName); refuses characters outside ASCII. */
export function ia5Contents(text: string): Buffer {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new Error(`not an IA5 string: ${JSON.stringify(text)}`);
  return Buffer.from(text, "ascii");
}
