import assert from "node:assert/strict";
import { test } from "node:test";
import { ContrailError } from "../../model/errors.ts";
import { newMatcher } from "../../model/matcher.ts";
import type { Querier, Queryable } from "../../storage/interface.ts";
import { load, MemoryTenants } from "../test-support.ts";
import { JobData, PREFETCH_QUERIER } from "./job-data.ts";
import { PageReader } from "./page-reader.ts";
import type { DataRequest, DataResponse, SeriesPage } from "./protocol.ts";

function tenants(): MemoryTenants {
  const store = new MemoryTenants();
  for (const org of ["alpha", "beta"]) {
    const samples = [];
    for (let i = 0; i < 30; i++) {
      for (let t = 0; t < 100; t++) samples.push({ labels: { __name__: "m", org, i: String(i) }, t: t * 10, v: t });
    }
    load(store, org, samples);
  }
  return store;
}

// A Queryable that counts the queriers it opened and those closed.
function counting(q: Queryable): { queryable: Queryable; open: () => number } {
  let open = 0;
  return {
    open: () => open,
    queryable: {
      querier(mint, maxt): Querier {
        const inner = q.querier(mint, maxt);
        open++;
        let closed = false;
        return {
          select: (ms, hints) => inner.select(ms, hints),
          labelNames: (ms, hints) => inner.labelNames(ms, hints),
          labelValues: (n, ms, hints) => inner.labelValues(n, ms, hints),
          close: () => {
            if (!closed) open--;
            closed = true;
            inner.close();
          },
        };
      },
    },
  };
}

let seq = 0;
// Asks `data` a request written as a plain object (seq and job added).
function ask(data: JobData, req: Record<string, unknown>): DataResponse {
  const a = data.answer({ ...req, seq: ++seq, job: 1 } as DataRequest);
  assert.ok(a !== null);
  return a;
}

const ref = { querier: 1, mint: 0, maxt: 10_000 };
const everything = { ...ref, op: "select", matchers: [["=~", "__name__", ".+"]], hints: { start: 0, end: 10_000 } };

// Every series of a selection, following its pages.
function selectAll(data: JobData): string[] {
  const reader = new PageReader();
  let res = ask(data, everything);
  for (;;) {
    assert.ok(res.ok && "page" in res, JSON.stringify(res));
    const page: SeriesPage = res.page;
    reader.add(page);
    if (page.done) break;
    res = ask(data, { op: "page", cursor: page.cursor });
  }
  return [...reader.result()].map((s) => s.labels.toString());
}

test("a job reads only the Queryable it was given: the org never travels with a request", () => {
  const store = tenants();
  const data = new JobData(store.queryable("alpha"), { maxSamples: 1_000_000 });
  const got = selectAll(data);
  assert.equal(got.length, 30);
  assert.ok(got.every((l) => l.includes('org="alpha"')));
  const values = ask(data, { ...ref, op: "labelValues", name: "org", matchers: [] });
  assert.deepEqual(values, { seq, ok: true, strings: ["alpha"] });
  data.close();
});

test("queriers open on first use and all close with the job", () => {
  const c = counting(tenants().queryable("beta"));
  const data = new JobData(c.queryable, {
    maxSamples: 1_000_000,
    bounds: { series: 2, samples: 50, bytes: 1024, ms: 4, readSamples: 16 },
  });
  assert.equal(c.open(), 0);
  ask(data, everything);
  ask(data, { ...ref, querier: 2, op: "labelNames", matchers: [] });
  assert.equal(c.open(), 2);
  assert.equal(data.answer({ seq: 0, job: 1, op: "close", querier: 2 }), null, "close is one-way");
  assert.equal(c.open(), 1);
  data.close();
  assert.equal(c.open(), 0);
});

test("past the sample limit, and after a stop, requests are refused with the reason", () => {
  const data = new JobData(tenants().queryable("alpha"), {
    maxSamples: 500,
    bounds: { series: 2, samples: 100, bytes: 1024, ms: 4, readSamples: 50 },
  });
  let res = ask(data, everything);
  while (res.ok && "page" in res && !res.page.done) res = ask(data, { op: "page", cursor: res.page.cursor });
  assert.deepEqual(res, {
    seq,
    ok: false,
    code: "too_many_samples",
    message: "query processing would load too many samples into memory in query execution",
  });
  assert.ok(data.samplesSent > 500 && data.samplesSent < 1000, `${data.samplesSent} samples sent`);

  const stopped = new JobData(tenants().queryable("alpha"), { maxSamples: 1_000_000 });
  stopped.stop(new ContrailError("query_canceled", "query was canceled in expression evaluation"));
  assert.deepEqual(ask(stopped, everything), {
    seq,
    ok: false,
    code: "query_canceled",
    message: "query was canceled in expression evaluation",
  });
});

test("bad requests are error answers, never exceptions", () => {
  const data = new JobData(tenants().queryable("alpha"), { maxSamples: 1_000_000 });
  const bad = ask(data, { ...everything, matchers: [["=~", "a", "("]] });
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.code, "invalid_regex");
  const unknown = ask(data, { op: "page", cursor: 99 });
  assert.equal(!unknown.ok && unknown.code, "internal");
});

test("the page after one sent is built ahead, in its own turn of the event loop, and is the one answered next", async () => {
  // No time bound: on a loaded machine a page may reach 4 ms right after a window that held no sample, and this test
  // counts the pages that added samples ahead.
  const bounds = { series: 2, samples: 100, bytes: 1024, ms: 60_000, readSamples: 50 };
  const data = new JobData(tenants().queryable("alpha"), { maxSamples: 1_000_000, bounds });
  const reader = new PageReader();
  let res = ask(data, everything);
  let pages = 0;
  let builtAhead = 0;
  for (;;) {
    assert.ok(res.ok && "page" in res, JSON.stringify(res));
    reader.add(res.page);
    pages++;
    if (res.page.done) break;
    const sent = data.samplesSent;
    await new Promise((resolve) => setImmediate(resolve));
    if (data.samplesSent > sent) builtAhead++;
    res = ask(data, { op: "page", cursor: res.page.cursor });
  }
  assert.ok(pages > 2);
  // Every page but the last (which may hold no samples) was built before it was asked for.
  assert.ok(builtAhead >= pages - 2, `${builtAhead} of ${pages} pages built ahead`);
  assert.deepEqual(
    [...reader.result()].map((s) => s.labels.toString()),
    selectAll(new JobData(tenants().queryable("alpha"), { maxSamples: 1_000_000, bounds })),
  );
  data.close();

  // Past the limit while building ahead: the error answers the request for that page.
  const limited = new JobData(tenants().queryable("alpha"), { maxSamples: 150, bounds });
  const first = ask(limited, everything);
  assert.ok(first.ok && "page" in first);
  await new Promise((resolve) => setImmediate(resolve));
  const next = ask(limited, { op: "page", cursor: first.page.cursor });
  assert.equal(!next.ok && next.code, "too_many_samples");
  limited.close();
});

test("selections made ahead of a job: first pages on their own querier, the rest by cursor, closed with the job", () => {
  const c = counting(tenants().queryable("alpha"));
  const bounds = { series: 2, samples: 100, bytes: 1024, ms: 4, readSamples: 50 };
  const data = new JobData(c.queryable, { maxSamples: 1_000_000, bounds });
  const hints = { start: 0, end: 10_000 };
  const ahead = data.selectAhead({
    mint: 0,
    maxt: 10_000,
    selects: [
      { matchers: [newMatcher("=~", "__name__", ".+")], hints },
      { matchers: [newMatcher("=", "i", "3")], hints },
    ],
  });
  assert.equal(ahead.length, 2);
  assert.equal(c.open(), 1);
  assert.deepEqual(ahead[0].querier, { querier: PREFETCH_QUERIER, mint: 0, maxt: 10_000 });
  assert.deepEqual(ahead[1].matchers, [["=", "i", "3"]]);
  // Shared with the worker the page is posted to, never transferred (nothing on this thread is detached).
  assert.ok(
    ahead[0].page.chunkBytes.buffer instanceof SharedArrayBuffer,
    "a page's arrays are views of a shared buffer",
  );
  const reader = new PageReader();
  let page = ahead[0].page;
  for (;;) {
    reader.add(page);
    if (page.done) break;
    const res = ask(data, { op: "page", cursor: page.cursor });
    assert.ok(res.ok && "page" in res, JSON.stringify(res));
    page = res.page;
  }
  assert.deepEqual(
    [...reader.result()].map((s) => s.labels.toString()),
    selectAll(new JobData(tenants().queryable("alpha"), { maxSamples: 1_000_000, bounds })),
  );
  data.close();
  assert.equal(c.open(), 0);

  // A selection that fails is left for the worker to ask for, and meet its error then.
  const refusing: Queryable = {
    querier: () => ({
      select: () => {
        throw new ContrailError("limit_exceeded", "too many series");
      },
      labelNames: () => [],
      labelValues: () => [],
      close: () => {},
    }),
  };
  const failing = new JobData(refusing, { maxSamples: 1_000_000 });
  const matchers = [newMatcher("=~", "__name__", ".+")];
  assert.deepEqual(failing.selectAhead({ mint: 0, maxt: 10, selects: [{ matchers, hints }] }), []);
  const refused = ask(failing, everything);
  assert.equal(!refused.ok && refused.code, "limit_exceeded");
  failing.close();
});
