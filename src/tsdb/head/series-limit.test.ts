// The head's series limit (an org's max_active_series, applied by the tenant store): an append that would create a
// series past it is refused with `series_limit` naming the limit, samples of existing series are still accepted,
// the limit frees up as series leave the head when it is truncated after compaction, and replay never refuses a
// series the WAL holds.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { throwOnRejection } from "../../storage/commit.ts";
import type { SeriesLimit } from "./appender.ts";
import { Head } from "./head.ts";

const HOUR = 3_600_000;
const LIMIT: SeriesLimit = { max: 2, name: "max_active_series" };
const dirs: string[] = [];
const heads: Head[] = [];
afterEach(() => {
  for (const h of heads.splice(0)) h.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function openHead(dir?: string): { head: Head; dir: string } {
  const d = dir ?? mkdtempSync(join(tmpdir(), "head-limit-"));
  if (dir === undefined) dirs.push(d);
  const head = Head.open({ dir: d });
  heads.push(head);
  return { head, dir: d };
}

const series = (i: number) => Labels.fromStrings("__name__", "m", "i", String(i));

function refusal(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    assert.ok(isContrailError(err, "series_limit"), String(err));
    return err;
  }
  assert.fail("the append was not refused");
}

test("refuses the next new series, naming the limit and its value; existing series keep accepting", () => {
  const { head } = openHead();
  const app = head.appender(LIMIT);
  app.append(series(0), 1000, 1);
  app.append(series(1), 1000, 2);
  const err = refusal(() => app.append(series(2), 1000, 3));
  assert.match(err.message, /series limit reached: 2 active series \(max_active_series\); new series .*i="2"/);
  app.append(series(0), 2000, 4);
  const report = throwOnRejection(app.commit());
  assert.equal(report.appended, 3);
  assert.equal(head.stats().numSeries, 2);
  // A later batch: existing series by labels and by ref still take samples; a new one is still refused.
  const next = head.appender(LIMIT);
  const ref = next.append(series(1), 3000, 5);
  next.appendRef(ref, 4000, 6);
  refusal(() => next.append(series(3), 3000, 7));
  assert.equal(throwOnRejection(next.commit()).appended, 2);
  // Without a limit (the head's own callers: tools, tests) nothing is refused.
  const free = head.appender();
  free.append(series(3), 5000, 8);
  free.commit();
  assert.equal(head.stats().numSeries, 3);
});

test("frees up as series leave the head after compaction", () => {
  const { head } = openHead();
  const first = head.appender(LIMIT);
  first.append(series(0), 0, 1);
  first.append(series(1), 3 * HOUR, 1);
  first.commit();
  refusal(() => head.appender(LIMIT).append(series(2), 3 * HOUR, 1));
  // Compaction cut [0, 2h) into a block: series 0 has nothing left in the head and goes.
  const rep = head.truncate(2 * HOUR);
  assert.equal(rep.seriesRemoved, 1);
  const app = head.appender(LIMIT);
  app.append(series(2), 3 * HOUR + 1000, 1);
  assert.equal(throwOnRejection(app.commit()).appended, 1);
  assert.equal(head.stats().numSeries, 2);
});

test("replay restores every series of the WAL whatever the limit; only new ones are refused", () => {
  const { head, dir } = openHead();
  const app = head.appender();
  for (let i = 0; i < 4; i++) app.append(series(i), 1000, i);
  app.commit();
  head.close();
  heads.splice(heads.indexOf(head), 1);
  const { head: again } = openHead(dir);
  assert.equal(again.stats().numSeries, 4);
  const next = again.appender(LIMIT);
  next.append(series(3), 2000, 1);
  refusal(() => next.append(series(4), 2000, 1));
  assert.equal(throwOnRejection(next.commit()).appended, 1);
});
