import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { RECEIVER_BOUNDS, RECEIVER_DEFAULTS, type ReceiverInput } from "../model/receivers.ts";
import type { ControlDb } from "./connection.ts";
import { openControlDb } from "./db.ts";
import { createOrg, deleteOrg } from "./orgs.ts";
import { deleteReceiver, getReceiverInfo, listReceiverInfos, listReceivers, putReceiver } from "./receivers.ts";
import { localUser } from "./users.ts";

let dir: string;
let db: ControlDb;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "contrail-receivers-"));
  db = openControlDb({ dataDir: dir });
  for (const slug of ["acme", "other", "full", "doomed"]) createOrg(db, { slug, admin: localUser(db)!.id });
});

after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function input(name: string, over: Partial<ReceiverInput> = {}): ReceiverInput {
  return {
    name,
    kind: "webhook",
    url: "https://hooks.example.com/a",
    groupBy: ["alertname"],
    ...RECEIVER_DEFAULTS,
    ...over,
  };
}

const badData = (pattern: RegExp) => (err: unknown) => isContrailError(err, "bad_data") && pattern.test(err.message);

test("put creates then replaces; the secret is kept when left out and removed with null; lists hide it", () => {
  const first = putReceiver(db, "acme", input("ops", { secret: "k1" }));
  assert.equal(first.created, true);
  assert.equal(first.receiver.hasSecret, true);
  assert.equal("secret" in first.receiver, false);
  const second = putReceiver(db, "acme", input("ops", { url: "http://127.0.0.1:9/b", sendResolved: false }));
  assert.equal(second.created, false);
  assert.equal(second.receiver.url, "http://127.0.0.1:9/b");
  assert.equal(listReceivers(db, "acme")[0].secret, "k1", "kept");
  putReceiver(db, "acme", input("ops", { secret: null }));
  assert.equal(listReceivers(db, "acme")[0].secret, null, "removed");
  assert.deepEqual(
    listReceiverInfos(db, "acme").map((r) => [r.name, r.hasSecret, r.groupBy]),
    [["ops", false, ["alertname"]]],
  );
  assert.deepEqual(listReceivers(db, "other"), [], "another org sees none of them");
  deleteReceiver(db, "acme", "ops");
  assert.throws(
    () => getReceiverInfo(db, "acme", "ops"),
    (e: unknown) => isContrailError(e, "not_found"),
  );
  assert.throws(
    () => deleteReceiver(db, "acme", "ops"),
    (e: unknown) => isContrailError(e, "not_found"),
  );
});

test("bad input is refused with an error naming the field and the limit; nothing is written", () => {
  const cases: [Partial<ReceiverInput>, RegExp][] = [
    [{ url: "ftp://example.com/x" }, /only http and https/],
    [{ url: "not a url" }, /not an absolute URL/],
    [{ url: `https://e.com/${"x".repeat(RECEIVER_BOUNDS.maxUrlLength)}` }, /the limit is 2048/],
    [{ kind: "email" as "webhook" }, /kind: expected one of webhook, slack/],
    [{ secret: "" }, /secret: expected 1 to 256/],
    [{ secret: "s".repeat(257) }, /secret: expected 1 to 256/],
    [{ groupBy: ["not-a-label"] }, /group_by: "not-a-label"/],
    [{ groupBy: ["a", "a"] }, /listed twice/],
    [{ groupBy: ["...", "a"] }, /group_by: "\.\.\."/],
    [{ groupBy: Array.from({ length: 21 }, (_, i) => `l${i}`) }, /21 labels, the limit is 20/],
    [{ groupWaitMs: -1 }, /group_wait: -1 ms/],
    [{ groupIntervalMs: 10 }, /group_interval: 10 ms is outside 1000/],
    [{ repeatIntervalMs: 31 * 86_400_000 }, /repeat_interval/],
  ];
  for (const [over, pattern] of cases) {
    assert.throws(() => putReceiver(db, "acme", input("bad", over)), badData(pattern), pattern.source);
  }
  assert.throws(() => putReceiver(db, "acme", input("-bad")), badData(/receiver name/));
  assert.throws(() => putReceiver(db, "acme", input("x".repeat(65))), badData(/receiver name/));
  assert.throws(
    () => putReceiver(db, "nope", input("a")),
    (e: unknown) => isContrailError(e, "not_found"),
  );
  assert.deepEqual(listReceivers(db, "acme"), []);
});

test("an org has at most the allowed number of receivers; replacing one is still allowed", () => {
  for (let i = 0; i < RECEIVER_BOUNDS.maxPerOrg; i++) putReceiver(db, "full", input(`r${i}`));
  assert.throws(
    () => putReceiver(db, "full", input("one-more")),
    (e: unknown) => isContrailError(e, "limit_exceeded") && /the limit is 20/.test((e as Error).message),
  );
  assert.equal(putReceiver(db, "full", input("r0", { url: "https://e.com/new" })).created, false);
});

test("receivers go with their org", () => {
  putReceiver(db, "doomed", input("a"));
  deleteOrg(db, "doomed");
  assert.deepEqual(listReceivers(db, "doomed"), []);
});
