// Organizations: the tenants of Contrail. An org's id is its slug (`personal`, `acme-corp`): it appears in query
// URLs (`/prometheus/<slug>/…`) and names the org's TSDB directory, so it never changes once created.

import { ContrailError } from "../model/errors.ts";
import { type ControlDb, isForeignKeyViolation, isUniqueViolation } from "./connection.ts";
import { addMember } from "./memberships.ts";
import { checkDisplayName, checkOrgSlug, LIMITS } from "./validate.ts";

/** An organization; `personalUserId` is set for a user's personal org. Times in milliseconds since the epoch. */
export interface Org {
  readonly id: string;
  readonly name: string;
  readonly personalUserId: number | null;
  readonly createdAt: number;
}

interface OrgRow {
  id: string;
  name: string;
  personal_user_id: number | null;
  created_at: number;
}

const COLUMNS = "id, name, personal_user_id, created_at";

function toOrg(r: OrgRow): Org {
  return { id: r.id, name: r.name, personalUserId: r.personal_user_id, createdAt: r.created_at };
}

/** Options of {@link createOrg}. */
export interface CreateOrgOptions {
  /** The slug, `[a-z0-9][a-z0-9-]{0,62}`. */
  readonly slug: string;
  /** Display name; defaults to the slug. At most 100 characters. */
  readonly name?: string;
  /** The user who becomes the org's first admin: every org has one from the start. */
  readonly admin: number;
}

/** Creates an org with its first admin. Throws `bad_data`, `conflict` (slug taken) or `not_found` (no such user). */
export function createOrg(db: ControlDb, options: CreateOrgOptions): Org {
  return db.transaction(() => {
    const org = insertOrg(db, { slug: options.slug, name: options.name, personalUserId: null });
    addMember(db, { org: org.id, user: options.admin, role: "admin" });
    return org;
  });
}

/**
 * Inserts the org row alone, for {@link createOrg} and for personal orgs made with their user; callers add the
 * first admin in the same transaction.
 */
export function insertOrg(
  db: ControlDb,
  options: { readonly slug: string; readonly name: string | undefined; readonly personalUserId: number | null },
): Org {
  const slug = checkOrgSlug(options.slug);
  const name = checkDisplayName("org name", options.name ?? slug, LIMITS.orgName);
  try {
    const row = db
      .stmt<[string, string, number | null, number], OrgRow>(
        `INSERT INTO organizations (id, name, personal_user_id, created_at) VALUES (?, ?, ?, ?) RETURNING ${COLUMNS}`,
      )
      .get(slug, name, options.personalUserId, db.now());
    return toOrg(row!);
  } catch (err) {
    if (isUniqueViolation(err)) throw new ContrailError("conflict", `org "${slug}" already exists`, { cause: err });
    if (isForeignKeyViolation(err)) {
      throw new ContrailError("not_found", `no user ${options.personalUserId}`, { cause: err });
    }
    throw err;
  }
}

/** The org with slug `slug`, or undefined. */
export function getOrg(db: ControlDb, slug: string): Org | undefined {
  const row = db.stmt<[string], OrgRow>(`SELECT ${COLUMNS} FROM organizations WHERE id = ?`).get(slug);
  return row === undefined ? undefined : toOrg(row);
}

/** The org with slug `slug`; throws `not_found` when there is none. */
export function requireOrg(db: ControlDb, slug: string): Org {
  const org = getOrg(db, slug);
  if (org === undefined) throw new ContrailError("not_found", `no org "${slug}"`);
  return org;
}

/** All orgs by slug, or only those `user` is a member of. */
export function listOrgs(db: ControlDb, options: { readonly user?: number } = {}): Org[] {
  if (options.user === undefined) {
    return db.stmt<[], OrgRow>(`SELECT ${COLUMNS} FROM organizations ORDER BY id`).all().map(toOrg);
  }
  return db
    .stmt<[number], OrgRow>(
      `SELECT ${COLUMNS} FROM organizations WHERE id IN (SELECT org_id FROM memberships WHERE user_id = ?) ORDER BY id`,
    )
    .all(options.user)
    .map(toOrg);
}

/** Changes an org's display name (never its slug). Throws `not_found` or `bad_data`. */
export function renameOrg(db: ControlDb, slug: string, name: string): Org {
  checkDisplayName("org name", name, LIMITS.orgName);
  const row = db
    .stmt<[string, string], OrgRow>(`UPDATE organizations SET name = ? WHERE id = ? RETURNING ${COLUMNS}`)
    .get(name, slug);
  if (row === undefined) throw new ContrailError("not_found", `no org "${slug}"`);
  return toOrg(row);
}

/**
 * Deletes an org with its memberships and tokens. Throws `not_found`, or `conflict` for a personal org (it goes
 * with its user) or an org that still has apps (delete or move them first: their metrics belong to the org).
 */
export function deleteOrg(db: ControlDb, slug: string): void {
  db.transaction(() => {
    const org = requireOrg(db, slug);
    if (org.personalUserId !== null) {
      throw new ContrailError("conflict", `org "${slug}" is the personal org of user ${org.personalUserId}`);
    }
    const apps = db.stmt<[string], number>("SELECT count(*) FROM apps WHERE org_id = ?").pluck().get(slug)!;
    if (apps > 0) throw new ContrailError("conflict", `org "${slug}" still has ${apps} app(s)`);
    db.stmt("DELETE FROM organizations WHERE id = ?").run(slug);
  });
}
