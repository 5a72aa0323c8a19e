// Deployments: the channel between `contrail deploy` and a running `contrail up`. Deploying stores the app's
// fly.toml (creating the app in its org on first deploy), the directory its local instances run in, and bumps the
// app's deployment version. `up` polls the versions, (re)starts what changed, and records the version it applied
// (or why it could not), which `deploy --wait` and `apps status` read back.

import { ContrailError } from "../model/errors.ts";
import { type App, createApp, getApp, setAppConfig } from "./apps.ts";
import type { ControlDb } from "./connection.ts";
import { type FlyConfig, parseFlyToml } from "./flytoml.ts";

/** The deployment of an app. Times in milliseconds since the epoch. */
export interface Deployment {
  readonly app: string;
  readonly org: string;
  /** Absolute directory of the app: the working directory of its local instances. */
  readonly dir: string;
  /** Bumped by every deploy, from 1. */
  readonly version: number;
  readonly deployedAt: number;
  /** The version a running `up` last acted on; 0 before any. */
  readonly appliedVersion: number;
  readonly appliedAt: number | null;
  /** Why `up` could not run `appliedVersion`, or null when it runs. */
  readonly error: string | null;
  /** The app's checked fly.toml at the time of reading. */
  readonly config: FlyConfig;
}

interface DeploymentRow {
  app: string;
  org_id: string;
  dir: string;
  version: number;
  deployed_at: number;
  applied_version: number;
  applied_at: number | null;
  error: string | null;
  config: string;
}

const SELECT = `SELECT d.app, a.org_id, d.dir, d.version, d.deployed_at, d.applied_version, d.applied_at, d.error,
                       a.config
                FROM deployments d JOIN apps a ON a.name = d.app
                WHERE a.config IS NOT NULL`;

function toDeployment(r: DeploymentRow): Deployment {
  return {
    app: r.app,
    org: r.org_id,
    dir: r.dir,
    version: r.version,
    deployedAt: r.deployed_at,
    appliedVersion: r.applied_version,
    appliedAt: r.applied_at,
    error: r.error,
    config: JSON.parse(r.config) as FlyConfig,
  };
}

/** Options of {@link deployApp}. */
export interface DeployOptions {
  /** The app; defaults to the fly.toml's `app` key (one of the two is required). */
  readonly name?: string;
  /** Slug of the org the app belongs to (created there on first deploy). */
  readonly org: string;
  /** fly.toml text. */
  readonly flyToml: string;
  /** Absolute directory of the app. */
  readonly dir: string;
}

/** What a deploy did. */
export interface DeployResult {
  readonly app: App;
  readonly version: number;
  /** True when this deploy created the app. */
  readonly created: boolean;
}

/**
 * Creates or updates the app from its fly.toml and bumps its deployment version, in one transaction. Throws
 * `bad_data` (fly.toml, or no app name anywhere), `not_found` (org) or `conflict` (the app belongs to another org).
 */
export function deployApp(db: ControlDb, options: DeployOptions): DeployResult {
  if (options.dir === "" || !options.dir.startsWith("/")) {
    throw new ContrailError("bad_data", `app directory must be an absolute path, got ${JSON.stringify(options.dir)}`);
  }
  return db.transaction(() => {
    const name = options.name ?? parseFlyToml(options.flyToml).app;
    if (name === undefined || name === null) {
      throw new ContrailError("bad_data", 'fly.toml names no app: add app = "<name>" or pass the app name');
    }
    const existing = getApp(db, name);
    let app: App;
    let created = false;
    if (existing === undefined) {
      app = createApp(db, { name, org: options.org, flyToml: options.flyToml });
      created = true;
    } else {
      if (existing.orgId !== options.org) {
        throw new ContrailError("conflict", `app "${name}" belongs to org "${existing.orgId}", not "${options.org}"`);
      }
      app = setAppConfig(db, name, options.flyToml);
    }
    const now = db.now();
    const row = db
      .stmt<[string, string, number], { version: number }>(
        `INSERT INTO deployments (app, dir, version, deployed_at) VALUES (?, ?, 1, ?)
         ON CONFLICT (app) DO UPDATE SET dir = excluded.dir, version = version + 1, deployed_at = excluded.deployed_at
         RETURNING version`,
      )
      .get(name, options.dir, now);
    return { app, version: row!.version, created };
  });
}

/** The deployment of `app`, or undefined when it was never deployed. */
export function getDeployment(db: ControlDb, app: string): Deployment | undefined {
  const row = db.stmt<[string], DeploymentRow>(`${SELECT} AND d.app = ?`).get(app);
  return row === undefined ? undefined : toDeployment(row);
}

/** Every deployed app, by name. */
export function listDeployments(db: ControlDb): Deployment[] {
  return db.stmt<[], DeploymentRow>(`${SELECT} ORDER BY d.app`).all().map(toDeployment);
}

/**
 * Records that `up` acted on `version` of `app`: `error` null when its instances were started, else why not.
 * A version older than the one recorded is ignored. Unknown apps are ignored (deleted meanwhile).
 */
export function markDeploymentApplied(db: ControlDb, app: string, version: number, error: string | null): void {
  db.stmt<[{ app: string; version: number; error: string | null; now: number }]>(
    `UPDATE deployments SET applied_version = @version, applied_at = @now, error = @error
     WHERE app = @app AND applied_version <= @version`,
  ).run({ app, version, error, now: db.now() });
}

/** Forgets every applied version, so the next `up` starts every deployed app afresh. */
export function resetAppliedDeployments(db: ControlDb): void {
  db.stmt("UPDATE deployments SET applied_version = 0, applied_at = NULL, error = NULL").run();
}
