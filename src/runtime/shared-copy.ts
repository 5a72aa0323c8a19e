// Bytes to hand to another thread without detaching anything here: copied once into a SharedArrayBuffer, which a
// post then shares instead of copying again (docs/architecture.md, "Query threads never detach a buffer").

/** A copy of `bytes` in a new SharedArrayBuffer of exactly their length; the caller owns it. */
export function sharedCopy(bytes: Uint8Array): Uint8Array<SharedArrayBuffer> {
  const copy = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  copy.set(bytes);
  return copy;
}
