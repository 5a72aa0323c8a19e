import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { newUlid } from "../block-meta.ts";
import { isWorkerFailure, MaintenanceQueue } from "./queue.ts";

const temps: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "maintenance-queue-"));
  temps.push(d);
  return d;
}
const queues: MaintenanceQueue[] = [];
function queue(opts: ConstructorParameters<typeof MaintenanceQueue>[0] = {}): MaintenanceQueue {
  const q = new MaintenanceQueue(opts);
  queues.push(q);
  return q;
}
after(async () => {
  for (const q of queues) await q.close();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** `n` directories with a file each under a new temporary directory. */
function dirs(n: number): string[] {
  const base = tempDir();
  return Array.from({ length: n }, (_, i) => {
    const d = join(base, `d${i}`);
    mkdirSync(d);
    writeFileSync(join(d, "f"), "x");
    return d;
  });
}

describe("MaintenanceQueue", () => {
  test("runs jobs one at a time in order; a job's own error keeps its code and the worker", async () => {
    const q = queue();
    const [a, b, c] = dirs(3);
    const order: string[] = [];
    const missing = join(tempDir(), newUlid());
    const jobs = [
      q.run({ kind: "remove", paths: [a] }).then(() => order.push("a")),
      q.run({ kind: "merge-blocks", dest: tempDir(), dirs: [missing], ulid: newUlid() }).catch((e: unknown) => {
        order.push("merge failed");
        return e;
      }),
      q.run({ kind: "remove", paths: [b] }).then(() => order.push("b")),
    ];
    assert.equal(q.stats().queued + (q.stats().running === null ? 0 : 1), 3);
    const [, err] = await Promise.all(jobs);
    assert.deepEqual(order, ["a", "merge failed", "b"]);
    assert.ok(isContrailError(err) && err.code !== "unavailable", "the job's own error, not a worker failure");
    assert.equal(isWorkerFailure(err), false);
    assert.match((err as Error).message, new RegExp(missing.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
    await q.run({ kind: "remove", paths: [c] });
    assert.deepEqual([existsSync(a), existsSync(b), existsSync(c)], [false, false, false]);
    assert.deepEqual(q.stats(), { queued: 0, running: null, completed: 4, workerFailures: 0 });
  });

  test("a restarted worker fails its job as a worker failure; the next job gets a new worker", async () => {
    const q = queue();
    const [a, b] = dirs(2);
    const first = assert.rejects(
      q.run({ kind: "remove", paths: [a] }),
      (e) => isWorkerFailure(e) && isContrailError(e, "unavailable"),
    );
    assert.equal(q.stats().running, "remove");
    await q.restartWorker();
    await first;
    await q.run({ kind: "remove", paths: [b] });
    assert.equal(existsSync(b), false);
    assert.equal(q.stats().workerFailures, 1);
  });

  test("a job running past the timeout fails and its worker is stopped", async () => {
    const q = queue({ jobTimeoutMs: 1 });
    const [a] = dirs(1);
    await assert.rejects(q.run({ kind: "remove", paths: [a] }), (e) => {
      assert.ok(isWorkerFailure(e));
      assert.match((e as Error).message, /ran longer than 1 ms/);
      return true;
    });
    assert.equal(q.stats().workerFailures, 1);
  });

  test("close fails the running and the queued jobs, and later ones", async () => {
    const q = queue();
    const [a, b] = dirs(2);
    const running = assert.rejects(q.run({ kind: "remove", paths: [a] }), isWorkerFailure);
    const queued = assert.rejects(q.run({ kind: "remove", paths: [b] }), isWorkerFailure);
    await q.close();
    await Promise.all([running, queued]);
    await assert.rejects(q.run({ kind: "remove", paths: [b] }), isWorkerFailure);
  });

  test("a job cancelled before its turn is dropped without running", async () => {
    const q = queue();
    const [a, b] = dirs(2);
    let closed = false;
    const first = q.run({ kind: "remove", paths: [a] });
    const second = q.run({ kind: "remove", paths: [b] }, { cancelled: () => closed });
    closed = true;
    await first;
    await assert.rejects(second, isWorkerFailure);
    assert.equal(existsSync(b), true);
  });

  test("the worker starts from compiled JavaScript as well", () => {
    // Compile the maintenance modules (and what they import) to JavaScript, then run a job with plain node.
    const root = resolve(import.meta.dirname, "../../..");
    const out = tempDir();
    const config = join(out, "tsconfig.json");
    writeFileSync(
      config,
      JSON.stringify({
        extends: join(root, "tsconfig.json"),
        compilerOptions: {
          noEmit: false,
          outDir: join(out, "dist"),
          rootDir: root,
          rewriteRelativeImportExtensions: true,
          types: [join(root, "node_modules/@types/node")],
        },
        include: [],
        files: [join(root, "src/tsdb/maintenance/queue.ts"), join(root, "src/tsdb/maintenance/worker.ts")],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", config], {
      encoding: "utf8",
    });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
    const [victim] = dirs(1);
    const script = join(out, "run.mjs");
    writeFileSync(
      script,
      `import { MaintenanceQueue } from ${JSON.stringify(join(out, "dist/src/tsdb/maintenance/queue.js"))};
const q = new MaintenanceQueue();
await q.run({ kind: "remove", paths: [${JSON.stringify(victim)}] });
await q.close();
console.log("removed");`,
    );
    // Plain node, without tsx: the worker module must be the compiled .js one.
    const run = spawnSync(process.execPath, [script], { encoding: "utf8" });
    assert.equal(run.stdout.trim(), "removed", run.stderr);
    assert.equal(existsSync(victim), false);
  });
});
