// An org's notification receivers in the control database (migration 8). Every write is checked against
// model/receivers.ts's bounds before it reaches SQLite, and the per-org count under the write lock. Secrets are
// stored (each delivery's HMAC needs them) but this module's list form never carries them, only whether one is set.

import { ContrailError } from "../model/errors.ts";
import {
  checkReceiver,
  checkReceiverName,
  RECEIVER_BOUNDS,
  type Receiver,
  type ReceiverInfo,
  type ReceiverInput,
} from "../model/receivers.ts";
import type { ControlDb } from "./connection.ts";
import { requireOrg } from "./orgs.ts";

interface ReceiverRow {
  name: string;
  kind: Receiver["kind"];
  url: string;
  secret: string | null;
  group_by: string;
  group_wait_ms: number;
  group_interval_ms: number;
  repeat_interval_ms: number;
  send_resolved: number;
  created_at: number;
  updated_at: number;
}

const COLUMNS =
  "name, kind, url, secret, group_by, group_wait_ms, group_interval_ms, repeat_interval_ms, send_resolved, " +
  "created_at, updated_at";

function toReceiver(r: ReceiverRow): Receiver {
  return {
    name: r.name,
    kind: r.kind,
    url: r.url,
    secret: r.secret,
    groupBy: JSON.parse(r.group_by) as string[],
    groupWaitMs: r.group_wait_ms,
    groupIntervalMs: r.group_interval_ms,
    repeatIntervalMs: r.repeat_interval_ms,
    sendResolved: r.send_resolved === 1,
  };
}

function toInfo(r: ReceiverRow): ReceiverInfo {
  const { secret, ...rest } = toReceiver(r);
  return { ...rest, hasSecret: secret !== null, createdAt: r.created_at, updatedAt: r.updated_at };
}

function rows(db: ControlDb, org: string): ReceiverRow[] {
  return db.stmt<[string], ReceiverRow>(`SELECT ${COLUMNS} FROM receivers WHERE org_id = ? ORDER BY name`).all(org);
}

function row(db: ControlDb, org: string, name: string): ReceiverRow | undefined {
  return db
    .stmt<[string, string], ReceiverRow>(`SELECT ${COLUMNS} FROM receivers WHERE org_id = ? AND name = ?`)
    .get(org, name);
}

/** The org's receivers with their secrets, by name: what the notifier delivers to. None for an unknown org. */
export function listReceivers(db: ControlDb, org: string): Receiver[] {
  return rows(db, org).map(toReceiver);
}

/** The org's receivers without secrets, by name, for the API and the CLI. */
export function listReceiverInfos(db: ControlDb, org: string): ReceiverInfo[] {
  return rows(db, org).map(toInfo);
}

/** One receiver without its secret; throws `not_found` when the org has none of that name. */
export function getReceiverInfo(db: ControlDb, org: string, name: string): ReceiverInfo {
  const r = row(db, org, name);
  if (r === undefined) throw new ContrailError("not_found", `org "${org}" has no receiver "${name}"`);
  return toInfo(r);
}

/**
 * Creates or replaces the receiver `input.name` of `org`; returns it (without secret) and whether it is new. Throws
 * `bad_data` for a field outside its bounds, `not_found` for an unknown org and `limit_exceeded` when the org
 * already has the most receivers allowed; nothing is written then.
 */
export function putReceiver(
  db: ControlDb,
  org: string,
  input: ReceiverInput,
): { readonly receiver: ReceiverInfo; readonly created: boolean } {
  checkReceiverName(input.name);
  return db.transaction(() => {
    requireOrg(db, org);
    const old = row(db, org, input.name);
    const secret = input.secret === undefined ? (old?.secret ?? null) : input.secret;
    const r = checkReceiver({ ...input, secret });
    if (old === undefined) {
      const count = db.stmt<[string], number>("SELECT count(*) FROM receivers WHERE org_id = ?").pluck().get(org);
      if ((count ?? 0) >= RECEIVER_BOUNDS.maxPerOrg) {
        throw new ContrailError(
          "limit_exceeded",
          `org "${org}" has ${count} receivers, the limit is ${RECEIVER_BOUNDS.maxPerOrg}; delete one first`,
        );
      }
    }
    const now = db.now();
    db.stmt(
      `INSERT INTO receivers (org_id, ${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (org_id, name) DO UPDATE SET kind = excluded.kind, url = excluded.url, secret = excluded.secret,
         group_by = excluded.group_by, group_wait_ms = excluded.group_wait_ms,
         group_interval_ms = excluded.group_interval_ms, repeat_interval_ms = excluded.repeat_interval_ms,
         send_resolved = excluded.send_resolved, updated_at = excluded.updated_at`,
    ).run(
      org,
      r.name,
      r.kind,
      r.url,
      r.secret,
      JSON.stringify(r.groupBy),
      r.groupWaitMs,
      r.groupIntervalMs,
      r.repeatIntervalMs,
      r.sendResolved ? 1 : 0,
      now,
      now,
    );
    return { receiver: getReceiverInfo(db, org, r.name), created: old === undefined };
  });
}

/** Deletes the receiver `name` of `org`; throws `not_found` when there is none. */
export function deleteReceiver(db: ControlDb, org: string, name: string): void {
  const { changes } = db.stmt<[string, string]>("DELETE FROM receivers WHERE org_id = ? AND name = ?").run(org, name);
  if (changes === 0) throw new ContrailError("not_found", `org "${org}" has no receiver "${name}"`);
}
