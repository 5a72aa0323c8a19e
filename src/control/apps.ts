// Apps: named like the seed platform's apps (globally unique, `[a-z0-9][a-z0-9-]{1,62}`), each owned by one org
// and configured by a fly.toml. The text is stored verbatim (unknown keys survive) beside its checked config as
// JSON, so readers in other processes need not parse TOML.

import { ContrailError } from "../model/errors.ts";
import { type ControlDb, isForeignKeyViolation, isUniqueViolation } from "./connection.ts";
import { type FlyConfig, parseFlyToml } from "./flytoml.ts";
import { checkAppName } from "./validate.ts";

/** An app; `flyToml` and `config` are null until a fly.toml is set. Times in milliseconds since the epoch. */
export interface App {
  readonly name: string;
  readonly orgId: string;
  readonly flyToml: string | null;
  readonly config: FlyConfig | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

interface AppRow {
  name: string;
  org_id: string;
  fly_toml: string | null;
  config: string | null;
  created_at: number;
  updated_at: number;
}

const COLUMNS = "name, org_id, fly_toml, config, created_at, updated_at";

function toApp(r: AppRow): App {
  return {
    name: r.name,
    orgId: r.org_id,
    flyToml: r.fly_toml,
    config: r.config === null ? null : (JSON.parse(r.config) as FlyConfig),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Parses `text` for app `name`; throws `bad_data` when it is invalid or its `app` key names another app. */
function checkedConfig(name: string, text: string): FlyConfig {
  const config = parseFlyToml(text);
  if (config.app !== null && config.app !== name) {
    throw new ContrailError("bad_data", `fly.toml: app: the file is for app "${config.app}", not "${name}"`);
  }
  return config;
}

/** Options of {@link createApp}. */
export interface CreateAppOptions {
  readonly name: string;
  /** Slug of the owning org. */
  readonly org: string;
  /** fly.toml text, at most 64 KiB. */
  readonly flyToml?: string;
}

/** Creates an app. Throws `bad_data` (name or fly.toml), `not_found` (org) or `conflict` (name taken anywhere). */
export function createApp(db: ControlDb, options: CreateAppOptions): App {
  const name = checkAppName(options.name);
  const config = options.flyToml === undefined ? null : checkedConfig(name, options.flyToml);
  const now = db.now();
  try {
    const row = db
      .stmt<[string, string, string | null, string | null, number, number], AppRow>(
        `INSERT INTO apps (name, org_id, fly_toml, config, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         RETURNING ${COLUMNS}`,
      )
      .get(name, options.org, options.flyToml ?? null, config === null ? null : JSON.stringify(config), now, now);
    return toApp(row!);
  } catch (err) {
    if (isUniqueViolation(err)) throw new ContrailError("conflict", `app "${name}" already exists`, { cause: err });
    if (isForeignKeyViolation(err)) throw new ContrailError("not_found", `no org "${options.org}"`, { cause: err });
    throw err;
  }
}

/** The app named `name`, or undefined. */
export function getApp(db: ControlDb, name: string): App | undefined {
  const row = db.stmt<[string], AppRow>(`SELECT ${COLUMNS} FROM apps WHERE name = ?`).get(name);
  return row === undefined ? undefined : toApp(row);
}

/** The app named `name`; throws `not_found` when there is none. */
export function requireApp(db: ControlDb, name: string): App {
  const app = getApp(db, name);
  if (app === undefined) throw new ContrailError("not_found", `no app "${name}"`);
  return app;
}

/** All apps by name, or only those of `org`. */
export function listApps(db: ControlDb, options: { readonly org?: string } = {}): App[] {
  if (options.org === undefined)
    return db.stmt<[], AppRow>(`SELECT ${COLUMNS} FROM apps ORDER BY name`).all().map(toApp);
  return db
    .stmt<[string], AppRow>(`SELECT ${COLUMNS} FROM apps WHERE org_id = ? ORDER BY name`)
    .all(options.org)
    .map(toApp);
}

/** Replaces an app's fly.toml (checked first; the old one stays on error). Throws `not_found` or `bad_data`. */
export function setAppConfig(db: ControlDb, name: string, flyToml: string): App {
  const config = checkedConfig(name, flyToml);
  const row = db
    .stmt<[string, string, number, string], AppRow>(
      `UPDATE apps SET fly_toml = ?, config = ?, updated_at = ? WHERE name = ? RETURNING ${COLUMNS}`,
    )
    .get(flyToml, JSON.stringify(config), db.now(), name);
  if (row === undefined) throw new ContrailError("not_found", `no app "${name}"`);
  return toApp(row);
}

/** Deletes an app and its instances. Its stored metrics stay with the org. Throws `not_found`. */
export function deleteApp(db: ControlDb, name: string): void {
  const r = db.stmt("DELETE FROM apps WHERE name = ?").run(name);
  if (r.changes === 0) throw new ContrailError("not_found", `no app "${name}"`);
}
