// For tests only: a real database holding native histograms the way the query pool's tests need them, in a
// compacted block and a head of several chunks per series.

import { ContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { counterSequence, gaugeSequence, staleMarker } from "../../tsdb/chunkenc/histogram-testdata.ts";
import { Db } from "../../tsdb/db.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;
/** Scrape interval of the data, ms. */
export const TEST_SCRAPE_MS = 30_000;
/** The data spans [0, TEST_END_MS): the compacted block holds its first two hours, the head the rest. */
export const TEST_END_MS = 4 * HOUR;
/** When the integer histogram series has a stale marker (in the head; it comes back after), ms. */
const STALE_AT = 3 * HOUR - MIN;
/** Samples of the mixed series between its switches from histograms to floats and back. */
const MIXED_RUN = 50;

/**
 * Opens a database in `dir` (the caller closes it) with the series `m{kind=...}`: "int" and "float" counter
 * histograms (resets, new buckets, a schema change), "gauge" gauge histograms, "mixed" switching between integer
 * histograms and floats, and "plain" floats, every 30 s over [0, TEST_END_MS).
 */
export async function histogramTestDb(dir: string): Promise<Db> {
  const db = Db.open({ dir, autoCompact: false, walFsync: "never" });
  const app = db.appender();
  const ints = counterSequence(true).slice(0, -1);
  const floats = counterSequence(false).slice(0, -1);
  const gauges = gaugeSequence(false);
  const series = (kind: string) => Labels.fromStrings("__name__", "m", "kind", kind);
  let i = 0;
  for (let t = 0; t < TEST_END_MS; t += TEST_SCRAPE_MS, i++) {
    app.appendHistogram?.(series("int"), t, t === STALE_AT ? staleMarker(true) : ints[i % ints.length]);
    app.appendHistogram?.(series("float"), t, floats[i % floats.length]);
    app.appendHistogram?.(series("gauge"), t, gauges[i % gauges.length]);
    if (Math.floor(i / MIXED_RUN) % 2 === 0) app.appendHistogram?.(series("mixed"), t, ints[i % 3]);
    else app.append(series("mixed"), t, i);
    app.append(series("plain"), t, i * 2);
  }
  const rejected = app.commit().firstRejection;
  if (rejected !== null) throw new ContrailError("internal", `test data rejected: ${String(rejected)}`);
  await db.compact();
  if (db.blocks().length !== 1) throw new ContrailError("internal", "test data: expected one block and a head");
  return db;
}
