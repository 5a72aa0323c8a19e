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

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;
/** Alertmanager separates names and values with this byte when it hashes a label set. */
const SEPARATOR = 0xff;

/**
 * Alertmanager's fingerprint of a label set: 64-bit FNV-1a over name, 0xff, value, 0xff of each label in name
 * order, as 16 lower-case hex digits. Not on a hot path (once per alert per notification), so BigInt is fine.
 */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  let h = FNV_OFFSET;
  const encoder = new TextEncoder();
  const mix = (bytes: Uint8Array) => {
    for (const b of bytes) h = ((h ^ BigInt(b)) * FNV_PRIME) & MASK_64;
  };
  for (const name of Object.keys(labels).sort()) {
    mix(encoder.encode(name));
    mix(Uint8Array.of(SEPARATOR));
    mix(encoder.encode(labels[name]));
    mix(Uint8Array.of(SEPARATOR));
  }
  return h.toString(16).padStart(16, "0");
}
