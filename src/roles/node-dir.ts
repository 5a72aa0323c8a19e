// A metrics node's own directory under the data directory, for what must not be shared between nodes that serve one
// control database: the remote-write queues of remote storage. Its name comes from what the node runs (roles, scrape
// shard, API address), so a restarted node finds its queues again; a lock file holding the node's pid keeps a second
// live node with the same name out, with an error that says which flags to change.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { ContrailError } from "../model/errors.ts";
import type { ShardSpec } from "../scrape/index.ts";
import { alive } from "./heartbeat.ts";
import type { ServeRole } from "./options.ts";

/** Folder under the data directory that holds one directory per metrics node. */
export const NODES_DIR = "nodes";
const LOCK_FILE = "lock";

/** A node directory held by this process until `release()`. */
export interface NodeDir {
  /** The directory, created if it was missing. */
  readonly path: string;
  /** Removes the lock (idempotent); the directory and its contents stay for the node's next start. */
  release(): void;
}

/** The directory name of a node running `roles` (with `shard`, and the API on `api` when it serves one). */
export function nodeDirName(roles: ReadonlySet<ServeRole>, shard: ShardSpec | undefined, api: string): string {
  const parts = [[...roles].sort().join("+")];
  if (roles.has("scrape") && shard !== undefined) parts.push(`shard-${shard.index}of${shard.count}`);
  if (roles.has("api")) parts.push(`api-${api}`);
  return parts.join("_").replace(/[^A-Za-z0-9+._-]/g, "-");
}

/** Takes the node directory `name` under `dataDir`; throws `conflict` when a live process on this host holds it. */
export function lockNodeDir(dataDir: string, name: string): NodeDir {
  const path = join(dataDir, NODES_DIR, name);
  mkdirSync(path, { recursive: true });
  const lock = join(path, LOCK_FILE);
  const holder = readHolder(lock);
  if (holder !== null && holder.pid !== process.pid && holder.host === hostname() && alive(holder.pid)) {
    throw new ContrailError(
      "conflict",
      `another metrics node (pid ${holder.pid}) runs with the same roles, shard and API address on this data ` +
        `directory (${name}); give each node its own --api or --shard`,
    );
  }
  writeFileSync(lock, `${process.pid} ${hostname()}\n`);
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      rmSync(lock, { force: true });
    },
  };
}

// The pid and host in a lock file, or null when there is none (or it cannot be read as one).
function readHolder(lock: string): { pid: number; host: string } | null {
  let text: string;
  try {
    text = readFileSync(lock, "utf8");
  } catch {
    return null;
  }
  const [pid, host] = text.trim().split(" ");
  const n = Number(pid);
  return Number.isInteger(n) && n > 0 && host !== undefined ? { pid: n, host } : null;
}
