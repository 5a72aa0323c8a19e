// The actions of `contrail tsdb import` (backfill an org's database from OpenMetrics text with timestamps, like
// `promtool tsdb create-blocks-from openmetrics`), `contrail tsdb analyze` (series, label and chunk statistics of
// one block, like `promtool tsdb analyze`) and `contrail tsdb dump` (every sample, like `promtool tsdb dump`; see
// tsdb-dump.ts). Their options are in commands/tsdb.ts.

import { existsSync, mkdirSync } from "node:fs";
import { ContrailError, isContrailError } from "../model/errors.ts";
import { compareStrings, METRIC_NAME } from "../model/labels.ts";
import { tenantDir, validateOrgId } from "../storage/tenants.ts";
import { Block, listBlockDirs } from "../tsdb/block.ts";
import { numSamples } from "../tsdb/chunkenc/xor.ts";
import { type BackfillProgress, backfillOpenMetrics } from "../tsdb/import/backfill.ts";
import { ChunkedWriter, type DumpOptions, dumpDatabase, dumpRange } from "./tsdb-dump.ts";

async function run(fn: () => Promise<void> | void): Promise<void> {
  try {
    await fn();
  } catch (err) {
    // Expected failures (bad input, missing files) are reported; anything else is a bug and propagates.
    const expected = isContrailError(err) || typeof (err as NodeJS.ErrnoException).code === "string";
    if (!expected) throw err;
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

/** The action of `contrail tsdb import`: backfills blocks from `file`; bad input becomes a message and exit code 1. */
export function tsdbImportCommand(file: string, opts: { data: string; org: string }): Promise<void> {
  return run(() => importFile(file, opts));
}

/** Options of `contrail tsdb analyze`, as the command line gives them. */
export interface AnalyzeOptions {
  readonly data: string;
  readonly org: string;
  readonly block?: string;
  /** How many items each list shows: a non-negative integer, as text. */
  readonly limit: string;
}

/** The action of `contrail tsdb analyze`: prints the report of one block; a missing one is exit code 1. */
export function tsdbAnalyzeCommand(opts: AnalyzeOptions): Promise<void> {
  return run(() => analyze(opts));
}

/** The action of `contrail tsdb dump`: prints the samples of the database in `dir` to stdout; bad options, a
 * missing directory or unreadable data become a message and exit code 1. A reader that goes away ends it quietly. */
export function tsdbDumpCommand(dir: string, opts: DumpOptions): Promise<void> {
  return run(async () => {
    const range = dumpRange(opts);
    // The stream's own errors reach the writer's flush; this listener only keeps them from being unhandled.
    const ignore = () => {};
    process.stdout.on("error", ignore);
    try {
      const warnings = await dumpDatabase(dir, range, new ChunkedWriter(process.stdout));
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EPIPE") throw err;
    } finally {
      process.stdout.off("error", ignore);
    }
  });
}

async function importFile(file: string, opts: { data: string; org: string }): Promise<void> {
  const dest = tenantDir(opts.data, validateOrgId(opts.org));
  mkdirSync(dest, { recursive: true });
  const bar = process.stderr.isTTY ? new ProgressBar() : null;
  let result: Awaited<ReturnType<typeof backfillOpenMetrics>>;
  try {
    result = await backfillOpenMetrics({ file, dest, onProgress: bar === null ? undefined : (p) => bar.update(p) });
  } finally {
    bar?.done();
  }
  const rows = result.blocks.map((m) => [
    m.ulid,
    String(m.minTime),
    String(m.maxTime),
    goDuration(m.maxTime - m.minTime),
    String(m.stats.numSamples ?? 0),
    String(m.stats.numChunks ?? 0),
    String(m.stats.numSeries ?? 0),
  ]);
  printTable(["BLOCK ULID", "MIN TIME", "MAX TIME", "DURATION", "NUM SAMPLES", "NUM CHUNKS", "NUM SERIES"], rows);
  process.stderr.write(
    `imported ${result.samples} samples from ${result.lines} lines into ${result.blocks.length} blocks of org ${opts.org}\n`,
  );
  if (result.maxTime !== null && result.maxTime > Date.now() - 3 * 60 * 60 * 1000) {
    process.stderr.write(
      "warning: the data reaches into the last 3 hours, which a running server's head may still hold; " +
        "overlapping samples are merged at the next compaction\n",
    );
  }
}

/** A one-line progress bar redrawn on stderr (only used when stderr is a terminal). */
class ProgressBar {
  private lastDraw = 0;

  update(p: BackfillProgress): void {
    const now = Date.now();
    if (now - this.lastDraw < 100 && p.bytesRead < p.totalBytes) return;
    this.lastDraw = now;
    const frac = p.totalBytes > 0 ? Math.min(1, p.bytesRead / p.totalBytes) : 1;
    const width = 30;
    const full = Math.round(frac * width);
    const what = p.pass === 1 ? "checking" : "writing ";
    process.stderr.write(
      `\r${what} [${"#".repeat(full)}${" ".repeat(width - full)}] ${(frac * 100).toFixed(0).padStart(3)}% ` +
        `pass ${p.pass}/${p.passes}, ${p.blocks} blocks`,
    );
  }

  done(): void {
    process.stderr.write("\r\x1b[K");
  }
}

function analyze(opts: AnalyzeOptions): void {
  const limit = Number(opts.limit);
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new ContrailError("bad_data", "--limit must be a non-negative integer");
  }
  const dir = tenantDir(opts.data, validateOrgId(opts.org));
  if (!existsSync(dir)) throw new ContrailError("not_found", `org ${opts.org} has no database in ${dir}`);
  const dirs = listBlockDirs(dir);
  if (dirs.length === 0) throw new ContrailError("not_found", `org ${opts.org} has no blocks in ${dir}`);
  const want = opts.block?.toUpperCase();
  const path = want === undefined ? dirs[dirs.length - 1] : dirs.find((d) => d.endsWith(want));
  if (path === undefined) throw new ContrailError("not_found", `no block ${opts.block} in ${dir}`);
  const block = Block.open(path);
  try {
    for (const line of analyzeBlock(block, limit)) process.stdout.write(`${line}\n`);
  } finally {
    block.close();
  }
}

/** The report of `tsdb analyze` for `block`, as lines; lists show the top `limit` entries. */
export function analyzeBlock(block: Block, limit: number): string[] {
  const meta = block.meta;
  const span = meta.maxTime - meta.minTime;
  const ix = block.index();
  const out: string[] = [];
  out.push(`Block ID: ${meta.ulid}`);
  out.push(`Duration: ${goDuration(span)}`);
  out.push(`Total Series: ${meta.stats.numSeries ?? 0}`);
  const names = ix.labelNames();
  out.push(`Label names: ${names.length}`);

  const uncoveredByName = new Map<string, number>();
  const uncoveredByPair = new Map<string, number>();
  const pairCount = new Map<string, number>();
  let entries = 0;
  let chunks = 0;
  let samples = 0;
  let chunkBytes = 0;
  let chunkSpan = 0;
  const all = ix.allPostings();
  for (let i = 0; i < all.length; i++) {
    const s = ix.series(all[i]);
    if (s === null || s.chunks.length === 0) continue;
    const uncovered = span - (s.chunks[s.chunks.length - 1].maxt - s.chunks[0].mint);
    s.labels.forEach((name, value) => {
      const key = `${name}=${value}`;
      uncoveredByName.set(name, (uncoveredByName.get(name) ?? 0) + uncovered);
      uncoveredByPair.set(key, (uncoveredByPair.get(key) ?? 0) + uncovered);
      pairCount.set(key, (pairCount.get(key) ?? 0) + 1);
      entries++;
    });
    for (const c of s.chunks) {
      const data = block.chunks().chunk(c).data;
      chunks++;
      samples += numSamples(data);
      chunkBytes += data.length;
      chunkSpan += c.maxt - c.mint;
    }
  }
  out.push(`Postings (unique label pairs): ${uncoveredByPair.size}`);
  out.push(`Postings entries (total label pairs): ${entries}`);
  const perSpan = (m: Map<string, number>) => [...m].map(([k, v]) => [k, span > 0 ? Math.floor(v / span) : 0] as const);
  section(out, "Label pairs most involved in churning:", perSpan(uncoveredByPair), limit);
  section(out, "Label names most involved in churning:", perSpan(uncoveredByName), limit);
  section(out, "Most common label pairs:", [...pairCount], limit);
  section(
    out,
    "Label names with highest cumulative label value length:",
    names.map((n) => [n, ix.labelValues(n).reduce((sum, v) => sum + Buffer.byteLength(v), 0)] as const),
    limit,
  );
  section(
    out,
    "Highest cardinality labels:",
    names.map((n) => [n, ix.labelValues(n).length] as const),
    limit,
  );
  section(
    out,
    "Highest cardinality metric names:",
    ix.labelValues(METRIC_NAME).map((v) => [v, ix.postings(METRIC_NAME, [v]).length] as const),
    limit,
  );
  out.push("", "Chunks:");
  out.push(`total chunks: ${chunks}`);
  out.push(`total samples: ${samples}`);
  out.push(`average samples per chunk: ${chunks > 0 ? (samples / chunks).toFixed(1) : "0"}`);
  out.push(`average chunk size: ${chunks > 0 ? (chunkBytes / chunks).toFixed(1) : "0"} bytes`);
  out.push(`average bytes per sample: ${samples > 0 ? (chunkBytes / samples).toFixed(2) : "0"}`);
  out.push(`average chunk duration: ${goDuration(chunks > 0 ? Math.round(chunkSpan / chunks) : 0)}`);
  out.push(`block size on disk: ${block.size} bytes`);
  return out;
}

function section(out: string[], title: string, rows: readonly (readonly [string, number])[], limit: number): void {
  out.push("", title);
  const sorted = rows.slice().sort((a, b) => b[1] - a[1] || compareStrings(a[0], b[0]));
  for (const [k, v] of sorted.slice(0, limit)) out.push(`${v} ${k}`);
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)) + 2);
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("");
  process.stdout.write(`${fmt(header)}\n`);
  for (const r of rows) process.stdout.write(`${fmt(r)}\n`);
}

/** A millisecond duration as Go's time.Duration prints it ("2h0m0s", "1m30.5s", "250ms", "0s"). */
export function goDuration(ms: number): string {
  if (ms === 0) return "0s";
  const neg = ms < 0;
  let rest = Math.abs(ms);
  let out: string;
  if (rest < 1000) {
    out = `${rest}ms`;
  } else {
    const h = Math.floor(rest / 3_600_000);
    rest -= h * 3_600_000;
    const m = Math.floor(rest / 60_000);
    rest -= m * 60_000;
    const s = Math.floor(rest / 1000);
    const frac = rest - s * 1000;
    const sec = frac === 0 ? `${s}` : `${s}.${String(frac).padStart(3, "0").replace(/0+$/, "")}`;
    out = h > 0 ? `${h}h${m}m${sec}s` : m > 0 ? `${m}m${sec}s` : `${sec}s`;
  }
  return neg ? `-${out}` : out;
}
