// Heartbeats: a long-running process (`up`, `serve`, each `edge`, `agent`) writes a row every few seconds, so the
// other processes and the commands on the same data directory (`deploy`, `apps status`) can tell whether it runs,
// where it serves, and since when. A row older than a few beats means the process is gone (or hung); a process
// that stops cleanly deletes its row. The row's key is the role, with a suffix where a role may run several
// times (`edge/ord`).

import type { ControlDb } from "./connection.ts";

/** A role's last heartbeat. `info` is role-defined JSON (addresses, regions). Times in ms since the epoch. */
export interface Heartbeat {
  readonly role: string;
  readonly pid: number;
  readonly hostname: string;
  readonly info: Readonly<Record<string, unknown>>;
  readonly startedAt: number;
  readonly beatAt: number;
}

interface HeartbeatRow {
  role: string;
  pid: number;
  hostname: string;
  info: string;
  started_at: number;
  beat_at: number;
}

/** Options of {@link beat}. */
export interface BeatOptions {
  readonly role: string;
  readonly pid: number;
  readonly hostname: string;
  readonly info: Readonly<Record<string, unknown>>;
  /** When the process started, ms since the epoch. */
  readonly startedAt: number;
}

/** Writes (replaces) the heartbeat of `options.role`, stamped with the database clock. */
export function beat(db: ControlDb, options: BeatOptions): void {
  db.stmt<[string, number, string, string, number, number]>(
    `INSERT INTO heartbeats (role, pid, hostname, info, started_at, beat_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (role) DO UPDATE SET pid = excluded.pid, hostname = excluded.hostname, info = excluded.info,
       started_at = excluded.started_at, beat_at = excluded.beat_at`,
  ).run(options.role, options.pid, options.hostname, JSON.stringify(options.info), options.startedAt, db.now());
}

/** The last heartbeat of `role`, however old, or undefined. */
export function readHeartbeat(db: ControlDb, role: string): Heartbeat | undefined {
  const r = db
    .stmt<[string], HeartbeatRow>(
      "SELECT role, pid, hostname, info, started_at, beat_at FROM heartbeats WHERE role = ?",
    )
    .get(role);
  return r === undefined ? undefined : toHeartbeat(r);
}

function toHeartbeat(r: HeartbeatRow): Heartbeat {
  return {
    role: r.role,
    pid: r.pid,
    hostname: r.hostname,
    info: JSON.parse(r.info) as Record<string, unknown>,
    startedAt: r.started_at,
    beatAt: r.beat_at,
  };
}

/** Every heartbeat whose role starts with `prefix` (all with ""), however old, by role. */
export function listHeartbeats(db: ControlDb, prefix = ""): Heartbeat[] {
  const rows = db
    .stmt<[{ prefix: string }], HeartbeatRow>(
      `SELECT role, pid, hostname, info, started_at, beat_at FROM heartbeats
       WHERE substr(role, 1, length(@prefix)) = @prefix ORDER BY role`,
    )
    .all({ prefix });
  return rows.map(toHeartbeat);
}

/** Deletes the heartbeat of `role` if it is still the one `pid` wrote (a clean stop). */
export function clearHeartbeat(db: ControlDb, role: string, pid: number): void {
  db.stmt<[string, number]>("DELETE FROM heartbeats WHERE role = ? AND pid = ?").run(role, pid);
}

/** True when `hb` was written within `maxAgeMs` of `now` (ms). */
export function isFresh(hb: Heartbeat | undefined, now: number, maxAgeMs: number): hb is Heartbeat {
  return hb !== undefined && now - hb.beatAt <= maxAgeMs;
}

/** What identifies the holder of a claimed role in its heartbeat's info (several may share one process in tests). */
const HOLDER_KEY = "holder";

/**
 * Writes the heartbeat of `options.role`, with `holder` (a unique id of the claimant) in its info, only if no other
 * claimant holds it: the row is absent, is `holder`'s, or `isLive` says its writer is gone. Read and write in one
 * immediate transaction, so of several claiming at once exactly one wins. True when `holder` holds the role after.
 */
export function claimHeartbeat(
  db: ControlDb,
  options: BeatOptions,
  holder: string,
  isLive: (hb: Heartbeat) => boolean,
): boolean {
  return db.transaction(() => {
    const held = readHeartbeat(db, options.role);
    if (held !== undefined && held.info[HOLDER_KEY] !== holder && isLive(held)) return false;
    beat(db, { ...options, info: { ...options.info, [HOLDER_KEY]: holder } });
    return true;
  });
}

/**
 * Renews the heartbeat of `role` if `holder` still holds it; false when another claimant has taken the role
 * meanwhile (this one was taken for gone), which must then stop acting as its holder.
 */
export function renewHeartbeat(db: ControlDb, role: string, holder: string): boolean {
  const r = db
    .stmt<[number, string, string, string]>(
      `UPDATE heartbeats SET beat_at = ? WHERE role = ? AND json_extract(info, '$.' || ?) = ?`,
    )
    .run(db.now(), role, HOLDER_KEY, holder);
  return r.changes === 1;
}

/** Deletes the heartbeat of `role` if `holder` holds it (a clean release). */
export function releaseHeartbeat(db: ControlDb, role: string, holder: string): void {
  db.stmt<[string, string, string]>(`DELETE FROM heartbeats WHERE role = ? AND json_extract(info, '$.' || ?) = ?`).run(
    role,
    HOLDER_KEY,
    holder,
  );
}
