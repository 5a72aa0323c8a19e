// Bench support: where a benchmark keeps its data. A fresh directory under the system's temp directory that goes away
// with the process, whether the bench finishes, fails, or is stopped with SIGINT or SIGTERM (its servers stopped
// first, peers.ts). Not imported by production code.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exitOnStop } from "./peers.ts";

/** A new directory named `<prefix><random>` under the temp directory; removed with everything in it at exit. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  exitOnStop();
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
