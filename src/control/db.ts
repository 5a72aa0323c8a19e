// Opening the control database, `<data>/control.db`: one SQLite file in WAL mode holding orgs, users, memberships,
// apps, instances and token hashes. Several Contrail processes (edge, scrape, api) may open it at once: WAL lets
// readers run beside the single writer, and the busy timeout makes a writer wait for the lock instead of failing at
// once. Opening also seeds the local user, so this file builds on users.ts; the connection itself (connection.ts)
// is below every table module.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { ContrailError } from "../model/errors.ts";
import { ControlDb } from "./connection.ts";
import { migrate } from "./migrations.ts";
import { ensureLocalUser } from "./users.ts";

/** File name of the control database inside the data directory. */
export const CONTROL_DB_FILE = "control.db";

/** How long a statement waits for another process's write lock before failing with SQLITE_BUSY, in milliseconds. */
const BUSY_TIMEOUT_MS = 5000;

/** Options of {@link openControlDb}. */
export interface OpenControlDbOptions {
  /** The data directory; created when missing. */
  readonly dataDir: string;
  /** The clock, in milliseconds since the epoch; tests pass a fake one. Defaults to `Date.now`. */
  readonly now?: () => number;
  /**
   * How long later statements wait for another process's write lock, ms (default 5000). Opening and migrating
   * always use the default; a process that must not stall (the edge) sets a short wait and retries later.
   */
  readonly busyTimeoutMs?: number;
}

/**
 * Opens (creating if needed) `<dataDir>/control.db`: WAL journal, foreign keys on, busy timeout, migrations
 * applied, and the local user with its `personal` org present. Throws `conflict` when the file's schema is newer
 * than this code, `corruption` when it is not SQLite, `unavailable` when it cannot be opened.
 */
export function openControlDb(options: OpenControlDbOptions): ControlDb {
  mkdirSync(options.dataDir, { recursive: true });
  const path = join(options.dataDir, CONTROL_DB_FILE);
  let sql: Database.Database;
  try {
    sql = new Database(path, { timeout: BUSY_TIMEOUT_MS });
  } catch (err) {
    throw new ContrailError("unavailable", `cannot open ${CONTROL_DB_FILE}: ${(err as Error).message}`, { cause: err });
  }
  const now = options.now ?? Date.now;
  try {
    const mode = sql.pragma("journal_mode = WAL", { simple: true });
    if (mode !== "wal") throw new ContrailError("unavailable", `${CONTROL_DB_FILE}: cannot use WAL mode (got ${mode})`);
    sql.pragma("foreign_keys = ON");
    sql.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // NORMAL is durable in WAL mode except for the last transactions before a power loss, never corrupting.
    sql.pragma("synchronous = NORMAL");
    migrate(sql, { now: now(), label: CONTROL_DB_FILE });
    const db = new ControlDb(path, sql, now);
    ensureLocalUser(db);
    if (options.busyTimeoutMs !== undefined)
      sql.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs))}`);
    return db;
  } catch (err) {
    sql.close();
    if ((err as { code?: unknown }).code === "SQLITE_NOTADB") {
      throw new ContrailError("corruption", `${path} is not an SQLite database`, { cause: err });
    }
    throw err;
  }
}
