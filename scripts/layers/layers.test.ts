// The repository against its layer table: the check `npm test` runs. A failure lists every import that breaks the
// table (importing file, imported file, the rule) and every runtime import cycle as its chain of files.

import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { checkRepository, type Problem } from "./check.ts";
import { LAYER_TABLE } from "./table.ts";

const REPO = join(import.meta.dirname, "..", "..");

function assertNone(problems: readonly Problem[], what: string): void {
  if (problems.length === 0) return;
  assert.fail(`${problems.length} ${what}:\n  ${problems.map((p) => p.message).join("\n  ")}`);
}

describe("the import graph of this repository", () => {
  const problems = checkRepository(REPO, LAYER_TABLE);

  it("follows the layer table", () => {
    assertNone(
      problems.filter((p) => p.rule !== "cycle"),
      "imports against the layer table (scripts/layers/table.ts)",
    );
  });

  it("has no runtime import cycle", () => {
    assertNone(
      problems.filter((p) => p.rule === "cycle"),
      "runtime import cycles (an `import type` does not count)",
    );
  });
});
