// Turns a body into the one string the parsers scan. Bodies are decoded once as a whole (fast, and later slices
// of it cost no copy); invalid UTF-8 becomes U+FFFD as in any decoder, and the positions of those replacements
// are kept so the parsers can reject invalid UTF-8 where Prometheus does (label values, help texts) and accept
// it where Prometheus does (comments).

import { Buffer, isUtf8 } from "node:buffer";

const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** A decoded body: its text and the sorted UTF-16 offsets of replacement characters that stand for invalid
 * UTF-8 (null when the body was valid). */
export interface BodyText {
  readonly text: string;
  readonly invalid: readonly number[] | null;
}

/** Decodes `body` (bytes or an already decoded string). */
export function bodyText(body: Uint8Array | string): BodyText {
  if (typeof body === "string") return { text: body, invalid: null };
  const text = decoder.decode(body);
  if (isUtf8(body)) return { text, invalid: null };
  return { text, invalid: invalidOffsets(body) };
}

/**
 * The UTF-16 offsets at which a WHATWG UTF-8 decoder (TextDecoder) emits U+FFFD for invalid input: one per
 * maximal invalid subsequence, as the Encoding Standard specifies.
 */
export function invalidOffsets(bytes: Uint8Array): number[] {
  const out: number[] = [];
  const n = bytes.length;
  let units = 0;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      units++;
      i++;
      continue;
    }
    let need: number;
    let lower = 0x80;
    let upper = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lower = 0xa0;
      if (b === 0xed) upper = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lower = 0x90;
      if (b === 0xf4) upper = 0x8f;
    } else {
      out.push(units++);
      i++;
      continue;
    }
    let j = i + 1;
    let ok = true;
    for (let k = 0; k < need; k++, j++) {
      const c = j < n ? bytes[j] : -1;
      if (c < lower || c > upper) {
        ok = false;
        break;
      }
      lower = 0x80;
      upper = 0xbf;
    }
    if (!ok) {
      // The bytes consumed so far become one U+FFFD; the offending byte is read again as a new start.
      out.push(units++);
      i = j;
      continue;
    }
    units += need === 3 ? 2 : 1;
    i = j;
  }
  return out;
}

/** True when some offset in the sorted `invalid` list lies in [start, end). */
export function hasInvalid(invalid: readonly number[] | null, start: number, end: number): boolean {
  if (invalid === null) return false;
  let lo = 0;
  let hi = invalid.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (invalid[mid] < start) lo = mid + 1;
    else hi = mid;
  }
  return lo < invalid.length && invalid[lo] < end;
}

/** A copy of `s` that shares no memory with the string it was sliced from (V8 keeps slices as views of their
 * parent, which would keep a whole scrape body alive for as long as one key is cached). */
export function detachString(s: string): string {
  return Buffer.from(s, "utf8").toString("utf8");
}
