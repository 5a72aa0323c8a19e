// Rule groups of each org in the control database (migration 7), keyed by org, namespace and group name, as the
// ruler API and `contrail rules` manage them. This module stores text: callers parse and check a group (rules/) and
// hand over its canonical YAML with its rule count; here the names, sizes and the org's limits are enforced, every
// write in one transaction. Any change bumps `rule_groups_changes.generation`, which metrics nodes watch.

import { ContrailError } from "../model/errors.ts";
import { limitName } from "../model/limits.ts";
import type { ControlDb } from "./connection.ts";
import { requireOrg } from "./orgs.ts";

/** Longest namespace, UTF-8 bytes (the schema's CHECK). */
export const MAX_RULE_NAMESPACE_BYTES = 255;
/** Longest group name, UTF-8 bytes (the schema's CHECK). */
export const MAX_RULE_GROUP_NAME_BYTES = 255;
/** Largest stored group text, UTF-8 bytes (the schema's CHECK); also the ruler API's body limit. */
export const MAX_RULE_GROUP_BYTES = 512 * 1024;

/** A rule group as stored; `updatedAt` in ms since the epoch. */
export interface StoredRuleGroup {
  readonly namespace: string;
  readonly name: string;
  /** The group as one YAML document, canonical (as rules/ re-serialised it). */
  readonly yaml: string;
  /** How many rules the group holds. */
  readonly rules: number;
  readonly updatedAt: number;
}

/** A group to store: its place, canonical YAML text and rule count. */
export type RuleGroupWrite = Omit<StoredRuleGroup, "updatedAt">;

/** The org's limits that bound what it may store (model/limits.ts). */
export interface RuleGroupLimits {
  readonly maxRuleGroups: number;
  readonly maxRulesPerGroup: number;
}

/** What a write did to one group. */
export type RuleGroupChangeKind = "added" | "updated" | "deleted";

/** One group a write changed. */
export interface RuleGroupChange {
  readonly namespace: string;
  readonly name: string;
  readonly change: RuleGroupChangeKind;
}

interface Row {
  namespace: string;
  name: string;
  yaml: string;
  rules: number;
  updated_at: number;
}

const COLUMNS = "namespace, name, yaml, rules, updated_at";

function toGroup(r: Row): StoredRuleGroup {
  return { namespace: r.namespace, name: r.name, yaml: r.yaml, rules: r.rules, updatedAt: r.updated_at };
}

/** Returns `value` when it is a valid namespace or group name; throws `bad_data` naming the problem otherwise. */
export function checkRuleGroupKey(what: "namespace" | "group name", value: string): string {
  const max = what === "namespace" ? MAX_RULE_NAMESPACE_BYTES : MAX_RULE_GROUP_NAME_BYTES;
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes === 0) throw new ContrailError("bad_data", `${what} must not be empty`);
  if (bytes > max) throw new ContrailError("bad_data", `${what} is ${bytes} bytes long, more than the limit of ${max}`);
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new ContrailError("bad_data", `${what} ${JSON.stringify(value)} contains a control character`);
  }
  return value;
}

function checkWrite(g: RuleGroupWrite, limits: RuleGroupLimits): void {
  checkRuleGroupKey("namespace", g.namespace);
  checkRuleGroupKey("group name", g.name);
  const bytes = Buffer.byteLength(g.yaml, "utf8");
  if (bytes > MAX_RULE_GROUP_BYTES) {
    throw new ContrailError(
      "bad_data",
      `rule group "${g.name}" is ${bytes} bytes, more than the limit of ${MAX_RULE_GROUP_BYTES}`,
    );
  }
  if (g.rules > limits.maxRulesPerGroup) {
    throw new ContrailError(
      "bad_data",
      `rule group "${g.name}" has ${g.rules} rules, more than the org's limit of ${limits.maxRulesPerGroup} ` +
        `(${limitName("maxRulesPerGroup")})`,
    );
  }
}

function checkGroupCount(org: string, count: number, limits: RuleGroupLimits): void {
  if (count > limits.maxRuleGroups) {
    throw new ContrailError(
      "bad_data",
      `org "${org}" would have ${count} rule groups, more than its limit of ${limits.maxRuleGroups} ` +
        `(${limitName("maxRuleGroups")})`,
    );
  }
}

/** The org's groups, or one namespace's, sorted by namespace then name (none for an unknown org). */
export function listRuleGroups(db: ControlDb, org: string, namespace?: string): StoredRuleGroup[] {
  if (namespace === undefined) {
    return db
      .stmt<[string], Row>(`SELECT ${COLUMNS} FROM rule_groups WHERE org_id = ? ORDER BY namespace, name`)
      .all(org)
      .map(toGroup);
  }
  return db
    .stmt<[string, string], Row>(`SELECT ${COLUMNS} FROM rule_groups WHERE org_id = ? AND namespace = ? ORDER BY name`)
    .all(org, namespace)
    .map(toGroup);
}

/** One group, or undefined. */
export function getRuleGroup(db: ControlDb, org: string, namespace: string, name: string): StoredRuleGroup | undefined {
  const row = db
    .stmt<[string, string, string], Row>(
      `SELECT ${COLUMNS} FROM rule_groups WHERE org_id = ? AND namespace = ? AND name = ?`,
    )
    .get(org, namespace, name);
  return row === undefined ? undefined : toGroup(row);
}

/** The orgs that have at least one rule group, sorted. */
export function orgsWithRuleGroups(db: ControlDb): string[] {
  return db.stmt<[], string>("SELECT DISTINCT org_id FROM rule_groups ORDER BY org_id").pluck().all();
}

/** The change counter of the table: it moves whenever any process changes any group. */
export function ruleGroupsGeneration(db: ControlDb): number {
  return db.stmt<[], number>("SELECT generation FROM rule_groups_changes WHERE id = 1").pluck().get() ?? 0;
}

// Writes one group inside the caller's transaction; what it did, or null when the stored text was already equal.
function writeGroup(db: ControlDb, org: string, g: RuleGroupWrite, now: number): RuleGroupChangeKind | null {
  const old = getRuleGroup(db, org, g.namespace, g.name);
  if (old !== undefined && old.yaml === g.yaml) return null;
  db.stmt<[string, string, string, string, number, number]>(
    `INSERT INTO rule_groups (org_id, namespace, name, yaml, rules, updated_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (org_id, namespace, name) DO UPDATE
       SET yaml = excluded.yaml, rules = excluded.rules, updated_at = excluded.updated_at`,
  ).run(org, g.namespace, g.name, g.yaml, g.rules, now);
  return old === undefined ? "added" : "updated";
}

function groupCount(db: ControlDb, org: string): number {
  return db.stmt<[string], number>("SELECT count(*) FROM rule_groups WHERE org_id = ?").pluck().get(org) ?? 0;
}

/**
 * Adds or replaces one group of `org`; returns what changed (null: the stored group was already equal). Throws
 * `not_found` for an unknown org and `bad_data` for a bad name, an oversized group or a limit the org would pass.
 */
export function putRuleGroup(
  db: ControlDb,
  org: string,
  group: RuleGroupWrite,
  limits: RuleGroupLimits,
): RuleGroupChangeKind | null {
  checkWrite(group, limits);
  return db.transaction(() => {
    requireOrg(db, org);
    const exists = getRuleGroup(db, org, group.namespace, group.name) !== undefined;
    if (!exists) checkGroupCount(org, groupCount(db, org) + 1, limits);
    return writeGroup(db, org, group, db.now());
  });
}

/** Deletes one group; false when there was none. */
export function deleteRuleGroup(db: ControlDb, org: string, namespace: string, name: string): boolean {
  const r = db
    .stmt<[string, string, string]>("DELETE FROM rule_groups WHERE org_id = ? AND namespace = ? AND name = ?")
    .run(org, namespace, name);
  return r.changes > 0;
}

/** Deletes every group of a namespace; returns how many there were. */
export function deleteRuleNamespace(db: ControlDb, org: string, namespace: string): number {
  return db.stmt<[string, string]>("DELETE FROM rule_groups WHERE org_id = ? AND namespace = ?").run(org, namespace)
    .changes;
}

/** Options of {@link syncRuleGroups}. */
export interface SyncRuleGroupsOptions {
  readonly limits: RuleGroupLimits;
  /** Which stored namespaces the sync manages: their groups missing from the list are deleted; others are kept. */
  readonly manages: (namespace: string) => boolean;
  /** Compute and check the changes without writing them. */
  readonly dryRun?: boolean;
}

/**
 * Makes the org's groups in the managed namespaces equal to `groups` in one transaction: adds, replaces and
 * deletes. Returns the changes, sorted by namespace and name. Checks everything (names, sizes, limits, a group
 * listed twice) before writing anything; throws as {@link putRuleGroup} does.
 */
export function syncRuleGroups(
  db: ControlDb,
  org: string,
  groups: readonly RuleGroupWrite[],
  options: SyncRuleGroupsOptions,
): RuleGroupChange[] {
  const wanted = new Map<string, RuleGroupWrite>();
  for (const g of groups) {
    checkWrite(g, options.limits);
    if (!options.manages(g.namespace)) {
      throw new ContrailError("bad_data", `namespace "${g.namespace}" is not managed by this sync`);
    }
    const key = JSON.stringify([g.namespace, g.name]);
    if (wanted.has(key)) {
      throw new ContrailError("bad_data", `rule group "${g.name}" appears twice in namespace "${g.namespace}"`);
    }
    wanted.set(key, g);
  }
  return db.transaction(() => {
    requireOrg(db, org);
    const stored = listRuleGroups(db, org);
    const kept = stored.filter((s) => !options.manages(s.namespace)).length;
    checkGroupCount(org, kept + wanted.size, options.limits);
    const changes: RuleGroupChange[] = [];
    for (const s of stored) {
      if (!options.manages(s.namespace) || wanted.has(JSON.stringify([s.namespace, s.name]))) continue;
      if (options.dryRun !== true) deleteRuleGroup(db, org, s.namespace, s.name);
      changes.push({ namespace: s.namespace, name: s.name, change: "deleted" });
    }
    const now = db.now();
    for (const g of wanted.values()) {
      const old = stored.find((s) => s.namespace === g.namespace && s.name === g.name);
      if (old?.yaml === g.yaml) continue;
      if (options.dryRun !== true) writeGroup(db, org, g, now);
      changes.push({ namespace: g.namespace, name: g.name, change: old === undefined ? "added" : "updated" });
    }
    return changes.sort((a, b) => compare(a.namespace, b.namespace) || compare(a.name, b.name));
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
