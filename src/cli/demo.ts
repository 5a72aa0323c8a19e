// `contrail up --demo`: on top of the platform, the example app of examples/node-express/ (or the examples that
// `--examples` names) deployed into the `personal` org (one instance per edge region, through the same control-plane
// deploy as `contrail deploy`), a read token made for this run, and demo traffic through every edge so the seed's
// dashboard has something to show. It prints what a new user needs next: the apps' URLs, a one-time sign-in link of
// the web console that opens the first app's dashboard, the Grafana data source, the token, the dashboard and a query
// to try.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createSignInLink, createToken, deployApp, openControlDb, PERSONAL_ORG } from "../control/index.ts";
import { startTraffic, type Traffic, type TrafficTarget } from "../demo/traffic.ts";
import { ContrailError } from "../model/errors.ts";
import type { BoundEdge } from "../roles/heartbeat.ts";
import { DEFAULT_API_ADDRESS } from "../roles/options.ts";
import { signInUrl } from "./console.ts";
import { DASHBOARD_PATH } from "./dashboard.ts";
import { expectedInstances, waitForDeploy } from "./deploy.ts";
import { checkExamples, type Example, exampleNamed, missingNodeDependencies, shownPath } from "./examples.ts";

/** The demo app's name, as its fly.toml says. */
export const DEMO_APP = "node-express-demo";

/** Mean requests per second of the demo traffic, over all edges together. */
export const DEMO_TRAFFIC_RATE = 20;

/** How long the demo app's instances may take to become healthy, ms. */
const HEALTHY_TIMEOUT_MS = 60_000;
/** How long stopping waits for the traffic's requests in flight to end, ms. */
const TRAFFIC_STOP_MS = 2_000;

/** The examples `up --demo` deploys without `--examples`: the Node app. */
export const DEFAULT_DEMO_EXAMPLES: readonly Example[] = [exampleNamed("node-express")];

/** The demo app's directory in the source tree: its fly.toml, server.js and node_modules. */
export const DEMO_APP_DIR = DEFAULT_DEMO_EXAMPLES[0].dir;

/**
 * Throws `unavailable` naming the command that installs them when the demo app's dependencies (its package.json's
 * `dependencies`) are missing from `dir`/node_modules.
 */
export function checkDemoDependencies(dir: string = DEMO_APP_DIR): void {
  checkExamples([{ name: "node-express", dir, missing: () => missingNodeDependencies(dir) }]);
}

/** Where the running platform answers: the API and the edge listeners. */
export interface PlatformAddresses {
  /** Base URL of the API, e.g. `http://127.0.0.1:9300`. */
  readonly apiUrl: string;
  readonly edges: readonly BoundEdge[];
  /** Path of the edge CA's certificate (PEM); the demo's HTTPS traffic trusts it. */
  readonly caCertPath?: string;
}

/** Options of {@link startDemo}. */
export interface DemoOptions {
  readonly platform: PlatformAddresses;
  readonly dataDir: string;
  /** Host suffix of app addresses, as the edge is configured. */
  readonly domain: string;
  /** Whether to send demo traffic. */
  readonly traffic: boolean;
  /** The example apps to deploy (default {@link DEFAULT_DEMO_EXAMPLES}), each sent its own traffic. */
  readonly examples?: readonly Example[];
  /** Aborts the wait for healthy instances (a shutdown signal arrived). */
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
}

/** A running demo: the lines to print once ready, and how to stop its traffic. */
export interface Demo {
  /** What to tell the user, one line each (no prefix). */
  readonly summary: readonly string[];
  /** Stops the traffic and waits (bounded) for its requests in flight. Idempotent. */
  stop(): Promise<void>;
}

/** `SCHEME://HOST:PORT` of a bound `ip:port` (IPv6 in brackets). */
function baseUrl(scheme: "http" | "https", address: string): string {
  const colon = address.lastIndexOf(":");
  const ip = address.slice(0, colon);
  return `${scheme}://${ip.includes(":") ? `[${ip}]` : ip}:${address.slice(colon + 1)}`;
}

/** The traffic target of an edge: its HTTP address, and its HTTPS one when it has one and the CA is known. */
function trafficTarget(e: BoundEdge, ca: string | undefined): TrafficTarget {
  const url = baseUrl("http", e.address);
  return e.tlsAddress === undefined || ca === undefined
    ? { region: e.region, url }
    : { region: e.region, url, tlsUrl: baseUrl("https", e.tlsAddress) };
}

/** `s` quoted for a POSIX shell when it holds anything but safe characters. */
function shellWord(s: string): string {
  return /^[\w./:=@-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/**
 * Deploys the demo's example apps, waits until their instances are healthy, makes a read token and starts the
 * traffic. Resolves to null when `signal` aborted the wait; throws when an app cannot be deployed or does not
 * become healthy within a minute.
 */
export async function startDemo(opts: DemoOptions): Promise<Demo | null> {
  const { platform } = opts;
  const db = openControlDb({ dataDir: opts.dataDir });
  const apps: string[] = [];
  let token: string;
  let consoleUrl: string;
  try {
    const deployed = (opts.examples ?? DEFAULT_DEMO_EXAMPLES).map((example) => {
      const flyToml = join(example.dir, "fly.toml");
      const result = deployApp(db, { org: PERSONAL_ORG, flyToml: readFileSync(flyToml, "utf8"), dir: example.dir });
      const app = result.app.name;
      apps.push(app);
      opts.log(`demo: deployed ${app} v${result.version} from ${shownPath(flyToml)} into org ${PERSONAL_ORG}`);
      const regions = platform.edges.map((e) => e.region);
      const expected = expectedInstances({ app, dir: example.dir, config: result.app.config!, regions });
      return { app, version: result.version, expected };
    });
    const deadline = Date.now() + HEALTHY_TIMEOUT_MS;
    const states = await Promise.all(deployed.map((d) => waitForDeploy(db, { ...d, deadline, signal: opts.signal })));
    if (opts.signal.aborted) return null;
    states.forEach((state, i) => {
      const { app } = deployed[i];
      switch (state.kind) {
        case "healthy":
          return;
        case "failed":
          throw new ContrailError("unavailable", `demo app ${app} failed to start: ${state.reason}`);
        case "pending":
          throw new ContrailError(
            "unavailable",
            `demo app ${app} not healthy after ${HEALTHY_TIMEOUT_MS / 1000}s: ${state.reason} ` +
              `(contrail apps status ${app} --data ${shellWord(opts.dataDir)} shows why)`,
          );
      }
    });
    token = createToken(db, { org: PERSONAL_ORG, scopes: ["read"], note: "contrail up --demo" }).token;
    // Read and write: the console's user may also make and revoke tokens, as this command's user can.
    const { link } = createSignInLink(db, { org: PERSONAL_ORG, scopes: ["read", "write"] });
    consoleUrl = signInUrl(platform.apiUrl, link, `/apps/${apps[0]}`);
  } finally {
    db.close();
  }

  const abort = new AbortController();
  const ca = platform.caCertPath === undefined ? undefined : readFileSync(platform.caCertPath, "utf8");
  const traffic: Traffic[] = opts.traffic
    ? apps.map((app) =>
        startTraffic({
          targets: platform.edges.map((e) => trafficTarget(e, ca)),
          app,
          domain: opts.domain,
          ca,
          ratePerSecond: DEMO_TRAFFIC_RATE,
          signal: abort.signal,
        }),
      )
    : [];
  let stopping: Promise<void> | null = null;
  return {
    summary: demoSummary({ platform, apps, dataDir: opts.dataDir, token, consoleUrl, traffic: opts.traffic }),
    stop: () => {
      stopping ??= (async () => {
        abort.abort();
        if (traffic.length === 0) return;
        let timer: NodeJS.Timeout | undefined;
        const done = Promise.all(traffic.map((t) => t.done));
        await Promise.race([done, new Promise((r) => (timer = setTimeout(r, TRAFFIC_STOP_MS)))]);
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** The lines `up --demo` prints once the demo runs. */
function demoSummary(opts: {
  readonly platform: PlatformAddresses;
  /** The deployed apps' names, the first one's in the example query. */
  readonly apps: readonly string[];
  readonly dataDir: string;
  readonly token: string;
  /** The one-time sign-in URL of the web console. */
  readonly consoleUrl: string;
  readonly traffic: boolean;
}): string[] {
  const { platform } = opts;
  const flags: string[] = [];
  if (platform.apiUrl !== `http://${DEFAULT_API_ADDRESS}`) flags.push(` --api ${platform.apiUrl}`);
  if (opts.dataDir !== "./data" && opts.dataDir !== "data") flags.push(` --data ${shellWord(opts.dataDir)}`);
  const query = `sum(rate(fly_edge_http_responses_count{app="${opts.apps[0]}"}[1m])) by (region)`;
  const each = opts.apps.length > 1 ? " to each app" : "";
  return [
    "",
    ...opts.apps.flatMap((app) => [
      `The demo app ${app} runs in every edge region; open it in a browser:`,
      ...platform.edges.map(
        (e) =>
          `  ${e.region}  ${e.url.replace("<app>", app)}${e.tlsUrl === undefined ? "" : `  ${e.tlsUrl.replace("<app>", app)}`}`,
      ),
    ]),
    opts.traffic
      ? `Demo traffic: about ${DEMO_TRAFFIC_RATE} requests/s${each} through every edge (--traffic off turns it off).`
      : "Demo traffic is off (--traffic off).",
    "",
    `Console  ${opts.consoleUrl}`,
    `  (the app's dashboard in your browser; the link signs in once: npx contrail console${flags.join("")} makes another)`,
    "",
    "Grafana: add a Prometheus data source with",
    `  URL            ${platform.apiUrl}/prometheus/${PERSONAL_ORG}`,
    `  custom header  Authorization: Bearer ${opts.token}`,
    "  (a read token made for this run; it is shown only once)",
    `Dashboard to import: ${shownPath(fileURLToPath(DASHBOARD_PATH))} (or: npx contrail dashboard export)`,
    "",
    "Query from the terminal:",
    `  npx contrail query ${shellWord(query)}${flags.join("")}`,
    "",
    "Ctrl-C stops everything.",
  ];
}
