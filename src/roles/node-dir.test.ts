import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { lockNodeDir, NODES_DIR, nodeDirName } from "./node-dir.ts";

test("nodeDirName names a node by its roles, shard and API address", () => {
  assert.equal(
    nodeDirName(new Set(["api", "scrape", "rules"]), undefined, "127.0.0.1:9300"),
    "api+rules+scrape_api-127.0.0.1-9300",
  );
  assert.equal(nodeDirName(new Set(["scrape"]), { index: 1, count: 2 }, "127.0.0.1:9300"), "scrape_shard-1of2");
  assert.equal(nodeDirName(new Set(["api"]), { index: 1, count: 2 }, "[::1]:9301"), "api_api----1--9301");
});

test("a node directory is held by one live process at a time, and taken over from a dead one", async () => {
  const dir = mkdtempSync(join(tmpdir(), "node-dir-"));
  try {
    const held = lockNodeDir(dir, "api_api-x");
    assert.ok(existsSync(join(dir, NODES_DIR, "api_api-x")));
    held.release();
    held.release();

    // A live process of this host holds it: refused, naming the flags to change.
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    await new Promise((resolve) => child.once("spawn", resolve));
    try {
      writeFileSync(join(dir, NODES_DIR, "api_api-x", "lock"), `${child.pid} ${hostname()}\n`);
      assert.throws(
        () => lockNodeDir(dir, "api_api-x"),
        (err: unknown) =>
          isContrailError(err, "conflict") && /give each node its own --api or --shard/.test(String(err)),
      );
    } finally {
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
    }
    // The holder is gone: the next node takes the directory.
    lockNodeDir(dir, "api_api-x").release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
