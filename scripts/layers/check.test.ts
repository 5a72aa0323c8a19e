import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkImports, type Problem } from "./check.ts";
import { scanImports } from "./scan.ts";
import type { LayerTable, ModuleRule } from "./table.ts";

/** A three-layer table in the shape of the real one: base ← store ← app, plus shared test support. */
const MODULES: readonly ModuleRule[] = [
  { name: "base", layer: 0, holds: "types", folders: ["src/base"], imports: [] },
  {
    name: "store",
    layer: 1,
    holds: "storage",
    folders: ["src/store", "src/store/disk"],
    imports: { upToLayer: 0 },
    testKits: ["src/store/kit.ts"],
  },
  { name: "side", layer: 1, holds: "a neighbour of store", folders: ["src/side"], imports: ["base"] },
  { name: "app", layer: 2, holds: "the top", folders: ["src/app"], imports: { upToLayer: 1 } },
  {
    name: "testkit",
    layer: 0,
    holds: "peers",
    folders: ["src/testkit"],
    imports: [],
    testSide: true,
    sharedTestKit: true,
  },
];

function table(overrides: Partial<Record<string, Partial<ModuleRule>>> = {}, extra: ModuleRule[] = []): LayerTable {
  return {
    roots: ["src"],
    modules: [...MODULES.map((m) => ({ ...m, ...overrides[m.name] })), ...extra],
  };
}

/** A tree where every module has a file, so no table entry is stale; `files` adds or replaces files. */
function check(files: Record<string, string>, t: LayerTable = table()): Problem[] {
  const tree: Record<string, string> = {
    "src/base/labels.ts": "export const a = 1;",
    "src/store/db.ts": 'import { a } from "../base/labels.ts";',
    "src/store/disk/file.ts": 'import "../db.ts";',
    "src/store/kit.ts": 'import "./db.ts";',
    "src/store/db.test.ts": 'import "./kit.ts";',
    "src/side/side.ts": 'import "../base/labels.ts";',
    "src/app/main.ts": 'import "../store/db.ts"; import "../side/side.ts";',
    "src/testkit/peers.ts": 'import "node:net";',
    ...files,
  };
  const sources = Object.entries(tree)
    .filter(([, src]) => src !== "")
    .map(([path, src]) => ({ path, imports: scanImports(src) }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  return checkImports(sources, t, () => false);
}

function messages(problems: readonly Problem[]): string[] {
  return problems.map((p) => `${p.rule}: ${p.message}`);
}

describe("checkImports", () => {
  it("accepts a tree that follows the table", () => {
    assert.deepEqual(messages(check({})), []);
  });

  it("names both files and the rule when an import goes up a layer", () => {
    assert.deepEqual(messages(check({ "src/base/labels.ts": 'import "../store/db.ts";' })), [
      "layer: src/base/labels.ts:1 imports src/store/db.ts: layer rule: base (layer 0) may import nothing; not store (layer 1)",
      "cycle: runtime import cycle: src/base/labels.ts -> src/store/db.ts -> src/base/labels.ts",
    ]);
  });

  it("applies the layer rule to type-only imports, and keeps them out of cycles", () => {
    assert.deepEqual(messages(check({ "src/base/labels.ts": 'import type { Db } from "../store/db.ts";' })), [
      "layer: src/base/labels.ts:1 imports src/store/db.ts: layer rule: base (layer 0) may import nothing; not store (layer 1)",
    ]);
  });

  it("refuses a module beside it in the same layer unless listed", () => {
    assert.deepEqual(messages(check({ "src/side/side.ts": 'export * from "../store/db.ts";' })), [
      "layer: src/side/side.ts:1 imports src/store/db.ts: layer rule: side (layer 1) may import base; not store (layer 1)",
    ]);
  });

  it("lets a recorded departure through, and reports it once it is no longer used", () => {
    const t = table({ side: { departures: { store: "why" } } });
    assert.deepEqual(messages(check({ "src/side/side.ts": 'import "../store/db.ts";' }, t)), []);
    assert.deepEqual(messages(check({}, t)), ["table: side: the departure to store is no longer needed: remove it"]);
  });

  it("asks for a line in the table for a new folder", () => {
    assert.deepEqual(messages(check({ "src/fresh/x.ts": 'import "../base/labels.ts";' })), [
      "table: src/fresh/ is not in the layer table: add it to scripts/layers/table.ts (to a module's folders, or as a module with its layer and what it may import)",
    ]);
  });

  it("reports table entries whose folders are gone, unless planned", () => {
    const gone = { name: "later", layer: 3, holds: "x", folders: ["src/later"], imports: { upToLayer: 2 } };
    assert.deepEqual(messages(check({}, table({}, [gone]))), [
      "table: later lists src/later/, which holds no source file: remove it",
    ]);
    assert.deepEqual(messages(check({}, table({}, [{ ...gone, planned: "soon" }]))), []);
    assert.deepEqual(
      messages(check({ "src/later/x.ts": "" + "export {};" }, table({}, [{ ...gone, planned: "soon" }]))),
      ['table: later has files now: drop its "planned" note'],
    );
  });

  it("reports names and files in the table that are not there", () => {
    const t = table({
      app: { imports: ["base", "store", "side", "gone"], files: ["src/app/old.ts"], testKits: ["src/app/kits"] },
    });
    assert.deepEqual(messages(check({}, t)), [
      "table: app names gone, which is no module of the table",
      "table: app lists src/app/old.ts, which does not exist: remove it",
      "table: app lists src/app/kits, which does not exist: remove it",
    ]);
  });

  it("keeps test kits and tests out of production code", () => {
    assert.deepEqual(
      messages(
        check({
          "src/app/main.ts": 'import "../store/kit.ts"; import "../store/db.test.ts"; import "../store/db.ts";',
        }),
      ),
      [
        "test-support: src/app/main.ts:1 imports src/store/kit.ts: production code may not import test support (a test kit of store)",
        "test-support: src/app/main.ts:1 imports src/store/db.test.ts: a test file is run by the test runner and imported by nothing",
      ],
    );
    assert.deepEqual(messages(check({ "src/store/db.ts": 'import "../testkit/peers.ts";' })), [
      "test-support: src/store/db.ts:1 imports src/testkit/peers.ts: production code may not import test support (a test kit of testkit)",
    ]);
  });

  it("lets tests import their module's kits, the kits of what they may import, and shared kits", () => {
    const files = {
      "src/store/db.test.ts": 'import "./kit.ts"; import "../testkit/peers.ts";',
      "src/app/main.test.ts": 'import "../store/kit.ts"; import "../side/side.ts";',
    };
    assert.deepEqual(messages(check(files)), []);
    assert.deepEqual(messages(check({ "src/side/side.test.ts": 'import "../store/kit.ts";' })), [
      "test-support: src/side/side.test.ts:1 imports src/store/kit.ts: layer rule: a test of side (layer 1) may import base; not store (layer 1)",
    ]);
  });

  it("allows a test departure to tests only", () => {
    const t = table({ side: { testDepartures: { store: "why" } } });
    assert.deepEqual(messages(check({ "src/side/side.test.ts": 'import "../store/db.ts";' }, t)), []);
    assert.deepEqual(messages(check({ "src/side/side.ts": 'import "../store/db.ts";' }, t)), [
      "layer: src/side/side.ts:1 imports src/store/db.ts: layer rule: side (layer 1) may import base; not store (layer 1)",
      "table: side: the test departure to store is no longer needed: remove it",
    ]);
  });

  it("finds test support that is not declared as such", () => {
    const files = { "src/store/helper.ts": 'import "./db.ts";', "src/store/db.test.ts": 'import "./helper.ts";' };
    assert.deepEqual(messages(check(files)), [
      "test-support: src/store/helper.ts is imported only by tests, test kits and benchmarks (src/store/db.test.ts): add it to testKits of store in scripts/layers/table.ts",
    ]);
    // A worker or child-process entry that production code loads by path is not test support.
    const worker = {
      ...files,
      "src/store/db.ts": 'const url = new URL("./helper.ts", import.meta.url); import "../base/labels.ts";',
    };
    assert.deepEqual(messages(check(worker)), []);
    assert.deepEqual(messages(check({ "src/side/suite.ts": 'import { it } from "node:test";' })), [
      "test-support: src/side/suite.ts imports node:test, so it is test support: add it to testKits of side in scripts/layers/table.ts",
    ]);
  });

  it("prints a cycle as the chain of files, through static, re-export and dynamic imports", () => {
    const files = {
      "src/store/a.ts": 'import "./b.ts";',
      "src/store/b.ts": 'export { x } from "./c.ts";',
      "src/store/c.ts": 'const a = () => import("./a.ts"); import "./d.ts";',
      "src/store/d.ts": 'import "./c.ts";',
    };
    assert.deepEqual(messages(check(files)), [
      "cycle: runtime import cycle: src/store/a.ts -> src/store/b.ts -> src/store/c.ts -> src/store/a.ts (also in this cycle: src/store/d.ts)",
    ]);
  });

  it("reports imports of files that do not exist", () => {
    assert.deepEqual(messages(check({ "src/app/main.ts": 'import "./gone.ts";' })), [
      "unresolved: src/app/main.ts:1 imports src/app/gone.ts: no such file",
    ]);
  });
});
