// The actions of `contrail orgs …` and `contrail tokens …` (options in commands/control.ts): the control plane from
// the command line, on `<data>/control.db`.
// Results go to stdout (`tokens create` prints only the token, for `TOKEN=$(contrail tokens create)`), errors to
// stderr with exit code 1.

import {
  createOrg,
  createToken,
  getOrgLimitOverrides,
  listOrgs,
  listTokens,
  localUser,
  parseScopes,
  parseTokenTtl,
  requireOrg,
  revokeToken,
  updateOrgLimits,
} from "../control/index.ts";
import { ContrailError } from "../model/errors.ts";
import {
  DEFAULT_ORG_LIMITS,
  formatLimit,
  LIMIT_KEYS,
  LIMIT_SPECS,
  limitName,
  parseLimitValue,
  requireLimitKey,
} from "../model/limits.ts";
import { printTable, when, withControl } from "./common.ts";

// `name=value` pairs of --set, parsed and checked against each limit's unit and range.
function parseSettings(pairs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new ContrailError("bad_data", `--set ${JSON.stringify(pair)}: expected name=value`);
    const key = requireLimitKey(pair.slice(0, eq).trim());
    out[limitName(key)] = parseLimitValue(key, pair.slice(eq + 1));
  }
  return out;
}

/** The action of `contrail orgs create`: creates an org administered by the local user and prints its slug. */
export function orgsCreateCommand(slug: string, opts: { name?: string; data: string }): Promise<void> {
  return withControl(opts.data, (db) => {
    const org = createOrg(db, { slug, name: opts.name, admin: localUser(db)!.id });
    console.log(org.id);
  });
}

/** The action of `contrail orgs list`: a table, or a JSON array with `--json`. */
export function orgsListCommand(opts: { json?: boolean; data: string }): Promise<void> {
  return withControl(opts.data, (db) => {
    const all = listOrgs(db);
    if (opts.json === true) {
      console.log(JSON.stringify(all));
      return;
    }
    printTable([
      ["SLUG", "CREATED", "PERSONAL", "NAME"],
      ...all.map((o) => [o.id, when(o.createdAt), o.personalUserId === null ? "no" : "yes", o.name]),
    ]);
  });
}

/** Options of `contrail orgs limits`, as the command line gives them. */
export interface OrgsLimitsOptions {
  /** `name=value` pairs to set. */
  readonly set: readonly string[];
  /** Names to return to their defaults. */
  readonly unset: readonly string[];
  readonly json?: boolean;
  readonly data: string;
}

/** The action of `contrail orgs limits`: shows an org's limits, after applying `--set` and `--unset` when given. */
export function orgsLimitsCommand(slug: string, opts: OrgsLimitsOptions): Promise<void> {
  return withControl(opts.data, (db) => {
    requireOrg(db, slug);
    const overrides =
      opts.set.length + opts.unset.length === 0
        ? getOrgLimitOverrides(db, slug)
        : updateOrgLimits(db, slug, { set: parseSettings(opts.set), unset: opts.unset });
    const rows = LIMIT_KEYS.map((key) => {
      const spec = LIMIT_SPECS[key];
      const value = overrides[key] ?? DEFAULT_ORG_LIMITS[key];
      return { key, spec, value, overridden: overrides[key] !== undefined };
    });
    if (opts.json === true) {
      const list = rows.map(({ key, spec, value, overridden }) => ({
        name: limitName(key),
        value,
        default: spec.default,
        unit: spec.unit,
        min: spec.min,
        max: spec.max,
        overridden,
        help: spec.help,
      }));
      console.log(JSON.stringify(list));
      return;
    }
    printTable([
      ["LIMIT", "VALUE", "DEFAULT", "RANGE", "HELP"],
      ...rows.map(({ key, spec, value, overridden }) => [
        limitName(key),
        `${formatLimit(key, value)}${overridden ? " (set)" : ""}`,
        formatLimit(key, spec.default),
        `${formatLimit(key, spec.min)}..${formatLimit(key, spec.max)}`,
        spec.help,
      ]),
    ]);
  });
}

/** Options of `contrail tokens create`, as the command line gives them. */
export interface TokensCreateOptions {
  readonly org: string;
  readonly scope: string;
  readonly expires?: string;
  readonly note?: string;
  readonly data: string;
}

/** The action of `contrail tokens create`: prints only the token on stdout (a note on stderr when it is a TTY). */
export function tokensCreateCommand(opts: TokensCreateOptions): Promise<void> {
  return withControl(opts.data, (db) => {
    const { token, info } = createToken(db, {
      org: opts.org,
      scopes: parseScopes(opts.scope),
      ttlMs: opts.expires === undefined ? undefined : parseTokenTtl(opts.expires),
      note: opts.note,
    });
    process.stdout.write(`${token}\n`);
    if (process.stderr.isTTY) {
      console.error(`token ${info.id} (${info.scopes.join(",")}) for org "${info.orgId}"; it is shown only once`);
    }
  });
}

/** The action of `contrail tokens list`: a table, or a JSON array with `--json`; never the secrets. */
export function tokensListCommand(opts: { org?: string; json?: boolean; data: string }): Promise<void> {
  return withControl(opts.data, (db) => {
    if (opts.org !== undefined) requireOrg(db, opts.org);
    const all = listTokens(db, { org: opts.org });
    if (opts.json === true) {
      console.log(JSON.stringify(all));
      return;
    }
    printTable([
      ["ID", "ORG", "SCOPE", "CREATED", "EXPIRES", "LAST USED", "REVOKED", "NOTE"],
      ...all.map((t) => [
        t.id,
        t.orgId,
        t.scopes.join(","),
        when(t.createdAt),
        when(t.expiresAt),
        when(t.lastUsedAt),
        when(t.revokedAt),
        t.note ?? "",
      ]),
    ]);
  });
}

/** The action of `contrail tokens revoke`: revokes by ID or by the token itself, optionally only within `--org`. */
export function tokensRevokeCommand(id: string, opts: { org?: string; data: string }): Promise<void> {
  return withControl(opts.data, (db) => {
    const info = revokeToken(db, id, { org: opts.org });
    console.log(`revoked ${info.id}`);
  });
}
