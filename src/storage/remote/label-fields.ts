// For the remote-write tests: a series' label fields as a request encodes them, byte for byte.

import { ProtoWriter } from "../../model/protobuf.ts";

/**
 * The Label messages (field 1 of a TimeSeries) of `pairs` in the order given, empty names and values written out
 * (unlike the encoder, which leaves them out), so tests can build any key bytes. A fresh array the caller owns.
 */
export function labelFields(pairs: readonly (readonly [string, string])[]): Uint8Array {
  const w = new ProtoWriter();
  for (const [name, value] of pairs) {
    const m = w.begin(1);
    w.tag(1, 2);
    w.string(name);
    w.tag(2, 2);
    w.string(value);
    w.end(m);
  }
  return w.finish().slice();
}
