// The in-process query seam: vectors pass through, a scalar becomes one unlabelled sample, strings and matrices
// are errors, and the caller's signal cancels the query.

import assert from "node:assert/strict";
import { test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import { Engine } from "../promql/engine/index.ts";
import { MemoryStore } from "../storage/memory.ts";
import { engineQueryFn } from "./engine-query.ts";

const T = 1_000_000;

function seam() {
  const store = new MemoryStore();
  const app = store.appender();
  app.append(Labels.fromStrings("__name__", "up", "job", "a"), T, 1);
  app.commit();
  return engineQueryFn(new Engine(), () => store);
}

test("vectors and scalars", async () => {
  const query = seam();
  const signal = new AbortController().signal;
  const v = await query("o", "up", T, signal);
  assert.deepEqual(
    v.map((s) => [s.labels.toString(), s.t, s.v]),
    [['{__name__="up", job="a"}', T, 1]],
  );
  const s = await query("o", "1 + 1", T, signal);
  assert.deepEqual(
    s.map((x) => [x.labels.isEmpty(), x.t, x.v]),
    [[true, T, 2]],
  );
});

test("strings and matrices are execution errors; an aborted signal cancels", async () => {
  const query = seam();
  const signal = new AbortController().signal;
  await assert.rejects(query("o", '"text"', T, signal), (e) => isContrailError(e, "execution"));
  await assert.rejects(query("o", "up[5m]", T, signal), (e) => isContrailError(e, "execution"));
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(query("o", "up", T, aborted.signal));
});
