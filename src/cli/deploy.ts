// `contrail deploy`: registers or updates an app from its fly.toml and has the agent running on the same data
// directory (the one `contrail up` starts) (re)start its instances. The control database is the channel: deploy
// stores the fly.toml and the app's directory and bumps the deployment version; the agent notices within a second,
// restarts the app's instances and records the version it applied. With `--wait`, deploy follows until the
// instances are healthy and every edge routes them (bounded). Without a running agent (no fresh heartbeat) deploy
// says so and still saves: the next `contrail up` starts the app.

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import {
  type ControlDb,
  deployApp,
  type FlyConfig,
  getDeployment,
  listInstancesWithRuntime,
} from "../control/index.ts";
import { ContrailError } from "../model/errors.ts";
import { parseDuration } from "../promql/parser/index.ts";
import { appSpecOf } from "../roles/app-spec.ts";
import { routedByEdges } from "../roles/routed.ts";
import { appStatusJson, printAppStatus, runningAgent } from "./apps.ts";
import { withControl } from "./common.ts";

/** Options of the deploy command, as the command line gives them. */
export interface DeployCommandOptions {
  readonly config: string;
  readonly app?: string;
  readonly org: string;
  readonly data: string;
  readonly wait?: boolean;
  readonly waitTimeout: string;
  readonly json?: boolean;
}

/** How often `--wait` rereads the control database, ms. */
const WAIT_POLL_MS = 250;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** What `--wait` saw last: done (healthy or failed to start) or still going. */
export type WaitState =
  | { readonly kind: "healthy" }
  | { readonly kind: "failed"; readonly reason: string }
  | { readonly kind: "pending"; readonly reason: string };

/** Where deployment `version` of `app` stands, judged from the rows the agent writes; `expected` local instances. */
export function waitState(db: ControlDb, app: string, version: number, expected: number): WaitState {
  const d = getDeployment(db, app);
  if (d === undefined) return { kind: "failed", reason: "the app was deleted" };
  if (d.version > version) return { kind: "failed", reason: `a newer deploy (v${d.version}) replaced v${version}` };
  if (d.appliedVersion < version) return { kind: "pending", reason: "the agent has not picked the deploy up" };
  if (d.error !== null) return { kind: "failed", reason: d.error };
  const local = listInstancesWithRuntime(db, { app }).filter((i) => i.kind === "local");
  const healthy = local.filter((i) => i.state === "started").length;
  if (local.length >= expected && healthy === local.length) return { kind: "healthy" };
  return { kind: "pending", reason: `${healthy} of ${Math.max(expected, local.length)} instances healthy` };
}

/**
 * Polls until deployment `version` of `app` is healthy and routed by every live edge, failed, or `deadline` (ms since
 * the epoch) passed, or `signal` aborted; resolves with the last state seen.
 */
export async function waitForDeploy(
  db: ControlDb,
  opts: {
    readonly app: string;
    readonly version: number;
    readonly expected: number;
    readonly deadline: number;
    readonly signal?: AbortSignal;
  },
): Promise<WaitState> {
  for (;;) {
    let state = waitState(db, opts.app, opts.version, opts.expected);
    if (state.kind === "healthy") {
      const ids = listInstancesWithRuntime(db, { app: opts.app })
        .filter((i) => i.kind === "local")
        .map((i) => i.id);
      if (await routedByEdges(db, opts.app, ids)) return state;
      state = { kind: "pending", reason: "the edges do not route every new instance yet" };
    }
    if (state.kind !== "pending" || Date.now() >= opts.deadline || opts.signal?.aborted === true) return state;
    await sleep(WAIT_POLL_MS);
  }
}

/** How many local instances a deploy of `config` starts when the edges run in `regions`. */
export function expectedInstances(opts: {
  readonly app: string;
  readonly dir: string;
  readonly config: FlyConfig;
  readonly regions: readonly string[];
}): number {
  const planned = appSpecOf({ app: opts.app, dir: opts.dir, config: opts.config, defaultRegions: opts.regions });
  return planned.spec.groups.reduce((n, g) => n + new Set(g.regions).size * g.instancesPerRegion, 0);
}

async function deploy(db: ControlDb, opts: DeployCommandOptions): Promise<void> {
  const path = resolve(opts.config);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ContrailError("not_found", `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const timeoutMs = parseDuration(opts.waitTimeout);
  const result = deployApp(db, { name: opts.app, org: opts.org, flyToml: text, dir: dirname(path) });
  const app = result.app.name;
  console.log(
    `${result.created ? "created and deployed" : "deployed"} app ${app} v${result.version} (org ${result.app.orgId}, dir ${dirname(path)})`,
  );
  const agent = runningAgent(db);
  if (agent === undefined) {
    console.error(
      `contrail deploy: no contrail up is running on ${opts.data} (no agent heartbeat); the deploy is saved and ` +
        `its instances start with the next \`contrail up --data ${opts.data}\``,
    );
    if (opts.wait === true) process.exitCode = 1;
    return;
  }
  console.log(`the agent (pid ${agent.pid}) starts its instances within a second`);
  if (opts.wait !== true) return;

  const regions = (agent.info.regions ?? []) as string[];
  const expected = expectedInstances({ app, dir: dirname(path), config: result.app.config!, regions });
  const state = await waitForDeploy(db, { app, version: result.version, expected, deadline: Date.now() + timeoutMs });
  if (opts.json === true) console.log(JSON.stringify(appStatusJson(db, app)));
  else printAppStatus(db, app);
  switch (state.kind) {
    case "healthy":
      console.log(`app ${app} v${result.version} is healthy`);
      return;
    case "failed":
      console.error(`contrail deploy: app ${app} v${result.version} failed: ${state.reason}`);
      process.exitCode = 1;
      return;
    case "pending":
      console.error(
        `contrail deploy: app ${app} v${result.version} not healthy after ${opts.waitTimeout}: ${state.reason}`,
      );
      process.exitCode = 1;
      return;
  }
}

/** The action of `contrail deploy`: deploys on the control database of `--data`; errors become exit code 1. */
export function deployCommand(opts: DeployCommandOptions): Promise<void> {
  return withControl(opts.data, (db) => deploy(db, opts));
}
