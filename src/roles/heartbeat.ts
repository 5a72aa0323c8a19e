// Heartbeats of the platform's processes in the control database: who runs (the supervisor `up`, the metrics node
// `serve`, each `edge`, the `agent`), where it serves (its info: addresses of its API or `/metrics`, its regions),
// and whether a second process of a role may start. The metrics node finds the edges and agents to scrape through
// them, the agent finds the edges' byte counts, and `deploy` and `apps status` find what runs.

import { hostname } from "node:os";
import {
  beat,
  type ControlDb,
  clearHeartbeat,
  type Heartbeat,
  isFresh,
  listHeartbeats,
  readHeartbeat,
} from "../control/index.ts";
import { ContrailError } from "../model/errors.ts";

/** Interval of every heartbeat row, ms. */
export const HEARTBEAT_INTERVAL_MS = 2_000;
/** A heartbeat older than this means its process is gone (or hung), ms. */
export const HEARTBEAT_STALE_MS = 5 * HEARTBEAT_INTERVAL_MS;

/** Heartbeat role of the supervisor (`contrail up`): one per data directory. */
export const UP_ROLE = "up";
/** Heartbeat role of the metrics node (`contrail serve`): one per data directory (it owns the tenant databases). */
export const SERVE_ROLE = "serve";
/** Heartbeat role of the machines agent (`contrail agent`): one per data directory (it owns the local instances). */
export const AGENT_ROLE = "agent";
/** Prefix of the edges' heartbeat roles: `edge/<first region>`. Several edges may run, with distinct regions. */
export const EDGE_ROLE_PREFIX = "edge/";
/**
 * Prefix of the metrics nodes' heartbeat roles, one row per node (`node/<hostname>/<pid>/<n>`), several per control
 * database: their info says which of the roles (api, scrape, rules) they run, their API address and scrape shard.
 */
export const NODE_ROLE_PREFIX = "node/";
/** Heartbeat role of the rule evaluator: held by exactly one metrics node at a time (lease.ts). */
export const RULES_ROLE = "rules";

/** Nodes started in this process so far (tests run several); part of each node's row key. */
let nodesStarted = 0;

/** A fresh heartbeat role for a metrics node of this process. */
export function nodeRole(): string {
  return `${NODE_ROLE_PREFIX}${hostname()}/${process.pid}/${nodesStarted++}`;
}

/** The heartbeat role of an edge process serving `regions` (at least one). */
export function edgeRole(regions: readonly string[]): string {
  return `${EDGE_ROLE_PREFIX}${regions[0]}`;
}

/** True when a process with `pid` exists on this machine. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when `hb` is fresh and not known to be dead: written within the stale time by a process that still exists. */
export function isLive(db: ControlDb, hb: Heartbeat | undefined): hb is Heartbeat {
  if (!isFresh(hb, db.now(), HEARTBEAT_STALE_MS)) return false;
  return hb.hostname !== hostname() || alive(hb.pid);
}

/** The heartbeat of a live process of `role`, or undefined. */
export function liveHeartbeat(db: ControlDb, role: string): Heartbeat | undefined {
  const hb = readHeartbeat(db, role);
  return isLive(db, hb) ? hb : undefined;
}

/** The heartbeats of every live process whose role starts with `prefix`, by role. */
export function liveHeartbeats(db: ControlDb, prefix: string): Heartbeat[] {
  return listHeartbeats(db, prefix).filter((hb) => isLive(db, hb));
}

/** Deletes the rows under `prefix` whose writers are gone (a node killed without a clean stop leaves its row). */
export function pruneDeadHeartbeats(db: ControlDb, prefix: string): void {
  for (const hb of listHeartbeats(db, prefix)) {
    const live: boolean = isLive(db, hb);
    if (!live) clearHeartbeat(db, hb.role, hb.pid);
  }
}

/** A bound edge listener, as printed and written to the edge's heartbeat. */
export interface BoundEdge {
  readonly region: string;
  readonly host: string;
  /** `ip:port`. */
  readonly address: string;
  /** `http://<app>.<domain>:<port>` with a literal `<app>`. */
  readonly url: string;
  /** `ip:port` of its HTTPS listener (absent in heartbeats of edges without one). */
  readonly tlsAddress?: string;
  /** `https://<app>.<domain>:<port>` with a literal `<app>`. */
  readonly tlsUrl?: string;
}

/** One line for users about a bound edge: its region, URLs, address and host id. */
export function describeEdge(e: BoundEdge): string {
  const urls = e.tlsUrl === undefined ? e.url : `${e.url} ${e.tlsUrl}`;
  return `edge ${e.region} ${urls} (${e.address}, host ${e.host})`;
}

/** The line telling users which certificate to trust for the edges' HTTPS addresses. */
export function caLine(caCertPath: string): string {
  return `edge CA certificate ${caCertPath} (trust it to use the https:// addresses without warnings)`;
}

/** What an edge's heartbeat says: its listeners and where its `/metrics` answers. */
export interface EdgeBeat {
  readonly role: string;
  readonly pid: number;
  readonly edges: readonly BoundEdge[];
  /** `http://HOST:PORT` of its metrics listener. */
  readonly metrics: string;
}

/** The live edges of this data directory, by role. */
export function liveEdges(db: ControlDb): EdgeBeat[] {
  return liveHeartbeats(db, EDGE_ROLE_PREFIX).map((hb) => ({
    role: hb.role,
    pid: hb.pid,
    edges: (hb.info.edges ?? []) as BoundEdge[],
    metrics: String(hb.info.metrics ?? ""),
  }));
}

/**
 * Throws `conflict` when another live process holds `role` on this data directory; `what` names the command in
 * the message (`contrail up`). A row left by a process that died on this machine does not count.
 */
export function refuseSecond(db: ControlDb, role: string, what: string): void {
  const hb = liveHeartbeat(db, role);
  if (hb === undefined || (hb.pid === process.pid && hb.hostname === hostname())) return;
  throw new ContrailError(
    "conflict",
    `another ${what} (pid ${hb.pid} on ${hb.hostname}) serves this data directory; stop it first`,
  );
}

/** Throws `conflict` when a live edge process other than this one serves one of `regions`. */
export function refuseEdgeOverlap(db: ControlDb, regions: readonly string[]): void {
  for (const e of liveEdges(db)) {
    if (e.pid === process.pid) continue;
    const taken = e.edges.map((b) => b.region).filter((r) => regions.includes(r));
    if (taken.length > 0) {
      throw new ContrailError(
        "conflict",
        `another contrail edge (pid ${e.pid}) serves region ${taken.join(", ")} on this data directory; stop it first`,
      );
    }
  }
}

/** Options of a {@link RoleHeartbeat}. */
export interface RoleHeartbeatOptions {
  readonly db: ControlDb;
  readonly role: string;
  /** Receives a failed write (the next beat tries again). */
  readonly warn: (line: string) => void;
}

/** Writes one process's heartbeat every {@link HEARTBEAT_INTERVAL_MS} until stopped, then deletes it. */
export class RoleHeartbeat {
  private readonly startedAt = Date.now();
  private info: Readonly<Record<string, unknown>> = {};
  private timer: NodeJS.Timeout | null = null;
  private failing = false;

  constructor(private readonly o: RoleHeartbeatOptions) {}

  /** Writes the first beat with `info` now, then one every interval. */
  start(info: Readonly<Record<string, unknown>>): void {
    this.update(info);
    this.timer = setInterval(() => this.write(), HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  /** Replaces the info and writes a beat now. */
  update(info: Readonly<Record<string, unknown>>): void {
    this.info = info;
    this.write();
  }

  /** Stops beating and deletes the row (if it is still this process's). Never throws. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    try {
      clearHeartbeat(this.o.db, this.o.role, process.pid);
    } catch (err) {
      this.o.warn(`heartbeat: ${(err as Error).message}`);
    }
  }

  private write(): void {
    try {
      beat(this.o.db, {
        role: this.o.role,
        pid: process.pid,
        hostname: hostname(),
        info: this.info,
        startedAt: this.startedAt,
      });
      this.failing = false;
    } catch (err) {
      // A busy database delays a beat; say so once per streak, not every two seconds.
      if (!this.failing) this.o.warn(`heartbeat: ${(err as Error).message}`);
      this.failing = true;
    }
  }
}
