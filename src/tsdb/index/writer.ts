// Writes a block's `index` file in Prometheus's index format v2 (layout: docs/format/index.md). The file streams to
// disk: in memory we keep the symbol table's strings, one 4-byte ref per series, per-name counters and the label
// offset table, as Prometheus does. Postings go to a temporary file first (the label indices precede them in the
// file), as do their offset-table entries; both are copied into place by `close()`.
//
// Order of calls: `addSymbol` for every string used in a label (sorted, unique), then `addSeries` in `Labels.compare`
// order, then optionally `addPostings` for every label pair in (name, value) order, then `close()`. When no postings
// are given, `close()` derives them from the series section, exactly as Prometheus does.

import { ContrailError } from "../../model/errors.ts";
import { compareStrings, type Labels } from "../../model/labels.ts";
import { crc32c } from "../encoding/crc32c.ts";
import type { Decbuf } from "../encoding/decbuf.ts";
import { Encbuf } from "../encoding/encbuf.ts";
import { BufferedFileWriter, FileWindow, forEachPiece } from "./file-io.ts";
import { lowerBoundU32 } from "./lower-bound.ts";
import type { PostingsList } from "./postings.ts";

/** First four bytes of every index file. */
export const INDEX_MAGIC = 0xbaaad700;
/** The index format version this writer produces. */
export const INDEX_FORMAT_V2 = 2;
/** Series entries start at multiples of this; a series ref is its entry's offset divided by it. */
export const SERIES_ALIGN = 16;
/** Size of the table of contents at the end of the file: six 8-byte offsets and a CRC32C. */
export const TOC_LEN = 6 * 8 + 4;

/** Where a chunk lives and the time range it covers (ms, both inclusive). `ref` is the chunk file reference. */
export interface ChunkMeta {
  readonly mint: number;
  readonly maxt: number;
  /** Segment index (0 for file 000001) << 32 | byte offset in that segment. */
  readonly ref: number;
}

/** Offsets of the index sections (0 when a section is absent). */
export interface Toc {
  readonly symbols: number;
  readonly series: number;
  readonly labelIndices: number;
  readonly labelIndicesTable: number;
  readonly postings: number;
  readonly postingsTable: number;
}

/** Writer options. */
export interface IndexWriterOptions {
  /**
   * Write the legacy label index sections and their offset table (default true), as Prometheus 2.x writers do.
   * No reader uses them any more; with false the file has Prometheus 3's layout, where both sections are empty.
   */
  readonly labelIndices?: boolean;
}

// Writing stages, in the order the file is laid out.
const Stage = { None: 0, Symbols: 1, Series: 2, Postings: 3, Done: 4 } as const;
type Stage = (typeof Stage)[keyof typeof Stage];

const STAGE_NAMES = ["none", "symbols", "series", "postings", "done"];

/** Streams one index file. Not reusable: after `close()` or `abort()` every call throws. */
export class IndexWriter {
  private readonly f: BufferedFileWriter;
  private readonly fP: BufferedFileWriter; // postings lists, offsets relative to this file
  private readonly fPO: BufferedFileWriter; // postings offset table entries, offsets into fP
  private readonly labelIndices: boolean;
  private stage: Stage = Stage.None;
  private closed = false;
  private readonly toc = {
    symbols: 0,
    series: 0,
    labelIndices: 0,
    labelIndicesTable: 0,
    postings: 0,
    postingsTable: 0,
  };
  private readonly buf1 = new Encbuf(1 << 16);
  private readonly buf2 = new Encbuf(1 << 16);

  private readonly symbols: string[] = [];
  private readonly symbolIndex = new Map<string, number>();

  private refs = new Uint32Array(1024); // series refs in order of addition (also the all-postings list)
  private numSeries = 0;
  private lastSeries: Labels | null = null;
  private lastChunkRef = 0;
  private readonly labelNameUses = new Map<string, number>();

  private numPostings = 0; // entries in the postings offset table
  private lastPair: [string, string] | null = null; // last pair given to writePosting
  private readonly givenPerName = new Map<string, number>(); // refs given through addPostings, per name
  private curIndexName: string | null = null; // label whose label-index values are being gathered
  private curIndexValues: number[] = [];
  private readonly labelIndexOffsets: { name: string; offset: number }[] = [];

  /** Creates (or truncates) the index at `path` and its temporary files `<path>_tmp_p`, `<path>_tmp_po`. */
  constructor(path: string, opts: IndexWriterOptions = {}) {
    this.labelIndices = opts.labelIndices ?? true;
    this.f = new BufferedFileWriter(path, 1 << 22);
    this.fP = new BufferedFileWriter(`${path}_tmp_p`, 1 << 20);
    this.fPO = new BufferedFileWriter(`${path}_tmp_po`, 1 << 20);
    this.buf1.putBE32(INDEX_MAGIC);
    this.buf1.putByte(INDEX_FORMAT_V2);
    this.f.write(this.buf1.get());
  }

  /** Number of series added so far. */
  get seriesCount(): number {
    return this.numSeries;
  }

  /** Adds the next symbol; symbols must be strictly increasing in UTF-8 byte order and come before any series. */
  addSymbol(sym: string): void {
    this.ensureStage(Stage.Symbols, "add a symbol");
    const n = this.symbols.length;
    if (n > 0 && compareStrings(sym, this.symbols[n - 1]) <= 0) {
      throw new ContrailError(
        "bad_data",
        `index: symbol ${JSON.stringify(sym)} out of order: symbols must be sorted and unique (previous ${JSON.stringify(this.symbols[n - 1])})`,
      );
    }
    this.symbolIndex.set(sym, n);
    this.symbols.push(sym);
    this.buf1.reset();
    this.buf1.putUvarintStr(sym);
    this.f.write(this.buf1.get());
  }

  /**
   * Adds the next series with its chunks and returns its series ref (entry offset / 16). Series must come in
   * strictly increasing `Labels.compare` order; every label string must be a symbol; chunk refs must not decrease
   * (within and across series), and chunks of a series must be ordered by time without overlap.
   */
  addSeries(labels: Labels, chunks: readonly ChunkMeta[]): number {
    this.ensureStage(Stage.Series, "add a series");
    const last = this.lastSeries;
    if (labels.isEmpty()) throw new ContrailError("bad_data", "index: series with no labels");
    if (last !== null && labels.compare(last) <= 0) {
      throw new ContrailError(
        "bad_data",
        `index: out-of-order series added with label set ${labels.toString()}, last label set ${last === null ? "{}" : last.toString()}`,
      );
    }
    let lastRef = this.lastChunkRef;
    let lastMaxt = 0;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i];
      if (!Number.isSafeInteger(c.mint) || !Number.isSafeInteger(c.maxt) || !Number.isSafeInteger(c.ref) || c.ref < 0) {
        throw new ContrailError("bad_data", `index: series ${labels.toString()}: chunk ${i} has a non-integer field`);
      }
      if (c.ref < lastRef) {
        throw new ContrailError("bad_data", `index: unsorted chunk reference: ${c.ref}, previous: ${lastRef}`);
      }
      if (i > 0 && c.mint <= lastMaxt) {
        throw new ContrailError(
          "bad_data",
          `index: chunk minT ${c.mint} is not higher than previous chunk maxT ${lastMaxt}`,
        );
      }
      if (c.maxt < c.mint) {
        throw new ContrailError("bad_data", `index: chunk maxT ${c.maxt} is less than minT ${c.mint}`);
      }
      lastRef = c.ref;
      lastMaxt = c.maxt;
    }

    const b = this.buf2;
    b.reset();
    b.putUvarint(labels.size);
    labels.forEach((name, value) => {
      b.putUvarint(this.symbolRef(name));
      b.putUvarint(this.symbolRef(value));
    });
    b.putUvarint(chunks.length);
    if (chunks.length > 0) {
      const c0 = chunks[0];
      b.putVarint(c0.mint);
      b.putUvarint(c0.maxt - c0.mint);
      b.putUvarint(c0.ref);
      let t0 = c0.maxt;
      let ref0 = c0.ref;
      for (let i = 1; i < chunks.length; i++) {
        const c = chunks[i];
        b.putUvarint(c.mint - t0);
        b.putUvarint(c.maxt - c.mint);
        b.putVarint(c.ref - ref0);
        t0 = c.maxt;
        ref0 = c.ref;
      }
    }

    this.f.addPadding(SERIES_ALIGN);
    const ref = this.f.pos / SERIES_ALIGN;
    if (ref > 0xffffffff) throw new ContrailError("too_large", "index: series section exceeds 64 GiB");
    this.buf1.reset();
    this.buf1.putUvarint(b.length);
    this.f.write(this.buf1.get());
    const body = b.get();
    this.f.write(body);
    this.buf1.reset();
    this.buf1.putBE32(crc32c(body));
    this.f.write(this.buf1.get());

    labels.forEach((name) => {
      this.labelNameUses.set(name, (this.labelNameUses.get(name) ?? 0) + 1);
    });
    if (this.numSeries === this.refs.length) {
      const next = new Uint32Array(this.refs.length * 2);
      next.set(this.refs);
      this.refs = next;
    }
    this.refs[this.numSeries++] = ref;
    this.lastSeries = labels;
    this.lastChunkRef = lastRef;
    return ref;
  }

  /**
   * Gives the postings of one label pair: the refs (as returned by `addSeries`, increasing) of the series that have
   * `name="value"`. Pairs must come in increasing (name, value) byte order, after every series, and cover every
   * label of every series; the all-postings list is written by the writer itself.
   */
  addPostings(name: string, value: string, refs: PostingsList): void {
    this.ensureStage(Stage.Postings, "add postings");
    if (name === "") throw new ContrailError("bad_data", "index: postings for an empty label name");
    this.symbolRef(name);
    this.symbolRef(value);
    if (refs.length === 0) {
      throw new ContrailError("bad_data", `index: empty postings list for ${name}=${JSON.stringify(value)}`);
    }
    const all = this.refs.subarray(0, this.numSeries);
    let at = 0;
    for (let i = 0; i < refs.length; i++) {
      const r = refs[i];
      if (i > 0 && !(refs[i - 1] < r)) {
        throw new ContrailError("bad_data", `index: postings for ${name}=${JSON.stringify(value)} are not increasing`);
      }
      at = lowerBoundU32(all, r, at);
      if (at === all.length || all[at] !== r) {
        throw new ContrailError(
          "bad_data",
          `index: postings for ${name}=${JSON.stringify(value)}: unknown series ref ${r}`,
        );
      }
    }
    this.givenPerName.set(name, (this.givenPerName.get(name) ?? 0) + refs.length);
    this.writePosting(name, value, refs);
  }

  /** Finishes the file: derives postings if none were given, writes the tables and TOC, fsyncs and closes. */
  close(): void {
    if (this.stage === Stage.Done) return;
    try {
      const derive = this.stage < Stage.Postings;
      this.ensureStage(Stage.Postings, "close");
      if (derive) this.derivePostings();
      else this.checkGivenPostings();
      this.finish();
      this.stage = Stage.Done;
      this.closed = true;
    } catch (err) {
      this.abort();
      throw err;
    }
  }

  /** Stops writing and deletes the index and its temporary files; does nothing after a successful `close()`. */
  abort(): void {
    if (this.closed) return;
    this.stage = Stage.Done;
    this.fP.discard();
    this.fPO.discard();
    this.f.discard();
  }

  private ensureStage(s: Stage, what: string): void {
    if (this.stage === s) return;
    if (this.stage > s) {
      throw new ContrailError(
        "bad_data",
        `index: cannot ${what} in stage ${STAGE_NAMES[this.stage]}: symbols, then series, then postings`,
      );
    }
    while (this.stage < s) {
      const next = (this.stage + 1) as Stage;
      switch (next) {
        case Stage.Symbols:
          this.toc.symbols = this.f.pos;
          this.f.write(new Uint8Array(8)); // length and count, patched when the table is complete
          break;
        case Stage.Series:
          this.finishSymbols();
          this.toc.series = this.f.pos;
          break;
        case Stage.Postings:
          this.toc.labelIndices = this.f.pos;
          this.toc.postings = this.f.pos;
          this.writePosting("", "", this.refs.subarray(0, this.numSeries));
          break;
        case Stage.None:
        case Stage.Done:
          break;
      }
      this.stage = next;
    }
  }

  private symbolRef(s: string): number {
    const i = this.symbolIndex.get(s);
    if (i === undefined)
      throw new ContrailError("bad_data", `index: symbol entry for ${JSON.stringify(s)} does not exist`);
    return i;
  }

  // Patches the symbol table's length and count, then appends the CRC32C of count + entries read back from disk.
  private finishSymbols(): void {
    const start = this.toc.symbols;
    const len = this.f.pos - start - 4;
    if (len > 0xffffffff) throw new ContrailError("too_large", "index: symbol table exceeds 4 GiB");
    this.buf1.reset();
    this.buf1.putBE32(len);
    this.buf1.putBE32(this.symbols.length);
    this.f.writeAt(this.buf1.get(), start);
    let crc = 0;
    forEachPiece(this.f.descriptor, start + 4, this.f.pos, (p) => {
      crc = crc32c(p, 0, p.length, crc);
    });
    this.buf1.reset();
    this.buf1.putBE32(crc);
    this.f.write(this.buf1.get());
  }

  // Appends one postings list to the temporary postings file and its offset entry to the temporary table file;
  // gathers the label index of `name` along the way.
  private writePosting(name: string, value: string, refs: PostingsList): void {
    const last = this.lastPair;
    if (last !== null) {
      const c = compareStrings(name, last[0]) || compareStrings(value, last[1]);
      if (c <= 0) {
        throw new ContrailError(
          "bad_data",
          `index: postings for ${name}=${JSON.stringify(value)} out of order: pairs must increase (previous ${last[0]}=${JSON.stringify(last[1])})`,
        );
      }
    }
    this.lastPair = [name, value];
    if (name !== "") this.gatherLabelIndex(name, value);

    this.fP.addPadding(4);
    const e = this.buf1;
    e.reset();
    e.putUvarint(2);
    e.putUvarintStr(name);
    e.putUvarintStr(value);
    e.putUvarint(this.fP.pos);
    this.fPO.write(e.get());
    this.numPostings++;

    const b = this.buf2;
    b.reset();
    b.putBE32(refs.length);
    for (let i = 0; i < refs.length; i++) b.putBE32(refs[i]);
    const body = b.get();
    e.reset();
    e.putBE32(body.length);
    this.fP.write(e.get());
    this.fP.write(body);
    e.reset();
    e.putBE32(crc32c(body));
    this.fP.write(e.get());
  }

  private gatherLabelIndex(name: string, value: string): void {
    if (!this.labelIndices) return;
    if (name !== this.curIndexName) {
      this.flushLabelIndex();
      this.curIndexName = name;
    }
    this.curIndexValues.push(this.symbolRef(value));
  }

  // Writes the label index of the label whose values were gathered (one name, its value symbols in order).
  private flushLabelIndex(): void {
    const name = this.curIndexName;
    if (name === null || this.curIndexValues.length === 0) return;
    this.f.addPadding(4);
    this.labelIndexOffsets.push({ name, offset: this.f.pos });
    const b = this.buf2;
    b.reset();
    b.putBE32(1); // number of names per entry
    b.putBE32(this.curIndexValues.length);
    for (const v of this.curIndexValues) b.putBE32(v);
    const body = b.get();
    this.buf1.reset();
    this.buf1.putBE32(body.length);
    this.f.write(this.buf1.get());
    this.f.write(body);
    this.buf1.reset();
    this.buf1.putBE32(crc32c(body));
    this.f.write(this.buf1.get());
    this.curIndexName = null;
    this.curIndexValues = [];
  }

  // Verifies that the postings given by the caller cover every label of every series.
  private checkGivenPostings(): void {
    for (const [name, uses] of this.labelNameUses) {
      const given = this.givenPerName.get(name) ?? 0;
      if (given !== uses) {
        throw new ContrailError(
          "bad_data",
          `index: postings for label ${JSON.stringify(name)} list ${given} series, but ${uses} series have the label`,
        );
      }
    }
    for (const name of this.givenPerName.keys()) {
      if (!this.labelNameUses.has(name)) {
        throw new ContrailError(
          "bad_data",
          `index: postings given for label ${JSON.stringify(name)} that no series has`,
        );
      }
    }
  }

  // Builds every label pair's postings by re-reading the series section, a batch of label names at a time so that
  // the refs held in memory never exceed one per series.
  private derivePostings(): void {
    const names = [...this.labelNameUses.keys()].sort(compareStrings);
    const window = new FileWindow(this.f.descriptor, this.toc.labelIndices);
    this.f.flush();
    let next = 0;
    while (next < names.length) {
      const batch = new Map<number, Map<number, number[]>>(); // name symbol -> value symbol -> refs
      let used = 0;
      while (next < names.length) {
        const uses = this.labelNameUses.get(names[next]) ?? 0;
        if (used > 0 && used + uses > this.numSeries) break;
        batch.set(this.symbolRef(names[next]), new Map());
        used += uses;
        next++;
      }
      for (let i = 0; i < this.numSeries; i++) {
        const ref = this.refs[i];
        const r = window.decode(ref * SERIES_ALIGN, (d) => readSeriesLabelRefs(d));
        if (r.err !== null) throw new ContrailError("internal", `index: re-reading series ${ref}: ${r.err}`);
        const pairs = r.value;
        for (let k = 0; k < pairs.length; k += 2) {
          const byValue = batch.get(pairs[k]);
          if (byValue === undefined) continue;
          const list = byValue.get(pairs[k + 1]);
          if (list === undefined) byValue.set(pairs[k + 1], [ref]);
          else list.push(ref);
        }
      }
      const nameRefs = [...batch.keys()].sort((a, b) => a - b);
      for (const nameRef of nameRefs) {
        const byValue = batch.get(nameRef)!;
        // Symbol refs are in string order, so sorting them numerically sorts the values.
        const valueRefs = [...byValue.keys()].sort((a, b) => a - b);
        for (const v of valueRefs) this.writePosting(this.symbols[nameRef], this.symbols[v], byValue.get(v)!);
      }
    }
  }

  // Label indices, postings, the two offset tables and the TOC.
  private finish(): void {
    this.flushLabelIndex();
    if (this.labelIndices) this.toc.postings = this.f.pos;
    this.f.addPadding(4);
    const postingsStart = this.f.pos;
    this.fP.flush();
    forEachPiece(this.fP.descriptor, 0, this.fP.pos, (p) => this.f.write(p));

    this.toc.labelIndicesTable = this.f.pos;
    if (this.labelIndices) this.writeLabelOffsetTable();
    this.toc.postingsTable = this.f.pos;
    this.writePostingsOffsetTable(postingsStart);

    const t = this.buf1;
    t.reset();
    t.putBE64(this.toc.symbols);
    t.putBE64(this.toc.series);
    t.putBE64(this.toc.labelIndices);
    t.putBE64(this.toc.labelIndicesTable);
    t.putBE64(this.toc.postings);
    t.putBE64(this.toc.postingsTable);
    t.putBE32(crc32c(t.get()));
    this.f.write(t.get());

    this.fP.discard();
    this.fPO.discard();
    this.f.close(true);
  }

  private writeLabelOffsetTable(): void {
    const b = this.buf2;
    b.reset();
    b.putBE32(this.labelIndexOffsets.length);
    for (const e of this.labelIndexOffsets) {
      b.putUvarint(1);
      b.putUvarintStr(e.name);
      b.putUvarint(e.offset);
    }
    const body = b.get();
    this.buf1.reset();
    this.buf1.putBE32(body.length);
    this.f.write(this.buf1.get());
    this.f.write(body);
    this.buf1.reset();
    this.buf1.putBE32(crc32c(body));
    this.f.write(this.buf1.get());
  }

  // Copies the temporary offset table, turning offsets into the temporary postings file into file offsets.
  private writePostingsOffsetTable(postingsStart: number): void {
    const start = this.f.pos;
    this.f.write(new Uint8Array(4)); // length, patched below
    const b = this.buf1;
    b.reset();
    b.putBE32(this.numPostings);
    let crc = crc32c(b.get());
    this.f.write(b.get());
    this.fPO.flush();
    const window = new FileWindow(this.fPO.descriptor, this.fPO.pos);
    let pos = 0;
    for (let i = 0; i < this.numPostings; i++) {
      const r = window.decode(pos, (d) => {
        b.reset();
        b.putUvarint(d.uvarint());
        b.putUvarintBytes(d.uvarintBytes());
        b.putUvarintBytes(d.uvarintBytes());
        b.putUvarint(d.uvarint() + postingsStart);
      });
      if (r.err !== null) throw new ContrailError("internal", `index: re-reading postings offset entry ${i}: ${r.err}`);
      pos = r.next;
      crc = crc32c(b.get(), 0, b.length, crc);
      this.f.write(b.get());
    }
    const len = this.f.pos - start - 4;
    if (len > 0xffffffff) throw new ContrailError("too_large", "index: postings offset table exceeds 4 GiB");
    b.reset();
    b.putBE32(len);
    this.f.writeAt(b.get(), start);
    b.reset();
    b.putBE32(crc);
    this.f.write(b.get());
  }
}

// Reads the label symbol refs of the series entry at the decoder's position (padding is never there: we decode at
// exact entry offsets): name0, value0, name1, value1, ...
function readSeriesLabelRefs(d: Decbuf): number[] {
  d.uvarint(); // entry length
  const n = d.uvarint();
  const out: number[] = new Array(2 * n);
  for (let i = 0; i < 2 * n; i++) out[i] = d.uvarint();
  return out;
}
