// What the database needs to know of its directory besides blocks and head: the leftovers of interrupted writes and
// deletions, and how many bytes a directory holds (for size retention).

import { type Dirent, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { isBlockDirName, TMP_FOR_CREATION_SUFFIX, TMP_FOR_DELETION_SUFFIX } from "./block.ts";

/**
 * Paths of the leftovers in the database directory `dir`: `<ulid>.tmp-for-creation` / `.tmp-for-deletion` / `.tmp`
 * block directories and temporary WAL checkpoints. They are garbage (an interrupted write or deletion) and nothing
 * reads them, so they can be deleted at any time.
 */
export function leftoverTmpDirs(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    for (const suffix of [TMP_FOR_CREATION_SUFFIX, TMP_FOR_DELETION_SUFFIX, ".tmp"]) {
      if (e.name.endsWith(suffix) && isBlockDirName(e.name.slice(0, -suffix.length))) out.push(join(dir, e.name));
    }
  }
  const wal = join(dir, "wal");
  if (!exists(wal)) return out;
  for (const e of readdirSync(wal, { withFileTypes: true })) {
    if (e.isDirectory() && /^checkpoint\.\d+\.tmp$/.test(e.name)) out.push(join(wal, e.name));
  }
  return out;
}

/** True when `path` exists. */
export function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Total size of the regular files under `dir` (recursively), 0 when it does not exist. */
export function dirSize(dir: string): number {
  let total = 0;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += dirSize(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}
