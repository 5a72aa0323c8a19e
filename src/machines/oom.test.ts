import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { findOomSource, OomWatch, readOomKills } from "./oom.ts";

const root = mkdtempSync(join(tmpdir(), "contrail-oom-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Lays out a fake /proc and /sys/fs/cgroup; returns their roots. */
function layout(name: string, files: Record<string, string>): { procRoot: string; cgroupRoot: string } {
  const base = join(root, name);
  for (const [path, text] of Object.entries(files)) {
    const full = join(base, path);
    mkdirSync(join(full, ".."), { recursive: true });
    writeFileSync(full, text);
  }
  return { procRoot: join(base, "proc"), cgroupRoot: join(base, "cg") };
}

test("finds the counter of the process's memory cgroup, falling back in order", () => {
  const cases: [string, Record<string, string>, string | null][] = [
    [
      "v2 at its path",
      {
        "proc/7/cgroup": "0::/apps/web\n",
        "cg/apps/web/memory.events": "low 0\nhigh 0\nmax 0\noom 1\noom_kill 1\n",
        "proc/vmstat": "oom_kill 9\n",
      },
      "cg/apps/web/memory.events",
    ],
    [
      "v2 path hidden by a namespace: the mount root",
      { "proc/7/cgroup": "0::/elsewhere\n", "cg/memory.events": "oom_kill 0\n" },
      "cg/memory.events",
    ],
    [
      "v1 memory controller (hybrid)",
      {
        "proc/7/cgroup": "4:memory:/svc/a\n1:cpu,cpuacct:/svc/a\n0::/\n",
        "cg/memory/svc/a/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
      },
      "cg/memory/svc/a/memory.oom_control",
    ],
    [
      "no cgroup files: host vmstat",
      { "proc/7/cgroup": "0::/\n", "proc/vmstat": "pgfault 5\noom_kill 4\n" },
      "proc/vmstat",
    ],
    ["nothing readable", { "proc/7/cgroup": "0::/\n" }, null],
  ];
  for (const [name, files, want] of cases) {
    const roots = layout(name.replace(/\W+/g, "-"), files);
    const found = findOomSource(7, roots);
    const base = join(root, name.replace(/\W+/g, "-"));
    assert.equal(found?.path ?? null, want === null ? null : join(base, want), name);
  }
});

test("judges an exit an OOM kill only for an unsent SIGKILL with a grown counter", () => {
  const roots = layout("judge", { "proc/7/cgroup": "0::/\n", "cg/memory.events": "oom_kill 1\n" });
  const source = findOomSource(7, roots)!;
  const bump = (n: number) => writeFileSync(source.path, `oom_kill ${n}\n`);
  assert.equal(readOomKills(source), 1);

  const quiet = new OomWatch(source);
  assert.equal(quiet.judge("SIGKILL", false), false, "plain kill -9: the counter did not move");

  const watch = new OomWatch(source);
  bump(2);
  assert.equal(watch.judge("SIGKILL", false), true);
  assert.equal(watch.judge("SIGKILL", true), false, "the runner's own SIGKILL");
  assert.equal(watch.judge("SIGTERM", false), false);
  assert.equal(watch.judge(null, false), false);
  watch.refresh();
  assert.equal(watch.judge("SIGKILL", false), false, "an OOM kill before the last baseline is someone else's");

  assert.equal(new OomWatch(null).judge("SIGKILL", false), false, "no evidence, no OOM");
});

test("the real system gives a readable counter or none, never a failure", () => {
  const source = findOomSource(process.pid);
  if (source !== null) assert.ok((readOomKills(source) ?? -1) >= 0);
});
