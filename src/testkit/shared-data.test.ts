import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isCi, SHARED_DATA_ROOT, sharedData, skipUnlessCi } from "./shared-data.ts";

const root = mkdtempSync(join(tmpdir(), "contrail-shared-data-"));
mkdirSync(join(root, "tables"));
writeFileSync(join(root, "tables", "cases.json"), '{"cases":[1,2,3]}');
after(() => rmSync(root, { recursive: true, force: true }));

describe("skipUnlessCi", () => {
  test("a met requirement runs; a missing one skips with its line outside CI and fails under CI", () => {
    assert.equal(skipUnlessCi(undefined, { CI: "true" }), false);
    assert.equal(skipUnlessCi(undefined, {}), false);
    assert.equal(skipUnlessCi("go is not on PATH", {}), "go is not on PATH; skipped (under CI=true this fails)");
    assert.throws(
      () => skipUnlessCi("go is not on PATH", { CI: "1" }),
      /^Error: go is not on PATH; under CI it is required$/,
    );
  });
});

describe("sharedData", () => {
  test("the shared folder is ../shared beside the repository", () => {
    const repo = join(import.meta.dirname, "..", "..");
    assert.equal(SHARED_DATA_ROOT, `${join(repo, "..", "shared")}/`);
  });

  test("a data set that is there runs, and its files are read from its folder", () => {
    const data = sharedData("tables", { root, env: { CI: "true" } });
    assert.equal(data.skip, false);
    assert.equal(data.dir, join(root, "tables"));
    assert.equal(data.path("cases.json"), join(root, "tables", "cases.json"));
    assert.deepEqual(data.json<{ cases: number[] }>("cases.json").cases, [1, 2, 3]);
  });

  test("a missing data set outside CI is skipped with one line naming it and where it was looked for", () => {
    for (const env of [{}, { CI: "" }, { CI: "false" }, { CI: "0" }]) {
      const data = sharedData("promqltest", { root, env });
      assert.equal(typeof data.skip, "string", JSON.stringify(env));
      const reason = data.skip as string;
      assert.ok(reason.includes("../shared/promqltest/"), reason);
      assert.ok(reason.includes(join(root, "promqltest")), reason);
      assert.ok(!reason.includes("\n"), reason);
    }
  });

  test("a missing data set under CI fails with the same information", () => {
    for (const ci of ["true", "1", "TRUE"]) {
      assert.throws(
        () => sharedData("promqltest", { root, env: { CI: ci } }),
        (err: unknown) =>
          err instanceof Error &&
          err.message.includes("../shared/promqltest/") &&
          err.message.includes(join(root, "promqltest")) &&
          err.message.includes("CI"),
        ci,
      );
    }
  });

  test("isCi follows the CI variable", () => {
    assert.equal(isCi({ CI: "true" }), true);
    assert.equal(isCi({ CI: "yes" }), true);
    assert.equal(isCi({ CI: " False " }), false);
    assert.equal(isCi({}), false);
  });
});
