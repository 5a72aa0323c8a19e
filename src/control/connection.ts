// A connection to the control database and what every table module needs from it: cached prepared statements,
// write transactions, and the recognition of SQLite's constraint errors. Opening the database (pragmas,
// migrations, the local user) is db.ts's job; it sits above the table modules because it seeds them.

import type Database from "better-sqlite3";
import { CommitWatch } from "./commit-watch.ts";

/** SQLite's counter of other connections' commits (see {@link ControlDb.dataVersion}). */
const DATA_VERSION_SQL = "PRAGMA data_version";

/**
 * An open control database. Owns the SQLite connection until {@link ControlDb.close}; statements from
 * {@link ControlDb.stmt} are cached per connection and die with it. Not safe to share across worker threads.
 */
export class ControlDb {
  /** Path of the database file. */
  readonly path: string;
  /** The connection; modules of `control/` use it, callers outside go through their functions. */
  readonly sql: Database.Database;
  /** The clock in milliseconds since the epoch. */
  readonly now: () => number;
  readonly #statements = new Map<string, Database.Statement<unknown[], unknown>>();
  readonly #commits: CommitWatch;

  /** Wraps an already configured and migrated connection; use `openControlDb` (db.ts). */
  constructor(path: string, sql: Database.Database, now: () => number) {
    this.path = path;
    this.sql = sql;
    this.now = now;
    this.#commits = new CommitWatch(path);
  }

  /**
   * A prepared statement for `source`, compiled once per connection and reused. Modes set on it (`pluck`, `raw`)
   * stay with the cached statement: use each SQL text in one mode only.
   */
  stmt<P extends unknown[] = unknown[], R = unknown>(source: string): Database.Statement<P, R> {
    let s = this.#statements.get(source);
    if (s === undefined) {
      s = this.sql.prepare<unknown[], unknown>(source);
      this.#statements.set(source, s);
    }
    return s as unknown as Database.Statement<P, R>;
  }

  /**
   * SQLite's `data_version`: a number that changes when another connection commits to the database (this
   * connection's own commits leave it unchanged). Cheap: compares without reading any table, through a statement
   * prepared once (better-sqlite3's `pragma()` prepares one at every call: a fifth of an idle edge's CPU under
   * `perf`, since its route poll asks five times a second).
   */
  dataVersion(): number {
    return this.stmt<[], number>(DATA_VERSION_SQL).pluck().get() as number;
  }

  /**
   * A number equal to the previous call's only when no connection, in any process, has committed to the database
   * in between (commit-watch.ts): a cache of rows may then skip reading its change counter. One 96-byte read of the
   * WAL-index; no SQLite call.
   */
  commitEpoch(): number {
    return this.#commits.epoch();
  }

  /** Runs `fn` in one write transaction (BEGIN IMMEDIATE; a savepoint when nested); rolls back if it throws. */
  transaction<T>(fn: () => T): T {
    return this.sql.transaction(fn).immediate();
  }

  /** Closes the connection; the object is unusable afterwards. */
  close(): void {
    this.#statements.clear();
    this.#commits.close();
    if (this.sql.open) this.sql.close();
  }
}

/** True when `err` is SQLite's error for a violated UNIQUE or PRIMARY KEY constraint. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/** True when `err` is SQLite's error for a violated FOREIGN KEY constraint. */
export function isForeignKeyViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "SQLITE_CONSTRAINT_FOREIGNKEY";
}
