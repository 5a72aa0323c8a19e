import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import {
  parseKeyed,
  parseLoadavg,
  parseOpenFilesLimit,
  parseSpaced,
  parseStat,
  processTree,
  readHostMemory,
  readLoadavg,
  readOpenFilesLimit,
  readTreeUsage,
} from "./procfs.ts";

test("parses /proc/<pid>/stat, including a command name with spaces and parentheses", () => {
  const text =
    "4242 (my (odd) app) S 17 4242 4242 0 -1 4194560 1234 0 0 0 321 45 6 7 20 0 11 0 987654 1183744000 12000 " +
    "18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 17 1 0 0 0 0 0\n";
  assert.deepEqual(parseStat(text), {
    pid: 4242,
    comm: "my (odd) app",
    state: "S",
    ppid: 17,
    pgrp: 4242,
    utime: 321,
    stime: 45,
    cutime: 6,
    cstime: 7,
  });
});

test("parses keyed, spaced, limits and loadavg files", () => {
  const status = "Name:\tnode\nVmRSS:\t   51200 kB\nRssAnon:\t   40000 kB\nThreads:\t11\nVmSwap:\t       0 kB\n";
  const keyed = parseKeyed(status);
  assert.equal(keyed.get("VmRSS"), 51200 * 1024);
  assert.equal(keyed.get("Threads"), 11);
  assert.equal(keyed.get("VmSwap"), 0);
  assert.equal(keyed.has("Name"), false);
  assert.equal(parseKeyed("MemTotal:       16318412 kB\nHugePages_Total:       0\n").get("MemTotal"), 16318412 * 1024);

  const io = parseSpaced("rchar: 6976\nwchar: 0\nread_bytes: 8192\nwrite_bytes: 4096\ncancelled_write_bytes: 0\n");
  assert.equal(io.get("read_bytes"), 8192);
  assert.equal(io.get("write_bytes"), 4096);
  assert.equal(parseSpaced("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n").get("oom_kill"), 3);

  const limits =
    "Limit                     Soft Limit           Hard Limit           Units     \n" +
    "Max processes             96365                96365                processes \n" +
    "Max open files            1024                 524288               files     \n";
  assert.equal(parseOpenFilesLimit(limits), 1024);
  assert.equal(
    parseOpenFilesLimit("Max open files            unlimited            unlimited            files\n"),
    null,
  );
  assert.deepEqual(parseLoadavg("0.52 0.58 0.59 2/1089 20855\n"), [0.52, 0.58, 0.59]);
});

test("reads a live process tree: descendants, usage sums, limits; nothing for a gone process", async () => {
  // A parent that starts a grandchild and reports its pid.
  const script =
    "const { spawn } = require('node:child_process');" +
    "const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });" +
    "console.log(c.pid); setInterval(() => {}, 1000);";
  // Its own process group, so one signal ends both.
  const parent = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"], detached: true });
  try {
    const [chunk] = (await once(parent.stdout!, "data")) as [Buffer];
    const grandchild = Number(chunk.toString().trim());
    const tree = processTree(parent.pid!);
    assert.equal(tree[0], parent.pid);
    assert.ok(tree.includes(grandchild), `tree ${tree} includes ${grandchild}`);

    const u = readTreeUsage(parent.pid!)!;
    assert.equal(u.processes, tree.length);
    assert.ok(u.rss > 10 * 1024 * 1024, `rss ${u.rss}`);
    assert.ok(u.rssAnon > 0 && u.rssAnon <= u.rss);
    assert.ok(u.pss > 0 && u.pss <= u.rss);
    assert.ok(u.openFds >= 6, `fds ${u.openFds}`);
    assert.ok(u.userTicks + u.systemTicks > 0, "starting node costs some CPU");
    assert.ok((readOpenFilesLimit(parent.pid!) ?? 0) > 0);
  } finally {
    const exited = once(parent, "exit");
    process.kill(-parent.pid!, "SIGKILL");
    await exited;
  }
  assert.deepEqual(processTree(parent.pid!), []);
  assert.equal(readTreeUsage(parent.pid!), null);
  assert.equal(readOpenFilesLimit(parent.pid!), null);
});

test("reads host memory and load", () => {
  const mem = readHostMemory();
  assert.ok((mem.get("MemTotal") ?? 0) > 0);
  assert.ok((mem.get("MemAvailable") ?? 0) <= (mem.get("MemTotal") ?? 0));
  const load = readLoadavg();
  assert.ok(load?.every((x) => x >= 0));
});
