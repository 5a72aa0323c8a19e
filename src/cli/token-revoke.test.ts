// A token revoked by `contrail tokens revoke`, a process of its own on the same data directory, is refused by a
// running API on the very next request, although the API answers token checks from its cache.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { MemoryTenants, startTestServer, testControl } from "../api/test-support.ts";

const run = promisify(execFile);
const bin = new URL("../../bin/contrail.js", import.meta.url).pathname;

test("contrail tokens revoke in another process takes effect on the API's next request", async () => {
  const control = testControl();
  const server = await startTestServer(control, new MemoryTenants());
  after(async () => {
    await server.close();
    control.cleanup();
  });
  const token = control.org("acme");
  const query = () =>
    fetch(`${server.url}/prometheus/acme/api/v1/query?query=1`, { headers: { authorization: `Bearer ${token}` } });
  for (let i = 0; i < 3; i++) assert.equal((await query()).status, 200);

  const env = { ...process.env, CONTRAIL_DATA: undefined };
  const revoked = await run(process.execPath, [bin, "tokens", "revoke", token, "--data", control.dir], { env });
  assert.match(revoked.stdout, /^revoked [0-9a-f]{12}\n$/);
  assert.equal((await query()).status, 401);
});
