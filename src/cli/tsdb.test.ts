import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { CUSTOM_BUCKETS_SCHEMA } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import { STALE_NAN } from "../model/sample.ts";
import { skipUnlessCi } from "../testkit/shared-data.ts";
import { hist } from "../tsdb/chunkenc/histogram-testdata.ts";
import { Db } from "../tsdb/db.ts";
import { goDuration } from "./tsdb.ts";
import { ChunkedWriter } from "./tsdb-dump.ts";

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

const HOUR = 3_600_000;
const STEP = 10 * 60_000;
const T0 = 1_699_999_200_000; // 2 h aligned
/** 5 h of samples: compaction cuts [T0, T0 + 2h) into a block, the rest stays in the head (WAL and chunk files). */
const T_END = T0 + 5 * HOUR;
const UP = Labels.fromStrings("__name__", "up", "job", "api");
const INT = Labels.fromStrings("__name__", "rpc_seconds", "kind", "int");
const FLOAT = Labels.fromStrings("__name__", "rpc_seconds", "kind", "float");
const CUSTOM = Labels.fromStrings("__name__", "latency_seconds");

/**
 * An org directory as a server leaves it, open in `Db` (the caller closes it): a float series ending in a staleness
 * marker, integer histograms (a zero bucket, a negative bucket, a count past %g's six digits at sample 20), float
 * histograms and custom-buckets histograms, in a block and in the head.
 */
async function dumpFixture(): Promise<{ dir: string; db: Db }> {
  const dir = tempDir();
  const db = Db.open({ dir, autoCompact: false });
  const app = db.appender();
  for (let k = 0, t = T0; t < T_END; k++, t += STEP) {
    app.append(UP, t, t === T_END - STEP ? STALE_NAN : k === 7 ? 1234567 : k * 1.5);
    app.appendHistogram?.(
      INT,
      t,
      hist({
        schema: 0,
        zeroThreshold: 0.001,
        zeroCount: k,
        sum: 10 + k,
        pos: [{ offset: 0, length: 2 }],
        posCounts: [2, k === 20 ? 1234567 : 2],
        neg: [{ offset: 0, length: 1 }],
        negCounts: [1],
      }),
    );
    app.appendHistogram?.(
      FLOAT,
      t,
      hist({
        integer: false,
        schema: 0,
        zeroThreshold: 0,
        sum: k / 4,
        pos: [{ offset: -1, length: 2 }],
        posCounts: [0.5, k],
      }),
    );
    app.appendHistogram?.(
      CUSTOM,
      t,
      hist({
        schema: CUSTOM_BUCKETS_SCHEMA,
        zeroThreshold: 0,
        sum: k,
        pos: [{ offset: 0, length: 3 }],
        posCounts: [k, 2 * k, 1],
        customValues: [0.1, 0.5, 2.5],
      }),
    );
  }
  assert.equal(app.commit().firstRejection, null);
  assert.equal((await db.compact()).headBlocks.length, 1);
  return { dir, db };
}

/** Every file under `dir` with its size and modification time, to show that nothing was written. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(e.parentPath, e.name);
    const st = statSync(path);
    out.push(`${path} ${e.isDirectory() ? "dir" : st.size} ${st.mtimeMs}`);
  }
  return out.sort();
}

const SKIP_PROMTOOL = skipUnlessCi(
  spawnSync("promtool", ["--version"], { stdio: "ignore" }).status === 0 ? undefined : "promtool is not installed",
);

describe("contrail tsdb dump", () => {
  test("prints every float and histogram sample of the blocks and the head, as promtool's newer dump does", async () => {
    const { dir, db } = await dumpFixture();
    try {
      const before = snapshot(dir);
      const r = run("tsdb", "dump", dir);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, "");
      const lines = r.out.trimEnd().split("\n");
      const samples = (T_END - T0) / STEP;
      assert.equal(lines.length, 4 * samples);
      // Series in label order, each one's samples in time order, from the block and then the head.
      const t = (k: number) => T0 + k * STEP;
      assert.deepEqual(
        [lines[0], lines[samples - 1]],
        [
          // Sample 0 has empty first buckets: only the last is shown. The first custom bucket is [-Inf, 0.1].
          `{__name__="latency_seconds"} {count:1, sum:0, (0.5,2.5]:1} ${t(0)}`,
          `{__name__="latency_seconds"} {count:88, sum:29, [-Inf,0.1]:29, (0.1,0.5]:58, (0.5,2.5]:1} ${t(29)}`,
        ],
      );
      const of = (labels: Labels) => lines.filter((l) => l.startsWith(`${labels.toString()} `));
      // Float histograms print their counts with %g; only non-empty buckets are shown.
      assert.deepEqual(of(FLOAT).slice(0, 2), [
        `{__name__="rpc_seconds", kind="float"} {count:0.5, sum:0, (0.25,0.5]:0.5} ${t(0)}`,
        `{__name__="rpc_seconds", kind="float"} {count:1.5, sum:0.25, (0.25,0.5]:0.5, (0.5,1]:1} ${t(1)}`,
      ]);
      // Integer histograms print whole counts (Go's %d), negative buckets first, then the zero bucket.
      const ints = of(INT);
      assert.equal(
        ints[0],
        `{__name__="rpc_seconds", kind="int"} {count:5, sum:10, [-1,-0.5):1, (0.5,1]:2, (1,2]:2} ${t(0)}`,
      );
      assert.equal(
        ints[20],
        `{__name__="rpc_seconds", kind="int"} {count:1234590, sum:30, [-1,-0.5):1, [-0.001,0.001]:20, (0.5,1]:2, (1,2]:1234567} ${t(20)}`,
      );
      // Floats with %g: exponent form past six digits, and the staleness marker as NaN.
      const up = of(UP);
      assert.deepEqual(
        [up[1], up[7], up[29]],
        [
          `{__name__="up", job="api"} 1.5 ${t(1)}`,
          `{__name__="up", job="api"} 1.234567e+06 ${t(7)}`,
          `{__name__="up", job="api"} NaN ${t(29)}`,
        ],
      );
      // The directory was only read, and the database that owns it goes on.
      assert.deepEqual(snapshot(dir), before);
      const app = db.appender();
      app.append(UP, T_END, 1);
      assert.equal(app.commit().firstRejection, null);
    } finally {
      db.close();
    }
  });

  test("--min-time, --max-time and --match narrow the dump; bad options are refused", async () => {
    const { dir, db } = await dumpFixture();
    db.close();
    const t = (k: number) => String(T0 + k * STEP);
    const r = run(
      "tsdb",
      "dump",
      dir,
      "--min-time",
      t(10),
      "--max-time",
      t(14),
      "--match",
      "up",
      "--match",
      '{kind="int"}',
    );
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split("\n");
    assert.equal(lines.length, 10, "5 samples of 2 series");
    assert.ok(lines.slice(0, 5).every((l) => l.startsWith('{__name__="rpc_seconds", kind="int"} ')));
    assert.ok(lines.slice(5).every((l) => l.startsWith('{__name__="up", job="api"} ')));
    assert.deepEqual([lines[0].split(" ").at(-1), lines[9].split(" ").at(-1)], [t(10), t(14)]);
    // Within the block only: the WAL is not read.
    const early = run("tsdb", "dump", dir, "--max-time", t(3), "--match", "up");
    assert.equal(early.out.trimEnd().split("\n").length, 4);

    const bad = run("tsdb", "dump", dir, "--min-time", "yesterday");
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^error: --min-time "yesterday": not a whole number of milliseconds/m);
    const sel = run("tsdb", "dump", dir, "--match", "rate(up[5m])");
    assert.equal(sel.code, 1);
    assert.match(sel.err, /--match "rate\(up\[5m\]\)": not a series selector/);
    const missing = run("tsdb", "dump", join(dir, "nope"));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no database directory/);
  });

  test("promtool 2.42 reads the same directory and prints the same float samples", {
    skip: SKIP_PROMTOOL,
  }, async () => {
    const { dir, db } = await dumpFixture();
    db.close();
    // promtool may replay the WAL into the directory it reads: it gets a copy.
    const copy = tempDir();
    cpSync(dir, copy, { recursive: true });
    const theirs = spawnSync("promtool", ["tsdb", "dump", copy], { encoding: "utf8" });
    assert.equal(theirs.status, 0, theirs.stderr);
    const ours = run("tsdb", "dump", dir);
    assert.equal(ours.code, 0, ours.err);
    // 2.42 prints float samples only; its series order follows its postings, so both sides are compared sorted.
    const floats = ours.out.split("\n").filter((l) => l !== "" && !l.includes("} {"));
    assert.equal(floats.length, (T_END - T0) / STEP);
    assert.deepEqual(
      theirs.stdout
        .split("\n")
        .filter((l) => l !== "")
        .sort(),
      floats.sort(),
    );
  });

  test("the chunked writer hands over chunks and waits for a slow stream to drain", async () => {
    let pending = 0;
    let most = 0;
    let received = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, done) {
        pending++;
        most = Math.max(most, slow.writableLength);
        setTimeout(() => {
          pending--;
          received += chunk.length;
          done();
        }, 1);
      },
    });
    const w = new ChunkedWriter(slow);
    const line = "x".repeat(99);
    let flushes = 0;
    for (let i = 0; i < 5000; i++) {
      if (w.line(line)) {
        flushes++;
        await w.flush();
      }
    }
    await w.flush();
    await new Promise<void>((resolve) => slow.end(resolve));
    assert.equal(received, 5000 * 100);
    assert.ok(flushes >= 7, `${flushes} full chunks`);
    // Never more than one chunk waits in the stream: the writer waited for each to drain.
    assert.ok(most <= 64 * 1024 + 100, `${most} bytes buffered`);
    assert.equal(pending, 0);
  });
});
