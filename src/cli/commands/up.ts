// `contrail up`: its options and help. The supervisor of the platform (up.ts) is loaded only when the command runs.

import { type Command, Option } from "commander";
import { DEFAULT_API_ADDRESS, DEFAULT_EDGES, DEFAULT_SCRAPE_INTERVAL_MS, formatEdgeSpec } from "../../roles/options.ts";
import type { UpOptions } from "../up.ts";
import {
  alertmanagerOption,
  dataOption,
  externalLabelOption,
  nativeHistogramsOption,
  storageOption,
  storageQueueMaxOption,
} from "./options.ts";

/** Registers `contrail up`. */
export function registerUpCommand(program: Command): void {
  program
    .command("up")
    .description(
      "run the platform (metrics node, edge, agent) as supervised processes until SIGINT or SIGTERM; --demo adds an app",
    )
    .addOption(dataOption())
    .addOption(
      new Option("--api <host:port>", "address of the HTTP API").env("CONTRAIL_API").default(DEFAULT_API_ADDRESS),
    )
    .addOption(
      new Option(
        "--edge <region=host:port,tls=host:port...>",
        `an edge listener and optionally its HTTPS listener (without tls=, a free port on the same host; repeat for several regions; default ${DEFAULT_EDGES.map(formatEdgeSpec).join(" ")})`,
      ),
    )
    .addOption(new Option("--domain <domain>", "apps are reached at <app>.<domain>").default("localhost"))
    .addOption(new Option("--shard <i/n>", "scrape only shard i of n of the targets"))
    .addOption(
      new Option(
        "--demo",
        "also deploy the example app of examples/node-express and send it traffic; print how to look",
      ),
    )
    .addOption(
      new Option(
        "--examples <names>",
        "with --demo: the example apps to deploy, comma-separated (node-express, go-http, python-flask) or all " +
          "(default node-express)",
      ),
    )
    .addOption(
      new Option("--traffic <on|off>", "with --demo: send demo traffic through every edge (default on)").choices([
        "on",
        "off",
      ]),
    )
    .addOption(
      new Option("--scrape-interval <duration>", "time between scrapes").default(
        `${DEFAULT_SCRAPE_INTERVAL_MS / 1000}s`,
      ),
    )
    .addOption(nativeHistogramsOption())
    .addOption(alertmanagerOption())
    .addOption(externalLabelOption())
    .addOption(storageOption())
    .addOption(storageQueueMaxOption())
    .action(async (opts: UpOptions) => (await import("../up.ts")).upCommand(opts));
}
