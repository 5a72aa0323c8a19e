// Byte strings in JS strings. Go strings may hold any bytes, and PromQL escapes such as "\xff" make them; a JS
// string cannot. We carry each byte of an invalid UTF-8 sequence as the lone surrogate U+DC00 + byte (the
// "surrogate escape" convention, U+DC80..U+DCFF), so such a string stays distinguishable from valid text: label
// name checks reject it, and quoting prints the byte back as `\xNN`.

/** The code point a stray byte >= 0x80 is carried as. */
export function escapedByte(b: number): number {
  return 0xdc00 + b;
}

/** True when `u` (a UTF-16 unit) carries a stray byte. */
export function isEscapedByte(u: number): boolean {
  return u >= 0xdc80 && u <= 0xdcff;
}

/** Decodes UTF-8 like Go reads it: valid sequences become their characters, each invalid byte an escaped byte. */
export function decodeUtf8Escaped(bytes: ArrayLike<number>): string {
  let out = "";
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    let need = 0;
    let cp = 0;
    let min = 0;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      cp = b & 0x1f;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      cp = b & 0x0f;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      cp = b & 0x07;
      min = 0x10000;
    }
    let ok = need > 0 && i + need < n;
    for (let k = 1; ok && k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    if (ok && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp < 0xe000)) {
      out += String.fromCodePoint(cp);
      i += need + 1;
    } else {
      out += String.fromCharCode(escapedByte(b));
      i++;
    }
  }
  return out;
}
