// The labels an org's alert carries once it leaves the org: its own labels, the platform's external labels where
// the alert has no label of that name, and `org`, which always wins. Also Alertmanager's alert fingerprint, which
// receivers use to tell alerts apart across notifications.

import type { OutgoingAlert } from "../types.ts";

/** The label that names the org an alert came from. */
export const ORG_LABEL = "org";

/**
 * The labels of `alert` as sent outside its org: `external` labels fill in names the alert lacks, then `org` is set
 * to `org`, overriding an alert label of that name. Returns a new object; keys sorted by name.
 */
export function labelsForDelivery(
  org: string,
  labels: Readonly<Record<string, string>>,
  external: Readonly<Record<string, string>>,
): Record<string, string> {
  const merged: Record<string, string> = { ...external, ...labels, [ORG_LABEL]: org };
  const out: Record<string, string> = {};
  for (const name of Object.keys(merged).sort()) out[name] = merged[name];
  return out;
}

/** `alert` with its labels as {@link labelsForDelivery} makes them. */
export function alertForDelivery(
  org: string,
  alert: OutgoingAlert,
  external: Readonly<Record<string, string>>,
): OutgoingAlert {
  return { ...alert, labels: labelsForDelivery(org, alert.labels, external) };
}

/** 64-bit FNV-1a offset basis, as high and low 32-bit halves. */
const FNV_OFFSET_HI = 0xcbf29ce4;
const FNV_OFFSET_LO = 0x84222325;
/** The 64-bit FNV prime is 2^40 + 0x1b3: the low part multiplies, the 2^40 part shifts the low half up by 8 bits. */
const FNV_PRIME_LOW = 0x1b3;
const TWO_32 = 0x1_0000_0000;
/** Alertmanager separates names and values with this byte when it hashes a label set. */
const SEPARATOR = 0xff;

/** The running 64-bit hash as two 32-bit halves; reused by every call (fingerprint is synchronous). */
const state = { hi: 0, lo: 0 };

/** Mixes one byte into {@link state}: xor into the low byte, then multiply by the FNV prime modulo 2^64. */
function mixByte(b: number): void {
  const lo = (state.lo ^ b) >>> 0;
  const low = lo * FNV_PRIME_LOW;
  state.hi = (state.hi * FNV_PRIME_LOW + Math.floor(low / TWO_32) + ((lo << 8) >>> 0)) >>> 0;
  state.lo = low >>> 0;
}

/** Mixes the UTF-8 bytes of `s`, encoded on the fly (no buffer per string). */
function mixString(s: string): void {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      mixByte(c);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
      }
    }
    // A lone surrogate becomes U+FFFD, as TextEncoder (and Go's string conversion) would make it.
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x800) {
      mixByte(0xc0 | (c >> 6));
    } else if (c < 0x10000) {
      mixByte(0xe0 | (c >> 12));
      mixByte(0x80 | ((c >> 6) & 0x3f));
    } else {
      mixByte(0xf0 | (c >> 18));
      mixByte(0x80 | ((c >> 12) & 0x3f));
      mixByte(0x80 | ((c >> 6) & 0x3f));
    }
    mixByte(0x80 | (c & 0x3f));
  }
}

/**
 * Alertmanager's fingerprint of a label set: 64-bit FNV-1a over name, 0xff, value, 0xff of each label in name
 * order, as 16 lower-case hex digits. Computed in two 32-bit halves (every intermediate below 2^53, so exact).
 */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  state.hi = FNV_OFFSET_HI;
  state.lo = FNV_OFFSET_LO;
  for (const name of Object.keys(labels).sort()) {
    mixString(name);
    mixByte(SEPARATOR);
    mixString(labels[name]);
    mixByte(SEPARATOR);
  }
  return state.hi.toString(16).padStart(8, "0") + state.lo.toString(16).padStart(8, "0");
}
