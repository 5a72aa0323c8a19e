// Cutting a chunk down to a time range, whatever its encoding: the head hands out chunks narrowed to a reader's
// range (and to the samples present when their metadata was taken).

import { ContrailError } from "../../model/errors.ts";
import { type Chunk, Encoding } from "./chunk.ts";
import { FloatHistogramAppender, FloatHistogramIterator } from "./float-histogram.ts";
import { IntHistogramAppender, IntHistogramIterator } from "./histogram.ts";
import { COUNTER_RESET_MASK, type CounterResetHeader, HISTOGRAM_FLAG_POS } from "./histogram-layout.ts";
import { XorAppender, XorIterator } from "./xor.ts";

/** A new chunk of the same encoding holding the samples of `c` within [mint, maxt] ms. */
export function trimChunk(c: Chunk, mint: number, maxt: number): Chunk {
  if (c.encoding === Encoding.xor) return trimXor(c.data, mint, maxt);
  if (c.encoding !== Encoding.histogram && c.encoding !== Encoding.floatHistogram) {
    throw new ContrailError("corruption", `head chunk: unexpected encoding ${c.encoding}`);
  }
  const float = c.encoding === Encoding.floatHistogram;
  const it = float ? new FloatHistogramIterator(c.data) : new IntHistogramIterator(c.data);
  const app = float ? new FloatHistogramAppender() : new IntHistogramAppender();
  if (it.seek(mint) !== "none") {
    do {
      if (it.atT() > maxt) break;
      app.appendRaw(it.atT(), it.atH());
    } while (it.next() !== "none");
  }
  const e = it.err();
  if (e !== null) throw new ContrailError("corruption", `head chunk: ${e}`);
  app.header = (c.data[HISTOGRAM_FLAG_POS] & COUNTER_RESET_MASK) as CounterResetHeader;
  return { encoding: c.encoding, data: app.bytes().slice() };
}

/** A new XOR chunk holding the samples of `data` within [mint, maxt] ms. */
function trimXor(data: Uint8Array, mint: number, maxt: number): Chunk {
  const it = new XorIterator(data);
  const app = new XorAppender({ capacity: data.length });
  if (it.seek(mint) !== "none") {
    do {
      if (it.atT() > maxt) break;
      app.append(it.atT(), it.atV());
    } while (it.next() !== "none");
  }
  const e = it.err();
  if (e !== null) throw new ContrailError("corruption", `head chunk: ${e}`);
  return { encoding: Encoding.xor, data: app.bytes().slice() };
}
