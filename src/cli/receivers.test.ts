import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { listReceivers, openControlDb } from "../control/index.ts";

const bin = new URL("../../bin/contrail.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "contrail-cli-receivers-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const env: Record<string, string | undefined> = { ...process.env, CONTRAIL_DATA: undefined };
  return spawnSync(process.execPath, [bin, ...args, "--data", dir], { encoding: "utf8", env });
}

function runOk(args: string[]): string {
  const r = run(args);
  assert.equal(r.status, 0, `contrail ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

function stored(org: string) {
  const db = openControlDb({ dataDir: dir });
  try {
    return listReceivers(db, org);
  } finally {
    db.close();
  }
}

test("contrail receivers set, list and delete; the secret is stored and never printed", () => {
  runOk(["orgs", "create", "acme"]);
  const set = runOk([
    "receivers",
    "set",
    "ops",
    "--org",
    "acme",
    "--url",
    "https://hooks.example.com/a",
    "--secret",
    "s3cret",
    "--group-by",
    "alertname, service",
    "--repeat-interval",
    "1h",
    "--send-resolved",
    "off",
  ]);
  assert.match(set, /^created receiver ops of org acme\n/);
  assert.ok(!set.includes("s3cret"));
  assert.deepEqual(stored("acme"), [
    {
      name: "ops",
      kind: "webhook",
      url: "https://hooks.example.com/a",
      secret: "s3cret",
      groupBy: ["alertname", "service"],
      groupWaitMs: 30_000,
      groupIntervalMs: 300_000,
      repeatIntervalMs: 3_600_000,
      sendResolved: false,
    },
  ]);
  runOk(["receivers", "set", "chat", "--org", "acme", "--kind", "slack", "--url", "https://hooks.slack.com/x/y"]);
  const lines = runOk(["receivers", "list", "--org", "acme"]).trimEnd().split("\n");
  assert.match(lines[0], /^NAME\s+KIND\s+URL\s+SIGNED\s+GROUP BY\s+WAIT\s+INTERVAL\s+REPEAT\s+RESOLVED$/);
  assert.match(lines[1], /^chat\s+slack\s+https:\/\/hooks\.slack\.com\/…\s+no\s+alertname\s+30s\s+5m\s+4h\s+yes$/);
  assert.match(
    lines[2],
    /^ops\s+webhook\s+https:\/\/hooks\.example\.com\/a\s+yes\s+alertname,service\s+30s\s+5m\s+1h\s+no$/,
  );
  const json = runOk(["receivers", "list", "--org", "acme", "--json"]);
  assert.ok(!json.includes("s3cret"));
  assert.deepEqual(
    (JSON.parse(json) as { name: string; has_secret: boolean }[]).map((r) => [r.name, r.has_secret]),
    [
      ["chat", false],
      ["ops", true],
    ],
  );
  runOk(["receivers", "set", "ops", "--org", "acme", "--url", "https://hooks.example.com/b"]);
  assert.equal(stored("acme")[1].secret, "s3cret", "kept without --secret");
  runOk(["receivers", "set", "ops", "--org", "acme", "--url", "https://hooks.example.com/b", "--no-secret"]);
  assert.equal(stored("acme")[1].secret, null, "removed with --no-secret");
  assert.equal(runOk(["receivers", "delete", "chat", "--org", "acme"]), "deleted receiver chat of org acme\n");
  assert.deepEqual(
    stored("acme").map((r) => r.name),
    ["ops"],
  );
});

test("contrail receivers refuses bad input with a message and exit code 1", () => {
  const cases: [string[], RegExp][] = [
    [["set", "x", "--org", "acme", "--url", "gopher://a"], /only http and https/],
    [["set", "x", "--org", "acme", "--url", "https://a", "--group-wait", "soon"], /group_wait: not a valid duration/],
    [["set", "x", "--org", "nope", "--url", "https://a"], /no org "nope"/],
    [["delete", "missing", "--org", "acme"], /org "acme" has no receiver "missing"/],
    [["list", "--org", "nope"], /no org "nope"/],
    [["list"], /required option '--org <slug>' not specified/],
  ];
  for (const [args, pattern] of cases) {
    const r = run(["receivers", ...args]);
    assert.equal(r.status, 1, args.join(" "));
    assert.match(r.stderr, pattern);
  }
});
