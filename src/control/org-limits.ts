// Per-org limit overrides in the control database: each row sets one limit of `model/limits.ts` for one org; a limit
// without a row has its default. Writers check names and ranges before anything reaches SQLite. Readers in any
// process keep every override in memory and reload them when `org_limits_changes.generation` moved, which triggers
// bump on every change of the table (migration 4), so a `contrail orgs limits --set` reaches a running server at its next request.

import {
  checkLimitValue,
  clampLimitValue,
  DEFAULT_ORG_LIMITS,
  type LimitKey,
  limitKeyOf,
  limitName,
  type OrgLimits,
  requireLimitKey,
} from "../model/limits.ts";
import type { ControlDb } from "./connection.ts";
import { requireOrg } from "./orgs.ts";

/** The limits an org overrides, by key; limits absent from it have their default. */
export type LimitOverrides = Partial<Record<LimitKey, number>>;

interface LimitRow {
  org_id: string;
  name: string;
  value: number;
}

// Rows whose name no limit has any more are ignored; values outside a since-narrowed range are brought into it.
function addRow(into: LimitOverrides, row: LimitRow): void {
  const key = limitKeyOf(row.name);
  if (key !== undefined) into[key] = clampLimitValue(key, row.value);
}

/** The overrides of `org` (none for an org without any, or one that does not exist). */
export function getOrgLimitOverrides(db: ControlDb, org: string): LimitOverrides {
  const out: LimitOverrides = {};
  const rows = db.stmt<[string], LimitRow>("SELECT org_id, name, value FROM org_limits WHERE org_id = ?").all(org);
  for (const r of rows) addRow(out, r);
  return out;
}

/** What {@link updateOrgLimits} changes: values to set by setting name, and setting names to return to default. */
export interface LimitChanges {
  readonly set?: Readonly<Record<string, number>>;
  readonly unset?: readonly string[];
}

/**
 * Sets and unsets limits of `org` in one transaction and returns its overrides afterwards. Throws `not_found` for an
 * unknown org and `bad_data` for an unknown limit name or a value outside its range (nothing is changed then).
 */
export function updateOrgLimits(db: ControlDb, org: string, changes: LimitChanges): LimitOverrides {
  const set = Object.entries(changes.set ?? {}).map(([name, value]) => {
    const key = requireLimitKey(name);
    return [limitName(key), checkLimitValue(key, value)] as const;
  });
  const unset = (changes.unset ?? []).map((name) => limitName(requireLimitKey(name)));
  return db.transaction(() => {
    requireOrg(db, org);
    const now = db.now();
    const upsert = db.stmt<[string, string, number, number]>(
      `INSERT INTO org_limits (org_id, name, value, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (org_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
    for (const [name, value] of set) upsert.run(org, name, value, now);
    const remove = db.stmt<[string, string]>("DELETE FROM org_limits WHERE org_id = ? AND name = ?");
    for (const name of unset) remove.run(org, name);
    return getOrgLimitOverrides(db, org);
  });
}

/**
 * The limits of every org as a running server sees them: every override in memory, reloaded when another process
 * (or this one) changed any. While nothing commits to the database, a call reads no table (ControlDb.commitEpoch);
 * after any commit, one SQL read of a single row. Bound to `db`'s life.
 */
export class OrgLimitsCache {
  private readonly db: ControlDb;
  private readonly defaults: OrgLimits;
  private loadedAt = -1;
  /** The database's commit epoch when the counter was last read; -1 before the first read. */
  private checkedAt = -1;
  private byOrg = new Map<string, OrgLimits>();

  /** A cache over `db`; `defaults` replace the table's defaults for every org (tests, or a server-wide setting). */
  constructor(db: ControlDb, defaults: Partial<OrgLimits> = {}) {
    this.db = db;
    this.defaults = { ...DEFAULT_ORG_LIMITS, ...defaults };
  }

  /** The limits of `org`: the defaults with its overrides. */
  limitsOf(org: string): OrgLimits {
    // The counter is read only when something committed to the database since the last read.
    const epoch = this.db.commitEpoch();
    if (epoch !== this.checkedAt) {
      const counter =
        this.db.stmt<[], number>("SELECT generation FROM org_limits_changes WHERE id = 1").pluck().get() ?? 0;
      if (counter !== this.loadedAt) this.reload(counter);
      this.checkedAt = epoch;
    }
    return this.byOrg.get(org) ?? this.defaults;
  }

  private reload(counter: number): void {
    const overrides = new Map<string, LimitOverrides>();
    for (const r of this.db.stmt<[], LimitRow>("SELECT org_id, name, value FROM org_limits").all()) {
      let o = overrides.get(r.org_id);
      if (o === undefined) {
        o = {};
        overrides.set(r.org_id, o);
      }
      addRow(o, r);
    }
    this.byOrg = new Map([...overrides].map(([org, o]) => [org, { ...this.defaults, ...o }]));
    this.loadedAt = counter;
  }
}
