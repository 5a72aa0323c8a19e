// Series of walked remote-write requests by the numbers their decode worker gave their label bytes
// (codec-v1-walk.ts). A worker numbers every label-byte key it sees in its own key table (exact: it compares the
// bytes), so the thread owning the storage finds a series by (worker, generation, number) with one load, where it
// would otherwise compare the series' label bytes against its own cache. A row keeps what the series cache's entry
// keeps: the series' ref in the store that last took it, and the longest label name and value of its labels once
// they were found valid. Rows of a worker's earlier generation are dropped when a request of a new one arrives
// (the worker's table filled up and started over); the rows of a worker that ended are dropped once the pool says
// so (`retain`: a worker that failed is replaced by one with a new source number), and of at most MAX_SOURCES
// workers are kept in any case.

import type { Labels } from "../../model/labels.ts";
import type { SeriesRef } from "../interface.ts";
import { RefScopes } from "./ref-scopes.ts";
import { DEFAULT_MAX_ENTRIES, NO_SERIES_REF, type RefSlot } from "./series-cache.ts";

/** Workers whose rows are kept; a new one past this drops the rows of the one seen first. */
export const MAX_SOURCES = 16;

/** Rows a worker's index has room for at first; they double from there, up to the index's bound. */
const INITIAL_ROWS = 1024;

/** Distinct ref scopes (open databases) a worker's rows remember before every row's ref is forgotten. */
const MAX_SCOPES = 0xffff;

/** The largest ref a row keeps. */
const MAX_UINT32 = 0xffff_ffff;

/**
 * Not validated: a row whose labels were never found valid in this generation, or whose longest name or value is
 * this long or longer (kept as 16-bit lengths, such a row's labels are checked at each request instead).
 */
const UNSEEN = 0xffff;

/** The rows of one worker's generation: per key number, the ref, its scope and the labels' longest name and value. */
export class SourceRows {
  /** The worker's key table generation these rows are of. */
  generation: number;
  private readonly maxRows: number;
  /**
   * Each row's ref: 4 bytes a row where float64s took 8. A head's refs are below 2^32 (MAX_SERIES_REF); a ref of
   * another store that is not a uint32 is not kept (its row goes by labels, as a row with no ref).
   */
  private refs = new Uint32Array(INITIAL_ROWS);
  private maxNames = new Uint16Array(INITIAL_ROWS).fill(UNSEEN);
  private maxValues = new Uint16Array(INITIAL_ROWS);
  /**
   * The ref scope of each row, plus one (0: no ref), an index into `scopes`: 2 bytes a row where an array of the
   * scope objects took 8 and its spare room.
   */
  private scopeIds = new Uint16Array(INITIAL_ROWS);
  /** Ref scopes by number: a token object per open database, holding nothing. */
  private readonly scopes = new RefScopes(MAX_SCOPES);

  constructor(generation: number, maxRows: number) {
    this.generation = generation;
    this.maxRows = maxRows;
  }

  /** Forgets every row, for generation `generation` (the arrays keep their size). */
  reset(generation: number): void {
    this.generation = generation;
    this.maxNames.fill(UNSEEN);
    // Every row's scope, and so its ref, is forgotten: the next appends of those series go by labels again.
    this.scopeIds.fill(0);
    this.scopes.clear();
  }

  /** True when key number `key` has a row within the bound (growing the rows if needed). */
  fits(key: number): boolean {
    if (key >= this.maxRows) return false;
    if (key >= this.maxNames.length) this.grow(key + 1);
    return true;
  }

  /** The longest label name of row `key`'s labels, bytes; -1 when they were not found valid yet. */
  maxNameBytes(key: number): number {
    const n = this.maxNames[key];
    return n === UNSEEN ? -1 : n;
  }

  /** The longest label value of row `key`'s labels, bytes (meaningful once `maxNameBytes` is not -1). */
  maxValueBytes(key: number): number {
    return this.maxValues[key];
  }

  /** Notes that row `key`'s labels were found valid, with the longest name and value given (bytes). */
  validated(key: number, maxNameBytes: number, maxValueBytes: number): void {
    const fits = maxNameBytes < UNSEEN && maxValueBytes < UNSEEN;
    this.maxNames[key] = fits ? maxNameBytes : UNSEEN;
    this.maxValues[key] = fits ? maxValueBytes : 0;
  }

  /** The scope of row `key`'s ref; null when it has none. */
  scopeOf(key: number): object | null {
    return this.scopes.scopeOf(this.scopeIds[key]);
  }

  /** Sets the scope of row `key`'s ref. */
  setScope(key: number, scope: object | null): void {
    this.scopeIds[key] = this.scopes.numberOf(scope, () => this.scopeIds.fill(0));
  }

  /** Row `key`'s ref in the store of its scope; NO_SERIES_REF when it has none. */
  refOf(key: number): SeriesRef | typeof NO_SERIES_REF {
    return this.scopeOf(key) === null ? NO_SERIES_REF : (this.refs[key] as SeriesRef);
  }

  /** Sets row `key`'s ref, of the store of its scope. */
  setRef(key: number, ref: SeriesRef | typeof NO_SERIES_REF): void {
    if (ref >= 0 && ref <= MAX_UINT32 && Number.isInteger(ref)) this.refs[key] = ref;
    else this.scopeIds[key] = 0;
  }

  /** Rows there is room for now (for tests of the bound). */
  get capacity(): number {
    return this.maxNames.length;
  }

  private grow(rows: number): void {
    const n = Math.min(this.maxRows, Math.max(rows, 2 * this.maxNames.length));
    const refs = new Uint32Array(n);
    refs.set(this.refs);
    this.refs = refs;
    const names = new Uint16Array(n).fill(UNSEEN);
    names.set(this.maxNames);
    this.maxNames = names;
    const values = new Uint16Array(n);
    values.set(this.maxValues);
    this.maxValues = values;
    const scopeIds = new Uint16Array(n);
    scopeIds.set(this.scopeIds);
    this.scopeIds = scopeIds;
  }
}

/**
 * The ref slot of one row at a time (the index hands out this one object), valid during the calls for the series
 * it was handed out with; its labels are decoded by `decode` from the request being read.
 */
export class RowSlot implements RefSlot {
  private rows: SourceRows | null = null;
  private key = 0;
  private readonly decode: () => Labels;

  /** A slot whose `labels()` calls `decode` (the current series' labels, from its request's bytes). */
  constructor(decode: () => Labels) {
    this.decode = decode;
  }

  /** Points the slot at row `key` of `rows`. */
  point(rows: SourceRows, key: number): this {
    this.rows = rows;
    this.key = key;
    return this;
  }

  get scope(): object | null {
    return (this.rows as SourceRows).scopeOf(this.key);
  }

  set scope(scope: object | null) {
    (this.rows as SourceRows).setScope(this.key, scope);
  }

  get ref(): SeriesRef | typeof NO_SERIES_REF {
    return (this.rows as SourceRows).refOf(this.key);
  }

  set ref(ref: SeriesRef | typeof NO_SERIES_REF) {
    (this.rows as SourceRows).setRef(this.key, ref);
  }

  labels(): Labels {
    return this.decode();
  }
}

/** What the index needs of a decode pool: how many of its workers ended, and the source numbers of those running. */
export interface WorkerRoster {
  readonly endedWorkers: number;
  sources(): readonly number[];
}

/** Rows by worker source number. Bounded: MAX_SOURCES workers of at most `maxRows` rows each. Single-threaded. */
export class KeyIndex {
  private readonly sources = new Map<number, SourceRows>();
  private readonly maxRows: number;
  /** The pool's count of ended workers when `retain` last dropped rows. */
  private ended = 0;

  /** An empty index whose workers' rows are bounded by `maxRows` (default: the series cache's entries). */
  constructor(maxRows = DEFAULT_MAX_ENTRIES) {
    this.maxRows = maxRows;
  }

  /** The rows of worker `source` for its key table's `generation`: emptied when the generation changed. */
  rows(source: number, generation: number): SourceRows {
    let rows = this.sources.get(source);
    if (rows === undefined) {
      if (this.sources.size >= MAX_SOURCES) {
        const oldest = this.sources.keys().next().value as number;
        this.sources.delete(oldest);
      }
      rows = new SourceRows(generation, this.maxRows);
      this.sources.set(source, rows);
    } else if (rows.generation !== generation) rows.reset(generation);
    return rows;
  }

  /**
   * Drops the rows of every worker `pool` no longer runs, when its count of ended workers changed since the last
   * call: a single comparison per request otherwise.
   */
  retain(pool: WorkerRoster): void {
    if (pool.endedWorkers === this.ended) return;
    this.ended = pool.endedWorkers;
    const live = pool.sources();
    for (const source of [...this.sources.keys()]) if (!live.includes(source)) this.sources.delete(source);
  }

  /** Workers whose rows are kept. */
  get size(): number {
    return this.sources.size;
  }
}
