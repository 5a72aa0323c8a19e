import assert from "node:assert/strict";
import { request, type ServerResponse } from "node:http";
import { after, before, test } from "node:test";
import { Registry } from "../exposition/registry.ts";
import { type Edge, startEdge } from "./edge.ts";
import type { AppRoute } from "./routes.ts";
import {
  appRoute,
  instanceRoute,
  send,
  startUpstream,
  sumOf,
  type TestResponse,
  type TestUpstream,
  until,
} from "./testkit.ts";

/** An upstream that holds every request until the test releases it. */
async function holdingUpstream(): Promise<{ up: TestUpstream; held: ServerResponse[] }> {
  const held: ServerResponse[] = [];
  const up = await startUpstream((req, res) => {
    req.resume();
    held.push(res);
    res.on("close", () => {
      const i = held.indexOf(res);
      if (i >= 0) held.splice(i, 1);
    });
  });
  return { up, held };
}

const registry = new Registry();
const routes = new Map<string, AppRoute>();
let a: Awaited<ReturnType<typeof holdingUpstream>>;
let b: Awaited<ReturnType<typeof holdingUpstream>>;
let edge: Edge;
let port: number;
const A = "a1".padStart(14, "0");
const B = "b1".padStart(14, "0");

before(async () => {
  a = await holdingUpstream();
  b = await holdingUpstream();
  routes.set(
    "busy",
    appRoute([instanceRoute("a1", "ord", a.up.address), instanceRoute("b1", "ams", b.up.address)], {
      type: "requests",
      softLimit: 1,
      hardLimit: 2,
    }),
  );
  edge = await startEdge({
    listeners: [{ region: "ord", host: "a1b2", address: "127.0.0.1:0" }],
    routes,
    registry,
    queueTimeoutMs: 400,
    queueLimit: 1,
  });
  port = Number(edge.listeners[0].address.split(":")[1]);
});

after(async () => {
  await edge.close();
  await Promise.all([a.up.close(), b.up.close()]);
});

/** Answers every held request. */
function releaseAll(): void {
  for (const list of [a.held, b.held]) for (const res of list.splice(0)) res.end("done");
}

const count = (name: string, instance: string): number => sumOf(registry, name, { instance });

test("soft limit spills to other instances, hard limit queues, then 503", async () => {
  const pending: Promise<TestResponse>[] = [];
  const go = (): Promise<TestResponse> => {
    const p = send(port, "busy.localhost");
    pending.push(p);
    return p;
  };
  // Each step: [where the request should land, soft count on A after it].
  const steps: [typeof a, number][] = [
    [a, 0], // A is local and idle
    [b, 1], // A at soft: B under soft
    [a, 2], // both at soft: least loaded under hard, local wins the tie
    [b, 3], // A at hard: B
  ];
  for (const [where, soft] of steps) {
    const before = where.held.length;
    go();
    await until(() => where.held.length === before + 1);
    assert.equal(count("fly_app_soft_limit_reached_count", A), soft);
  }
  assert.equal(count("fly_app_concurrency", A), 2);
  assert.equal(count("fly_app_concurrency", B), 2);

  // Both at hard: the next request waits in the queue (limit 1) ...
  const queued = go();
  await until(() => count("fly_app_hard_limit_reached_count", A) === 1);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(a.held.length + b.held.length, 4, "the queued request reached no instance");
  // ... and the one after it finds the queue full: 503 at once.
  const overflow = await send(port, "busy.localhost");
  assert.equal(overflow.status, 503);
  assert.equal(count("fly_app_hard_limit_reached_count", A), 2);

  // A slot frees on B: the queued request is admitted there.
  b.held.shift()!.end("done");
  await until(() => b.held.length === 2);
  assert.equal(count("fly_app_concurrency", B), 2);

  // Full again: this one waits the whole queue time, then gets 503.
  const t0 = Date.now();
  const late = await send(port, "busy.localhost");
  assert.equal(late.status, 503);
  assert.ok(Date.now() - t0 >= 350, `waited ${Date.now() - t0} ms`);
  assert.equal(count("fly_app_hard_limit_reached_count", A), 3);

  releaseAll();
  const results = await Promise.all(pending);
  assert.deepEqual(
    results.map((r) => r.status),
    [200, 200, 200, 200, 200],
  );
  assert.equal((await queued).body, "done");
  assert.equal(count("fly_app_concurrency", A), 0);
  assert.equal(count("fly_app_concurrency", B), 0);
  assert.equal(count("fly_app_soft_limit_reached_count", B), 0);
  assert.equal(sumOf(registry, "fly_edge_http_responses_count", { app: "busy", status: "503" }), 2);
  assert.equal(sumOf(registry, "fly_edge_error_count", { app: "busy", kind: "limit" }), 2);
  assert.equal(sumOf(registry, "fly_edge_http_responses_count", { app: "busy", status: "200" }), 5);
});

test("a client that leaves the queue frees its place", async () => {
  // Fill both instances to their hard limit.
  const fill = [0, 1, 2, 3].map(() => send(port, "busy.localhost"));
  await until(() => a.held.length + b.held.length === 4);
  const gone = request({ host: "127.0.0.1", port, headers: { host: "busy.localhost" } });
  gone.on("error", () => {});
  gone.end();
  await until(() => count("fly_app_hard_limit_reached_count", A) === 4);
  gone.destroy();
  await until(() => sumOf(registry, "fly_edge_http_responses_count", { app: "busy", status: "499" }) === 1);
  // The queue is empty again: a new request queues instead of being refused.
  const next = send(port, "busy.localhost");
  await until(() => count("fly_app_hard_limit_reached_count", A) === 5);
  a.held.shift()!.end("done");
  await until(() => a.held.length === 2); // the queued request took the freed place on A
  releaseAll();
  assert.equal((await next).status, 200);
  await Promise.all(fill);
  assert.equal(count("fly_app_concurrency", A), 0);
  assert.equal(count("fly_app_concurrency", B), 0);
});
