// VictoriaMetrics cluster tenants: each org's `accountID` (the number in vminsert's and vmselect's URL paths),
// allocated the first time the org is written with `--storage vmcluster=...` and then fixed for good. Numbers run
// 1, 2, 3… (0 is VictoriaMetrics's default tenant, never used) and are never reused, even after an org is deleted,
// since its samples stay in the cluster under that number.

import { ContrailError } from "../model/errors.ts";
import type { ControlDb } from "./connection.ts";

/** The highest accountID a VictoriaMetrics cluster takes (a uint32); the table's CHECK holds the same bound. */
export const MAX_ACCOUNT_ID = 4_294_967_295;

/**
 * The accountID of `org`, allocated (the highest one so far plus one) in a write transaction when the org has none,
 * so two processes allocating at once still get distinct numbers. Throws `limit_exceeded` when every number is
 * taken. The org need not exist in `organizations`: the row outlives it.
 */
export function vmAccountId(db: ControlDb, org: string): number {
  const read = () =>
    db.stmt<[string], number>("SELECT account_id FROM vm_accounts WHERE org_id = ?").pluck().get(org) ?? null;
  const known = read();
  if (known !== null) return known;
  return db.transaction(() => {
    const again = read();
    if (again !== null) return again;
    const highest = db.stmt<[], number | null>("SELECT max(account_id) FROM vm_accounts").pluck().get() ?? 0;
    if (highest >= MAX_ACCOUNT_ID) {
      throw new ContrailError(
        "limit_exceeded",
        `no VictoriaMetrics accountID left for org ${JSON.stringify(org)}: all ${MAX_ACCOUNT_ID} are allocated`,
      );
    }
    const id = highest + 1;
    db.stmt("INSERT INTO vm_accounts (org_id, account_id, created_at) VALUES (?, ?, ?)").run(org, id, db.now());
    return id;
  });
}
