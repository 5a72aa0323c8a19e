// Plumbing the control-plane commands share: a session on the control database that turns a ContrailError into a
// message and exit code 1, and plain-text table output.

import { type ControlDb, openControlDb } from "../control/index.ts";
import { isContrailError } from "../model/errors.ts";

/** Opens the control database of `dir`, runs `fn`, closes it; a ContrailError becomes a message and exit code 1. */
export async function withControl(dir: string, fn: (db: ControlDb) => void | Promise<void>): Promise<void> {
  let db: ControlDb | undefined;
  try {
    db = openControlDb({ dataDir: dir });
    await fn(db);
  } catch (err) {
    if (!isContrailError(err)) throw err;
    console.error(`error: ${err.message}`);
    process.exitCode = 1;
  } finally {
    db?.close();
  }
}

/** A time in milliseconds as ISO 8601 to the second, or "-" for none. */
export function when(ms: number | null): string {
  return ms === null ? "-" : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Prints rows as left-aligned columns separated by two spaces; the first row is the header. */
export function printTable(rows: readonly (readonly string[])[]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) {
    console.log(r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("  "));
  }
}
