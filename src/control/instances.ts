// Instances: the running copies of an app that the edge routes to and the scraper scrapes. A `local` instance is a
// process the machines runner started; an `external` one is registered by address (an app already running
// elsewhere), so Contrail can proxy and scrape it without running it.

import { createHash, randomBytes } from "node:crypto";
import { ContrailError } from "../model/errors.ts";
import { requireApp } from "./apps.ts";
import { type ControlDb, isUniqueViolation } from "./connection.ts";
import { DEFAULT_PROCESS_GROUP, processGroups } from "./flytoml.ts";
import { checkHostId, checkProcessGroup, checkRegion, parseAddress } from "./validate.ts";

/** Who runs the instance: Contrail's local runner, or someone else (registered by address). */
export type InstanceKind = "local" | "external";

/** Lifecycle state; only `started` instances receive traffic and are scraped. */
export type InstanceState = "created" | "starting" | "started" | "stopping" | "stopped" | "failed";

const STATES: readonly InstanceState[] = ["created", "starting", "started", "stopping", "stopped", "failed"];

/** An instance. `id` is 14 lower-case hex digits; times in milliseconds since the epoch. */
export interface Instance {
  readonly id: string;
  readonly app: string;
  readonly kind: InstanceKind;
  readonly region: string;
  readonly host: string;
  /** `host:port` (`[v6]:port`) where the instance listens. */
  readonly address: string;
  readonly processGroup: string;
  readonly state: InstanceState;
  /**
   * Ports a local instance listens on in place of other ports its fly.toml declares (a metrics listener), by
   * declared port; empty for most instances. Its `address` stands for the service's internal port.
   */
  readonly ports: Readonly<Record<string, number>>;
  readonly registeredAt: number;
  /** When it last entered `started`; null if never. */
  readonly startedAt: number | null;
  readonly updatedAt: number;
}

interface InstanceRow {
  id: string;
  app: string;
  kind: InstanceKind;
  region: string;
  host: string;
  address: string;
  process_group: string;
  state: InstanceState;
  ports: string | null;
  registered_at: number;
  started_at: number | null;
  updated_at: number;
}

const COLUMNS =
  "id, app, kind, region, host, address, process_group, state, ports, registered_at, started_at, updated_at";
const INSTANCE_ID = /^[0-9a-f]{14}$/;

function toInstance(r: InstanceRow): Instance {
  return {
    id: r.id,
    app: r.app,
    kind: r.kind,
    region: r.region,
    host: r.host,
    address: r.address,
    processGroup: r.process_group,
    state: r.state,
    ports: r.ports === null ? {} : (JSON.parse(r.ports) as Record<string, number>),
    registeredAt: r.registered_at,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
  };
}

/** Throws `bad_data` unless `state` is an instance state; returns it typed. */
export function checkInstanceState(state: string): InstanceState {
  const found = STATES.find((s) => s === state);
  if (found === undefined) {
    throw new ContrailError("bad_data", `state: expected one of ${STATES.join(", ")}, got ${JSON.stringify(state)}`);
  }
  return found;
}

/**
 * The default host id of an address: the first four hex digits of SHA-256 of its host part, so every instance
 * on one machine shares a `host` label without anyone assigning one.
 */
export function hostIdOf(address: string): string {
  return createHash("sha256").update(parseAddress(address).host).digest("hex").slice(0, 4);
}

/** Options of {@link registerInstance}. */
export interface RegisterInstanceOptions {
  readonly app: string;
  readonly kind: InstanceKind;
  /** Three-letter region code. */
  readonly region: string;
  /** `host:port`, or `[v6]:port`. Unique within the app. */
  readonly address: string;
  /** Four hex digits; defaults to {@link hostIdOf} the address. */
  readonly host?: string;
  /** Defaults to `app` when the app's fly.toml has no `[processes]`; required otherwise. */
  readonly processGroup?: string;
  /** 14 lower-case hex digits; random by default. */
  readonly id?: string;
  /** Defaults to `started` for external instances (already running) and `created` for local ones. */
  readonly state?: InstanceState;
}

/**
 * Registers an instance of an existing app. Throws `not_found` (app), `bad_data` (a field, or a process group
 * the app's fly.toml does not define) or `conflict` (the address or id is already registered).
 */
export function registerInstance(db: ControlDb, options: RegisterInstanceOptions): Instance {
  const region = checkRegion(options.region);
  parseAddress(options.address);
  const host = options.host === undefined ? hostIdOf(options.address) : checkHostId(options.host);
  if (options.id !== undefined && !INSTANCE_ID.test(options.id)) {
    throw new ContrailError(
      "bad_data",
      `instance id: expected 14 lower-case hex digits, got ${JSON.stringify(options.id)}`,
    );
  }
  const kind = options.kind;
  if (kind !== "local" && kind !== "external") {
    throw new ContrailError("bad_data", `kind: expected "local" or "external", got ${JSON.stringify(kind)}`);
  }
  const state = checkInstanceState(options.state ?? (kind === "external" ? "started" : "created"));
  return db.transaction(() => {
    const app = requireApp(db, options.app);
    const groups = app.config === null ? [DEFAULT_PROCESS_GROUP] : processGroups(app.config);
    const group = checkProcessGroup("process group", options.processGroup ?? DEFAULT_PROCESS_GROUP);
    if (!groups.includes(group)) {
      throw new ContrailError(
        "bad_data",
        `process group: app "${app.name}" has no group "${group}" (groups: ${groups.join(", ")})`,
      );
    }
    const existing = findInstanceByAddress(db, { app: app.name, address: options.address });
    if (existing !== undefined) {
      throw new ContrailError("conflict", `${options.address} is already instance ${existing.id} of app "${app.name}"`);
    }
    const now = db.now();
    const id = options.id ?? randomBytes(7).toString("hex");
    try {
      const row = db
        .stmt<unknown[], InstanceRow>(
          `INSERT INTO instances (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?) RETURNING ${COLUMNS}`,
        )
        .get(
          id,
          app.name,
          kind,
          region,
          host,
          options.address,
          group,
          state,
          now,
          state === "started" ? now : null,
          now,
        );
      return toInstance(row!);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ContrailError("conflict", `instance ${id} already exists`, { cause: err });
      throw err;
    }
  });
}

/** The instance with id `id`, or undefined. */
export function getInstance(db: ControlDb, id: string): Instance | undefined {
  const row = db.stmt<[string], InstanceRow>(`SELECT ${COLUMNS} FROM instances WHERE id = ?`).get(id);
  return row === undefined ? undefined : toInstance(row);
}

/** The instance of `app` listening at `address`, or undefined. */
export function findInstanceByAddress(
  db: ControlDb,
  ref: { readonly app: string; readonly address: string },
): Instance | undefined {
  const row = db
    .stmt<[string, string], InstanceRow>(`SELECT ${COLUMNS} FROM instances WHERE app = ? AND address = ?`)
    .get(ref.app, ref.address);
  return row === undefined ? undefined : toInstance(row);
}

/** Filters of {@link listInstances}; all optional and combined with AND. */
export interface InstanceFilter {
  readonly app?: string;
  readonly org?: string;
  readonly state?: InstanceState;
}

/** Instances matching `filter`, by app then registration time. */
export function listInstances(db: ControlDb, filter: InstanceFilter = {}): Instance[] {
  const rows = db
    .stmt<[{ app: string | null; org: string | null; state: string | null }], InstanceRow>(
      `SELECT ${COLUMNS} FROM instances
       WHERE (@app IS NULL OR app = @app)
         AND (@org IS NULL OR app IN (SELECT name FROM apps WHERE org_id = @org))
         AND (@state IS NULL OR state = @state)
       ORDER BY app, registered_at, id`,
    )
    .all({ app: filter.app ?? null, org: filter.org ?? null, state: filter.state ?? null });
  return rows.map(toInstance);
}

/** Moves an instance to `state`; entering `started` records `startedAt`. Throws `not_found` or `bad_data`. */
export function setInstanceState(db: ControlDb, id: string, state: InstanceState): Instance {
  checkInstanceState(state);
  const now = db.now();
  const row = db
    .stmt<[{ state: string; now: number; id: string }], InstanceRow>(
      `UPDATE instances
       SET state = @state, updated_at = @now,
           started_at = CASE WHEN @state = 'started' AND state <> 'started' THEN @now ELSE started_at END
       WHERE id = @id RETURNING ${COLUMNS}`,
    )
    .get({ state, now, id });
  if (row === undefined) throw new ContrailError("not_found", `no instance ${id}`);
  return toInstance(row);
}

/** Removes an instance from the registry. Throws `not_found`. */
export function removeInstance(db: ControlDb, id: string): void {
  const r = db.stmt("DELETE FROM instances WHERE id = ?").run(id);
  if (r.changes === 0) throw new ContrailError("not_found", `no instance ${id}`);
}
