import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { goDuration } from "./tsdb.ts";

const temps: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "contrail-cli-tsdb-"));
  temps.push(d);
  return d;
}
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

const TSDB_CLI = new URL("./commands/tsdb.ts", import.meta.url).href;

// The tsdb command group alone in a child process (stdout and stderr are the command's own, and the test does not
// depend on the other command groups loading).
const SCRIPT = `
import { Command, CommanderError } from "commander";
const { registerTsdbCommands } = await import(${JSON.stringify(TSDB_CLI)});
const program = new Command("contrail").exitOverride();
registerTsdbCommands(program);
try {
  await program.parseAsync(process.argv.slice(1), { from: "user" });
} catch (err) {
  process.exitCode = err instanceof CommanderError ? err.exitCode : 99;
  if (!(err instanceof CommanderError)) console.error(err);
}
`;

/** Runs `contrail <argv>` for the tsdb commands in a child process and captures what it writes. */
function run(...argv: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", SCRIPT, ...argv], {
    encoding: "utf8",
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function omFile(text: string): string {
  const p = join(tempDir(), "in.om");
  writeFileSync(p, text);
  return p;
}

describe("contrail tsdb", () => {
  test("import writes blocks into the org's directory and analyze reports on them", () => {
    const data = tempDir();
    const lines: string[] = ["# TYPE req_total counter"];
    for (let i = 0; i < 300; i++) {
      for (const app of ["web", "api", "db"])
        lines.push(`req_total{app="${app}",region="ams"} ${i} ${1_700_000_000 + i * 60}`);
    }
    lines.push("# EOF");
    const imp = run("tsdb", "import", "--data", data, "--org", "acme", omFile(`${lines.join("\n")}\n`));
    assert.equal(imp.code, 0, imp.err);
    assert.match(imp.out, /^BLOCK ULID\s+MIN TIME\s+MAX TIME\s+DURATION\s+NUM SAMPLES\s+NUM CHUNKS\s+NUM SERIES$/m);
    assert.equal(imp.out.trim().split("\n").length, 4, "three 2 h windows");
    assert.match(imp.err, /imported 900 samples from 902 lines into 3 blocks of org acme/);

    const an = run("tsdb", "analyze", "--data", data, "--org", "acme", "--limit", "2");
    assert.equal(an.code, 0, an.err);
    assert.match(an.out, /^Block ID: [0-9A-Z]{26}$/m);
    assert.match(an.out, /^Total Series: 3$/m);
    assert.match(an.out, /^Label names: 3$/m);
    assert.match(an.out, /^Postings \(unique label pairs\): 5$/m);
    assert.match(an.out, /^Postings entries \(total label pairs\): 9$/m);
    assert.match(an.out, /Highest cardinality labels:\n3 app\n1 __name__\n/);
    assert.match(an.out, /Most common label pairs:\n3 __name__=req_total\n3 region=ams\n/);
    assert.match(an.out, /Highest cardinality metric names:\n3 req_total\n/);
    assert.match(an.out, /^total samples: \d+$/m);

    const missing = run("tsdb", "analyze", "--data", data, "--org", "acme", "--block", "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no block 01ARZ3NDEKTSV4RRFFQ69G5FAV/);
  });

  test("bad input and bad org ids fail with a clear message", () => {
    const data = tempDir();
    const bad = run("tsdb", "import", "--data", data, "--org", "acme", omFile("up 1 1\nup{ 1 2\n# EOF\n"));
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^error: line 2: unterminated label set/m);
    const org = run("tsdb", "import", "--data", data, "--org", "../etc", omFile("# EOF\n"));
    assert.equal(org.code, 1);
    assert.match(org.err, /invalid org id "..\/etc"/);
    const none = run("tsdb", "analyze", "--data", data, "--org", "empty");
    assert.equal(none.code, 1);
    assert.match(none.err, /org empty has no database/);
    const nofile = run("tsdb", "import", "--data", data, "--org", "acme", join(data, "nope.om"));
    assert.equal(nofile.code, 1);
    assert.match(nofile.err, /ENOENT/);
  });

  test("durations print as Go prints them", () => {
    const cases: [number, string][] = [
      [0, "0s"],
      [250, "250ms"],
      [1000, "1s"],
      [1500, "1.5s"],
      [90_000, "1m30s"],
      [7_200_000, "2h0m0s"],
      [6_390_001, "1h46m30.001s"],
      [194_400_000, "54h0m0s"],
    ];
    for (const [ms, want] of cases) assert.equal(goDuration(ms), want);
  });
});
