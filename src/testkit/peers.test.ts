import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const PEERS = fileURLToPath(new URL("./peers.ts", import.meta.url));

/** True while a process with `pid` exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("startProcess", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`a process told to stop with ${signal} stops the children it started, then exits as the signal would`, async () => {
      // A bench in miniature: it starts a server that outlives nothing, prints its pid, and waits.
      const script = `
        import { startProcess } from ${JSON.stringify(PEERS)};
        const child = startProcess(process.execPath, ["-e", "setInterval(() => {}, 1000)"]);
        process.stdout.write(String(child.proc.pid) + "\\n");
        setInterval(() => {}, 1000);`;
      const bench = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      const [line] = (await once(bench.stdout, "data")) as [Buffer];
      const pid = Number(line.toString().trim());
      try {
        assert.ok(pid > 0 && alive(pid), "the server runs");
        bench.kill(signal);
        const [code] = (await once(bench, "exit")) as [number | null];
        assert.equal(code, signal === "SIGTERM" ? 143 : 130);
        assert.equal(alive(pid), false, "the server was stopped with it");
      } finally {
        if (pid > 0 && alive(pid)) process.kill(pid, "SIGKILL");
      }
    });
  }
});
