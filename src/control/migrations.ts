// Versioned schema of control.db. Each migration is one SQL step applied in its own transaction together with its
// row in `schema_migrations`, so a database is always at exactly one known version. Migrations are append-only:
// a released step is never edited, a change is a new step. All times are INTEGER milliseconds since the epoch.

import type Database from "better-sqlite3";
import { ContrailError } from "../model/errors.ts";

/** One schema step: `version` is 1, 2, 3… in order; `sql` may hold several statements. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Every migration this code knows, oldest first. The last version is the schema the code expects. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial schema: users, organizations, memberships, apps, instances, tokens",
    sql: `
      CREATE TABLE users (
        id         INTEGER PRIMARY KEY,
        email      TEXT    NOT NULL UNIQUE,
        name       TEXT    NOT NULL,
        local      INTEGER NOT NULL DEFAULT 0 CHECK (local IN (0, 1)),
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE UNIQUE INDEX users_single_local ON users (local) WHERE local = 1;

      CREATE TABLE organizations (
        id               TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 63),
        name             TEXT    NOT NULL,
        personal_user_id INTEGER UNIQUE REFERENCES users (id) ON DELETE CASCADE,
        created_at       INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE memberships (
        user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        org_id     TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        role       TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, org_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX memberships_by_org ON memberships (org_id);

      CREATE TABLE apps (
        name       TEXT    PRIMARY KEY CHECK (length(name) BETWEEN 2 AND 63),
        org_id     TEXT    NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
        fly_toml   TEXT,
        config     TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX apps_by_org ON apps (org_id);

      CREATE TABLE instances (
        id            TEXT    PRIMARY KEY CHECK (length(id) = 14),
        app           TEXT    NOT NULL REFERENCES apps (name) ON DELETE CASCADE,
        kind          TEXT    NOT NULL CHECK (kind IN ('local', 'external')),
        region        TEXT    NOT NULL,
        host          TEXT    NOT NULL,
        address       TEXT    NOT NULL,
        process_group TEXT    NOT NULL,
        state         TEXT    NOT NULL
          CHECK (state IN ('created', 'starting', 'started', 'stopping', 'stopped', 'failed')),
        registered_at INTEGER NOT NULL,
        started_at    INTEGER,
        updated_at    INTEGER NOT NULL,
        UNIQUE (app, address)
      ) STRICT;

      CREATE TABLE tokens (
        id           TEXT    PRIMARY KEY,
        org_id       TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        hash         BLOB    NOT NULL UNIQUE CHECK (length(hash) = 32),
        scopes       TEXT    NOT NULL,
        note         TEXT,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER,
        last_used_at INTEGER,
        revoked_at   INTEGER
      ) STRICT;
      CREATE INDEX tokens_by_org ON tokens (org_id);
    `,
  },
  {
    version: 2,
    name: "deployments, instance runtime facts, process heartbeats",
    sql: `
      CREATE TABLE deployments (
        app             TEXT    PRIMARY KEY REFERENCES apps (name) ON DELETE CASCADE,
        dir             TEXT    NOT NULL,
        version         INTEGER NOT NULL CHECK (version >= 1),
        deployed_at     INTEGER NOT NULL,
        applied_version INTEGER NOT NULL DEFAULT 0,
        applied_at      INTEGER,
        error           TEXT
      ) STRICT;

      CREATE TABLE instance_runtime (
        id             TEXT    PRIMARY KEY REFERENCES instances (id) ON DELETE CASCADE,
        pid            INTEGER,
        health         TEXT    NOT NULL DEFAULT 'starting' CHECK (health IN ('starting', 'healthy', 'unhealthy')),
        restarts       INTEGER NOT NULL DEFAULT 0,
        last_exit_code INTEGER,
        last_exit_at   INTEGER,
        updated_at     INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE heartbeats (
        role       TEXT    PRIMARY KEY CHECK (length(role) BETWEEN 1 AND 63),
        pid        INTEGER NOT NULL,
        hostname   TEXT    NOT NULL,
        info       TEXT    NOT NULL,
        started_at INTEGER NOT NULL,
        beat_at    INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 3,
    name: "token change counter, bumped by triggers in the transaction of every token change",
    // Triggers, not application code, bump the counter: a change by any process, any code path and any cascade
    // (an org or user deleted with its tokens) is counted in its own transaction. Uses (last_used_at) and notes
    // do not change what a token grants, so they leave the counter alone.
    sql: `
      CREATE TABLE token_changes (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        generation INTEGER NOT NULL
      ) STRICT;
      INSERT INTO token_changes (id, generation) VALUES (1, 0);

      CREATE TRIGGER tokens_inserted AFTER INSERT ON tokens
      BEGIN UPDATE token_changes SET generation = generation + 1 WHERE id = 1; END;
      CREATE TRIGGER tokens_deleted AFTER DELETE ON tokens
      BEGIN UPDATE token_changes SET generation = generation + 1 WHERE id = 1; END;
      CREATE TRIGGER tokens_updated AFTER UPDATE OF id, org_id, hash, scopes, expires_at, revoked_at ON tokens
      BEGIN UPDATE token_changes SET generation = generation + 1 WHERE id = 1; END;
    `,
  },
  {
    version: 4,
    name: "per-org limit overrides with a change counter",
    sql: `
      CREATE TABLE org_limits (
        org_id     TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        name       TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 63),
        value      INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (org_id, name)
      ) STRICT, WITHOUT ROWID;

      -- One row counting every change of org_limits, whoever made it (as token_changes counts token changes):
      -- readers in other processes compare it with the count they loaded at, instead of rereading the table.
      CREATE TABLE org_limits_changes (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        generation INTEGER NOT NULL
      ) STRICT;
      INSERT INTO org_limits_changes (id, generation) VALUES (1, 0);

      CREATE TRIGGER org_limits_inserted AFTER INSERT ON org_limits
      BEGIN UPDATE org_limits_changes SET generation = generation + 1 WHERE id = 1; END;
      CREATE TRIGGER org_limits_updated AFTER UPDATE ON org_limits
      BEGIN UPDATE org_limits_changes SET generation = generation + 1 WHERE id = 1; END;
      CREATE TRIGGER org_limits_deleted AFTER DELETE ON org_limits
      BEGIN UPDATE org_limits_changes SET generation = generation + 1 WHERE id = 1; END;
    `,
  },
  {
    version: 5,
    name: "the ports a local instance listens on in place of the ports its fly.toml declares",
    // A JSON object from declared port to the loopback port the runner gave the instance (`{"9091": 41234}`), for
    // a metrics listener on its own port; NULL when the instance has none.
    sql: "ALTER TABLE instances ADD COLUMN ports TEXT;",
  },
  {
    version: 6,
    name: "web console: one-time sign-in links and sessions, both stored as SHA-256 hashes",
    // A link is kept after its use (used_at) until it expires, so a second use is told "already used". A session
    // started with a token dies with it (cascade); its revocation or expiry is checked at each use.
    sql: `
      CREATE TABLE console_links (
        hash       BLOB    PRIMARY KEY CHECK (length(hash) = 32),
        org_id     TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        scopes     TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at    INTEGER
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE console_sessions (
        hash       BLOB    PRIMARY KEY CHECK (length(hash) = 32),
        org_id     TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        scopes     TEXT    NOT NULL,
        token_id   TEXT    REFERENCES tokens (id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX console_sessions_by_org ON console_sessions (org_id, created_at);
      CREATE INDEX console_sessions_by_token ON console_sessions (token_id);
    `,
  },
  {
    version: 7,
    name: "rule groups per org and namespace (ruler API, contrail rules), with a change counter",
    // `yaml` is the group as the ruler API and the CLI accepted it, re-serialised (comments and layout dropped);
    // `rules` counts its rules, so the per-group limit is checked without parsing. The counter row is bumped by
    // triggers, so a metrics node notices changes made by any process (`contrail rules sync` while it runs).
    sql: `
      CREATE TABLE rule_groups (
        org_id     TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        namespace  TEXT    NOT NULL CHECK (length(CAST(namespace AS BLOB)) BETWEEN 1 AND 255),
        name       TEXT    NOT NULL CHECK (length(CAST(name AS BLOB)) BETWEEN 1 AND 255),
        yaml       TEXT    NOT NULL CHECK (length(CAST(yaml AS BLOB)) <= 524288),
        rules      INTEGER NOT NULL CHECK (rules >= 0),
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (org_id, namespace, name)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE rule_groups_changes (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        generation INTEGER NOT NULL
      ) STRICT;
      INSERT INTO rule_groups_changes (id, generation) VALUES (1, 0);

      CREATE TRIGGER rule_groups_inserted AFTER INSERT ON rule_groups
      BEGIN UPDATE rule_groups_changes SET generation = generation + 1 WHERE id = 1; END;
      CREATE TRIGGER rule_groups_updated AFTER UPDATE ON rule_groups
      BEGIN UPDATE rule_groups_changes SET generation = generation + 1 WHERE id = 1; END;
      CREATE TRIGGER rule_groups_deleted AFTER DELETE ON rule_groups
      BEGIN UPDATE rule_groups_changes SET generation = generation + 1 WHERE id = 1; END;
    `,
  },
  {
    version: 8,
    name: "notification receivers per org: webhook or Slack URL, HMAC secret, grouping and timing",
    // The secret is stored as given: it keys each delivery's HMAC, so it must be readable. `group_by` is a JSON
    // array of label names. Durations in ms; model/receivers.ts holds the bounds every write is checked against.
    sql: `
      CREATE TABLE receivers (
        org_id             TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        name               TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
        kind               TEXT    NOT NULL CHECK (kind IN ('webhook', 'slack')),
        url                TEXT    NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
        secret             TEXT,
        group_by           TEXT    NOT NULL,
        group_wait_ms      INTEGER NOT NULL CHECK (group_wait_ms >= 0),
        group_interval_ms  INTEGER NOT NULL CHECK (group_interval_ms > 0),
        repeat_interval_ms INTEGER NOT NULL CHECK (repeat_interval_ms > 0),
        send_resolved      INTEGER NOT NULL CHECK (send_resolved IN (0, 1)),
        created_at         INTEGER NOT NULL,
        updated_at         INTEGER NOT NULL,
        PRIMARY KEY (org_id, name)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 9,
    name: "VictoriaMetrics cluster accountIDs: one per org, allocated on first use, never reused",
    // No foreign key: an org's samples stay in the backend under its accountID after the org is deleted, so its row
    // is kept and the number is never given to another org. The upper bound is a uint32, VictoriaMetrics's own.
    sql: `
      CREATE TABLE vm_accounts (
        org_id     TEXT    PRIMARY KEY CHECK (length(org_id) BETWEEN 1 AND 63),
        account_id INTEGER NOT NULL UNIQUE CHECK (account_id BETWEEN 1 AND 4294967295),
        created_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
    `,
  },
];

/** The schema version of `db`: the highest applied migration, 0 for a database without any. */
export function schemaVersion(db: Database.Database): number {
  const hasTable = db
    .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'")
    .pluck()
    .get();
  if (hasTable === undefined) return 0;
  const v = db.prepare("SELECT max(version) FROM schema_migrations").pluck().get();
  return typeof v === "number" ? v : 0;
}

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** The steps to apply, oldest first; defaults to {@link MIGRATIONS}. */
  readonly migrations?: readonly Migration[];
  /** Milliseconds since the epoch, recorded as each step's `applied_at`. */
  readonly now: number;
  /** Shown in the "newer version" error, e.g. the database file's path. */
  readonly label?: string;
}

/**
 * Brings `db` up to the last version of `migrations`, one transaction per step; returns the versions before and
 * after. Each step takes the write lock first (BEGIN IMMEDIATE) and rereads the version under it, so two processes
 * opening the same new database do not apply a step twice. Throws `conflict` when the database is newer than the
 * code, and rethrows a failing step's error after rolling that step back (earlier steps stay applied).
 */
export function migrate(db: Database.Database, options: MigrateOptions): { from: number; to: number } {
  const migrations = options.migrations ?? MIGRATIONS;
  checkOrder(migrations);
  const known = migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
  const label = options.label ?? "control database";
  const tooNew = (v: number): ContrailError =>
    new ContrailError(
      "conflict",
      `${label} has schema version ${v}, newer than the ${known} this version of contrail knows; ` +
        "run a newer contrail (a database is never migrated down)",
    );

  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const from = schemaVersion(db);
  if (from > known) throw tooNew(from);

  const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
  for (const m of migrations) {
    if (m.version <= from) continue;
    const apply = db.transaction(() => {
      const current = schemaVersion(db);
      if (current > known) throw tooNew(current);
      if (current >= m.version) return;
      db.exec(m.sql);
      record.run(m.version, m.name, options.now);
    });
    apply.immediate();
  }
  return { from, to: schemaVersion(db) };
}

/** Throws `internal` unless the versions run 1, 2, 3… without gaps: a programming error in the list. */
function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new ContrailError("internal", `migration #${i} has version ${m.version}, expected ${i + 1}`);
    }
  });
}
