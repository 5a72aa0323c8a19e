// `contrail orgs …` and `contrail tokens …`: their arguments, options and help. The control plane (control.ts) is
// loaded only when a command runs.

import type { Command } from "commander";
import { PERSONAL_ORG } from "../../control/index.ts";
import type { OrgsLimitsOptions, TokensCreateOptions } from "../control.ts";
import { dataOption } from "./options.ts";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
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
    .action(async (slug: string, opts: OrgsLimitsOptions) =>
      (await import("../control.ts")).orgsLimitsCommand(slug, opts),
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
    .action(async (slug: string, opts: { name?: string; data: string }) =>
      (await import("../control.ts")).orgsCreateCommand(slug, opts),
    );
  orgs
    .command("list")
    .description("list orgs")
    .option("--json", "print a JSON array")
    .addOption(dataOption())
    .action(async (opts: { json?: boolean; data: string }) => (await import("../control.ts")).orgsListCommand(opts));
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
    .action(async (opts: TokensCreateOptions) => (await import("../control.ts")).tokensCreateCommand(opts));
  tokens
    .command("list")
    .description("list tokens (never their secrets)")
    .option("--org <slug>", "only this org's tokens")
    .option("--json", "print a JSON array; times in milliseconds since the epoch")
    .addOption(dataOption())
    .action(async (opts: { org?: string; json?: boolean; data: string }) =>
      (await import("../control.ts")).tokensListCommand(opts),
    );
  tokens
    .command("revoke")
    .description("revoke a token at once; it is refused from then on")
    .argument("<id>", "the token's ID from `contrail tokens list`, or the token itself")
    .option("--org <slug>", "only revoke if the token belongs to this org")
    .addOption(dataOption())
    .action(async (id: string, opts: { org?: string; data: string }) =>
      (await import("../control.ts")).tokensRevokeCommand(id, opts),
    );
}

/** Registers `contrail orgs create|list|limits` and `contrail tokens create|list|revoke`. */
export function registerControlCommands(program: Command): void {
  registerOrgs(program);
  registerTokens(program);
}
