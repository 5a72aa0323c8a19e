import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import type { Querier } from "./interface.ts";
import { EmbeddedTenantStore, type EmbeddedTenantStoreOptions, tenantDir, validateOrgId } from "./tenants.ts";

const HOUR = 60 * 60 * 1000;

const temps: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "contrail-tenants-"));
  temps.push(d);
  return d;
}
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function store(opts: Partial<EmbeddedTenantStoreOptions> = {}): EmbeddedTenantStore {
  return new EmbeddedTenantStore({ dataDir: tempDir(), db: { autoCompact: false }, idleCloseMs: 0, ...opts });
}

function write(s: EmbeddedTenantStore, org: string, metric: string, t0: number, t1: number): void {
  const app = s.appender(org);
  for (let t = t0; t < t1; t += 60_000) app.append(Labels.fromStrings("__name__", metric, "org", org), t, t / 1000);
  app.commit();
}

function seriesOf(q: Querier): string[] {
  const out: string[] = [];
  for (const s of q.select([newMatcher("=~", "__name__", ".+")], { start: 0, end: 10 * HOUR })) {
    out.push(s.labels.toString());
  }
  q.close();
  return out.sort();
}

describe("org ids", () => {
  const cases: [string, boolean][] = [
    ["acme", true],
    ["acme-corp-2", true],
    ["0", true],
    ["a".repeat(63), true],
    ["a".repeat(64), false],
    ["", false],
    ["-acme", false],
    ["Acme", false],
    ["acme_corp", false],
    ["..", false],
    ["../other", false],
    ["a/b", false],
    ["a\\b", false],
    ["a.b", false],
    ["acme\n", false],
    ["tenants", true],
  ];
  for (const [org, ok] of cases) {
    test(`${JSON.stringify(org)} is ${ok ? "valid" : "rejected"}`, () => {
      if (ok) assert.equal(validateOrgId(org), org);
      else
        assert.throws(
          () => validateOrgId(org),
          (e) => isContrailError(e, "bad_data"),
        );
    });
  }

  test("the store refuses invalid ids before touching the disk", () => {
    const s = store();
    assert.throws(
      () => s.appender("../escape"),
      (e) => isContrailError(e, "bad_data"),
    );
    assert.throws(
      () => s.querier("..", 0, 1),
      (e) => isContrailError(e, "bad_data"),
    );
    assert.throws(
      () => s.queryable("a/b"),
      (e) => isContrailError(e, "bad_data"),
    );
    assert.equal(tenantDir("/data", "acme"), join("/data", "tenants", "acme"));
    s.close();
  });
});

describe("EmbeddedTenantStore", () => {
  test("each org has its own database directory and never sees another org's series", () => {
    const s = store();
    assert.deepEqual(s.openOrgs(), [], "nothing is opened before use");
    write(s, "org-a", "a_metric", 0, HOUR);
    write(s, "org-b", "b_metric", 0, HOUR);
    write(s, "org-b", "shared", 0, HOUR);
    assert.deepEqual(s.openOrgs(), ["org-a", "org-b"]);
    assert.deepEqual(seriesOf(s.querier("org-a", 0, HOUR)), ['{__name__="a_metric", org="org-a"}']);
    assert.deepEqual(seriesOf(s.queryable("org-b").querier(0, HOUR)), [
      '{__name__="b_metric", org="org-b"}',
      '{__name__="shared", org="org-b"}',
    ]);
    const qa = s.querier("org-a", 0, HOUR);
    assert.deepEqual(qa.labelValues("__name__", []), ["a_metric"]);
    assert.deepEqual(qa.labelValues("org", []), ["org-a"]);
    qa.close();
    assert.deepEqual(seriesOf(s.querier("org-c", 0, HOUR)), [], "a new org starts empty");
    const data = (s as unknown as { opts: { dataDir: string } }).opts.dataDir;
    assert.deepEqual(readdirSync(join(data, "tenants")).sort(), ["org-a", "org-b", "org-c"]);
    for (const org of ["org-a", "org-b"]) assert.ok(existsSync(join(data, "tenants", org, "wal")));
    assert.equal(s.stats("org-b").head.numSeries, 2);
    s.close();
  });

  test("a tenant whose database cannot open fails alone, with an error naming the org", async () => {
    const data = tempDir();
    let now = 1_000_000;
    const s = new EmbeddedTenantStore({
      dataDir: data,
      db: { autoCompact: false },
      idleCloseMs: 0,
      retryOpenAfterMs: 10_000,
      now: () => now,
    });
    write(s, "good", "m", 0, 4 * HOUR);
    await s.withDb("good", (db) => db.compact());
    s.close();
    // Make a damaged copy: the block's index is garbage.
    const goodDir = tenantDir(data, "good");
    const badDir = tenantDir(data, "bad");
    cpSync(goodDir, badDir, { recursive: true });
    const block = readdirSync(badDir).find((n) => n.length === 26) as string;
    writeFileSync(join(badDir, block, "index"), "garbage");

    const s2 = new EmbeddedTenantStore({
      dataDir: data,
      db: { autoCompact: false },
      idleCloseMs: 0,
      retryOpenAfterMs: 10_000,
      now: () => now,
    });
    const isBad = (e: unknown) => isContrailError(e) && e.message.includes("org bad") && e.message.includes(block);
    assert.throws(() => s2.querier("bad", 0, HOUR), isBad);
    assert.throws(() => s2.appender("bad"), isBad, "fails fast until the retry time");
    assert.deepEqual(seriesOf(s2.querier("good", 0, 4 * HOUR)), ['{__name__="m", org="good"}']);
    write(s2, "good", "m", 4 * HOUR, 5 * HOUR);
    assert.deepEqual(s2.openOrgs(), ["good"]);
    // Repaired meanwhile: the next attempt after the pause succeeds.
    rmSync(join(badDir, block), { recursive: true });
    assert.throws(() => s2.querier("bad", 0, HOUR), isBad);
    now += 10_000;
    assert.deepEqual(seriesOf(s2.querier("bad", 0, 5 * HOUR)), ['{__name__="m", org="good"}']);
    s2.close();
  });

  test("idle databases are closed, but not while a querier or appender is open", () => {
    let now = 0;
    const s = store({ idleCloseMs: 60_000, now: () => now });
    write(s, "a", "m", 0, HOUR);
    write(s, "b", "m", 0, HOUR);
    const q = s.querier("a", 0, HOUR);
    const app = s.appender("b");
    now += 120_000;
    assert.deepEqual(s.closeIdle(), []);
    q.close(); // The end of a use counts as use.
    assert.deepEqual(s.closeIdle(), []);
    now += 60_000;
    assert.deepEqual(s.closeIdle(), ["a"], "b still has an open appender");
    app.rollback();
    now += 30_000;
    assert.deepEqual(s.closeIdle(), [], "b was used 30 s ago");
    now += 30_000;
    assert.deepEqual(s.closeIdle(), ["b"]);
    assert.deepEqual(s.openOrgs(), []);
    // Reopened lazily, with its data.
    assert.deepEqual(seriesOf(s.querier("a", 0, HOUR)), ['{__name__="m", org="a"}']);
    s.close();
    assert.throws(
      () => s.querier("a", 0, 1),
      (e) => isContrailError(e, "unavailable"),
    );
  });

  test("a database is not closed for idleness while its compaction runs; withDb waits for a promise", async () => {
    let now = 0;
    const s = store({ idleCloseMs: 60_000, now: () => now });
    write(s, "a", "m", 0, 5 * HOUR);
    let running: Promise<unknown> = Promise.resolve();
    s.withDb("a", (db) => {
      running = db.compact();
    });
    now += 120_000;
    assert.deepEqual(s.closeIdle(), [], "the compaction still runs");
    await running;
    const idle = s.withDb("a", (db) => db.whenIdle());
    now += 120_000;
    assert.deepEqual(s.closeIdle(), [], "in use until withDb's promise settles");
    await idle;
    now += 120_000;
    assert.deepEqual(s.closeIdle(), ["a"]);
    assert.equal(seriesOf(s.querier("a", 0, 5 * HOUR)).length, 1);
    s.close();
  });
});
