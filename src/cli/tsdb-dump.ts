// `contrail tsdb dump`: every sample of a database directory, one line each, as newer promtool's `tsdb dump` prints
// them (Prometheus 2.48 on; Debian's promtool 2.42 prints float samples only): `{labels} value t` for a float, Go's
// `%g` of the value and the time in ms, and for a native histogram Prometheus's histogram form in place of the value,
// `{count:N, sum:S, [a,b]:n, (a,b]:n ...}` (only non-empty buckets, negative ones first; an integer histogram's
// counts as whole numbers). The directory is opened read-only (tsdb/read-only.ts), so a running server keeps it.
// Lines go out through a chunked writer that waits for the stream to drain: memory stays bounded however large the
// dump.

import { once } from "node:events";
import type { Writable } from "node:stream";
import { ContrailError } from "../model/errors.ts";
import type { Matcher } from "../model/matcher.ts";
import { newMatcher } from "../model/matcher.ts";
import { formatG } from "../promql/engine/format.ts";
import { histogramString } from "../promql/engine/functions/native-histogram.ts";
import { parseExpr } from "../promql/parser/index.ts";
import type { Querier, Series } from "../storage/interface.ts";
import { ReadOnlyDb } from "../tsdb/read-only.ts";

/** Bytes of text gathered before they are handed to the stream. */
const CHUNK_CHARS = 64 * 1024;
/** The bounds of the time range when none is given, ms: Go's int64 range, as promtool's defaults. */
const MIN_TIME = -(2 ** 63);
const MAX_TIME = 2 ** 63;

/** What to dump: samples in [mint, maxt] ms (inclusive) of the series matching any of `matcherSets`. */
export interface DumpRange {
  readonly mint: number;
  readonly maxt: number;
  /** One matcher list per selector; the series matching any of them (each once). */
  readonly matcherSets: readonly (readonly Matcher[])[];
}

/** Options of `contrail tsdb dump` as the command line gives them. */
export interface DumpOptions {
  readonly minTime?: string;
  readonly maxTime?: string;
  readonly match?: readonly string[];
}

/** The range the command-line options ask for; throws bad_data naming the option that is not valid. */
export function dumpRange(opts: DumpOptions): DumpRange {
  const mint = opts.minTime === undefined ? MIN_TIME : timeOption("--min-time", opts.minTime);
  const maxt = opts.maxTime === undefined ? MAX_TIME : timeOption("--max-time", opts.maxTime);
  const match = opts.match ?? [];
  // No selector: every series (a name matching anything, which every series has).
  const matcherSets = match.length === 0 ? [[newMatcher("=~", "__name__", ".*")]] : match.map(selectorOption);
  return { mint, maxt, matcherSets };
}

function timeOption(name: string, text: string): number {
  if (!/^[+-]?\d+$/.test(text.trim())) {
    throw new ContrailError("bad_data", `${name} ${JSON.stringify(text)}: not a whole number of milliseconds`);
  }
  return Number(text);
}

function selectorOption(text: string): readonly Matcher[] {
  let expr: ReturnType<typeof parseExpr>;
  try {
    expr = parseExpr(text);
  } catch (err) {
    throw new ContrailError("bad_data", `--match ${JSON.stringify(text)}: ${(err as Error).message}`, { cause: err });
  }
  if (expr.kind !== "VectorSelector" || expr.originalOffset !== 0 || expr.timestamp !== null) {
    throw new ContrailError("bad_data", `--match ${JSON.stringify(text)}: not a series selector`);
  }
  return expr.matchers;
}

/**
 * Text for a stream in chunks of about CHUNK_CHARS: `line` gathers, `flush` hands the gathered text over and waits
 * for the stream to drain when its buffer is full. Rejects with the stream's error (EPIPE when a reader such as
 * `head` went away).
 */
export class ChunkedWriter {
  private readonly stream: Writable;
  private buf = "";

  /** A writer to `stream`, which the caller owns. */
  constructor(stream: Writable) {
    this.stream = stream;
  }

  /** Adds `text` and a newline; true when a chunk is full and `flush()` should be awaited. */
  line(text: string): boolean {
    this.buf += `${text}\n`;
    return this.buf.length >= CHUNK_CHARS;
  }

  /** Hands the gathered text to the stream; resolves once the stream can take more. */
  async flush(): Promise<void> {
    if (this.buf === "") return;
    const chunk = this.buf;
    this.buf = "";
    if (!this.stream.write(chunk)) await once(this.stream, "drain");
  }
}

/**
 * Writes the samples of `range` in the database directory `dir` to `out`, series by series in label order, each
 * series' samples in time order. Returns what reading the directory reported (a damaged WAL tail cut off in the
 * copy it replayed), for people.
 */
export async function dumpDatabase(dir: string, range: DumpRange, out: ChunkedWriter): Promise<readonly string[]> {
  const db = ReadOnlyDb.open(dir, { maxt: range.maxt });
  try {
    const querier = db.querier(range.mint, range.maxt);
    try {
      for (const s of selectAll(querier, range)) await dumpSeries(s, range, out);
      await out.flush();
    } finally {
      querier.close();
    }
    return db.warnings;
  } finally {
    db.close();
  }
}

// The series matching any matcher set, each once, in label order.
function selectAll(querier: Querier, range: DumpRange): Iterable<Series> {
  const hints = { start: range.mint, end: range.maxt };
  if (range.matcherSets.length === 1) return querier.select(range.matcherSets[0], hints);
  const byLabels = new Map<string, Series>();
  for (const ms of range.matcherSets) {
    for (const s of querier.select(ms, hints)) {
      const key = s.labels.toString();
      if (!byLabels.has(key)) byLabels.set(key, s);
    }
  }
  return [...byLabels.values()].sort((a, b) => a.labels.compare(b.labels));
}

// Writes the lines of one series, handing each full chunk to the stream.
async function dumpSeries(s: Series, range: DumpRange, out: ChunkedWriter): Promise<void> {
  const labels = s.labels.toString();
  const it = s.iterator();
  for (let k = it.next(); k !== "none"; k = it.next()) {
    const t = it.atT();
    if (t < range.mint) continue;
    if (t > range.maxt) break;
    const h = k === "histogram" ? it.atH?.() : undefined;
    const value = h !== undefined ? histogramString(h, h.integer) : formatG(it.atV());
    if (out.line(`${labels} ${value} ${t}`)) await out.flush();
  }
}
