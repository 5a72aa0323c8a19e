// `contrail serve`, `contrail edge` and `contrail agent`: each role of the platform as a process of its own, the
// processes `contrail up` starts and supervises, each also startable alone (so they can run on different
// machines over one control database). Each action loads its role's modules only when it runs, so a role process
// (and a restarted edge above all) does not wait for the modules of the others.

import { type Command, Option } from "commander";
import { ContrailError, isContrailError } from "../model/errors.ts";
import type { ReadyInfo } from "../roles/child.ts";
import {
  checkEdges,
  DEFAULT_API_ADDRESS,
  DEFAULT_EDGES,
  DEFAULT_METRICS_ADDRESS,
  DEFAULT_SCRAPE_INTERVAL_MS,
  formatEdgeSpec,
  parseAlertmanagerUrls,
  parseEdgeSpec,
  parseExternalLabels,
  parseListenAddress,
  parseQueueMaxBytes,
  parseScrapeInterval,
  parseServeRoles,
  SERVE_ROLES,
} from "../roles/options.ts";
import { parseShard } from "../scrape/target.ts";
import { parseStorageSpec } from "../storage/remote/backend-spec.ts";
import {
  alertmanagerOption,
  dataOption,
  externalLabelOption,
  nativeHistogramsOption,
  storageOption,
  storageQueueMaxOption,
} from "./commands/options.ts";

/** Options of `contrail serve`. */
interface ServeCommandOptions {
  readonly data: string;
  readonly api: string;
  readonly scrapeInterval: string;
  readonly shard?: string;
  readonly roles?: string;
  readonly alertmanager?: readonly string[];
  readonly externalLabel?: readonly string[];
  readonly storage: string;
  readonly storageQueueMax?: string;
}

/** Options of `contrail edge`. */
interface EdgeCommandOptions {
  readonly data: string;
  readonly edge?: readonly string[];
  readonly domain: string;
  readonly metrics: string;
  readonly nativeHistograms?: boolean;
}

/** Options of `contrail agent`. */
interface AgentCommandOptions {
  readonly data: string;
  readonly region?: readonly string[];
  readonly metrics: string;
}

const REGION_FLAG = /^[a-z]{3}$/;

async function serve(opts: ServeCommandOptions): Promise<number> {
  const intervalMs = parseScrapeInterval(opts.scrapeInterval);
  const shard = opts.shard === undefined ? undefined : parseShard(opts.shard);
  const roles = opts.roles === undefined ? undefined : parseServeRoles(opts.roles);
  const alertmanagers = parseAlertmanagerUrls(opts.alertmanager ?? []);
  const externalLabels = parseExternalLabels(opts.externalLabel ?? []);
  const storage = parseStorageSpec(opts.storage);
  const storageQueueMaxBytes =
    opts.storageQueueMax === undefined ? undefined : parseQueueMaxBytes(opts.storageQueueMax);
  const { runRole } = await import("../roles/child.ts");
  const { startServe } = await import("../roles/serve.ts");
  const { startYoungRelease } = await import("../runtime/young-release.ts");
  return runRole("serve", async (out) => {
    const s = await startServe({
      dataDir: opts.data,
      api: opts.api,
      scrapeIntervalMs: intervalMs,
      shard,
      roles,
      alertmanagers,
      externalLabels,
      storage,
      storageQueueMaxBytes,
      ...out,
    });
    // The node's main thread gives back the new space an ingest burst grew once it idles (young-release.ts). Not a
    // full collection (old-release.ts, which the decode worker runs): it stops the thread, 0.1-0.6 s at 1,000,000
    // series, and a query arriving meanwhile waits that long (the isolation bench's `1+1` took 500 ms with it).
    const stopRelease = startYoungRelease();
    const info: ReadyInfo = { api: s.apiUrl };
    const runs = [...(roles ?? SERVE_ROLES)].join(", ");
    return {
      info,
      lines: [
        s.apiUrl === ""
          ? `running ${runs} without an API (data in ${opts.data})`
          : `listening on ${s.apiUrl} (Prometheus API at /prometheus/<org>/, data in ${opts.data}); running ${runs}`,
      ],
      stop: () => {
        stopRelease();
        return s.stop();
      },
    };
  });
}

async function edge(opts: EdgeCommandOptions): Promise<number> {
  const edges = checkEdges((opts.edge ?? []).map(parseEdgeSpec));
  // Every flag is checked before anything listens, so a bad one is the only message.
  parseListenAddress(opts.metrics, "--metrics");
  const { runRole } = await import("../roles/child.ts");
  const { startEdgeRole } = await import("../roles/edge-role.ts");
  const { caLine, describeEdge } = await import("../roles/heartbeat.ts");
  return runRole("edge", async (out) => {
    const e = await startEdgeRole({
      dataDir: opts.data,
      edges,
      domain: opts.domain.toLowerCase(),
      metrics: opts.metrics,
      nativeHistograms: opts.nativeHistograms,
      warn: out.warn,
    });
    return {
      info: { edges: e.edges, metrics: e.metricsUrl, ca: e.caCertPath },
      lines: [...e.edges.map(describeEdge), caLine(e.caCertPath), `metrics on ${e.metricsUrl}/metrics`],
      stop: e.stop,
    };
  });
}

async function agent(opts: AgentCommandOptions): Promise<number> {
  const given = opts.region ?? [];
  const bad = given.find((r) => !REGION_FLAG.test(r));
  if (bad !== undefined) {
    throw new ContrailError("bad_data", `--region: three lower-case letters, got ${JSON.stringify(bad)}`);
  }
  parseListenAddress(opts.metrics, "--metrics");
  const { runRole } = await import("../roles/child.ts");
  const { startAgent } = await import("../roles/agent-role.ts");
  const regions = given.length > 0 ? [...new Set(given)] : DEFAULT_EDGES.map((e) => e.region);
  return runRole("agent", async (out) => {
    const a = await startAgent({ dataDir: opts.data, regions, metrics: opts.metrics, ...out });
    return {
      info: { metrics: a.metricsUrl, host: a.host, regions },
      lines: [`running instances in ${regions.join(", ")} (host ${a.host}); metrics on ${a.metricsUrl}/metrics`],
      stop: a.stop,
    };
  });
}

/** Runs a role command; a bad flag (a ContrailError before the role runs) becomes a message and exit code 1. */
function action<O>(name: string, run: (opts: O) => Promise<number>): (opts: O) => Promise<void> {
  return async (opts) => {
    try {
      process.exitCode = await run(opts);
    } catch (err) {
      if (!isContrailError(err)) throw err;
      process.stderr.write(`contrail ${name}: ${err.message}\n`);
      process.exitCode = 1;
    }
  };
}

/** Registers `contrail serve`, `contrail edge` and `contrail agent`. */
export function registerRoleCommands(program: Command): void {
  program
    .command("serve")
    .description("run the metrics node: storage, scraper, Prometheus API, remote write, control API")
    .addOption(dataOption())
    .addOption(
      new Option("--api <host:port>", "address of the HTTP API").env("CONTRAIL_API").default(DEFAULT_API_ADDRESS),
    )
    .addOption(
      new Option("--scrape-interval <duration>", "time between scrapes").default(
        `${DEFAULT_SCRAPE_INTERVAL_MS / 1000}s`,
      ),
    )
    .addOption(new Option("--shard <i/n>", "scrape only shard i of n of the app targets"))
    .addOption(
      new Option(
        "--roles <list>",
        `what this node runs, comma-separated, of ${SERVE_ROLES.join(",")} (default all; rules run on one node at a time)`,
      ),
    )
    .addOption(alertmanagerOption())
    .addOption(externalLabelOption())
    .addOption(storageOption())
    .addOption(storageQueueMaxOption())
    .action(action("serve", serve));
  program
    .command("edge")
    .description("run the edge proxy of some regions, routing by the control database; /metrics on --metrics")
    .addOption(dataOption())
    .addOption(
      new Option(
        "--edge <region=host:port,tls=host:port...>",
        `a listener and optionally its HTTPS listener (without tls=, a free port on the same host; repeat for several regions; default ${DEFAULT_EDGES.map(formatEdgeSpec).join(" ")})`,
      ),
    )
    .addOption(new Option("--domain <domain>", "apps are reached at <app>.<domain>").default("localhost"))
    .addOption(new Option("--metrics <host:port>", "where /metrics answers").default(DEFAULT_METRICS_ADDRESS))
    .addOption(nativeHistogramsOption())
    .action(action("edge", edge));
  program
    .command("agent")
    .description("run the machines agent: deployed apps' instances, health checks, fly_instance_* on --metrics")
    .addOption(dataOption())
    .addOption(
      new Option(
        "--region <region...>",
        `a region instances run in when an app names none (repeat; default ${DEFAULT_EDGES.map((e) => e.region).join(" ")})`,
      ),
    )
    .addOption(new Option("--metrics <host:port>", "where /metrics answers").default(DEFAULT_METRICS_ADDRESS))
    .action(action("agent", agent));
}
