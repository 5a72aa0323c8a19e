import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { authenticate, openControlDb } from "../control/index.ts";

const bin = new URL("../../bin/contrail.js", import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), "contrail-cli-control-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `d${dirs++}`);

/** Runs `contrail args…` with a clean CONTRAIL_DATA unless `env` sets it. */
function run(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}) {
  const env: Record<string, string | undefined> = { ...process.env, CONTRAIL_DATA: undefined, ...options.env };
  return spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", env, cwd: options.cwd });
}

/** Runs a command that must succeed; returns its stdout. */
function runOk(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): string {
  const r = run(args, options);
  assert.equal(r.status, 0, `contrail ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** Authenticates `token` against the database in `dir`. */
function auth(dir: string, token: string) {
  const db = openControlDb({ dataDir: dir });
  try {
    return authenticate(db, token);
  } finally {
    db.close();
  }
}

describe("contrail orgs", () => {
  test("create prints the slug; list shows the personal org and the new one", () => {
    const dir = freshDir();
    assert.equal(runOk(["orgs", "create", "acme", "--name", "Acme Corp", "--data", dir]), "acme\n");
    const lines = runOk(["orgs", "list", "--data", dir]).trimEnd().split("\n");
    assert.match(lines[0], /^SLUG\s+CREATED\s+PERSONAL\s+NAME$/);
    assert.match(lines[1], /^acme\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+no\s+Acme Corp$/);
    assert.match(lines[2], /^personal\s+\S+\s+yes\s+/);
    assert.equal(lines.length, 3);
    const json = JSON.parse(runOk(["orgs", "list", "--json", "--data", dir])) as { id: string; name: string }[];
    assert.deepEqual(
      json.map((o) => [o.id, o.name]),
      [
        ["acme", "Acme Corp"],
        ["personal", "Local user (personal)"],
      ],
    );
  });

  const failures: [string, string[], string][] = [
    [
      "a bad slug",
      ["orgs", "create", "Bad_Slug"],
      'error: org slug: "Bad_Slug" is invalid: use lower-case letters, digits and "-", starting with a letter or digit\n',
    ],
    ["a taken slug", ["orgs", "create", "personal"], 'error: org "personal" already exists\n'],
    [
      "a long name",
      ["orgs", "create", "x1", "--name", "n".repeat(101)],
      "error: org name: at most 100 characters, got 101\n",
    ],
  ];
  for (const [name, args, stderr] of failures) {
    test(`${name} fails with exit code 1 and a message on stderr`, () => {
      const r = run([...args, "--data", freshDir()]);
      assert.equal(r.status, 1);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, stderr);
    });
  }

  test("a missing argument is a usage error", () => {
    const r = run(["orgs", "create", "--data", freshDir()]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /missing required argument 'slug'/);
  });
});

describe("contrail orgs limits", () => {
  test("shows every limit with its default; --set and --unset change the org's and print the result", () => {
    const dir = freshDir();
    runOk(["orgs", "create", "acme", "--data", dir]);
    const shown = runOk(["orgs", "limits", "acme", "--data", dir]).trimEnd().split("\n");
    assert.match(shown[0], /^LIMIT\s+VALUE\s+DEFAULT\s+RANGE\s+HELP$/);
    assert.match(
      shown.find((l) => l.startsWith("max_write_bytes "))!,
      /^max_write_bytes\s+32MiB\s+32MiB\s+64KiB\.\.256MiB\s/,
    );
    const set = runOk([
      "orgs",
      "limits",
      "acme",
      "--set",
      "max_write_bytes=64MiB",
      "--set",
      "max_label_names_per_series=40",
      "--data",
      dir,
    ]);
    assert.match(set, /^max_write_bytes\s+64MiB \(set\)\s+32MiB\s/m);
    assert.match(set, /^max_label_names_per_series\s+40 \(set\)\s+30\s/m);
    runOk(["orgs", "limits", "acme", "--unset", "max_write_bytes", "--data", dir]);
    const json = JSON.parse(runOk(["orgs", "limits", "acme", "--json", "--data", dir])) as {
      name: string;
      value: number;
      overridden: boolean;
    }[];
    const byName = new Map(json.map((l) => [l.name, l]));
    assert.deepEqual(byName.get("max_write_bytes"), {
      ...byName.get("max_write_bytes"),
      value: 33554432,
      overridden: false,
    });
    assert.deepEqual(byName.get("max_label_names_per_series")?.value, 40);
    const other = JSON.parse(runOk(["orgs", "limits", "personal", "--json", "--data", dir])) as { value: number }[];
    assert.ok(other.every((l, i) => l.value === json[i].value || json[i].name === "max_label_names_per_series"));
  });

  const failures: [string, string[], RegExp][] = [
    [
      "an unknown limit",
      ["--set", "max_labels=3"],
      /^error: unknown limit "max_labels"; the limits are max_concurrent_queries, /,
    ],
    [
      "a value out of range",
      ["--set", "max_label_names_per_series=0"],
      /^error: max_label_names_per_series must be an integer from 1 to 1000, got 0\n$/,
    ],
    [
      "a value with a foreign unit",
      ["--set", "max_series=3MiB"],
      /^error: max_series: expected a whole number, got "3MiB"\n$/,
    ],
    ["a setting without =", ["--set", "max_series"], /^error: --set "max_series": expected name=value\n$/],
    ["an unknown limit to unset", ["--unset", "nope"], /^error: unknown limit "nope"/],
  ];
  for (const [name, args, stderr] of failures) {
    test(`${name} fails with exit code 1 and changes nothing`, () => {
      const dir = freshDir();
      runOk(["orgs", "create", "acme", "--data", dir]);
      const r = run(["orgs", "limits", "acme", "--set", "max_matchers=9", ...args, "--data", dir]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, stderr);
      assert.doesNotMatch(runOk(["orgs", "limits", "acme", "--data", dir]), /\(set\)/);
    });
  }

  test("an unknown org fails", () => {
    const r = run(["orgs", "limits", "nope", "--data", freshDir()]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'error: no org "nope"\n');
  });
});

describe("contrail tokens", () => {
  test("create prints only the token, which then authenticates for its org and scope", () => {
    const dir = freshDir();
    runOk(["orgs", "create", "acme", "--data", dir]);
    const r = run(["tokens", "create", "--org", "acme", "--scope", "write", "--note", "ci", "--data", dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ct_[A-Za-z0-9_-]{43}\n$/);
    assert.equal(r.stderr, "");
    const token = r.stdout.trimEnd();
    assert.deepEqual(auth(dir, token)?.orgId, "acme");
    assert.deepEqual(auth(dir, token)?.scopes, ["write"]);
    const personal = runOk(["tokens", "create", "--data", dir]).trimEnd();
    assert.deepEqual(auth(dir, personal)?.orgId, "personal", "--org defaults to personal");
    assert.deepEqual(auth(dir, personal)?.scopes, ["read"], "--scope defaults to read");
  });

  test("list shows ids and metadata but never the secret; --org filters", () => {
    const dir = freshDir();
    runOk(["orgs", "create", "acme", "--data", dir]);
    const a = runOk([
      "tokens",
      "create",
      "--org",
      "acme",
      "--expires",
      "30d",
      "--note",
      "grafana",
      "--data",
      dir,
    ]).trimEnd();
    const b = runOk(["tokens", "create", "--org", "personal", "--scope", "read,write", "--data", dir]).trimEnd();
    auth(dir, a);
    const out = runOk(["tokens", "list", "--data", dir]);
    assert.ok(!out.includes(a.slice(3)) && !out.includes(b.slice(3)), "no secret in the listing");
    const lines = out.trimEnd().split("\n");
    assert.match(lines[0], /^ID\s+ORG\s+SCOPE\s+CREATED\s+EXPIRES\s+LAST USED\s+REVOKED\s+NOTE$/);
    assert.equal(lines.length, 3);
    const rowA = lines.find((l) => l.includes(" acme "))!;
    assert.match(rowA, /^[0-9a-f]{12}\s+acme\s+read\s+(\S+Z)\s+(\S+Z)\s+(\S+Z)\s+-\s+grafana$/);
    const [, created, expires] = /\s(\S+Z)\s+(\S+Z)/.exec(rowA)!;
    assert.equal(Date.parse(expires) - Date.parse(created), 30 * 86_400_000);
    const rowB = lines.find((l) => l.includes(" personal "))!;
    assert.match(rowB, /^[0-9a-f]{12}\s+personal\s+read,write\s+\S+Z\s+-\s+-\s+-\s*$/);

    const json = JSON.parse(runOk(["tokens", "list", "--org", "acme", "--json", "--data", dir])) as {
      orgId: string;
      note: string;
    }[];
    assert.deepEqual(
      json.map((t) => [t.orgId, t.note]),
      [["acme", "grafana"]],
    );
    const r = run(["tokens", "list", "--org", "ghost", "--data", dir]);
    assert.deepEqual([r.status, r.stderr], [1, 'error: no org "ghost"\n']);
  });

  test("revoke by id makes the token fail; unknown ids are errors", () => {
    const dir = freshDir();
    const token = runOk(["tokens", "create", "--data", dir]).trimEnd();
    const json = JSON.parse(runOk(["tokens", "list", "--json", "--data", dir])) as { id: string }[];
    const id = json[0].id;
    assert.equal(runOk(["tokens", "revoke", id, "--data", dir]), `revoked ${id}\n`);
    assert.equal(auth(dir, token), null);
    assert.match(runOk(["tokens", "list", "--data", dir]).split("\n")[1], /\s\S+Z\s*$/, "REVOKED column is set");
    const r = run(["tokens", "revoke", "0123456789ab", "--data", dir]);
    assert.deepEqual([r.status, r.stdout, r.stderr], [1, "", "error: no token 0123456789ab\n"]);
  });

  const failures: [string[], string][] = [
    [["tokens", "create", "--org", "ghost"], 'error: no org "ghost"\n'],
    [["tokens", "create", "--scope", "admin"], 'error: scope: expected "read", "write" or "read,write", got "admin"\n'],
    [
      ["tokens", "create", "--expires", "forever"],
      'error: expires: expected a duration like 90m, 12h, 30d, 2w or 1y (at most 10y), got "forever"\n',
    ],
    [["tokens", "create", "--note", "n".repeat(201)], "error: token note: at most 200 characters, got 201\n"],
    [
      ["tokens", "revoke", "not-an-id"],
      'error: token id: expected 12 hex digits (as listed by "contrail tokens list") or a full ct_ token\n',
    ],
  ];
  for (const [args, stderr] of failures) {
    test(`${args.slice(1).join(" ").slice(0, 40)} fails on stderr with exit code 1`, () => {
      const r = run([...args, "--data", freshDir()]);
      assert.deepEqual([r.status, r.stdout, r.stderr], [1, "", stderr]);
    });
  }
});

describe("the data directory", () => {
  test("CONTRAIL_DATA is used when --data is absent, ./data otherwise", () => {
    const envDir = freshDir();
    const token = runOk(["tokens", "create"], { env: { CONTRAIL_DATA: envDir } }).trimEnd();
    assert.equal(auth(envDir, token)?.orgId, "personal");

    const cwd = freshDir();
    mkdirSync(cwd);
    runOk(["orgs", "list"], { cwd });
    assert.ok(existsSync(join(cwd, "data", "control.db")));
  });
});
