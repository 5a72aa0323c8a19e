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

/**
 * Alertmanager's fingerprint of a label set: 64-bit FNV-1a over name, 0xff, value, 0xff of each label in name
 * order, as 16 lower-case hex digits. Computed in two 32-bit halves (every intermediate below 2^53, so exact).
 */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  let hi = FNV_OFFSET_HI;
  let lo = FNV_OFFSET_LO;
  const mix = (b: number) => {
    lo = (lo ^ b) >>> 0;
    const low = lo * FNV_PRIME_LOW;
    const carry = Math.floor(low / TWO_32);
    hi = (hi * FNV_PRIME_LOW + carry + ((lo << 8) >>> 0)) >>> 0;
    lo = low >>> 0;
  };
  const encoder = new TextEncoder();
  for (const name of Object.keys(labels).sort()) {
    for (const b of encoder.encode(name)) mix(b);
    mix(SEPARATOR);
    for (const b of encoder.encode(labels[name])) mix(b);
    mix(SEPARATOR);
  }
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}
