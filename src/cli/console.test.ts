// `contrail console`: prints a one-time sign-in link of the web console for an org, which starts one session.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openControlDb, redeemSignInLink } from "../control/index.ts";
import { signInUrl } from "./console.ts";

const BIN = join(import.meta.dirname, "..", "..", "bin", "contrail.js");
const dir = mkdtempSync(join(tmpdir(), "contrail-console-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function contrail(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
    });
  });
}

test("signInUrl puts the link in the fragment of the page's URL", () => {
  assert.equal(signInUrl("http://127.0.0.1:9300", "cl_x"), "http://127.0.0.1:9300/#link=cl_x");
  assert.equal(signInUrl("http://h:1", "cl_x", "/apps/a"), "http://h:1/apps/a#link=cl_x");
});

test("contrail console prints a link that starts one session of the org with its scopes", async () => {
  const r = await contrail(["console", "--data", dir, "--api", "127.0.0.1:9555", "--scope", "read"]);
  assert.equal(r.code, 0, r.stderr);
  const m = /^http:\/\/127\.0\.0\.1:9555\/#link=(cl_[A-Za-z0-9_-]{43})\n$/.exec(r.stdout);
  assert.ok(m !== null, r.stdout);
  const db = openControlDb({ dataDir: dir });
  try {
    const first = redeemSignInLink(db, m[1]);
    assert.ok(first.ok);
    assert.deepEqual([first.grant.orgId, first.grant.scopes], ["personal", ["read"]]);
    assert.deepEqual(redeemSignInLink(db, m[1]), { ok: false, reason: "used" });
  } finally {
    db.close();
  }
});

test("contrail console refuses an unknown org and a bad scope", async () => {
  const org = await contrail(["console", "--data", dir, "--org", "nope"]);
  assert.deepEqual([org.code, org.stdout], [1, ""]);
  assert.match(org.stderr, /no org "nope"/);
  const scope = await contrail(["console", "--data", dir, "--scope", "admin"]);
  assert.equal(scope.code, 1);
  assert.match(scope.stderr, /scope/);
});
