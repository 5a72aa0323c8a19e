// Reads an index file in Prometheus's format v2 (or v3, which reads the same; layout: docs/format/index.md).
// The whole file is read into one Buffer at open (the index is small next to the chunks, and a Buffer is what an
// mmap would give us); strings are decoded on demand. Opening checks the header, the TOC, the symbol table and the
// postings offset table with their CRC32Cs; series entries and postings lists are checked when they are read, and
// `verify()` checks every section. Problems raise ContrailError `corruption` naming the section.

import { readFileSync } from "node:fs";
import { ContrailError } from "../../model/errors.ts";
import { compareStrings, Labels } from "../../model/labels.ts";
import { crc32c } from "../encoding/crc32c.ts";
import { Decbuf } from "../encoding/decbuf.ts";
import { type IndexReaderLike, merge, type PostingsList } from "./postings.ts";
import { type ChunkMeta, INDEX_MAGIC, SERIES_ALIGN, TOC_LEN, type Toc } from "./writer.ts";

/** One series as stored: its labels and the metadata of its chunks in time order. */
export interface SeriesEntry {
  readonly labels: Labels;
  readonly chunks: ChunkMeta[];
}

// Every SAMPLE-th symbol's offset (and every SAMPLE-th value per label name) is kept to bound memory; lookups walk
// at most SAMPLE - 1 entries from the nearest sample.
const SAMPLE = 32;

/** Where one label name's entries sit in the postings offset table. */
export interface NameEntries {
  readonly count: number;
  /** Values of entries 0, SAMPLE, 2*SAMPLE, ... */
  readonly sampleValues: string[];
  /** File offsets of those entries. */
  readonly sampleOffsets: number[];
}

/** An index file's bytes and the tables an IndexReader builds at open, as plain (transferable) data. */
export interface PreparedIndex {
  /** The whole file, in an ArrayBuffer of its own. */
  readonly bytes: Uint8Array;
  /** Offsets of every SAMPLE-th symbol. */
  readonly symbolOffsets: readonly number[];
  readonly numSymbols: number;
  /** Per label name, its entries in the postings offset table. */
  readonly names: readonly (readonly [string, NameEntries])[];
}

/** A read-only view of one index file. Everything it returns is a fresh copy owned by the caller. */
export class IndexReader implements IndexReaderLike {
  /** Format version from the header (2 or 3). */
  readonly version: number;
  /** Section offsets from the table of contents. */
  readonly toc: Toc;
  private readonly b: Uint8Array;
  private readonly symbolOffsets: number[] = [];
  private readonly numSymbols: number;
  private readonly names: Map<string, NameEntries> = new Map();
  /** Symbols decoded so far, by ref (sized to the symbol table when it has been read). */
  private symbolCache: (string | undefined)[] = [];
  private seriesSectionEnd = -1;

  /** Reads and checks the index file at `path`. */
  static open(path: string): IndexReader {
    return new IndexReader(readFileSync(path), path);
  }

  /**
   * Reads and checks the index file at `path` and returns what a reader needs as plain data: the file's bytes (in
   * an ArrayBuffer of their own, so they can be transferred) and the sampled tables. For a thread that prepares
   * an index another thread then opens with `fromPrepared` without reading or scanning anything.
   */
  static prepare(path: string): PreparedIndex {
    const file = readFileSync(path);
    const bytes = new Uint8Array(file.length);
    bytes.set(file);
    const r = new IndexReader(bytes, path);
    return { bytes, symbolOffsets: r.symbolOffsets, numSymbols: r.numSymbols, names: [...r.names] };
  }

  /** A reader over a prepared index (checked when it was prepared); takes ownership of `p.bytes`. */
  static fromPrepared(p: PreparedIndex, what = "index"): IndexReader {
    return new IndexReader(p.bytes, what, p);
  }

  /**
   * Checks and wraps index bytes; `b` must not change while the reader is used. `what` names it in errors. With
   * `tables` (from `prepare`, over the same bytes) only the header and TOC are checked again.
   */
  constructor(b: Uint8Array, what = "index", tables?: PreparedIndex) {
    this.b = b;
    const fail = (msg: string): never => {
      throw new ContrailError("corruption", `${what}: ${msg}`);
    };
    if (b.length < 5) fail(`file too short (${b.length} bytes) for the header`);
    const d = new Decbuf(b, 0, 5);
    const magic = d.be32();
    if (magic !== INDEX_MAGIC) fail(`invalid magic number ${magic.toString(16)}`);
    this.version = d.byte();
    if (this.version !== 2 && this.version !== 3) fail(`unsupported index format version ${this.version}`);
    this.toc = readToc(b, fail);
    if (tables !== undefined) {
      this.symbolOffsets = tables.symbolOffsets.slice();
      this.numSymbols = tables.numSymbols;
      this.symbolCache = new Array(this.numSymbols);
      this.names = new Map(tables.names);
      return;
    }

    // Symbol table.
    const sym = this.section(this.toc.symbols, "symbol table", fail);
    this.numSymbols = sym.be32();
    for (let i = 0; i < this.numSymbols && sym.err() === null; i++) {
      if (i % SAMPLE === 0) this.symbolOffsets.push(sym.offset);
      sym.uvarintBytes();
    }
    if (sym.err() !== null) fail(`symbol table: ${sym.err()}`);
    this.symbolCache = new Array(this.numSymbols);

    // Postings offset table: keep every SAMPLE-th value of each name, plus each name's entry count.
    const po = this.section(this.toc.postingsTable, "postings offset table", fail);
    const n = po.be32();
    let cur: { name: string; count: number; sampleValues: string[]; sampleOffsets: number[] } | null = null;
    let lastName: Uint8Array | null = null;
    for (let i = 0; i < n && po.err() === null; i++) {
      const at = po.offset;
      const keys = po.uvarint();
      if (keys !== 2) fail(`postings offset table: entry ${i} has ${keys} keys, expected 2`);
      const nameBytes = po.uvarintBytes();
      const valueBytes = po.uvarintBytes();
      po.uvarint();
      if (po.err() !== null) break;
      if (lastName === null || !sameBytes(nameBytes, lastName)) {
        const name = Buffer.from(nameBytes.buffer, nameBytes.byteOffset, nameBytes.length).toString("utf8");
        cur = { name, count: 0, sampleValues: [], sampleOffsets: [] };
        if (this.names.has(name)) fail(`postings offset table: label ${JSON.stringify(name)} is not contiguous`);
        this.names.set(name, cur);
        lastName = nameBytes;
      }
      if (cur !== null) {
        if (cur.count % SAMPLE === 0) {
          cur.sampleValues.push(utf8(valueBytes));
          cur.sampleOffsets.push(at);
        }
        cur.count++;
      }
    }
    if (po.err() !== null) fail(`postings offset table: ${po.err()}`);
  }

  /** Number of symbols in the symbol table. */
  get symbolCount(): number {
    return this.numSymbols;
  }

  /**
   * The symbol with index `ref`; throws `corruption` for an unknown ref. Decoded symbols are kept (at most one
   * string per symbol of the index, which is in memory anyway), so the series of every query share their strings
   * instead of decoding them again.
   */
  symbol(ref: number): string {
    const cached = this.symbolCache[ref];
    if (cached !== undefined) return cached;
    if (!(ref >= 0 && ref < this.numSymbols)) {
      throw new ContrailError("corruption", `index: unknown symbol ref ${ref} (${this.numSymbols} symbols)`);
    }
    const d = new Decbuf(this.b, this.symbolOffsets[Math.floor(ref / SAMPLE)]);
    for (let i = ref % SAMPLE; i > 0; i--) d.skip(d.uvarint());
    const s = d.uvarintStr();
    if (d.err() !== null) throw new ContrailError("corruption", `index: symbol ${ref}: ${d.err()}`);
    this.symbolCache[ref] = s;
    return s;
  }

  /** All symbols in order. */
  *symbols(): IterableIterator<string> {
    const d = new Decbuf(this.b, this.toc.symbols + 8);
    for (let i = 0; i < this.numSymbols; i++) yield d.uvarintStr();
  }

  /** Sorted label names of all series (the all-postings key's empty name excluded). */
  labelNames(): string[] {
    const out: string[] = [];
    for (const name of this.names.keys()) if (name !== "") out.push(name);
    return out.sort(compareStrings);
  }

  /** Sorted values of label `name`; empty when no series has it (always for the empty name). */
  labelValues(name: string): string[] {
    const e = this.names.get(name);
    if (e === undefined || name === "") return [];
    const out: string[] = [];
    this.walkEntries(e, 0, (value) => {
      out.push(value);
      return true;
    });
    return out;
  }

  /** Sorted union of the postings of `name="v"` for each v in `values`; unknown values contribute nothing. */
  postings(name: string, values: readonly string[]): PostingsList {
    const e = this.names.get(name);
    if (e === undefined || values.length === 0) return [];
    const wanted = [...new Set(values)].sort(compareStrings);
    const lists: PostingsList[] = [];
    let w = 0;
    while (w < wanted.length) {
      // Walk the block of entries that starts at the last sample at or before the wanted value.
      const s = lastSampleAtOrBefore(e.sampleValues, wanted[w]);
      if (s < 0) {
        w++;
        continue;
      }
      const stop = Math.min((s + 1) * SAMPLE, e.count);
      this.walkEntries(e, s, (value, postingsOff, index) => {
        while (w < wanted.length && compareStrings(wanted[w], value) < 0) w++;
        if (w === wanted.length) return false;
        if (wanted[w] === value) {
          lists.push(this.readPostings(postingsOff, name, value));
          w++;
        }
        return w < wanted.length && index + 1 < stop;
      });
      // Wanted values that sort before the next block's first value would have been in this block: absent.
      const next = s + 1 < e.sampleValues.length ? e.sampleValues[s + 1] : null;
      while (w < wanted.length && (next === null || compareStrings(wanted[w], next) < 0)) w++;
    }
    return lists.length === 1 ? lists[0] : merge(lists);
  }

  /** Every series ref in order (the all-postings list). */
  allPostings(): PostingsList {
    return this.postings("", [""]);
  }

  /** The series with ref `ref`; throws `not_found` when no entry starts there, `corruption` on a bad entry. */
  series(ref: number): SeriesEntry {
    const off = ref * SERIES_ALIGN;
    if (!Number.isInteger(ref) || off < this.toc.series || off >= this.seriesEnd()) {
      throw new ContrailError("not_found", `index: series ref ${ref} is outside the series section`);
    }
    const d = new Decbuf(this.b, off);
    const len = d.uvarint();
    const bodyStart = d.offset;
    d.skip(len);
    const crc = d.be32();
    if (d.err() !== null) throw new ContrailError("corruption", `index: series ${ref}: ${d.err()}`);
    if (crc32c(this.b, bodyStart, bodyStart + len) !== crc) {
      throw new ContrailError("corruption", `index: series ${ref}: checksum mismatch`);
    }
    return this.decodeSeries(ref, bodyStart, bodyStart + len);
  }

  /** Every series in `Labels.compare` order (= ref order), with its ref. */
  *sortedSeries(): IterableIterator<SeriesEntry & { readonly ref: number }> {
    const all = this.allPostings();
    for (let i = 0; i < all.length; i++) yield { ref: all[i], ...this.series(all[i]) };
  }

  /**
   * Checks every section: each series entry and postings list against its CRC32C, the label indices and label
   * offset table when present, and that the all-postings list names exactly the series entries, in order.
   */
  verify(): void {
    const refs: number[] = [];
    const end = this.seriesEnd();
    if (this.toc.series > 0) {
      const d = new Decbuf(this.b, this.toc.series, end);
      while (d.remaining() > 0) {
        d.consumePadding();
        if (d.err() === null && d.offset % SERIES_ALIGN !== 0) {
          throw new ContrailError("corruption", `index: series entry at ${d.offset} is not 16-byte aligned`);
        }
        const ref = d.offset / SERIES_ALIGN;
        d.skip(d.uvarint() + 4);
        if (d.err() !== null) throw new ContrailError("corruption", `index: series section at ${ref * 16}: ${d.err()}`);
        this.series(ref);
        refs.push(ref);
      }
    }
    const all = this.allPostings();
    if (all.length !== refs.length || refs.some((r, i) => all[i] !== r)) {
      throw new ContrailError("corruption", "index: the all-postings list does not match the series section");
    }
    for (const name of this.names.keys()) {
      const e = this.names.get(name)!;
      this.walkEntries(e, 0, (value, off) => {
        this.readPostings(off, name, value);
        return true;
      });
    }
    if (this.toc.labelIndicesTable !== this.toc.postingsTable && this.toc.labelIndicesTable !== 0) {
      this.verifyLabelIndices();
    }
  }

  // The label offset table and each label index it points to.
  private verifyLabelIndices(): void {
    const fail = (msg: string): never => {
      throw new ContrailError("corruption", `index: ${msg}`);
    };
    const t = this.section(this.toc.labelIndicesTable, "label offset table", fail);
    const n = t.be32();
    for (let i = 0; i < n && t.err() === null; i++) {
      const keys = t.uvarint();
      for (let k = 0; k < keys; k++) t.uvarintBytes();
      const off = t.uvarint();
      if (t.err() !== null) break;
      const li = this.section(off, `label index ${i}`, fail);
      const names = li.be32();
      const entries = li.be32();
      li.skip(entries * 4);
      if (li.err() !== null || names === 0 || li.remaining() !== 0) fail(`label index ${i}: malformed`);
    }
    if (t.err() !== null) fail(`label offset table: ${t.err()}`);
  }

  // A `len <4b> | body | crc <4b>` section at `off`: checks the CRC and returns a decoder over the body.
  private section(off: number, what: string, fail: (msg: string) => never): Decbuf {
    const d = new Decbuf(this.b, off);
    const len = d.be32();
    if (d.err() !== null || d.remaining() < len + 4) fail(`${what}: section at ${off} runs past the end of the file`);
    const bodyStart = off + 4;
    const stored = new Decbuf(this.b, bodyStart + len, bodyStart + len + 4).be32();
    if (crc32c(this.b, bodyStart, bodyStart + len) !== stored) fail(`${what}: checksum mismatch`);
    return new Decbuf(this.b, bodyStart, bodyStart + len);
  }

  // Walks the offset table entries of one label from sample `s`: calls fn(value, postingsOffset, index) until it
  // returns false or the label's entries end.
  private walkEntries(e: NameEntries, s: number, fn: (value: string, off: number, index: number) => boolean): void {
    const tableEnd = this.toc.postingsTable + 4 + new Decbuf(this.b, this.toc.postingsTable).be32();
    const d = new Decbuf(this.b, e.sampleOffsets[s], tableEnd);
    for (let i = s * SAMPLE; i < e.count; i++) {
      d.uvarint();
      d.uvarintBytes();
      const value = d.uvarintStr();
      const off = d.uvarint();
      if (d.err() !== null) throw new ContrailError("corruption", `index: postings offset table: ${d.err()}`);
      if (!fn(value, off, i)) return;
    }
  }

  private readPostings(off: number, name: string, value: string): Uint32Array {
    const what = `postings for ${name}=${JSON.stringify(value)}`;
    const d = this.section(off, what, (msg) => {
      throw new ContrailError("corruption", `index: ${msg}`);
    });
    const n = d.be32();
    if (d.remaining() !== n * 4)
      throw new ContrailError("corruption", `index: ${what}: ${n} entries do not fit the list`);
    const out = new Uint32Array(n);
    let p = d.offset;
    const b = this.b;
    for (let i = 0; i < n; i++, p += 4) out[i] = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
    return out;
  }

  // End of the series section: where the next section starts (the series section itself when it is empty).
  private seriesEnd(): number {
    if (this.seriesSectionEnd >= 0) return this.seriesSectionEnd;
    const t = this.toc;
    const candidates = [t.labelIndices, t.postings, t.labelIndicesTable, t.postingsTable].filter((x) => x >= t.series);
    this.seriesSectionEnd = candidates.length === 0 ? this.b.length - TOC_LEN : Math.min(...candidates);
    return this.seriesSectionEnd;
  }

  private decodeSeries(ref: number, start: number, end: number): SeriesEntry {
    const d = new Decbuf(this.b, start, end);
    const k = d.uvarint();
    const flat: string[] = new Array(2 * k);
    for (let i = 0; i < k; i++) {
      const nameRef = d.uvarint();
      const valueRef = d.uvarint();
      if (d.err() !== null) break;
      flat[2 * i] = this.symbol(nameRef);
      flat[2 * i + 1] = this.symbol(valueRef);
    }
    const n = d.uvarint();
    const chunks: ChunkMeta[] = [];
    if (n > 0) {
      let mint = d.varint();
      let maxt = mint + d.uvarint();
      let cref = d.uvarint();
      chunks.push({ mint, maxt, ref: cref });
      for (let i = 1; i < n && d.err() === null; i++) {
        mint = maxt + d.uvarint();
        maxt = mint + d.uvarint();
        cref += d.varint();
        chunks.push({ mint, maxt, ref: cref });
      }
    }
    if (d.err() !== null) throw new ContrailError("corruption", `index: series ${ref}: ${d.err()}`);
    for (let i = 2; i < flat.length; i += 2) {
      if (compareStrings(flat[i - 2], flat[i]) >= 0) {
        throw new ContrailError("corruption", `index: series ${ref}: labels are not sorted`);
      }
    }
    return { labels: Labels.fromSortedUnchecked(flat), chunks };
  }
}

function readToc(b: Uint8Array, fail: (msg: string) => never): Toc {
  if (b.length < 5 + TOC_LEN) fail(`file too short (${b.length} bytes) for a table of contents`);
  const start = b.length - TOC_LEN;
  const d = new Decbuf(b, start, b.length);
  const toc = {
    symbols: d.be64(),
    series: d.be64(),
    labelIndices: d.be64(),
    labelIndicesTable: d.be64(),
    postings: d.be64(),
    postingsTable: d.be64(),
  };
  const crc = d.be32();
  if (crc32c(b, start, start + TOC_LEN - 4) !== crc) fail("table of contents: checksum mismatch");
  if (d.err() !== null) fail(`table of contents: ${d.err()}`);
  for (const [k, v] of Object.entries(toc)) {
    if (v > start) fail(`table of contents: ${k} offset ${v} is past the end of the file`);
  }
  return toc;
}

function lastSampleAtOrBefore(samples: readonly string[], v: string): number {
  let lo = 0;
  let hi = samples.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareStrings(samples[mid], v) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function utf8(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString("utf8");
}
