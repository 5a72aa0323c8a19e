// `contrail up`: the whole platform on one machine over the embedded store, as supervised processes: the metrics
// node (`contrail serve`: storage, scraper, the Prometheus API of every org at `http://<api>/prometheus/<org>/`,
// remote write, control API, the web console at `/`), the edge proxy (`contrail edge`: one listener per region) and the machines agent
// (`contrail agent`: the local instances of deployed apps and `fly_instance_*`). `up` starts them, prints where
// they answer, restarts any that dies (with backoff, the cause logged) and stops them all on SIGINT or SIGTERM:
// the edge first (no new requests), then the metrics node (scrapes stopped, databases flushed) and the agent
// (instances stopped), whatever is left after the deadline killed. `contrail deploy` on the same data directory
// reaches the agent through the control database. With `--demo` it also deploys the example app (or those
// `--examples` names) and sends it traffic (see demo.ts).

import { type ControlDb, createSignInLink, openControlDb, PERSONAL_ORG } from "../control/index.ts";
import { ContrailError, isContrailError } from "../model/errors.ts";
import { reapLeftInstances } from "../roles/agent-role.ts";
import type { ReadyInfo } from "../roles/child.ts";
import { type BoundEdge, caLine, describeEdge, RoleHeartbeat, refuseSecond, UP_ROLE } from "../roles/heartbeat.ts";
import {
  checkEdges,
  DEFAULT_EDGES,
  DEFAULT_METRICS_ADDRESS,
  type EdgeSpec,
  formatEdgeSpec,
  parseAlertmanagerUrls,
  parseEdgeSpec,
  parseExternalLabels,
  parseQueueMaxBytes,
  parseScrapeInterval,
} from "../roles/options.ts";
import { type ChildSpec, Supervisor } from "../roles/supervisor.ts";
import { parseShard } from "../scrape/target.ts";
import { parseStorageSpec } from "../storage/remote/backend-spec.ts";
import { signInUrl } from "./console.ts";
import { DEFAULT_DEMO_EXAMPLES, type Demo, startDemo } from "./demo.ts";
import { checkExamples, parseExamples } from "./examples.ts";

export { DEFAULT_API_ADDRESS, type ListenAddress, parseListenAddress } from "../roles/options.ts";

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
  /** With `demo`: the examples to deploy instead of the Node app, comma-separated names or `all`. */
  readonly examples?: string;
  /** `on` (the default with `--demo`) or `off`: the demo traffic. */
  readonly traffic?: "on" | "off";
  /** Alertmanager base URLs, passed on to the metrics node. */
  readonly alertmanager?: readonly string[];
  /** `NAME=VALUE` labels of every alert sent out, passed on to the metrics node. */
  readonly externalLabel?: readonly string[];
  /** `--storage`: embedded or a remote backend, passed on to the metrics node. */
  readonly storage?: string;
  /** `--storage-queue-max`: the bound of each org's remote-write queue, passed on to the metrics node. */
  readonly storageQueueMax?: string;
  /** Keep the edge's response-time histogram also as a native histogram, passed on to the edge. */
  readonly nativeHistograms?: boolean;
}

/** How long the supervisor waits for another process's write lock on its heartbeat, ms (it never stalls long). */
const UP_DB_BUSY_MS = 250;

/** The module the role processes run: `run.ts` beside this file (`run.js` in a compiled build). */
const ROLE_ENTRY = new URL(`./run${import.meta.url.slice(import.meta.url.lastIndexOf("."))}`, import.meta.url).href;

/** Resolves on the first SIGINT, SIGTERM or SIGHUP (the terminal closed); a second one calls `again` (which should exit). */
function shutdownSignal(again: (sig: string) => void): Promise<string> {
  return new Promise((resolve) => {
    let seen = false;
    const onSignal = (sig: string) => {
      if (seen) again(sig);
      seen = true;
      resolve(sig);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("SIGHUP", onSignal);
  });
}

/** A bound `ip:port` as a listen address: an IPv6 address in brackets (`[::1]:8080`). */
function listenForm(address: string): string {
  const colon = address.lastIndexOf(":");
  const ip = address.slice(0, colon);
  return ip.includes(":") && !ip.startsWith("[") ? `[${ip}]${address.slice(colon)}` : address;
}

/** The command lines of the three roles; restarts reuse the addresses each bound the first time. */
function roleChildren(opts: UpOptions, given: readonly EdgeSpec[], regions: readonly string[]): ChildSpec[] {
  const data = ["--data", opts.data];
  return [
    {
      role: "serve",
      argv: (last) => [
        "serve",
        ...data,
        "--api",
        last === null ? opts.api : new URL(String(last.api)).host,
        "--scrape-interval",
        opts.scrapeInterval,
        ...(opts.shard === undefined ? [] : ["--shard", opts.shard]),
        ...(opts.alertmanager ?? []).flatMap((url) => ["--alertmanager", url]),
        ...(opts.externalLabel ?? []).flatMap((pair) => ["--external-label", pair]),
        ...(opts.storage === undefined ? [] : ["--storage", opts.storage]),
        ...(opts.storageQueueMax === undefined ? [] : ["--storage-queue-max", opts.storageQueueMax]),
      ],
    },
    {
      role: "edge",
      argv: (last) => {
        const bound = (last?.edges ?? null) as BoundEdge[] | null;
        const edges: readonly EdgeSpec[] =
          bound !== null
            ? bound.map((e) => ({
                region: e.region,
                address: listenForm(e.address),
                ...(e.tlsAddress === undefined ? {} : { tlsAddress: listenForm(e.tlsAddress) }),
              }))
            : given;
        return [
          "edge",
          ...data,
          ...edges.flatMap((e) => ["--edge", formatEdgeSpec(e)]),
          "--domain",
          opts.domain,
          "--metrics",
          DEFAULT_METRICS_ADDRESS,
          ...(opts.nativeHistograms ? ["--native-histograms"] : []),
        ];
      },
    },
    {
      role: "agent",
      argv: () => ["agent", ...data, ...regions.flatMap((r) => ["--region", r]), "--metrics", DEFAULT_METRICS_ADDRESS],
    },
  ];
}

/** The `console` line of a plain `up`: a one-time sign-in link, or how to get one when the link cannot be made. */
function consoleLine(db: ControlDb, apiUrl: string): string {
  try {
    const { link } = createSignInLink(db, { org: PERSONAL_ORG, scopes: ["read", "write"] });
    return `console ${signInUrl(apiUrl, link)} (a one-time sign-in link; npx contrail console makes another)`;
  } catch (err) {
    return `console ${apiUrl}/ (sign in with a link from npx contrail console; ${(err as Error).message})`;
  }
}

/** Runs the platform's processes until a signal arrives, then stops them in order. */
export async function up(opts: UpOptions): Promise<void> {
  const given: EdgeSpec[] = (opts.edge ?? []).map(parseEdgeSpec);
  const regions = checkEdges(given.length > 0 ? given : DEFAULT_EDGES).map((e) => e.region);
  parseScrapeInterval(opts.scrapeInterval);
  parseAlertmanagerUrls(opts.alertmanager ?? []);
  parseExternalLabels(opts.externalLabel ?? []);
  if (opts.storage !== undefined) parseStorageSpec(opts.storage);
  if (opts.storageQueueMax !== undefined) parseQueueMaxBytes(opts.storageQueueMax);
  const shard = opts.shard === undefined ? undefined : parseShard(opts.shard);
  const demo = opts.demo === true;
  if (!demo && opts.traffic !== undefined) throw new ContrailError("bad_data", "--traffic needs --demo");
  if (!demo && opts.examples !== undefined) throw new ContrailError("bad_data", "--examples needs --demo");
  const examples = opts.examples === undefined ? DEFAULT_DEMO_EXAMPLES : parseExamples(opts.examples);
  if (demo) checkExamples(examples);
  const domain = opts.domain.toLowerCase();
  const print = (lines: readonly string[]) => process.stdout.write(lines.map((l) => `contrail: ${l}\n`).join(""));
  const warn = (line: string) => process.stderr.write(`contrail: ${line}\n`);

  // The control database is created and migrated here, once, before the roles open it side by side.
  const db = openControlDb({ dataDir: opts.data, busyTimeoutMs: UP_DB_BUSY_MS });
  const beat = new RoleHeartbeat({ db, role: UP_ROLE, warn });
  let supervisor: Supervisor | null = null;
  const reap = async (killed: readonly string[]) => {
    if (!killed.includes("agent")) return;
    const n = await reapLeftInstances(db);
    if (n > 0) warn(`ended ${n} instance process(es) the killed agent left running`);
  };
  try {
    refuseSecond(db, UP_ROLE, "contrail up");
    beat.start({ data: opts.data });
    const signal = shutdownSignal((sig) => {
      warn(`${sig} again, exiting without waiting`);
      supervisor?.kill();
      void reap(["agent"]).finally(() => process.exit(1));
    });
    const stopRequested = new AbortController();
    void signal.then(() => stopRequested.abort());
    const children = roleChildren({ ...opts, domain }, given, regions);
    const s = new Supervisor({
      entry: ROLE_ENTRY,
      children,
      stopOrder: [["edge"], ["serve", "agent"]],
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
      onReady: () => beat.update({ data: opts.data, pids: Object.fromEntries(s.pids()) }),
    });
    supervisor = s;
    let ready: Map<string, ReadyInfo>;
    try {
      ready = await s.start();
    } catch (err) {
      throw new ContrailError("unavailable", `cannot start: ${(err as Error).message}`, { cause: err });
    }
    const apiUrl = String(ready.get("serve")?.api);
    const edges = (ready.get("edge")?.edges ?? []) as BoundEdge[];
    const pids = s.pids();
    let running: Demo | null = null;
    try {
      print([
        `listening on ${apiUrl} (Prometheus API at /prometheus/<org>/, data in ${opts.data})`,
        ...edges.map(describeEdge),
        caLine(String(ready.get("edge")?.ca)),
      ]);
      if (!demo) {
        print([
          consoleLine(db, apiUrl),
          `data source ${apiUrl}/prometheus/<org> (Authorization: Bearer <token of contrail tokens create>)`,
        ]);
      }
      print([
        `processes: serve pid ${pids.get("serve")}, edge pid ${pids.get("edge")}, agent pid ${pids.get("agent")} ` +
          "(each restarted when it dies)",
        `scraping every ${opts.scrapeInterval}${shard === undefined ? "" : ` (shard ${shard.index}/${shard.count})`}; ready`,
      ]);
      if (demo) {
        running = await startDemo({
          platform: { apiUrl, edges, caCertPath: String(ready.get("edge")?.ca) },
          dataDir: opts.data,
          domain,
          traffic: opts.traffic !== "off",
          examples,
          signal: stopRequested.signal,
          log: (line) => print([line]),
        });
        if (running !== null) process.stdout.write(`${running.summary.join("\n")}\n`);
      }
      const sig = await signal;
      process.stdout.write(`contrail: ${sig} received, shutting down\n`);
    } finally {
      await running?.stop();
      await reap(await s.stop());
    }
  } finally {
    beat.stop();
    db.close();
  }
  process.stdout.write("contrail: stopped\n");
}

/** The action of `contrail up`: a ContrailError or a system error (a port in use) becomes a message and exit code 1. */
export async function upCommand(opts: UpOptions): Promise<void> {
  try {
    await up(opts);
  } catch (err) {
    const known = isContrailError(err) || typeof (err as NodeJS.ErrnoException).code === "string";
    if (!known) throw err;
    process.stderr.write(`contrail: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
