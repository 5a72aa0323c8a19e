// Several metrics nodes on one control database over one shared store (the embedded store of another directory,
// opened once, standing for the remote backend they would all reach): real API servers on loopback and real SQLite
// connections, one per node as one per process. Two API nodes answer the same and share tokens; the rules are
// evaluated by exactly one node, and by the other once it stops; a scrape-only node serves no API and announces its
// shard, and when one of two scrape shards stops the other scrapes its targets.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createApp, listHeartbeats, openControlDb, registerInstance } from "../control/index.ts";
import { Labels } from "../model/labels.ts";
import { newMatcher } from "../model/matcher.ts";
import { EmbeddedTenantStore } from "../storage/tenants.ts";
import { NODE_ROLE_PREFIX, RULES_ROLE } from "./heartbeat.ts";
import type { ServeRole } from "./options.ts";
import { type Serve, startServe } from "./serve.ts";
import { scrapeShardsIn } from "./targets.ts";
import { query, seedOrgs, waitFor } from "./testkit.ts";

const ORG = "acme";
const GROUP = `name: nodes
interval: 1s
rules:
  - record: nodes:one
    expr: vector(1)
`;

const dir = mkdtempSync(join(tmpdir(), "contrail-nodes-"));
const dataDir = join(dir, "data");
let store: EmbeddedTenantStore;
let token: string;
const nodes: Serve[] = [];

function node(
  roles: readonly ServeRole[],
  shard?: { index: number; count: number },
  scrapeIntervalMs = 60_000,
): Promise<Serve> {
  return startServe({
    dataDir,
    api: "127.0.0.1:0",
    scrapeIntervalMs,
    pollIntervalMs: 100,
    roles: new Set(roles),
    shard,
    store,
    rules: { minIntervalMs: 1000 },
    warn: () => {},
  }).then((s) => {
    nodes.push(s);
    return s;
  });
}

function call(s: Serve, bearer: string, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = { authorization: `Bearer ${bearer}`, ...(init.headers as Record<string, string>) };
  return fetch(`${s.apiUrl}${path}`, { ...init, headers });
}

/** An instant query's answer on `s` without the evaluation times (two requests are never at the same instant). */
async function answer(s: Serve, bearer: string, promql: string): Promise<[Record<string, string>, string][]> {
  return (await query(s.apiUrl, ORG, bearer, promql)).map((e) => [e.metric, e.value[1]]);
}

/** The newest sample time of `name` per `instance` label in the shared store, ms. */
function newestByInstance(name: string): Map<string, number> {
  const out = new Map<string, number>();
  const q = store.querier(ORG, 0, Number.MAX_SAFE_INTEGER);
  try {
    for (const s of q.select([newMatcher("=", "__name__", name)], { start: 0, end: Number.MAX_SAFE_INTEGER })) {
      const it = s.iterator();
      let last = 0;
      while (it.next() !== "none") last = it.atT();
      out.set(s.labels.get("instance"), last);
    }
  } finally {
    q.close();
  }
  return out;
}

/** Samples of the recording rule's series, counted by a query on `s`. */
async function recorded(s: Serve): Promise<number> {
  const r = await query(s.apiUrl, ORG, token, "count_over_time(nodes:one[10m])");
  return r.length === 0 ? 0 : Number(r[0]!.value[1]);
}

before(() => {
  token = seedOrgs(dataDir, [ORG])[ORG]!;
  store = new EmbeddedTenantStore({ dataDir: join(dir, "shared-store"), idleCloseMs: 0 });
});

after(async () => {
  for (const s of nodes) await s.stop();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("metrics nodes on one control database", () => {
  test("two API nodes answer the same query, and a token made through one works on the other", async () => {
    const a = await node(["api"]);
    const b = await node(["api"]);
    const t = Date.now();
    const app = store.appender(ORG);
    for (let i = 0; i < 5; i++) app.append(Labels.fromStrings("__name__", "requests", "path", `/p${i}`), t, i);
    app.commit();
    const promql = "sort(requests)";
    const fromA = await answer(a, token, promql);
    assert.equal(fromA.length, 5);
    assert.deepEqual(await answer(b, token, promql), fromA);

    const made = await call(a, token, `/control/v1/orgs/${ORG}/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ note: "grafana" }),
    });
    assert.equal(made.status, 201);
    const created = (await made.json()) as { token: string; info: { id: string } };
    assert.deepEqual(await answer(b, created.token, promql), fromA, "the new token works on the other node");

    const revoked = await call(b, token, `/control/v1/orgs/${ORG}/tokens/${created.info.id}`, { method: "DELETE" });
    assert.equal(revoked.status, 200);
    const refused = await call(a, created.token, `/prometheus/${ORG}/api/v1/query?query=${promql}`);
    assert.equal(refused.status, 401, "revoked through one node, refused by the other at once");
  });

  test("the rules are evaluated by exactly one node, and by another once it stops", async () => {
    const a = await node(["api", "rules"]);
    const b = await node(["api", "rules"]);
    const posted = await call(b, token, `/prometheus/${ORG}/config/v1/rules/ns`, {
      method: "POST",
      headers: { "content-type": "application/yaml" },
      body: GROUP,
    });
    assert.equal(posted.status, 202);
    const evaluating = () => [a, b].filter((s) => s.evaluatesRules());
    assert.equal(evaluating().length, 1, "one holder of the rules lease");
    const [leader] = evaluating();
    const standby = leader === a ? b : a;
    const first = await waitFor(
      () => recorded(standby),
      (n) => n >= 2,
    );
    assert.ok(first >= 2, `the recording rule's samples: ${first}`);
    const holder = () => {
      const db = openControlDb({ dataDir });
      try {
        return listHeartbeats(db, RULES_ROLE)[0]?.info.api;
      } finally {
        db.close();
      }
    };
    assert.equal(holder(), leader!.apiUrl, "the lease row names the evaluating node");
    // Both list the rules with the evaluator's state: the standby passes the listing on.
    // (An evaluation between the two requests changes the listing: the pair is asked again then.)
    for (const path of ["rules", "alerts"]) {
      const get = async (s: Serve) => (await call(s, token, `/prometheus/${ORG}/api/v1/${path}`)).json();
      const same = await waitFor(
        async () => JSON.stringify(await get(leader!)) === JSON.stringify(await get(standby)),
        (same) => same,
        5000,
      );
      assert.ok(same, `/api/v1/${path}: the standby answers as the evaluator`);
    }
    const listed = (await (await call(standby, token, `/prometheus/${ORG}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { health: string }[] }[] };
    };
    assert.equal(listed.data.groups[0]?.rules[0]?.health, "ok", "the standby shows the evaluator's health");
    const refused = await call(standby, "ct_not-a-token", `/prometheus/${ORG}/api/v1/rules`);
    assert.equal(refused.status, 401, "credentials are checked where the request arrives");

    await leader!.stop();
    assert.ok(
      await waitFor(
        async () => standby.evaluatesRules(),
        (v) => v,
        10_000,
      ),
      "the standby evaluates once the evaluator stopped",
    );
    assert.equal(holder(), standby.apiUrl);
    const later = await waitFor(
      () => recorded(standby),
      (n) => n >= first + 2,
    );
    assert.ok(later >= first + 2, `the series goes on: ${first} then ${later} samples`);
  });

  test("a scrape-only node serves no API and announces its shard to the other scrapers", async () => {
    const c = await node(["scrape"], { index: 1, count: 2 });
    const d = await node(["scrape"], { index: 0, count: 2 });
    assert.equal(c.apiUrl, "");
    assert.ok(!c.evaluatesRules());
    const db = openControlDb({ dataDir });
    try {
      const shards = await scrapeShardsIn(db)();
      assert.deepEqual(
        shards.map((s) => `${s.index}/${s.count}`).sort(),
        ["0/2", "1/2"],
        "the API-only nodes do not count as scrapers",
      );
      const rows = listHeartbeats(db, NODE_ROLE_PREFIX).filter((hb) => (hb.info.roles as string[]).includes("scrape"));
      assert.equal(rows.length, 2);
    } finally {
      db.close();
    }
    await c.stop();
    await d.stop();
  });

  test("two scrape shards split an app's instances; when one stops, the other scrapes them all", async () => {
    // One target server per instance: an instance's metrics port is its internal port, so its own address.
    let served = 0;
    const servers = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const server = http.createServer((_req, res) => {
          served++;
          res.setHeader("content-type", "text/plain; version=0.0.4");
          res.end(`# TYPE served_total counter\nserved_total ${served}\n`);
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        return server;
      }),
    );
    const db = openControlDb({ dataDir });
    const instances: string[] = [];
    try {
      createApp(db, {
        name: "web",
        org: ORG,
        flyToml: '[http_service]\ninternal_port = 8080\n[[metrics]]\nport = 8080\npath = "/metrics"\n',
      });
      for (const server of servers) {
        const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
        instances.push(registerInstance(db, { app: "web", kind: "external", region: "fra", address }).id);
      }
    } finally {
      db.close();
    }
    /** The instances without a sample newer than `t`. */
    const lateSince = async (t: number) => {
      const newest = newestByInstance("served_total");
      return instances.filter((id) => (newest.get(id) ?? 0) <= t);
    };
    try {
      const c = await node(["scrape"], { index: 0, count: 2 }, 1000);
      const d = await node(["scrape"], { index: 1, count: 2 }, 1000);
      assert.deepEqual(
        await waitFor(
          () => lateSince(0),
          (late) => late.length === 0,
        ),
        [],
        "both shards scrape",
      );
      await d.stop();
      const stopped = Date.now();
      // c sees d's row go, takes its targets, and scrapes each at its next instant (within an interval).
      assert.deepEqual(
        await waitFor(
          () => lateSince(stopped + 100),
          (late) => late.length === 0,
          10_000,
        ),
        [],
        "the stopped shard's instances are scraped by the other",
      );
      await c.stop();
    } finally {
      for (const server of servers) await new Promise((resolve) => server.close(resolve));
    }
  });
});
