// The agent process (`contrail agent`): the machines runner with the instance agent. It applies deployments
// (starts and stops the local instances of deployed apps), health checks external instances, writes every
// instance's row as the runner reports it (which the edges route by), and serves `/metrics` (`fly_instance_*`,
// scraped by the metrics node) on a local listener. The proxied bytes of `fly_instance_net_*` are read from the
// edges over HTTP just before each scrape is answered.
//
// Start order: control database (refusing a data directory another live agent serves), the processes a killed
// agent left behind ended (each with its app's stop signal), the rows of the previous run cleared, runner and
// instance agent, metrics listener, heartbeat, then the first pass starts every deployed app. Stop order: deploy
// loop, instances (their app's stop signal, SIGKILL after its grace period), metrics listener, heartbeat row,
// database.

import {
  type ControlDb,
  clearLocalInstances,
  listDeployments,
  listInstances,
  openControlDb,
  resetAppliedDeployments,
} from "../control/index.ts";
import { Registry } from "../exposition/registry.ts";
import {
  DEFAULT_STOP_GRACE_MS,
  DEFAULT_STOP_SIGNAL,
  InstanceAgent,
  Runner,
  reapInstanceProcesses,
  type StopPlan,
} from "../machines/index.ts";
import { stopOnce } from "./child.ts";
import { Deployer } from "./deployer.ts";
import { EdgeBytes } from "./edge-bytes.ts";
import { AGENT_ROLE, RoleHeartbeat, refuseSecond } from "./heartbeat.ts";
import { instanceMirror } from "./instance-events.ts";
import { hostIdFor } from "./options.ts";
import { metricsAnswer, type RoleHttp, startRoleHttp } from "./role-http.ts";

/** Options of {@link startAgent}. */
export interface AgentRoleOptions {
  readonly dataDir: string;
  /** Regions the instances of an app whose fly.toml names none run in: those of the edges. */
  readonly regions: readonly string[];
  /** `HOST:PORT` of the metrics listener (port 0: a free one). */
  readonly metrics: string;
  /** How often the control database is read for deploys and external instances, ms (default 1000). */
  readonly pollIntervalMs?: number;
  /** Time from SIGTERM to SIGKILL when stopping an instance, ms (the runner's default when absent). */
  readonly stopGraceMs?: number;
  /** Receives progress lines (deploys acted on). */
  readonly log: (line: string) => void;
  readonly warn: (line: string) => void;
}

/** A running agent process. */
export interface AgentRole {
  /** `http://HOST:PORT` of the metrics listener. */
  readonly metricsUrl: string;
  /** The host id of the local instances. */
  readonly host: string;
  /** Stops in order; resolves when every instance has exited. Idempotent. */
  stop(): Promise<void>;
}

/** Default time between two passes over the deployments, ms. */
const DEPLOY_POLL_MS = 1_000;

/**
 * Ends the processes of local instances a killed agent left running, each as the runner would have stopped it: its
 * app's `kill_signal` (DEFAULT_STOP_SIGNAL when unset), SIGKILL after its `kill_timeout` (DEFAULT_STOP_GRACE_MS when unset).
 * Returns how many processes it signalled.
 */
export async function reapLeftInstances(db: ControlDb): Promise<number> {
  const configs = new Map(listDeployments(db).map((d) => [d.app, d.config]));
  const plans = new Map<string, StopPlan>();
  for (const instance of listInstances(db).filter((i) => i.kind === "local")) {
    const config = configs.get(instance.app);
    plans.set(instance.id, {
      signal: config?.killSignal ?? DEFAULT_STOP_SIGNAL,
      graceMs: config?.killTimeoutMs ?? DEFAULT_STOP_GRACE_MS,
    });
  }
  return (await reapInstanceProcesses(new Set(plans.keys()), { stopOf: (id) => plans.get(id) })).length;
}

/** Starts the agent; rejects (with what was started stopped again) when it cannot start. */
export async function startAgent(o: AgentRoleOptions): Promise<AgentRole> {
  const db = openControlDb({ dataDir: o.dataDir });
  const host = hostIdFor("machines");
  let http: RoleHttp | null = null;
  let beat: RoleHeartbeat | null = null;
  let deployer: Deployer | null = null;
  let runner: Runner | null = null;
  let unsubscribe = () => {};
  const close = async () => {
    await deployer?.stop();
    await runner?.stop();
    unsubscribe();
    await http?.close();
    beat?.stop();
    db.close();
  };
  try {
    refuseSecond(db, AGENT_ROLE, "contrail agent");
    const reaped = await reapLeftInstances(db);
    if (reaped > 0) o.warn(`ended ${reaped} instance process(es) a previous agent left running`);
    // What a previous run left: its local instances are gone, and every deployed app is to be started again.
    clearLocalInstances(db);
    resetAppliedDeployments(db);

    const r = new Runner({ host, stopGraceMs: o.stopGraceMs });
    runner = r;
    const registry = new Registry();
    const bytes = new EdgeBytes(db);
    new InstanceAgent({ source: r, proxiedBytes: bytes.of, registry });
    unsubscribe = r.on(instanceMirror({ db, runner: r, warn: o.warn }));
    http = await startRoleHttp(o.metrics, async (path, accept) => {
      if (path !== "/metrics") return undefined;
      await bytes.refresh(new Set(r.instances().map((s) => s.info.id)));
      return metricsAnswer(registry, accept);
    });
    beat = new RoleHeartbeat({ db, role: AGENT_ROLE, warn: o.warn });
    beat.start({ regions: o.regions, host, metrics: http.url });
    deployer = new Deployer({
      db,
      runner: r,
      regions: o.regions,
      pollIntervalMs: o.pollIntervalMs ?? DEPLOY_POLL_MS,
      log: o.log,
      warn: o.warn,
    });
    await deployer.start();
    return {
      metricsUrl: http.url,
      host,
      stop: stopOnce(close),
    };
  } catch (err) {
    await close();
    throw err;
  }
}
