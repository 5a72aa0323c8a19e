// `contrail up --demo`: on top of the platform, the example app of examples/node-express/ deployed into the
// `personal` org (one instance per edge region, through the same control-plane deploy as `contrail deploy`), a
// read token made for this run, and demo traffic through every edge so the seed's dashboard has something to show.
// It prints what a new user needs next: the app's URLs, a one-time sign-in link of the web console that opens the
// app's dashboard, the Grafana data source, the token, the dashboard and a query to try.

import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createSignInLink, createToken, deployApp, openControlDb, PERSONAL_ORG } from "../control/index.ts";
import { startTraffic, type Traffic } from "../demo/traffic.ts";
import { ContrailError } from "../model/errors.ts";
import type { BoundEdge } from "../roles/heartbeat.ts";
import { DEFAULT_API_ADDRESS } from "../roles/options.ts";
import { signInUrl } from "./console.ts";
import { DASHBOARD_PATH } from "./dashboard.ts";
import { expectedInstances, waitForDeploy } from "./deploy.ts";

/** The demo app's name, as its fly.toml says. */
export const DEMO_APP = "node-express-demo";

/** The demo app's directory in the source tree: its fly.toml, server.js and node_modules. */
export const DEMO_APP_DIR = fileURLToPath(new URL("../../examples/node-express/", import.meta.url));

/** Mean requests per second of the demo traffic, over all edges together. */
export const DEMO_TRAFFIC_RATE = 20;

/** How long the demo app's instances may take to become healthy, ms. */
const HEALTHY_TIMEOUT_MS = 60_000;
/** How long stopping waits for the traffic's requests in flight to end, ms. */
const TRAFFIC_STOP_MS = 2_000;

/** `path` relative to the working directory when it lies below it, else as given: as a user would type it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" ? "." : rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

/**
 * Throws `unavailable` naming the command that installs them when the demo app's dependencies (its package.json's
 * `dependencies`) are missing from `dir`/node_modules.
 */
export function checkDemoDependencies(dir: string = DEMO_APP_DIR): void {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  const missing = Object.keys(pkg.dependencies ?? {}).filter(
    (d) => !existsSync(join(dir, "node_modules", d, "package.json")),
  );
  if (missing.length === 0) return;
  throw new ContrailError(
    "unavailable",
    `the demo app's dependencies are not installed (missing: ${missing.join(", ")}); install them with:\n` +
      `  npm ci --prefix ${shown(dir)}\n` +
      "then run contrail up --demo again",
  );
}

/** Where the running platform answers: the API and the edge listeners. */
export interface PlatformAddresses {
  /** Base URL of the API, e.g. `http://127.0.0.1:9300`. */
  readonly apiUrl: string;
  readonly edges: readonly BoundEdge[];
}

/** Options of {@link startDemo}. */
export interface DemoOptions {
  readonly platform: PlatformAddresses;
  readonly dataDir: string;
  /** Host suffix of app addresses, as the edge is configured. */
  readonly domain: string;
  /** Whether to send demo traffic. */
  readonly traffic: boolean;
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

/** `http://HOST:PORT` of an edge listener's bound `ip:port` (IPv6 in brackets). */
function edgeBaseUrl(e: BoundEdge): string {
  const colon = e.address.lastIndexOf(":");
  const ip = e.address.slice(0, colon);
  return `http://${ip.includes(":") ? `[${ip}]` : ip}:${e.address.slice(colon + 1)}`;
}

/** `s` quoted for a POSIX shell when it holds anything but safe characters. */
function shellWord(s: string): string {
  return /^[\w./:=@-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/**
 * Deploys the demo app, waits until its instances are healthy, makes a read token and starts the traffic.
 * Resolves to null when `signal` aborted the wait; throws when the app cannot be deployed or does not become
 * healthy within a minute.
 */
export async function startDemo(opts: DemoOptions): Promise<Demo | null> {
  const { platform } = opts;
  const flyToml = join(DEMO_APP_DIR, "fly.toml");
  const db = openControlDb({ dataDir: opts.dataDir });
  let token: string;
  let consoleUrl: string;
  try {
    const result = deployApp(db, { org: PERSONAL_ORG, flyToml: readFileSync(flyToml, "utf8"), dir: DEMO_APP_DIR });
    const app = result.app.name;
    opts.log(`demo: deployed ${app} v${result.version} from ${shown(flyToml)} into org ${PERSONAL_ORG}`);
    const expected = expectedInstances({
      app,
      dir: DEMO_APP_DIR,
      config: result.app.config!,
      regions: platform.edges.map((e) => e.region),
    });
    const state = await waitForDeploy(db, {
      app,
      version: result.version,
      expected,
      deadline: Date.now() + HEALTHY_TIMEOUT_MS,
      signal: opts.signal,
    });
    if (opts.signal.aborted) return null;
    switch (state.kind) {
      case "healthy":
        break;
      case "failed":
        throw new ContrailError("unavailable", `demo app ${app} failed to start: ${state.reason}`);
      case "pending":
        throw new ContrailError(
          "unavailable",
          `demo app ${app} not healthy after ${HEALTHY_TIMEOUT_MS / 1000}s: ${state.reason} ` +
            `(contrail apps status ${app} --data ${shellWord(opts.dataDir)} shows why)`,
        );
    }
    token = createToken(db, { org: PERSONAL_ORG, scopes: ["read"], note: "contrail up --demo" }).token;
    // Read and write: the console's user may also make and revoke tokens, as this command's user can.
    const { link } = createSignInLink(db, { org: PERSONAL_ORG, scopes: ["read", "write"] });
    consoleUrl = signInUrl(platform.apiUrl, link, `/apps/${app}`);
  } finally {
    db.close();
  }

  const abort = new AbortController();
  const traffic: Traffic | null = opts.traffic
    ? startTraffic({
        targets: platform.edges.map((e) => ({ region: e.region, url: edgeBaseUrl(e) })),
        app: DEMO_APP,
        domain: opts.domain,
        ratePerSecond: DEMO_TRAFFIC_RATE,
        signal: abort.signal,
      })
    : null;
  let stopping: Promise<void> | null = null;
  return {
    summary: demoSummary({ platform, dataDir: opts.dataDir, token, consoleUrl, traffic: opts.traffic }),
    stop: () => {
      stopping ??= (async () => {
        abort.abort();
        if (traffic === null) return;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([traffic.done, new Promise((r) => (timer = setTimeout(r, TRAFFIC_STOP_MS)))]);
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** The lines `up --demo` prints once the demo runs. */
function demoSummary(opts: {
  readonly platform: PlatformAddresses;
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
  const query = `sum(rate(fly_edge_http_responses_count{app="${DEMO_APP}"}[1m])) by (region)`;
  const appUrls = platform.edges.map((e) => `  ${e.region}  ${e.url.replace("<app>", DEMO_APP)}`);
  return [
    "",
    `The demo app ${DEMO_APP} runs in every edge region; open it in a browser:`,
    ...appUrls,
    opts.traffic
      ? `Demo traffic: about ${DEMO_TRAFFIC_RATE} requests/s through every edge (--traffic off turns it off).`
      : "Demo traffic is off (--traffic off).",
    "",
    `Console  ${opts.consoleUrl}`,
    `  (the app's dashboard in your browser; the link signs in once: npx contrail console${flags.join("")} makes another)`,
    "",
    "Grafana: add a Prometheus data source with",
    `  URL            ${platform.apiUrl}/prometheus/${PERSONAL_ORG}`,
    `  custom header  Authorization: Bearer ${opts.token}`,
    "  (a read token made for this run; it is shown only once)",
    `Dashboard to import: ${shown(fileURLToPath(DASHBOARD_PATH))} (or: npx contrail dashboard export)`,
    "",
    "Query from the terminal:",
    `  npx contrail query ${shellWord(query)}${flags.join("")}`,
    "",
    "Ctrl-C stops everything.",
  ];
}
