import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";

const bin = new URL("../../bin/contrail.js", import.meta.url).pathname;

function run(args: string[], input?: string) {
  return spawnSync(process.execPath, [bin, "promql", "format", ...args], { input, encoding: "utf8" });
}

describe("contrail promql format", () => {
  test("prints the canonical form", () => {
    const r = run(["sum by(job)(rate(x[300s])) > bool 0"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "sum by (job) (rate(x[5m])) > bool 0\n");
  });

  test("prints the parse error on stderr and exits 1", () => {
    const r = run(["foo{a=b}"]);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, '1:7: parse error: unexpected identifier "b" in label matching, expected string\n');
  });

  test("--pretty prints Prometheus's prettified form", () => {
    const query = `sum by(job)(rate(${"x".repeat(90)}[5m]))`;
    const r = run(["--pretty", query]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `sum by (job) (\n  rate(${"x".repeat(90)}[5m])\n)\n`);
    const short = run(["--pretty", "sum by(job)(rate(x[300s]))"]);
    assert.equal(short.stdout, "sum by (job) (rate(x[5m]))\n");
    const lines = run(["--lines", "--pretty"], `a + ${"b".repeat(100)}\n`);
    assert.deepEqual(JSON.parse(lines.stdout), { ok: true, canonical: `  a\n+\n  ${"b".repeat(100)}` });
  });

  test("--lines formats one expression per line as JSON", () => {
    const r = run(["--lines"], "a @ 10\n1 +\nfoo offset 90s\n");
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      r.stdout
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l)),
      [
        { ok: true, canonical: "a @ 10.000" },
        { ok: false, error: "1:4: parse error: unexpected end of input" },
        { ok: true, canonical: "foo offset 1m30s" },
      ],
    );
  });
});
