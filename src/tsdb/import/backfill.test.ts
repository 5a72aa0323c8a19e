import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { newMatcher } from "../../model/matcher.ts";
import { listBlockDirs } from "../block.ts";
import { Db } from "../db.ts";
import { backfillOpenMetrics } from "./backfill.ts";

const temps: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "contrail-backfill-"));
  temps.push(d);
  return d;
}
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

const HOUR = 3600_000;
const T0 = 1_700_000_000; // seconds, not 2 h aligned

/** A small OpenMetrics file: two counters and a gauge every 30 s over 5 h, with metadata and an exemplar. */
function sampleFile(): { path: string; samples: number } {
  const lines = ["# HELP http_requests_total Requests served.", "# TYPE http_requests_total counter"];
  let samples = 0;
  for (const code of ["200", "500"]) {
    for (let i = 0; i < 600; i++) {
      const ex = i === 5 && code === "500" ? ' # {trace_id="t-1"} 1 1700000150' : "";
      lines.push(
        `http_requests_total{code="${code}",path="/a"} ${i * (code === "200" ? 3 : 1)} ${T0 + i * 30}.25${ex}`,
      );
      samples++;
    }
  }
  lines.push("# TYPE room_temperature_celsius gauge", "# UNIT room_temperature_celsius celsius");
  for (let i = 0; i < 600; i++) {
    lines.push(`room_temperature_celsius{room="kitchen"} ${(20 + Math.sin(i / 10)).toFixed(6)} ${T0 + i * 30}`);
    samples++;
  }
  lines.push("# EOF");
  const dir = tempDir();
  const path = join(dir, "input.om");
  writeFileSync(path, `${lines.join("\n")}\n`);
  return { path, samples };
}

function dumpDb(dir: string): string[] {
  const db = Db.open({ dir, autoCompact: false });
  const q = db.querier(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const out: string[] = [];
  const hints = { start: Number.MIN_SAFE_INTEGER, end: Number.MAX_SAFE_INTEGER, sorted: true };
  for (const s of q.select([newMatcher("=~", "__name__", ".+")], hints)) {
    const it = s.iterator();
    while (it.next() !== "none") out.push(`${s.labels.toString()} ${it.atT()} ${it.atV()}`);
  }
  q.close();
  db.close();
  return out;
}

describe("backfill from OpenMetrics", () => {
  test("writes 2 h aligned blocks that a database then serves", async () => {
    const { path, samples } = sampleFile();
    const dest = tempDir();
    const progress: number[] = [];
    const r = await backfillOpenMetrics({ file: path, dest, onProgress: (p) => progress.push(p.pass) });
    assert.equal(r.samples, samples);
    assert.equal(r.minTime, T0 * 1000);
    assert.equal(r.maxTime, (T0 + 599 * 30) * 1000 + 250);
    // 5 h starting 13 min 20 s into a 2 h window: three windows.
    assert.equal(r.blocks.length, 3);
    for (const b of r.blocks) {
      const w = Math.floor(b.minTime / (2 * HOUR));
      assert.equal(Math.floor((b.maxTime - 1) / (2 * HOUR)), w, "a block stays inside one 2 h window");
      assert.equal(b.compaction.level, 1);
    }
    assert.equal(
      r.blocks.reduce((s, b) => s + (b.stats.numSamples ?? 0), 0),
      samples,
    );
    assert.ok(progress.includes(1) && progress.includes(2));
    const got = dumpDb(dest);
    assert.equal(got.length, samples);
    assert.ok(got.includes(`{__name__="http_requests_total", code="500", path="/a"} ${(T0 + 5 * 30) * 1000 + 250} 5`));
    assert.ok(got.includes(`{__name__="room_temperature_celsius", room="kitchen"} ${T0 * 1000} 20`));
  });

  test("a small memory budget takes more passes and gives the same blocks' data", async () => {
    const { path } = sampleFile();
    const one = tempDir();
    const many = tempDir();
    const passes: number[] = [];
    await backfillOpenMetrics({ file: path, dest: one });
    const r = await backfillOpenMetrics({
      file: path,
      dest: many,
      maxSamplesPerPass: 500,
      onProgress: (p) => passes.push(p.passes),
    });
    assert.equal(Math.max(...passes), 4, "one checking pass and one per window");
    assert.equal(r.blocks.length, 3);
    assert.deepEqual(dumpDb(many), dumpDb(one));
  });

  test("bad input fails naming the line, before any block is written", async () => {
    const dest = tempDir();
    const cases: [string, RegExp, string?][] = [
      ["a 1 10\na 2 5\n# EOF\n", /line 2: out of order sample 5000/, "out_of_order_sample"],
      ["a 1 10\na{ 2 5\n# EOF\n", /line 2: unterminated label set/, "parse_error"],
      ["a 1 10\na 2\n# EOF\n", /line 2: expected a timestamp/, "parse_error"],
      ["a 1 10\n", /line 2: data does not end with # EOF/, "parse_error"],
    ];
    for (const [text, re, code] of cases) {
      const path = join(tempDir(), "bad.om");
      writeFileSync(path, text);
      await assert.rejects(backfillOpenMetrics({ file: path, dest }), (e) => {
        assert.ok(isContrailError(e), String(e));
        assert.match(e.message, re);
        if (code !== undefined) assert.equal(e.code, code);
        return true;
      });
      assert.deepEqual(readdirSync(dest), []);
    }
  });

  test("a duplicate timestamp with another value is rejected; the same sample again is ignored", async () => {
    const dest = tempDir();
    const path = join(tempDir(), "dup.om");
    writeFileSync(path, "a 1 10\na 1 10\na 2 10\n# EOF\n");
    await assert.rejects(backfillOpenMetrics({ file: path, dest }), /line 3: duplicate sample for timestamp 10000/);
    writeFileSync(path, "a 1 10\na 1 10\n# EOF\n");
    const r = await backfillOpenMetrics({ file: path, dest });
    assert.equal(r.blocks[0].stats.numSamples, 1);
  });

  test("an empty file (only # EOF) writes nothing", async () => {
    const dest = tempDir();
    const path = join(tempDir(), "empty.om");
    writeFileSync(path, "# EOF\n");
    const r = await backfillOpenMetrics({ file: path, dest });
    assert.deepEqual(r.blocks, []);
    assert.equal(r.minTime, null);
  });

  test("gives the samples and block ranges promtool's backfill gives", {
    skip: spawnSync("promtool", ["--version"], { stdio: "ignore" }).status === 0 ? false : "promtool is not installed",
  }, async () => {
    const { path } = sampleFile();
    const ours = tempDir();
    const theirs = tempDir();
    await backfillOpenMetrics({ file: path, dest: ours });
    const r = spawnSync("promtool", ["tsdb", "create-blocks-from", "openmetrics", path, theirs], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const dump = (dir: string) => {
      mkdirSync(join(dir, "wal"), { recursive: true }); // promtool's reader expects one
      const d = spawnSync("promtool", ["tsdb", "dump", dir], { encoding: "utf8", maxBuffer: 1 << 26 });
      assert.equal(d.status, 0, d.stderr);
      return d.stdout;
    };
    assert.equal(dump(ours), dump(theirs));
    const ranges = (dir: string) =>
      listBlockDirs(dir)
        .map((d) => {
          const l = spawnSync("promtool", ["tsdb", "list", dir], { encoding: "utf8" }).stdout;
          return l
            .split("\n")
            .find((x) => x.startsWith(d.slice(-26)))
            ?.split(/\s+/)
            .slice(1, 3)
            .join("-");
        })
        .sort();
    assert.deepEqual(ranges(ours), ranges(theirs));
  });
});
