// Users and their personal orgs. Every user owns exactly one personal org, created with the user and deleted with
// it. A single-machine install has one local user, made on the first open of the database, whose personal org has
// the slug `personal`: the org of the seed's URL `/prometheus/personal`.

import { ContrailError } from "../model/errors.ts";
import { type ControlDb, isUniqueViolation } from "./connection.ts";
import { addMember } from "./memberships.ts";
import { getOrg, insertOrg } from "./orgs.ts";
import { checkDisplayName, checkEmail, checkOrgSlug, LIMITS } from "./validate.ts";

/** Slug of the local user's personal org. */
export const PERSONAL_ORG = "personal";
/** E-mail address of the local user of a single-machine install. */
export const LOCAL_USER_EMAIL = "local@localhost";

/** A user; `local` marks the single-machine install's default user. Times in milliseconds since the epoch. */
export interface User {
  readonly id: number;
  readonly email: string;
  readonly name: string;
  readonly local: boolean;
  readonly createdAt: number;
}

interface UserRow {
  id: number;
  email: string;
  name: string;
  local: number;
  created_at: number;
}

const COLUMNS = "id, email, name, local, created_at";

function toUser(r: UserRow): User {
  return { id: r.id, email: r.email, name: r.name, local: r.local === 1, createdAt: r.created_at };
}

/** Options of {@link createUser}. */
export interface CreateUserOptions {
  readonly email: string;
  /** Display name, at most 100 characters. */
  readonly name: string;
  /** Slug of the personal org; defaults to `personal-<local part of the e-mail>`, numbered when taken. */
  readonly personalOrg?: string;
}

/** Creates a user with a personal org it administers. Throws `bad_data`, or `conflict` for a taken e-mail or slug. */
export function createUser(db: ControlDb, options: CreateUserOptions): { user: User; personalOrg: string } {
  return db.transaction(() => insertUser(db, { ...options, local: false }));
}

function insertUser(
  db: ControlDb,
  options: CreateUserOptions & { local: boolean },
): { user: User; personalOrg: string } {
  const email = checkEmail(options.email);
  const name = checkDisplayName("user name", options.name, LIMITS.userName);
  let row: UserRow;
  try {
    row = db
      .stmt<[string, string, number, number], UserRow>(
        `INSERT INTO users (email, name, local, created_at) VALUES (?, ?, ?, ?) RETURNING ${COLUMNS}`,
      )
      .get(email, name, options.local ? 1 : 0, db.now())!;
  } catch (err) {
    if (isUniqueViolation(err)) throw new ContrailError("conflict", `user ${email} already exists`, { cause: err });
    throw err;
  }
  const slug = options.personalOrg === undefined ? freePersonalSlug(db, email) : checkOrgSlug(options.personalOrg);
  insertOrg(db, { slug, name: `${name} (personal)`.slice(0, LIMITS.orgName), personalUserId: row.id });
  addMember(db, { org: slug, user: row.id, role: "admin" });
  return { user: toUser(row), personalOrg: slug };
}

/** `personal-<local part>` reduced to slug characters, with `-2`, `-3`… appended while the slug is taken. */
function freePersonalSlug(db: ControlDb, email: string): string {
  const local = email
    .slice(0, email.indexOf("@"))
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  const base = `personal-${local || "user"}`.slice(0, LIMITS.orgSlug - 4).replace(/-+$/, "");
  for (let n = 1; ; n++) {
    const slug = n === 1 ? base : `${base}-${n}`;
    if (getOrg(db, slug) === undefined) return slug;
  }
}

/** Makes sure the local user and its `personal` org exist; returns the local user. Idempotent. */
export function ensureLocalUser(db: ControlDb): User {
  // Read first: every open of an existing database ends here, and a read needs no write lock.
  const found = localUser(db);
  if (found !== undefined) return found;
  return db.transaction(() => {
    const existing = localUser(db);
    if (existing !== undefined) return existing;
    return insertUser(db, { email: LOCAL_USER_EMAIL, name: "Local user", personalOrg: PERSONAL_ORG, local: true }).user;
  });
}

/** The local user, or undefined before {@link ensureLocalUser} ran (never after opening through openControlDb). */
export function localUser(db: ControlDb): User | undefined {
  const row = db.stmt<[], UserRow>(`SELECT ${COLUMNS} FROM users WHERE local = 1`).get();
  return row === undefined ? undefined : toUser(row);
}

/** The user with id `id`, or undefined. */
export function getUser(db: ControlDb, id: number): User | undefined {
  const row = db.stmt<[number], UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = ?`).get(id);
  return row === undefined ? undefined : toUser(row);
}

/** The user with e-mail `email` (case-insensitive), or undefined. */
export function findUserByEmail(db: ControlDb, email: string): User | undefined {
  const row = db.stmt<[string], UserRow>(`SELECT ${COLUMNS} FROM users WHERE email = ?`).get(email.toLowerCase());
  return row === undefined ? undefined : toUser(row);
}

/** Every user, in order of creation. */
export function listUsers(db: ControlDb): User[] {
  return db.stmt<[], UserRow>(`SELECT ${COLUMNS} FROM users ORDER BY id`).all().map(toUser);
}

/** Changes a user's display name. Throws `not_found` or `bad_data`. */
export function renameUser(db: ControlDb, id: number, name: string): User {
  checkDisplayName("user name", name, LIMITS.userName);
  const row = db
    .stmt<[string, number], UserRow>(`UPDATE users SET name = ? WHERE id = ? RETURNING ${COLUMNS}`)
    .get(name, id);
  if (row === undefined) throw new ContrailError("not_found", `no user ${id}`);
  return toUser(row);
}

/**
 * Deletes a user with its memberships and its personal org (and that org's tokens). Throws `not_found`, or
 * `conflict` for the local user, for the last admin of another org, or when the personal org still has apps.
 */
export function deleteUser(db: ControlDb, id: number): void {
  db.transaction(() => {
    const user = getUser(db, id);
    if (user === undefined) throw new ContrailError("not_found", `no user ${id}`);
    if (user.local) throw new ContrailError("conflict", "the local user cannot be deleted");
    const apps = db
      .stmt<[number], number>(
        "SELECT count(*) FROM apps WHERE org_id IN (SELECT id FROM organizations WHERE personal_user_id = ?)",
      )
      .pluck()
      .get(id)!;
    if (apps > 0) throw new ContrailError("conflict", `the personal org of user ${id} still has ${apps} app(s)`);
    const orphaned = db
      .stmt<[number], string>(
        `SELECT m.org_id FROM memberships m JOIN organizations o ON o.id = m.org_id
         WHERE m.user_id = ? AND m.role = 'admin' AND o.personal_user_id IS NOT m.user_id
           AND NOT EXISTS (SELECT 1 FROM memberships a
                           WHERE a.org_id = m.org_id AND a.role = 'admin' AND a.user_id <> m.user_id)`,
      )
      .pluck()
      .all(id);
    if (orphaned.length > 0) {
      throw new ContrailError("conflict", `user ${id} is the last admin of org "${orphaned[0]}"`);
    }
    db.stmt("DELETE FROM users WHERE id = ?").run(id);
  });
}
