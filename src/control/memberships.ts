// Memberships: which users belong to which orgs, as `admin` (manages the org, its apps and tokens) or `member`.
// Invariant kept here: an org never loses its last admin, and a personal org always keeps its owner.

import { ContrailError } from "../model/errors.ts";
import { type ControlDb, isForeignKeyViolation, isUniqueViolation } from "./connection.ts";

/** A user's role in an org. */
export type Role = "admin" | "member";

/** One user's membership of one org; `createdAt` in milliseconds since the epoch. */
export interface Membership {
  readonly userId: number;
  readonly orgId: string;
  readonly role: Role;
  readonly createdAt: number;
}

/** Identifies one membership. */
export interface MemberRef {
  readonly org: string;
  readonly user: number;
}

interface MembershipRow {
  user_id: number;
  org_id: string;
  role: Role;
  created_at: number;
}

const COLUMNS = "user_id, org_id, role, created_at";

function toMembership(r: MembershipRow): Membership {
  return { userId: r.user_id, orgId: r.org_id, role: r.role, createdAt: r.created_at };
}

/** Throws `bad_data` unless `role` is `admin` or `member`; returns it typed. */
export function checkRole(role: string): Role {
  if (role === "admin" || role === "member") return role;
  throw new ContrailError("bad_data", `role: expected "admin" or "member", got ${JSON.stringify(role)}`);
}

/** Adds `user` to `org` with `role`. Throws `not_found` for an unknown org or user, `conflict` if already a member. */
export function addMember(db: ControlDb, ref: MemberRef & { readonly role: Role }): Membership {
  checkRole(ref.role);
  try {
    const row = db
      .stmt<[number, string, Role, number], MembershipRow>(
        `INSERT INTO memberships (user_id, org_id, role, created_at) VALUES (?, ?, ?, ?) RETURNING ${COLUMNS}`,
      )
      .get(ref.user, ref.org, ref.role, db.now());
    return toMembership(row!);
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new ContrailError("conflict", `user ${ref.user} is already a member of org "${ref.org}"`, { cause: err });
    }
    if (isForeignKeyViolation(err)) {
      throw new ContrailError("not_found", `no org "${ref.org}" or no user ${ref.user}`, { cause: err });
    }
    throw err;
  }
}

/** The role of `user` in `org`, or undefined when not a member. */
export function roleOf(db: ControlDb, ref: MemberRef): Role | undefined {
  return db
    .stmt<[number, string], Role>("SELECT role FROM memberships WHERE user_id = ? AND org_id = ?")
    .pluck()
    .get(ref.user, ref.org);
}

/** Changes the role of an existing member. Throws `not_found` for a non-member, `conflict` to demote the last admin. */
export function setRole(db: ControlDb, ref: MemberRef & { readonly role: Role }): void {
  checkRole(ref.role);
  db.transaction(() => {
    const current = requireRole(db, ref);
    if (current === "admin" && ref.role !== "admin") checkNotLastAdmin(db, ref);
    db.stmt("UPDATE memberships SET role = ? WHERE user_id = ? AND org_id = ?").run(ref.role, ref.user, ref.org);
  });
}

/** Removes a member. Throws `not_found` for a non-member, `conflict` for the last admin or a personal org's owner. */
export function removeMember(db: ControlDb, ref: MemberRef): void {
  db.transaction(() => {
    const current = requireRole(db, ref);
    const owner = db
      .stmt<[string], number | null>("SELECT personal_user_id FROM organizations WHERE id = ?")
      .pluck()
      .get(ref.org);
    if (owner === ref.user) {
      throw new ContrailError("conflict", `user ${ref.user} owns the personal org "${ref.org}" and cannot leave it`);
    }
    if (current === "admin") checkNotLastAdmin(db, ref);
    db.stmt("DELETE FROM memberships WHERE user_id = ? AND org_id = ?").run(ref.user, ref.org);
  });
}

/** The members of `org`, oldest first. */
export function listMembers(db: ControlDb, org: string): Membership[] {
  return db
    .stmt<[string], MembershipRow>(`SELECT ${COLUMNS} FROM memberships WHERE org_id = ? ORDER BY created_at, user_id`)
    .all(org)
    .map(toMembership);
}

/** The memberships of `user`, by org slug. */
export function membershipsOf(db: ControlDb, user: number): Membership[] {
  return db
    .stmt<[number], MembershipRow>(`SELECT ${COLUMNS} FROM memberships WHERE user_id = ? ORDER BY org_id`)
    .all(user)
    .map(toMembership);
}

function requireRole(db: ControlDb, ref: MemberRef): Role {
  const role = roleOf(db, ref);
  if (role === undefined) throw new ContrailError("not_found", `user ${ref.user} is not a member of org "${ref.org}"`);
  return role;
}

function checkNotLastAdmin(db: ControlDb, ref: MemberRef): void {
  const admins = db
    .stmt<[string], number>("SELECT count(*) FROM memberships WHERE org_id = ? AND role = 'admin'")
    .pluck()
    .get(ref.org);
  if (admins === 1) throw new ContrailError("conflict", `user ${ref.user} is the last admin of org "${ref.org}"`);
}
