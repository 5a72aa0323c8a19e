// `contrail receivers …`: an org's notification receivers, from the command line, on `<data>/control.db`. Their
// arguments, options and help; the actions (receivers.ts beside commands/) are loaded only when a command runs.

import { type Command, Option } from "commander";
import type { ReceiversSetOptions } from "../receivers.ts";
import { dataOption } from "./options.ts";

const orgOption = () => new Option("--org <slug>", "the org whose receivers these are").makeOptionMandatory();

/** Registers `contrail receivers list|set|delete`. */
export function registerReceiverCommands(program: Command): void {
  const receivers = program
    .command("receivers")
    .description("where an org's alerts are delivered without an Alertmanager: webhooks and Slack (docs/alerting.md)");
  receivers
    .command("list")
    .description("list an org's receivers (secrets are never shown, only whether one is set)")
    .addOption(orgOption())
    .option("--json", "print a JSON array")
    .addOption(dataOption())
    .action(async (opts: { org: string; json?: boolean; data: string }) =>
      (await import("../receivers.ts")).receiversListCommand(opts),
    );
  receivers
    .command("set")
    .description("create or replace a receiver (a running server uses it for the next notification)")
    .argument("<name>", "letters, digits, '_', '.', '-', at most 64 characters")
    .addOption(orgOption())
    .addOption(new Option("--kind <kind>", "webhook (Alertmanager's JSON) or slack").choices(["webhook", "slack"]))
    .requiredOption("--url <url>", "where notifications are POSTed (http or https)")
    .option("--secret <text>", "HMAC-SHA256 key: deliveries carry X-Contrail-Signature (default: keep the stored one)")
    .option("--no-secret", "remove the stored secret: deliveries are unsigned")
    .option(
      "--group-by <labels>",
      "comma-separated labels that split alerts into groups; ... for all (default alertname)",
    )
    .option("--group-wait <duration>", "wait before a new group's first notification (default 30s)")
    .option("--group-interval <duration>", "wait before notifying a group's changes (default 5m)")
    .option("--repeat-interval <duration>", "wait before repeating an unchanged firing group (default 4h)")
    .addOption(new Option("--send-resolved <on|off>", "notify resolved alerts too (default on)").choices(["on", "off"]))
    .addOption(dataOption())
    .action(async (name: string, opts: ReceiversSetOptions) =>
      (await import("../receivers.ts")).receiversSetCommand(name, opts),
    );
  receivers
    .command("delete")
    .description("delete a receiver")
    .argument("<name>", "the receiver")
    .addOption(orgOption())
    .addOption(dataOption())
    .action(async (name: string, opts: { org: string; data: string }) =>
      (await import("../receivers.ts")).receiversDeleteCommand(name, opts),
    );
}
