// `contrail orgs …` and `contrail tokens …`: the control plane from the command line, on `<data>/control.db`.
// Results go to stdout (`tokens create` prints only the token, for `TOKEN=$(contrail tokens create)`), errors to
// stderr with exit code 1.

import type { Command } from "commander";
import {
  createOrg,
  createToken,
  getOrgLimitOverrides,
  listOrgs,
  listTokens,
  localUser,
  PERSONAL_ORG,
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
import { dataOption, printTable, when, withControl } from "./common.ts";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

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

function registerOrgLimits(orgs: Command): void {
  orgs
    .command("limits")
    .description("show an org's limits, or change them (a running server applies a change at its next request)")
    .argument("<slug>", "the org")
    .option("--set <name=value>", "set a limit, e.g. max_series_per_write=20000 or max_write_bytes=64MiB", collect, [])
    .option("--unset <name>", "return a limit to its default", collect, [])
    .option("--json", "print a JSON array")
    .addOption(dataOption())
    .action((slug: string, opts: { set: string[]; unset: string[]; json?: boolean; data: string }) =>
      withControl(opts.data, (db) => {
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
      }),
    );
}

function registerOrgs(program: Command): void {
  const orgs = program.command("orgs").description("organizations: the tenants whose metrics are kept apart");
  orgs
    .command("create")
    .description("create an org administered by the local user; prints its slug")
    .argument("<slug>", "lower-case letters, digits and -, at most 63 characters")
    .option("--name <name>", "display name (default: the slug)")
    .addOption(dataOption())
    .action((slug: string, opts: { name?: string; data: string }) =>
      withControl(opts.data, (db) => {
        const org = createOrg(db, { slug, name: opts.name, admin: localUser(db)!.id });
        console.log(org.id);
      }),
    );
  orgs
    .command("list")
    .description("list orgs")
    .option("--json", "print a JSON array")
    .addOption(dataOption())
    .action((opts: { json?: boolean; data: string }) =>
      withControl(opts.data, (db) => {
        const all = listOrgs(db);
        if (opts.json === true) {
          console.log(JSON.stringify(all));
          return;
        }
        printTable([
          ["SLUG", "CREATED", "PERSONAL", "NAME"],
          ...all.map((o) => [o.id, when(o.createdAt), o.personalUserId === null ? "no" : "yes", o.name]),
        ]);
      }),
    );
  registerOrgLimits(orgs);
}

function registerTokens(program: Command): void {
  const tokens = program.command("tokens").description("API tokens of an org (Authorization: Bearer <token>)");
  tokens
    .command("create")
    .description("create a token and print it; it is stored only as a hash and cannot be shown again")
    .option("--org <slug>", "the org the token acts for", PERSONAL_ORG)
    .option(
      "--scope <scopes>",
      "read (queries), write (remote write, deploys; does not include read), or read,write",
      "read",
    )
    .option("--expires <ttl>", "time to live, like 90m, 12h, 30d, 2w, 1y (default: never)")
    .option("--note <text>", "what the token is for, at most 200 characters")
    .addOption(dataOption())
    .action((opts: { org: string; scope: string; expires?: string; note?: string; data: string }) =>
      withControl(opts.data, (db) => {
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
      }),
    );
  tokens
    .command("list")
    .description("list tokens (never their secrets)")
    .option("--org <slug>", "only this org's tokens")
    .option("--json", "print a JSON array; times in milliseconds since the epoch")
    .addOption(dataOption())
    .action((opts: { org?: string; json?: boolean; data: string }) =>
      withControl(opts.data, (db) => {
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
      }),
    );
  tokens
    .command("revoke")
    .description("revoke a token at once; it is refused from then on")
    .argument("<id>", "the token's ID from `contrail tokens list`, or the token itself")
    .option("--org <slug>", "only revoke if the token belongs to this org")
    .addOption(dataOption())
    .action((id: string, opts: { org?: string; data: string }) =>
      withControl(opts.data, (db) => {
        const info = revokeToken(db, id, { org: opts.org });
        console.log(`revoked ${info.id}`);
      }),
    );
}

/** Registers `contrail orgs create|list|limits` and `contrail tokens create|list|revoke`. */
export function registerControlCommands(program: Command): void {
  registerOrgs(program);
  registerTokens(program);
}
