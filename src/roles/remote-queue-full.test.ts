// A full remote-storage queue as the metrics node's writers see it: a scrape's commit is refused and the target
// shows the queue-full error as its last error (down, nothing of the scrape kept); a rule round's results are
// refused the same way (the rule shows the error, as for any other failed write). The backend is a loopback port
// nothing listens on, so the queue only grows.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import { resolveScrapeOptions, ScrapeLoop } from "../scrape/index.ts";
import { closedPort, serveText, startServer, type TestServer } from "../scrape/testkit.ts";
import { BackendTenantStore } from "../storage/remote/backend-store.ts";
import { storeAppendFn } from "./serve-rules.ts";

let dir: string;
let store: BackendTenantStore;
let app: TestServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "contrail-queue-full-"));
  store = new BackendTenantStore({
    spec: { kind: "victoriametrics", url: `http://127.0.0.1:${await closedPort()}` },
    dataDir: dir,
    queueMaxBytes: 10_000,
    sender: { minBackoffMs: 1_000 },
    warn: () => {},
  });
  const lines = Array.from({ length: 20 }, (_, i) => `requests_total{path="/p${i}"} ${i}`);
  app = await startServer(serveText(`${lines.join("\n")}\n`));
});

after(async () => {
  await app.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function pending(): number {
  return store.families().find((f) => f.name === "contrail_remote_storage_queue_pending_samples")!.samples[0].value;
}

test("a scrape refused by a full queue reports the target down with the queue-full error, keeping nothing", async () => {
  const loop = new ScrapeLoop({
    target: { id: "t1", org: "acme", url: app.url(), app: "web", region: "ord", host: "ab12", instance: "i1" },
    store,
    options: resolveScrapeOptions({ timeoutMs: 2000 }),
  });
  let t = 1_000_000;
  let outcome = await loop.scrapeOnce(t);
  assert.equal(outcome.error, null, "the first scrapes fit");
  while (outcome.error === null) {
    t += 15_000;
    outcome = await loop.scrapeOnce(t);
  }
  const queued = pending();
  assert.equal(outcome.up, false);
  assert.match(outcome.error.message, /remote-write queue of org "acme" is full/);
  assert.equal(loop.status().lastError, outcome.error.message);
  assert.equal(pending(), queued, "nothing of the refused scrape was queued");
});

test("rule results refused by a full queue: the rule's write fails with the queue-full error", async () => {
  const append = storeAppendFn(store);
  let failure: unknown = null;
  for (let i = 0; i < 1000 && failure === null; i++) {
    const samples = [{ labels: Labels.fromStrings("__name__", "job:up:sum"), tMs: 1000 + i, value: 1 }];
    failure = await append("acme", samples).then(
      () => null,
      (err: unknown) => err,
    );
  }
  assert.ok(isContrailError(failure, "rate_limited"), `refused as rate_limited: ${failure}`);
  assert.match((failure as Error).message, /queue of org "acme" is full/);
});
