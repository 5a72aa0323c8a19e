// `contrail up`: every role of Contrail in one process over the embedded store (see platform/platform.ts): the
// Prometheus API of every org at `http://<api>/prometheus/<org>/`, remote write, the edge proxy (one listener per
// region), the local instances of deployed apps, the instance agent and the scraper. `contrail deploy` on the same
// data directory reaches it through the control database.
// With `--demo` it also deploys the example app and sends it traffic (see demo.ts).
// SIGINT or SIGTERM stops it cleanly: traffic stopped, no new connections, scrapes stopped, instances stopped,
// every database closed.

import { type Command, Option } from "commander";
import { ContrailError, isContrailError } from "../model/errors.ts";
import { parseDuration } from "../promql/parser/index.ts";
import { parseShard } from "../scrape/index.ts";
import { dataOption } from "./common.ts";
import { checkDemoDependencies, type Demo, startDemo } from "./demo.ts";
import {
  checkEdges,
  DEFAULT_API_ADDRESS,
  DEFAULT_EDGES,
  DEFAULT_SCRAPE_INTERVAL_MS,
  type EdgeSpec,
  parseEdgeSpec,
} from "./platform/options.ts";
import { startPlatform } from "./platform/platform.ts";

export { DEFAULT_API_ADDRESS, type ListenAddress, parseListenAddress } from "./platform/options.ts";

/** Options of {@link up}, as the command line gives them. */
export interface UpOptions {
  readonly data: string;
  readonly api: string;
  /** `REGION=HOST:PORT` entries; none means the default edges. */
  readonly edge?: readonly string[];
  readonly domain: string;
  readonly shard?: string;
  /** A Prometheus duration such as `15s` or `1s`. */
  readonly scrapeInterval: string;
  /** Deploy the example app and print how to look at its metrics. */
  readonly demo?: boolean;
  /** `on` (the default with `--demo`) or `off`: the demo traffic. */
  readonly traffic?: "on" | "off";
}

/** Resolves on the first SIGINT or SIGTERM; a second one ends the process at once. */
function shutdownSignal(): Promise<string> {
  return new Promise((resolve) => {
    let seen = false;
    const onSignal = (sig: string) => {
      if (seen) {
        process.stderr.write(`contrail: ${sig} again, exiting without waiting\n`);
        process.exit(1);
      }
      seen = true;
      resolve(sig);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

/** Parses `--scrape-interval`; throws bad_data unless it is a duration of at least one second. */
function scrapeIntervalMs(text: string): number {
  const ms = parseDuration(text);
  if (ms < 1000) throw new ContrailError("bad_data", `--scrape-interval: at least 1s, got ${JSON.stringify(text)}`);
  return ms;
}

/** Runs the platform until a signal arrives, then shuts it down in order. */
export async function up(opts: UpOptions): Promise<void> {
  const given: EdgeSpec[] = (opts.edge ?? []).map(parseEdgeSpec);
  const edges = checkEdges(given.length > 0 ? given : DEFAULT_EDGES);
  const intervalMs = scrapeIntervalMs(opts.scrapeInterval);
  const shard = opts.shard === undefined ? undefined : parseShard(opts.shard);
  const demo = opts.demo === true;
  if (!demo && opts.traffic !== undefined) throw new ContrailError("bad_data", "--traffic needs --demo");
  if (demo) checkDemoDependencies();
  const signal = shutdownSignal();
  const stopRequested = new AbortController();
  void signal.then(() => stopRequested.abort());
  const print = (lines: readonly string[]) => process.stdout.write(lines.map((l) => `contrail: ${l}\n`).join(""));
  const platform = await startPlatform({
    dataDir: opts.data,
    api: opts.api,
    edges,
    defaultEdges: given.length === 0,
    domain: opts.domain.toLowerCase(),
    scrapeIntervalMs: intervalMs,
    shard,
    log: (line) => process.stdout.write(`contrail: ${line}\n`),
    warn: (line) => process.stderr.write(`contrail: ${line}\n`),
  });
  let running: Demo | null = null;
  try {
    print([
      `listening on ${platform.apiUrl} (Prometheus API at /prometheus/<org>/, data in ${opts.data})`,
      ...platform.edges.map((e) => `edge ${e.region} ${e.url} (${e.address}, host ${e.host})`),
    ]);
    if (!demo) {
      print([
        `data source ${platform.apiUrl}/prometheus/<org> (Authorization: Bearer <token of contrail tokens create>)`,
      ]);
    }
    print([
      `scraping every ${opts.scrapeInterval}${shard === undefined ? "" : ` (shard ${shard.index}/${shard.count})`}; ready`,
    ]);
    if (demo) {
      running = await startDemo({
        platform,
        dataDir: opts.data,
        domain: opts.domain.toLowerCase(),
        traffic: opts.traffic !== "off",
        signal: stopRequested.signal,
        log: (line) => print([line]),
      });
      if (running !== null) process.stdout.write(`${running.summary.join("\n")}\n`);
    }
    const sig = await signal;
    process.stdout.write(`contrail: ${sig} received, shutting down\n`);
  } finally {
    await running?.stop();
    await platform.stop();
  }
  process.stdout.write("contrail: stopped\n");
}

/** Registers `contrail up`. */
export function registerUpCommand(program: Command): void {
  program
    .command("up")
    .description("run every role (API, edge, instances, scraper, storage) in one process until SIGINT or SIGTERM")
    .addOption(dataOption())
    .addOption(
      new Option("--api <host:port>", "address of the HTTP API").env("CONTRAIL_API").default(DEFAULT_API_ADDRESS),
    )
    .addOption(
      new Option(
        "--edge <region=host:port...>",
        `an edge listener (repeat for several regions; default ${DEFAULT_EDGES.map((e) => `${e.region}=${e.address}`).join(" ")})`,
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
    .action(async (opts: UpOptions) => {
      try {
        await up(opts);
      } catch (err) {
        const known = isContrailError(err) || typeof (err as NodeJS.ErrnoException).code === "string";
        if (!known) throw err;
        process.stderr.write(`contrail: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
