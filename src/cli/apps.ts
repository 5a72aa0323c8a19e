// The actions of `contrail apps list|status` and `contrail instances add|remove` (options in commands/apps.ts): apps,
// their deployments and instances as the control database holds them, which the agent of a running `contrail up`
// keeps current (state, address, pid, restarts, exits).

import { instanceJson } from "../api/control-routes.ts";
import {
  addressOf,
  type ControlDb,
  type Deployment,
  getDeployment,
  getInstance,
  type Heartbeat,
  type InstanceWithRuntime,
  listApps,
  listDeployments,
  listInstancesWithRuntime,
  registerInstance,
  removeInstance,
  requireApp,
  requireOrg,
} from "../control/index.ts";
import { ContrailError } from "../model/errors.ts";
import { AGENT_ROLE, liveEdges, liveHeartbeat } from "../roles/heartbeat.ts";
import { printTable, when, withControl } from "./common.ts";

/** The heartbeat of a live agent on this database (it applies deploys), or undefined when none beats. */
export function runningAgent(db: ControlDb): Heartbeat | undefined {
  return liveHeartbeat(db, AGENT_ROLE);
}

/** The deployment state in a few words: `running v3`, `starting v4`, `failed v4`, `not deployed`. */
function deploymentState(d: Deployment | undefined): string {
  if (d === undefined) return "not deployed";
  if (d.appliedVersion < d.version) return `pending v${d.version}`;
  return d.error === null ? `running v${d.version}` : `failed v${d.version}`;
}

/** Prints the instances table of `app`. */
export function printInstances(instances: readonly InstanceWithRuntime[]): void {
  if (instances.length === 0) {
    console.log("no instances");
    return;
  }
  printTable([
    ["ID", "GROUP", "REGION", "HOST", "KIND", "STATE", "ADDRESS", "PID", "RESTARTS", "LAST EXIT"],
    ...instances.map((i) => [
      i.id,
      i.processGroup,
      i.region,
      i.host,
      i.kind,
      i.state,
      addressOf(i) ?? "-",
      i.runtime?.pid === null || i.runtime === null ? "-" : String(i.runtime.pid),
      String(i.runtime?.restarts ?? 0),
      i.runtime?.lastExitCode === null || i.runtime === null ? "-" : String(i.runtime.lastExitCode),
    ]),
  ]);
}

/** The status of one app as JSON (for `apps status --json` and `deploy --wait --json`). */
export function appStatusJson(db: ControlDb, name: string): Record<string, unknown> {
  const app = requireApp(db, name);
  const d = getDeployment(db, name);
  const agent = runningAgent(db);
  return {
    app: app.name,
    org: app.orgId,
    deployment:
      d === undefined
        ? null
        : {
            version: d.version,
            dir: d.dir,
            deployedAt: d.deployedAt,
            appliedVersion: d.appliedVersion,
            appliedAt: d.appliedAt,
            error: d.error,
          },
    agent: agent === undefined ? null : { pid: agent.pid, ...agent.info },
    edges: liveEdges(db).flatMap((e) => e.edges),
    instances: listInstancesWithRuntime(db, { app: name }).map(instanceJson),
  };
}

/** Prints the status of one app: deployment, whether an agent runs, the edges' URLs, instances. */
export function printAppStatus(db: ControlDb, name: string): void {
  const app = requireApp(db, name);
  const d = getDeployment(db, name);
  console.log(`app ${app.name} (org ${app.orgId}): ${deploymentState(d)}`);
  if (d !== undefined) {
    console.log(`  deployed ${when(d.deployedAt)} from ${d.dir}`);
    if (d.error !== null) console.log(`  error: ${d.error}`);
  }
  const agent = runningAgent(db);
  console.log(
    agent === undefined
      ? "  agent: not running on this data directory (contrail up starts one)"
      : `  agent: pid ${agent.pid}`,
  );
  for (const e of liveEdges(db).flatMap((b) => b.edges)) {
    const tls = e.tlsUrl === undefined ? "" : ` ${e.tlsUrl.replace("<app>", app.name)}`;
    console.log(`  ${e.region}: ${e.url.replace("<app>", app.name)}${tls}`);
  }
  printInstances(listInstancesWithRuntime(db, { app: name }));
}

/** The action of `contrail apps list`: apps with their deployment state and instance counts (JSON with `--json`). */
export function appsListCommand(opts: { org?: string; json?: boolean; data: string }): Promise<void> {
  return withControl(opts.data, (db) => {
    if (opts.org !== undefined) requireOrg(db, opts.org);
    const deployments = new Map(listDeployments(db).map((d) => [d.app, d]));
    const instances = listInstancesWithRuntime(db);
    const rows = listApps(db, { org: opts.org }).map((a) => {
      const mine = instances.filter((i) => i.app === a.name);
      return {
        name: a.name,
        org: a.orgId,
        state: deploymentState(deployments.get(a.name)),
        started: mine.filter((i) => i.state === "started").length,
        instances: mine.length,
        dir: deployments.get(a.name)?.dir ?? null,
      };
    });
    if (opts.json === true) {
      console.log(JSON.stringify(rows));
      return;
    }
    printTable([
      ["NAME", "ORG", "STATE", "INSTANCES", "DIR"],
      ...rows.map((r) => [r.name, r.org, r.state, `${r.started}/${r.instances} started`, r.dir ?? "-"]),
    ]);
  });
}

/** The action of `contrail apps status`: one app's deployment and instances (JSON with `--json`). */
export function appsStatusCommand(name: string, opts: { json?: boolean; data: string }): Promise<void> {
  return withControl(opts.data, (db) => {
    if (opts.json === true) console.log(JSON.stringify(appStatusJson(db, name)));
    else printAppStatus(db, name);
  });
}

/** Options of `contrail instances add`, as the command line gives them. */
export interface InstancesAddOptions {
  readonly app: string;
  readonly region: string;
  readonly address: string;
  readonly host?: string;
  readonly processGroup?: string;
  readonly data: string;
}

/** The action of `contrail instances add`: registers an external instance and prints its id. */
export function instancesAddCommand(opts: InstancesAddOptions): Promise<void> {
  return withControl(opts.data, (db) => {
    const i = registerInstance(db, {
      app: opts.app,
      kind: "external",
      region: opts.region,
      address: opts.address,
      host: opts.host,
      processGroup: opts.processGroup,
      state: "starting",
    });
    console.log(i.id);
    if (runningAgent(db) === undefined) {
      console.error("note: no contrail up runs on this data directory; the instance is checked once one does");
    }
  });
}

/** The action of `contrail instances remove`: removes an external instance (not one that `up` runs). */
export function instancesRemoveCommand(id: string, opts: { data: string }): Promise<void> {
  return withControl(opts.data, (db) => {
    const i = getInstance(db, id);
    if (i === undefined) throw new ContrailError("not_found", `no instance ${id}`);
    if (i.kind !== "external") {
      throw new ContrailError("conflict", `instance ${id} is run by contrail up: redeploy the app to change it`);
    }
    removeInstance(db, id);
    console.log(`removed ${id}`);
  });
}
