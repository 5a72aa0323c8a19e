// The compiled CLI that `contrail` runs: bin/contrail.js loads dist/, which `npm run build` writes from src/ (and
// `npm run test:unit` rebuilds before the tests, so the end-to-end tests run exactly what users run).

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, test } from "node:test";

const ROOT = join(import.meta.dirname, "..", "..");
const SRC = join(ROOT, "src");
const DIST = join(ROOT, "dist");
const BIN = join(ROOT, "bin", "contrail.js");

/** Every file under `dir` whose name ends with `suffix`, as paths relative to `dir`. */
function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(suffix))
    .sort();
}

describe("the compiled CLI in dist/", () => {
  test("every module of src/ but the tests is compiled, with a source map that points at its source", () => {
    // The web console (src/ui/) is bundled for the browser into dist/ui/ instead (scripts/build-ui.js).
    const modules = filesUnder(SRC, ".ts").filter((f) => !f.endsWith(".test.ts") && !f.startsWith("ui/"));
    assert.ok(modules.length > 100, `found ${modules.length} modules`);
    const missing: string[] = [];
    for (const m of modules) {
      const js = join(DIST, m.replace(/\.ts$/, ".js"));
      if (!existsSync(js) || !existsSync(`${js}.map`)) {
        missing.push(m);
        continue;
      }
      const map = JSON.parse(readFileSync(`${js}.map`, "utf8")) as { sources: string[] };
      assert.deepEqual(
        map.sources.map((s) => relative(SRC, resolve(join(js, ".."), s))),
        [m],
        `${m}: source map sources`,
      );
    }
    assert.deepEqual(missing, [], "modules without their .js and .js.map in dist/");
    assert.deepEqual(filesUnder(DIST, ".test.js"), [], "tests compiled into dist/");
  });

  test("nothing on the run-time path imports tsx, and tsx is a development dependency only", () => {
    const importsTsx = /\bfrom\s*["']tsx(\/[^"']*)?["']|\bimport\s*\(\s*["']tsx(\/[^"']*)?["']\s*\)/;
    const offenders = [BIN, ...filesUnder(DIST, ".js").map((f) => join(DIST, f))].filter((f) =>
      importsTsx.test(readFileSync(f, "utf8")),
    );
    assert.deepEqual(offenders, []);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    assert.equal(pkg.dependencies.tsx, undefined);
    assert.ok(pkg.devDependencies.tsx !== undefined);
  });

  test("bin/contrail.js runs the compiled CLI with source maps on", async () => {
    // Reports, as the process exits, whether source maps were on while it ran.
    const probe = `data:text/javascript,process.on("exit",()=>process.stderr.write("source maps "+process.sourceMapsEnabled))`;
    const stderr = await new Promise<string>((done, fail) => {
      execFile(process.execPath, ["--import", probe, BIN, "--help"], { timeout: 30_000 }, (err, _out, text) =>
        err === null ? done(text) : fail(err),
      );
    });
    assert.equal(stderr, "source maps true");
  });
});
