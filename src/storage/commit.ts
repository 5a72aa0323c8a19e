// Helpers around the Appender's commit report, shared by every writer of samples (scrape, remote write, import).

import { ContrailError } from "../model/errors.ts";
import type { CommitReport } from "./interface.ts";

/** Samples the report says were rejected. */
export function rejectedCount(r: CommitReport): number {
  return r.outOfOrder + r.duplicate + r.outOfBounds;
}

/**
 * One error summarising a commit's rejections, coded like its first rejection, e.g. "2 of 10 samples rejected
 * (2 out of order, 0 duplicate, 0 out of bounds); first: ...". Null when nothing was rejected.
 */
export function rejectionError(r: CommitReport): ContrailError | null {
  const first = r.firstRejection;
  if (first === null) return null;
  const rejected = rejectedCount(r);
  return new ContrailError(
    first.code,
    `${rejected} of ${rejected + r.appended} samples rejected (${r.outOfOrder} out of order, ${r.duplicate} ` +
      `duplicate, ${r.outOfBounds} out of bounds); first: ${first.message}`,
    { cause: first },
  );
}

/** Throws the summary of the report's rejections, if any: for callers that treat any rejection as a failure. */
export function throwOnRejection(r: CommitReport): CommitReport {
  const err = rejectionError(r);
  if (err !== null) throw err;
  return r;
}
