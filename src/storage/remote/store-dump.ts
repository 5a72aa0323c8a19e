// For the receiver's tests: what a store holds, as text to compare.

import { newMatcher } from "../../model/matcher.ts";
import { float64Bits } from "../../model/sample.ts";
import type { Queryable } from "../interface.ts";

/** Every series of `q` with its samples (times in ms, value bits), in label order, as text. */
export function dumpSeries(q: Queryable): string[] {
  const r = q.querier(0, Number.MAX_SAFE_INTEGER);
  const out: string[] = [];
  for (const s of r.select([newMatcher("=~", "__name__", ".+")], { start: 0, end: Number.MAX_SAFE_INTEGER })) {
    const it = s.iterator();
    const samples: string[] = [];
    while (it.next() !== "none") samples.push(`${it.atT()}:${float64Bits(it.atV()).join(".")}`);
    out.push(`${s.labels.toString()} ${samples.join(" ")}`);
  }
  r.close();
  return out.sort();
}
