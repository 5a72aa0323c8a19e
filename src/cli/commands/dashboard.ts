// `contrail dashboard export`: its options and help. dashboard.ts is light (it reads the JSON file only when the
// command runs), so it is imported up front.

import type { Command } from "commander";
import { type DashboardExportOptions, DS_PLACEHOLDER, dashboardExportCommand } from "../dashboard.ts";

/** Registers `contrail dashboard export [--ds-uid UID] [--regions-url URL]`. */
export function registerDashboardCommand(program: Command): void {
  const dashboard = program.command("dashboard").description("the Grafana dashboard of the built-in metrics");
  dashboard
    .command("export")
    .description("print the dashboard JSON (for Grafana's import, or bound to a data source for provisioning)")
    .option(
      "--ds-uid <uid>",
      `bind every panel to this Prometheus data source uid instead of the ${DS_PLACEHOLDER} input`,
    )
    .option("--regions-url <url>", "URL of /meta/regions.json as the viewer's browser reaches it")
    .action((opts: DashboardExportOptions) => dashboardExportCommand(opts));
}
