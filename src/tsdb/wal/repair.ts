// Repair of a damaged WAL with Prometheus's semantics: nothing after the damage is trusted (records may depend on
// earlier ones, e.g. samples on their series), so later segments are deleted and the damaged segment keeps only the
// records that end at or before the damage.

import { closeSync, fsyncSync, openSync, rmSync, statSync, truncateSync } from "node:fs";
import { ContrailError } from "../../model/errors.ts";
import { type WalCorruption, WalReader } from "./reader.ts";
import { listSegments, PAGE_SIZE, segmentPath } from "./segment.ts";

/** What a repair did. */
export interface RepairResult {
  /** Intact records kept in the damaged segment. */
  readonly keptRecords: number;
  /** New length of the damaged segment in bytes (its last page zero-padded). */
  readonly segmentBytes: number;
  /** Bytes of the damaged segment dropped (from the end of the last intact record to the old end of file). */
  readonly droppedBytes: number;
  /** Indexes of the later segments that were deleted. */
  readonly deletedSegments: readonly number[];
}

/**
 * Repairs the WAL directory named by `c` (no writer may be open on it; `Wal.repair` handles its own). Deletes every
 * segment after `c.segment`, truncates `c.segment` right after the last record ending at or before `c.offset`, and
 * zero-fills the rest of that page, which readers take as padding. The result reads cleanly.
 */
export function repairSegment(c: WalCorruption): RepairResult {
  if (c.segment < 0 || c.offset < 0) {
    throw new ContrailError("bad_data", `cannot repair: the corruption report has no position (${c.reason})`);
  }
  const deleted: number[] = [];
  for (const index of listSegments(c.dir)) {
    if (index <= c.segment) continue;
    rmSync(segmentPath(c.dir, index));
    deleted.push(index);
  }

  // Find the end of the last intact record before the damage by reading the segment again.
  const reader = WalReader.open(c.dir, { first: c.segment, last: c.segment });
  let kept = 0;
  let goodEnd = 0;
  try {
    while (reader.next()) {
      if (reader.offset > c.offset) break;
      goodEnd = reader.offset;
      kept++;
    }
  } finally {
    reader.close();
  }

  const path = segmentPath(c.dir, c.segment);
  const oldSize = statSync(path).size;
  const padded = Math.ceil(goodEnd / PAGE_SIZE) * PAGE_SIZE;
  // Cut first, then grow: the grown part is zero-filled by the file system.
  truncateSync(path, goodEnd);
  truncateSync(path, padded);
  const fd = openSync(path, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { keptRecords: kept, segmentBytes: padded, droppedBytes: oldSize - goodEnd, deletedSegments: deleted };
}
