// `contrail apps …` and `contrail instances …`: their arguments, options and help. The control plane (apps.ts) is
// loaded only when a command runs.

import type { Command } from "commander";
import type { InstancesAddOptions } from "../apps.ts";
import { dataOption } from "./options.ts";

function registerApps(program: Command): void {
  const apps = program.command("apps").description("apps, their deployments and instances");
  apps
    .command("list")
    .description("list apps with their deployment state and instance counts")
    .option("--org <slug>", "only this org's apps")
    .option("--json", "print a JSON array")
    .addOption(dataOption())
    .action(async (opts: { org?: string; json?: boolean; data: string }) =>
      (await import("../apps.ts")).appsListCommand(opts),
    );
  apps
    .command("status")
    .description("show an app's deployment and instances (id, region, host, state, address, pid, restarts, last exit)")
    .argument("<app>", "the app's name")
    .option("--json", "print JSON")
    .addOption(dataOption())
    .action(async (name: string, opts: { json?: boolean; data: string }) =>
      (await import("../apps.ts")).appsStatusCommand(name, opts),
    );
}

function registerInstances(program: Command): void {
  const instances = program.command("instances").description("instances that run elsewhere, routed and scraped");
  instances
    .command("add")
    .description("register an external instance; a running contrail up health checks, routes and scrapes it")
    .requiredOption("--app <app>", "the app")
    .requiredOption("--region <region>", "three-letter region code, e.g. ord")
    .requiredOption("--address <host:port>", "where the instance serves the app's internal port")
    .option("--host <hex>", "4-hex-digit id of its server (default: derived from the address's host)")
    .option("--process-group <group>", "its process group (default: app)")
    .addOption(dataOption())
    .action(async (opts: InstancesAddOptions) => (await import("../apps.ts")).instancesAddCommand(opts));
  instances
    .command("remove")
    .description("remove an external instance")
    .argument("<id>", "the instance id")
    .addOption(dataOption())
    .action(async (id: string, opts: { data: string }) =>
      (await import("../apps.ts")).instancesRemoveCommand(id, opts),
    );
}

/** Registers `contrail apps list|status` and `contrail instances add|remove`. */
export function registerAppCommands(program: Command): void {
  registerApps(program);
  registerInstances(program);
}
