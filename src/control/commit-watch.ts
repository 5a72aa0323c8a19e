// Noticing commits to the control database without a read transaction. Per-request caches (tokens, org limits)
// must see a change committed by any process at once, and reading a change counter costs a read transaction: a
// statement step and two fcntl calls on the WAL-index's read lock, several microseconds on every API request.
//
// In WAL mode every connection shares the WAL-index in `<db>-shm`, and its first 96 bytes are two copies of a
// header that the committing connection rewrites before its commit returns. The header's change counter moves
// with every write transaction (SQLite's documented WAL-index format, shared by every version that opens the file),
// so while those bytes stay the same nothing has committed since they were read, and a cache may skip its counter
// read. A 96-byte pread of a page the committing process holds mapped sees its writes at once.

import { closeSync, openSync, readSync } from "node:fs";

/** Bytes read from the start of the WAL-index: its two header copies of 48 bytes each. */
const WAL_INDEX_HEADERS_BYTES = 96;

/**
 * A number that stays the same while no transaction has committed to one SQLite database in WAL mode, from any
 * connection or process, since the previous call. Owns a read-only descriptor of `<db>-shm` until {@link close}.
 */
export class CommitWatch {
  readonly #path: string;
  /** The `-shm` descriptor; null before the first call, and -1 once it could not be opened or read. */
  #fd: number | null = null;
  readonly #seen = Buffer.alloc(WAL_INDEX_HEADERS_BYTES);
  readonly #read = Buffer.alloc(WAL_INDEX_HEADERS_BYTES);
  #epoch = 0;

  /** Watches the database at `dbPath` (its `-shm` file is opened at the first call). */
  constructor(dbPath: string) {
    this.#path = `${dbPath}-shm`;
  }

  /**
   * The commit epoch: equal to the previous call's value only when nothing committed in between. Where the
   * WAL-index cannot be read (no such file, another journal mode), every call returns a new value.
   */
  epoch(): number {
    if (this.#fd === null) this.#fd = openShm(this.#path);
    if (this.#fd < 0) return ++this.#epoch;
    let n: number;
    try {
      n = readSync(this.#fd, this.#read, 0, WAL_INDEX_HEADERS_BYTES, 0);
    } catch {
      this.close();
      return ++this.#epoch;
    }
    if (n !== WAL_INDEX_HEADERS_BYTES || !this.#read.equals(this.#seen)) {
      this.#read.copy(this.#seen);
      this.#epoch++;
    }
    return this.#epoch;
  }

  /** Closes the descriptor; later calls return a new value each (nothing is watched any more). Idempotent. */
  close(): void {
    if (this.#fd !== null && this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }
}

function openShm(path: string): number {
  try {
    return openSync(path, "r");
  } catch {
    return -1;
  }
}
