import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";
import { ownsPlatform, ownsTarget } from "./shards.ts";
import { inShard, type ShardSpec, targetHash } from "./target.ts";

/** Targets shaped like real ones: an instance id with its port and path, and its URL. */
function targetAt(i: number) {
  return {
    id: `${i.toString(16).padStart(14, "0")}:9091/metrics`,
    url: `http://10.0.${i >> 8}.${i & 255}:9091/metrics`,
  };
}

const TARGETS = 3000;
const HASHES = Array.from({ length: TARGETS }, (_, i) => targetHash(targetAt(i)));

function layout(count: number): ShardSpec[] {
  return Array.from({ length: count }, (_, index) => ({ index, count }));
}

/** How many of `live` scrape each target, given that every one of them sees `live`. */
function owners(live: readonly ShardSpec[]): number[] {
  return HASHES.map((h) => live.filter((s) => ownsTarget(h, s, live)).length);
}

/**
 * The states one rollout from `from` to `to` shards goes through, one process at a time: new shards start first when
 * growing, then each old process that stays stops and comes back with its new shard (in an order given by `random`),
 * and when shrinking the processes no longer needed stop last. Every state in between is returned.
 */
function rollout(from: number, to: number, order: number): ShardSpec[][] {
  let live = layout(from);
  const states: ShardSpec[][] = [live];
  for (let index = from; index < to; index++) {
    live = [...live, { index, count: to }];
    states.push(live);
  }
  // Rotated by `order`, reversed for odd ones; those that stay first.
  const rotated = layout(from).map((_, i, all) => all[(i + order) % from] as ShardSpec);
  if (order % 2 === 1) rotated.reverse();
  const old = [...rotated.filter((s) => s.index < to), ...rotated.filter((s) => s.index >= to)];
  for (const spec of old) {
    live = live.filter((s) => s !== spec && !(s.index === spec.index && s.count === spec.count));
    states.push(live);
    if (spec.index < to) {
      live = [...live, { index: spec.index, count: to }];
      states.push(live);
    }
  }
  return states;
}

describe("scrape shards", () => {
  test("for every count up to 32, the shards partition the targets: each scraped exactly once", () => {
    for (let count = 1; count <= 32; count++) {
      const live = layout(count);
      const per = new Array<number>(count).fill(0);
      for (const h of HASHES) {
        const mine = live.filter((s) => ownsTarget(h, s, live));
        assert.equal(mine.length, 1, `count ${count}, hash ${h}`);
        // The same without knowing the others (no view): the plain hash-mod rule.
        assert.deepEqual(
          live.filter((s) => ownsTarget(h, s, [])),
          mine,
        );
        assert.ok(inShard(h, mine[0]));
        per[mine[0]!.index]++;
      }
      const even = TARGETS / count;
      for (const n of per) assert.ok(n > even * 0.6 && n < even * 1.4, `count ${count}: shard sizes ${per}`);
    }
  });

  test("the hash is pinned: the same shard in every process, on every run and release", () => {
    // Changing these values would move targets between scrapers on an upgrade.
    assert.equal(targetHash({ id: "x", url: "http://a/metrics" }), 915478346060002);
    assert.equal(targetHash(targetAt(0)), 309723846329770);
    assert.equal(targetHash(targetAt(12345)), 1612267742090282);
    // Another process (another V8 heap, a fresh module instance) computes the same hashes.
    const script = [
      'import { targetHash } from "./src/scrape/target.ts";',
      "const targets = JSON.parse(process.argv[1]);",
      "process.stdout.write(JSON.stringify(targets.map((t) => targetHash(t))));",
    ].join("\n");
    const targets = JSON.stringify(Array.from({ length: 200 }, (_, i) => targetAt(i)));
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "--eval", script, targets], {
      cwd: new URL("../..", import.meta.url),
      encoding: "utf8",
    });
    assert.deepEqual(JSON.parse(out), HASHES.slice(0, 200));
  });

  test("while the shard count changes one process at a time, no target is left unscraped", () => {
    for (let from = 1; from <= 8; from++) {
      for (const to of [from + 1, from + 2, from - 1]) {
        if (to < 1) continue;
        for (let order = 0; order < 4; order++) {
          const states = rollout(from, to, order);
          for (const [step, live] of states.entries()) {
            const counts = owners(live);
            const lost = counts.filter((c) => c === 0).length;
            assert.equal(lost, 0, `${from} -> ${to}, order ${order}, step ${step}: ${lost} targets unscraped`);
            assert.ok(
              live.filter((s) => ownsPlatform(s, live)).length >= 1,
              `${from} -> ${to} step ${step}: nobody scrapes the edges and agents`,
            );
          }
          const end = owners(states[states.length - 1]!);
          assert.ok(
            end.every((c) => c === 1),
            `${from} -> ${to}: exactly once each at the end`,
          );
        }
      }
    }
  });

  test("a stopped shard's targets are shared among the live ones, and return to it when it is back", () => {
    const all = layout(3);
    const without1 = all.filter((s) => s.index !== 1);
    const orphans = HASHES.filter((h) => h % 3 === 1);
    const taken = [0, 2].map((i) => orphans.filter((h) => ownsTarget(h, all[i]!, without1)).length);
    assert.equal(taken[0]! + taken[1]!, orphans.length, "each orphan goes to exactly one live shard");
    for (const n of taken) assert.ok(n > orphans.length * 0.3, `the orphans are spread: ${taken}`);
    for (const h of orphans) assert.ok(!ownsTarget(h, all[0]!, all) && !ownsTarget(h, all[2]!, all));
  });

  test("the edges and agents are scraped by shard 0, or by the lowest live shard while 0 restarts", () => {
    assert.ok(ownsPlatform(undefined, []));
    assert.ok(ownsPlatform({ index: 0, count: 3 }, layout(3)));
    assert.ok(!ownsPlatform({ index: 1, count: 3 }, layout(3)));
    const no0 = layout(3).slice(1);
    assert.deepEqual(
      no0.filter((s) => ownsPlatform(s, no0)),
      [{ index: 1, count: 3 }],
    );
  });
});
