// The actions of `contrail rules sync|list|enable` (options in commands/rules-manage.ts): an org's rule groups in
// `<data>/control.db`, the same groups the ruler API serves. A running metrics node notices each change within its
// poll interval (the table's change counter) and re-syncs the org's evaluator. Results go to stdout, errors to
// stderr with exit code 1.

import { readFileSync, statSync } from "node:fs";
import { basename, extname } from "node:path";
import {
  type ControlDb,
  getOrgLimitOverrides,
  listOrgs,
  listRuleGroups,
  putRuleGroup,
  type RuleGroupWrite,
  requireApp,
  requireOrg,
  syncRuleGroups,
} from "../control/index.ts";
import { ContrailError } from "../model/errors.ts";
import { DEFAULT_ORG_LIMITS, type OrgLimits } from "../model/limits.ts";
import { parseDuration } from "../promql/parser/duration.ts";
import { DEFAULT_RULE_LIMITS, MAX_RULE_FILE_BYTES, type RuleGroupSpec } from "../rules/index.ts";
import { READY_MADE_NAMESPACE, type ReadyMadeThresholds, readyMadeGroup } from "../rules/ready-made.ts";
import { prepareRuleFile, prepareRuleGroup } from "../rules/stored-groups.ts";
import { printTable, when, withControl } from "./common.ts";

// The org's limits as a server would apply them: the defaults with its overrides.
function limitsOf(db: ControlDb, org: string): OrgLimits {
  return { ...DEFAULT_ORG_LIMITS, ...getOrgLimitOverrides(db, org) };
}

// The namespace of a rule file: its base name without a .yml or .yaml extension.
function namespaceOf(file: string): string {
  const ext = extname(file);
  const base = basename(file);
  return ext === ".yml" || ext === ".yaml" ? base.slice(0, -ext.length) : base;
}

// Refuses a group whose interval a metrics node would refuse (it would then keep the org's previous rules).
function checkInterval(file: string, g: RuleGroupSpec): void {
  const min = DEFAULT_RULE_LIMITS.minIntervalMs;
  if (g.intervalMs !== undefined && g.intervalMs < min) {
    throw new ContrailError(
      "bad_data",
      `${file}: group "${g.name}": interval ${g.intervalMs} ms, less than the minimum of ${min} ms`,
    );
  }
}

// Reads a rule file, refusing one past the rule-file size limit before reading it.
function readRuleFile(file: string): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw new ContrailError("bad_data", `${file}: ${(err as Error).message}`);
  }
  if (size > MAX_RULE_FILE_BYTES) {
    throw new ContrailError("bad_data", `${file}: ${size} bytes, more than the limit of ${MAX_RULE_FILE_BYTES}`);
  }
  return readFileSync(file, "utf8");
}

/** Options of `contrail rules sync`. */
export interface RulesSyncOptions {
  readonly org: string;
  readonly dryRun?: boolean;
  readonly data: string;
}

/**
 * The action of `contrail rules sync`: makes the org's rule groups equal to the files (namespace: each file's base
 * name), leaving the ready-made namespace alone unless a file is named after it; prints each change.
 */
export function rulesSyncCommand(files: readonly string[], opts: RulesSyncOptions): Promise<void> {
  return withControl(opts.data, (db) => {
    requireOrg(db, opts.org);
    const groups: RuleGroupWrite[] = [];
    const namespaces = new Map<string, string>();
    for (const file of files) {
      const namespace = namespaceOf(file);
      const other = namespaces.get(namespace);
      if (other !== undefined) {
        throw new ContrailError("bad_data", `${file} and ${other} both make namespace "${namespace}"`);
      }
      namespaces.set(namespace, file);
      for (const g of prepareRuleFile(readRuleFile(file), file)) {
        checkInterval(file, g.spec);
        groups.push({ namespace, name: g.spec.name, yaml: g.yaml, rules: g.rules });
      }
    }
    const changes = syncRuleGroups(db, opts.org, groups, {
      limits: limitsOf(db, opts.org),
      manages: (ns) => ns !== READY_MADE_NAMESPACE || namespaces.has(ns),
      dryRun: opts.dryRun,
    });
    const would = opts.dryRun === true ? "would be " : "";
    for (const c of changes) console.log(`${would}${c.change}: ${c.namespace}/${c.name}`);
    const total = groups.length;
    console.log(
      changes.length === 0
        ? `org "${opts.org}": ${total} rule groups, nothing to change`
        : `org "${opts.org}": ${changes.length} ${changes.length === 1 ? "change" : "changes"}${opts.dryRun === true ? " (dry run: nothing written)" : ""}`,
    );
  });
}

/** The action of `contrail rules list`: every group of the org (or of every org), as a table or JSON. */
export function rulesListCommand(opts: { org?: string; json?: boolean; data: string }): Promise<void> {
  return withControl(opts.data, (db) => {
    if (opts.org !== undefined) requireOrg(db, opts.org);
    const orgs = opts.org === undefined ? listOrgs(db).map((o) => o.id) : [opts.org];
    const rows = orgs.flatMap((org) => listRuleGroups(db, org).map((g) => ({ org, ...g })));
    if (opts.json === true) {
      console.log(JSON.stringify(rows.map(({ yaml: _, ...r }) => r)));
      return;
    }
    printTable([
      ["ORG", "NAMESPACE", "GROUP", "RULES", "UPDATED"],
      ...rows.map((r) => [r.org, r.namespace, r.name, String(r.rules), when(r.updatedAt)]),
    ]);
  });
}

/** Options of `contrail rules enable`, as the command line gives them. */
export interface RulesEnableOptions {
  readonly org: string;
  readonly app: string;
  readonly only: readonly string[];
  readonly errorRatio?: string;
  readonly p95?: string;
  readonly window?: string;
  readonly for?: string;
  readonly data: string;
}

// A number option; throws `bad_data` naming the flag.
function numberOption(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n)) {
    throw new ContrailError("bad_data", `${flag}: expected a number, got ${JSON.stringify(text)}`);
  }
  return n;
}

// The thresholds given on the command line; absent ones keep their defaults.
function thresholdsOf(opts: RulesEnableOptions): Partial<ReadyMadeThresholds> {
  const out: { -readonly [K in keyof ReadyMadeThresholds]?: number } = {};
  if (opts.errorRatio !== undefined) out.errorRatio = numberOption("--error-ratio", opts.errorRatio);
  if (opts.p95 !== undefined) out.p95Seconds = parseDuration(opts.p95) / 1000;
  if (opts.window !== undefined) out.windowMs = parseDuration(opts.window);
  if (opts.for !== undefined) out.forMs = parseDuration(opts.for);
  return out;
}

/**
 * The action of `contrail rules enable`: writes the ready-made rules for an app of the org as the group named after
 * the app in namespace `contrail-builtin` (replacing an earlier one), and prints what it did.
 */
export function rulesEnableCommand(opts: RulesEnableOptions): Promise<void> {
  return withControl(opts.data, (db) => {
    requireOrg(db, opts.org);
    const app = requireApp(db, opts.app);
    if (app.orgId !== opts.org) throw new ContrailError("not_found", `no app "${opts.app}" in org "${opts.org}"`);
    const text = readyMadeGroup(app.name, { only: opts.only, thresholds: thresholdsOf(opts) });
    const g = prepareRuleGroup(text, `${READY_MADE_NAMESPACE}/${app.name}`);
    const change = putRuleGroup(
      db,
      opts.org,
      { namespace: READY_MADE_NAMESPACE, name: g.spec.name, yaml: g.yaml, rules: g.rules },
      limitsOf(db, opts.org),
    );
    const names = g.spec.rules.map((r) => (r.kind === "alerting" ? r.alert : r.record)).join(", ");
    console.log(`${change ?? "unchanged"}: ${READY_MADE_NAMESPACE}/${g.spec.name} (${names})`);
  });
}
