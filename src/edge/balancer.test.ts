import assert from "node:assert/strict";
import { test } from "node:test";
import { pickInstance } from "./balancer.ts";
import type { ConcurrencyLimits, InstanceRoute } from "./routes.ts";

function inst(id: string, region: string, healthy = true): InstanceRoute {
  return { id, region, host: "a1b2", address: "127.0.0.1:1", healthy };
}

const LIMITS: ConcurrencyLimits = { type: "requests", softLimit: 2, hardLimit: 4 };

interface Case {
  readonly name: string;
  readonly instances: readonly InstanceRoute[];
  readonly loads: Readonly<Record<string, number>>;
  readonly region?: string;
  readonly start?: number;
  readonly exclude?: readonly string[];
  /** "none", "full:<first>", or "<picked>" / "<picked>+soft:<first>". */
  readonly want: string;
}

const ord1 = inst("ord1", "ord");
const ord2 = inst("ord2", "ord");
const ams1 = inst("ams1", "ams");
const ams2 = inst("ams2", "ams");
const sick = inst("sick", "ord", false);

const cases: Case[] = [
  { name: "no instances", instances: [], loads: {}, want: "none" },
  { name: "only unhealthy", instances: [sick], loads: {}, want: "none" },
  { name: "unhealthy skipped", instances: [sick, ams1], loads: {}, want: "ams1" },
  { name: "least loaded in region", instances: [ord1, ord2], loads: { ord1: 1, ord2: 0 }, want: "ord2" },
  {
    name: "same region preferred over idler remote",
    instances: [ams1, ord1],
    loads: { ams1: 0, ord1: 1 },
    want: "ord1",
  },
  {
    name: "no local instance: least loaded anywhere",
    instances: [ams1, ams2],
    loads: { ams1: 1, ams2: 0 },
    want: "ams2",
  },
  {
    name: "local at soft limit: remote under soft",
    instances: [ord1, ams1],
    loads: { ord1: 2, ams1: 1 },
    want: "ams1+soft:ord1",
  },
  {
    name: "every local at soft: least loaded remote under soft",
    instances: [ord1, ord2, ams1, ams2],
    loads: { ord1: 2, ord2: 3, ams1: 1, ams2: 0 },
    want: "ams2+soft:ord1",
  },
  {
    name: "all at soft: least loaded under hard, local wins ties",
    instances: [ams1, ord1],
    loads: { ams1: 2, ord1: 2 },
    want: "ord1+soft:ord1",
  },
  {
    name: "all at soft: less loaded remote beats local",
    instances: [ord1, ams1],
    loads: { ord1: 3, ams1: 2 },
    want: "ams1+soft:ord1",
  },
  {
    name: "local at hard, remote at soft",
    instances: [ord1, ams1],
    loads: { ord1: 4, ams1: 3 },
    want: "ams1+soft:ord1",
  },
  {
    name: "all at hard: full, first choice is local",
    instances: [ams1, ord1],
    loads: { ams1: 4, ord1: 5 },
    want: "full:ord1",
  },
  {
    name: "all at hard, no local: full on least loaded",
    instances: [ams1, ams2],
    loads: { ams1: 5, ams2: 4 },
    want: "full:ams2",
  },
  { name: "excluded instance skipped", instances: [ord1, ams1], loads: {}, exclude: ["ord1"], want: "ams1" },
  { name: "all excluded", instances: [ord1], loads: {}, exclude: ["ord1"], want: "none" },
  { name: "ties rotate with start (0)", instances: [ord1, ord2], loads: {}, start: 0, want: "ord1" },
  { name: "ties rotate with start (1)", instances: [ord1, ord2], loads: {}, start: 1, want: "ord2" },
  { name: "ties rotate with start (negative)", instances: [ord1, ord2], loads: {}, start: -1, want: "ord2" },
  { name: "edge region ams", instances: [ord1, ams1], loads: { ord1: 0, ams1: 1 }, region: "ams", want: "ams1" },
];

for (const c of cases) {
  test(`pickInstance: ${c.name}`, () => {
    const p = pickInstance({
      instances: c.instances,
      region: c.region ?? "ord",
      limits: LIMITS,
      loadOf: (i) => c.loads[i.id] ?? 0,
      start: c.start ?? 0,
      exclude: c.exclude === undefined ? null : new Set(c.exclude),
    });
    let got: string;
    switch (p.kind) {
      case "none":
        got = "none";
        break;
      case "full":
        got = `full:${p.first.id}`;
        break;
      case "instance":
        got = p.softLimited === null ? p.instance.id : `${p.instance.id}+soft:${p.softLimited.id}`;
        break;
    }
    assert.equal(got, c.want);
  });
}

test("pickInstance spreads sequential requests over equal instances", () => {
  const seen = new Map<string, number>();
  for (let i = 0; i < 30; i++) {
    const p = pickInstance({
      instances: [ord1, ord2, inst("ord3", "ord")],
      region: "ord",
      limits: LIMITS,
      loadOf: () => 0,
      start: i,
      exclude: null,
    });
    assert.equal(p.kind, "instance");
    if (p.kind === "instance") seen.set(p.instance.id, (seen.get(p.instance.id) ?? 0) + 1);
  }
  assert.deepEqual([...seen.values()], [10, 10, 10]);
});
