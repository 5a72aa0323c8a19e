// The memory store's batch read gives the samples its iterator gives one by one.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Labels } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import { SampleBuffer } from "../model/sample.ts";
import type { SampleIterator } from "./interface.ts";
import { MemoryStore } from "./memory.ts";

function bySeek(it: SampleIterator, mint: number, maxt: number): number[] {
  const out: number[] = [];
  for (let k = it.seek(mint); k !== "none"; k = it.next()) {
    if (it.atT() > maxt) break;
    out.push(it.atT(), it.atV());
  }
  return out;
}

test("readInto gives seek/next's samples for every range", () => {
  const store = new MemoryStore();
  const app = store.appender();
  const labels = Labels.fromStrings("__name__", "m");
  for (let t = 100; t <= 2000; t += 100) app.append(labels, t, t / 10);
  app.commit();
  const bounds = [0, 50, 100, 150, 1000, 1050, 1999, 2000, 2500];
  for (const [qMint, qMaxt] of [
    [0, 3000],
    [500, 1500],
  ]) {
    const [series] = [
      ...store.querier(qMint, qMaxt).select([newMatcher("=", "__name__", "m")], { start: qMint, end: qMaxt }),
    ];
    for (const mint of bounds) {
      for (const maxt of bounds) {
        const it = series.iterator();
        assert.ok(it.readInto !== undefined);
        const buf = new SampleBuffer(1);
        buf.push(-1, -1); // appended after what the buffer holds
        it.readInto(mint, maxt, buf);
        const got: number[] = [];
        for (let i = 1; i < buf.n; i++) got.push(buf.t[i], buf.v[i]);
        assert.deepEqual(got, bySeek(series.iterator(), mint, maxt), `[${qMint}, ${qMaxt}] read [${mint}, ${maxt}]`);
      }
    }
  }
});
