import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const SCRATCH = fileURLToPath(new URL("./scratch.ts", import.meta.url));

/** Runs a script that makes a scratch directory, prints it, then ends as `how` says; returns the directory. */
async function run(how: "finish" | "throw" | "SIGINT" | "SIGTERM"): Promise<{ dir: string; code: number | null }> {
  const end =
    how === "finish" ? "" : how === "throw" ? "throw new Error('bench failed');" : "setInterval(() => {}, 1000);";
  const script = `
    import { writeFileSync } from "node:fs";
    import { scratchDir } from ${JSON.stringify(SCRATCH)};
    const dir = scratchDir("contrail-scratch-test-");
    writeFileSync(dir + "/data", "x");
    process.stdout.write(dir + "\\n");
    ${end}`;
  const bench = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  const [line] = (await once(bench.stdout, "data")) as [Buffer];
  const dir = line.toString().trim();
  if (how === "SIGINT" || how === "SIGTERM") {
    assert.ok(existsSync(dir), "the directory is there while the bench runs");
    bench.kill(how);
  }
  const [code] = (await once(bench, "exit")) as [number | null];
  return { dir, code };
}

describe("scratchDir", () => {
  for (const how of ["finish", "throw", "SIGINT", "SIGTERM"] as const) {
    test(`is removed with its files when the process ends (${how})`, async () => {
      const { dir, code } = await run(how);
      assert.equal(code, { finish: 0, throw: 1, SIGINT: 130, SIGTERM: 143 }[how]);
      assert.equal(existsSync(dir), false);
    });
  }
});
