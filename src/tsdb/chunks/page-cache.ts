// Pieces of chunk files read once and kept, with the chunks already parsed and verified from them: what lets a
// query that reads the chunks of many series (which lie next to each other) make a few reads instead of a system
// call and a checksum per chunk, and lets the next query skip both. Used by the block and the head chunk readers.

import { readSync } from "node:fs";
import { ContrailError } from "../../model/errors.ts";
import type { Chunk } from "../chunkenc/chunk.ts";

/** Size of the pieces of files read and cached, bytes. */
export const PAGE_SIZE = 256 * 1024;
/** Pages a cache keeps by default (least recently used ones go first): 8 MiB. */
export const DEFAULT_MAX_PAGES = 32;
/** Pages per file a key can address (a file is at most 2^32 bytes). */
const PAGES_PER_FILE = 2 ** 32 / PAGE_SIZE;

/** A cached piece of a file and the chunks already read (and verified) from it, by offset in the page. */
export interface CachedPage {
  /** The page's bytes: PAGE_SIZE, or fewer at the end of a file. Never modified. */
  readonly bytes: Uint8Array;
  readonly chunks: PageChunks;
}

/**
 * The chunks read from one page, by offset in it: offsets kept sorted beside their chunks, and a look-up tried first
 * just after the last one found. A query reads the chunks of a page in the order they were written (series by
 * series), so the next chunk it asks for is almost always the next one held: one comparison, where a Map's hash
 * look-up missed the cache on a cold page's table (~180 ns a chunk under the query bench).
 */
export class PageChunks {
  private offsets: number[] = [];
  private chunks: Chunk[] = [];
  /** Index just after the last chunk found or added. */
  private next = 0;

  /** The chunk at offset `off` of the page, if read before. */
  get(off: number): Chunk | undefined {
    const offsets = this.offsets;
    let i = this.next;
    if (i >= offsets.length || offsets[i] !== off) i = this.find(off);
    if (i >= offsets.length || offsets[i] !== off) return undefined;
    this.next = i + 1;
    return this.chunks[i];
  }

  /** Keeps `chunk` as the chunk at offset `off` (not held yet). */
  set(off: number, chunk: Chunk): void {
    const offsets = this.offsets;
    const n = offsets.length;
    const i = n === 0 || offsets[n - 1] < off ? n : this.find(off);
    if (i === n) {
      offsets.push(off);
      this.chunks.push(chunk);
    } else {
      offsets.splice(i, 0, off);
      this.chunks.splice(i, 0, chunk);
    }
    this.next = i + 1;
  }

  // The index of the first offset not below `off`.
  private find(off: number): number {
    const offsets = this.offsets;
    let lo = 0;
    let hi = offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (offsets[mid] < off) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** An LRU cache of file pages. Single-threaded; chunks it holds are views into its pages and must not be modified. */
export class PageCache {
  private readonly maxPages: number;
  /** Pages by `file * PAGES_PER_FILE + page number`, least recently used first. */
  private readonly pages = new Map<number, CachedPage>();
  /** The most recently used page and its key: reading on in it needs no reordering (the common case). */
  private lastKey = -1;
  private lastPage: CachedPage | null = null;

  /** A cache of at most `maxPages` pages. */
  constructor(maxPages = DEFAULT_MAX_PAGES) {
    this.maxPages = maxPages;
  }

  /** Page `pageNo` of file `file` (a number the caller chooses, below 2^37) when cached, now the most recent. */
  get(file: number, pageNo: number): CachedPage | undefined {
    const key = file * PAGES_PER_FILE + pageNo;
    if (key === this.lastKey && this.lastPage !== null) return this.lastPage;
    const page = this.pages.get(key);
    if (page === undefined) return undefined;
    this.pages.delete(key);
    this.pages.set(key, page);
    this.lastKey = key;
    this.lastPage = page;
    return page;
  }

  /** Caches `bytes` (not copied, never modified after) as page `pageNo` of file `file`, dropping the oldest page. */
  put(file: number, pageNo: number, bytes: Uint8Array): CachedPage {
    const key = file * PAGES_PER_FILE + pageNo;
    this.pages.delete(key);
    if (this.pages.size >= this.maxPages) this.pages.delete(this.pages.keys().next().value as number);
    const page: CachedPage = { bytes, chunks: new PageChunks() };
    this.pages.set(key, page);
    this.lastKey = key;
    this.lastPage = page;
    return page;
  }

  /** Forgets the pages of `file` (deleted, or about to be reused). */
  dropFile(file: number): void {
    const lo = file * PAGES_PER_FILE;
    for (const key of [...this.pages.keys()]) if (key >= lo && key < lo + PAGES_PER_FILE) this.pages.delete(key);
    if (this.lastKey >= lo && this.lastKey < lo + PAGES_PER_FILE) this.forgetLast();
  }

  /** Forgets every page. */
  clear(): void {
    this.pages.clear();
    this.forgetLast();
  }

  private forgetLast(): void {
    this.lastKey = -1;
    this.lastPage = null;
  }
}

/**
 * Reads page `pageNo` of the open file `fd` of `size` bytes: PAGE_SIZE bytes, or what is left of the file. Throws
 * `corruption` naming `path` when the file ends early.
 */
export function readPage(fd: number, path: string, size: number, pageNo: number): Uint8Array {
  const start = pageNo * PAGE_SIZE;
  const bytes = new Uint8Array(Math.max(0, Math.min(PAGE_SIZE, size - start)));
  for (let got = 0; got < bytes.length; ) {
    const n = readSync(fd, bytes, got, bytes.length - got, start + got);
    if (n <= 0) throw new ContrailError("corruption", `${path}: short read at ${start + got}`);
    got += n;
  }
  return bytes;
}
