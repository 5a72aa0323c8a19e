// Synchronous file helpers for writing and re-reading the index: an append buffer that tracks the logical file
// position (so sections can be aligned and patched), and a sliding read window for decoding variable-length
// records written earlier, without loading the whole file.

import { closeSync, fsyncSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { Decbuf, INVALID_SIZE } from "../encoding/decbuf.ts";

const ZEROS = new Uint8Array(16);

/** Appends to a new (truncated) file through a buffer. The file is open read-write so it can be read back. */
export class BufferedFileWriter {
  /** Path of the file. */
  readonly path: string;
  private fd: number;
  private readonly buf: Uint8Array;
  private used = 0;
  private position = 0;

  /** Creates or truncates `path`; `bufferSize` bytes are gathered before each write system call. */
  constructor(path: string, bufferSize = 1 << 20) {
    this.path = path;
    this.fd = openSync(path, "w+", 0o666);
    this.buf = new Uint8Array(bufferSize);
  }

  /** Logical size of the file: bytes written so far, buffered ones included. */
  get pos(): number {
    return this.position;
  }

  /** The file descriptor, for reading back flushed bytes. */
  get descriptor(): number {
    return this.fd;
  }

  /** Appends `b` (copied). */
  write(b: Uint8Array): void {
    if (b.length > this.buf.length - this.used) {
      this.flush();
      if (b.length > this.buf.length) {
        writeAll(this.fd, b, this.position);
        this.position += b.length;
        return;
      }
    }
    this.buf.set(b, this.used);
    this.used += b.length;
    this.position += b.length;
  }

  /** Appends zero bytes until the file size is a multiple of `align` (at most 16). */
  addPadding(align: number): void {
    const rem = this.position % align;
    if (rem !== 0) this.write(ZEROS.subarray(0, align - rem));
  }

  /** Overwrites bytes already written at `at` (flushes first). */
  writeAt(b: Uint8Array, at: number): void {
    this.flush();
    writeAll(this.fd, b, at);
  }

  /** Writes the buffered bytes to the file. */
  flush(): void {
    if (this.used === 0) return;
    writeAll(this.fd, this.buf.subarray(0, this.used), this.position - this.used);
    this.used = 0;
  }

  /** Flushes, optionally fsyncs, and closes. Idempotent. */
  close(sync: boolean): void {
    if (this.fd < 0) return;
    try {
      this.flush();
      if (sync) fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  /** Closes without flushing and deletes the file. */
  discard(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
    rmSync(this.path, { force: true });
  }
}

function writeAll(fd: number, b: Uint8Array, at: number): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off, at + off);
}

/** Reads `[start, end)` of a file in pieces and hands each piece to `fn` (a view valid only during the call). */
export function forEachPiece(fd: number, start: number, end: number, fn: (piece: Uint8Array) => void): void {
  const buf = new Uint8Array(Math.min(1 << 20, Math.max(end - start, 1)));
  let pos = start;
  while (pos < end) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
    if (n <= 0) throw new Error(`short read at ${pos}`);
    fn(buf.subarray(0, n));
    pos += n;
  }
}

/** The result of decoding one record through a FileWindow. */
export interface Decoded<T> {
  readonly value: T;
  /** File position just after the record. */
  readonly next: number;
  /** The decoder's sticky error, or null. */
  readonly err: string | null;
}

/** A movable read window over `[0, end)` of an open file, for decoding records of unknown length in order. */
export class FileWindow {
  private buf: Uint8Array;
  private start = 0;
  private len = 0;
  private readonly fd: number;
  private readonly end: number;

  /** `end`: file position the window never reads past; `size`: initial window size in bytes. */
  constructor(fd: number, end: number, size = 1 << 20) {
    this.fd = fd;
    this.end = end;
    this.buf = new Uint8Array(size);
  }

  /**
   * Decodes the record at file position `pos` with `fn`, which reads from the Decbuf it is given and must have no
   * other effect: when the record runs past the loaded bytes the window grows and `fn` runs again. Views `fn`
   * returns alias the window and are valid until the next call.
   */
  decode<T>(pos: number, fn: (d: Decbuf) => T): Decoded<T> {
    let want = 4096;
    for (;;) {
      const idx = this.load(pos, want);
      const d = new Decbuf(this.buf, idx, this.len);
      const value = fn(d);
      const err = d.err();
      const loadedAll = this.start + this.len >= this.end;
      if (err === INVALID_SIZE && !loadedAll) {
        want = Math.max(want * 2, this.len - idx + 1);
        continue;
      }
      return { value, next: this.start + d.offset, err };
    }
  }

  // Makes file bytes [pos, pos + n) (clamped to `end`) present in the window; returns the index of `pos`.
  private load(pos: number, n: number): number {
    const stop = Math.min(pos + n, this.end);
    if (pos >= this.start && stop <= this.start + this.len) return pos - this.start;
    const need = stop - pos;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      this.buf = new Uint8Array(size);
    }
    const want = Math.min(this.buf.length, this.end - pos);
    let got = 0;
    while (got < want) {
      const r = readSync(this.fd, this.buf, got, want - got, pos + got);
      if (r <= 0) break;
      got += r;
    }
    this.start = pos;
    this.len = got;
    return 0;
  }
}
