import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Registry } from "../exposition/registry.ts";
import { writePrometheusText } from "../exposition/writer.ts";
import { Carry, InstanceAgent } from "./agent.ts";
import { Runner } from "./runner.ts";
import type { InstanceEvent } from "./spec.ts";

const dir = mkdtempSync(join(tmpdir(), "contrail-agent-"));
writeFileSync(
  join(dir, "server.js"),
  `
  const http = require("node:http");
  const held = [];
  http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/busy") {
      // Busy for ms of its own CPU time, however little of a core a loaded machine gives it.
      const start = process.cpuUsage();
      const want = Number(url.searchParams.get("ms")) * 1000;
      let x = 0;
      while (process.cpuUsage(start).user < want) for (let i = 0; i < 10000; i++) x += Math.sqrt(x + 1);
      res.end(String(x));
      return;
    }
    if (url.pathname === "/alloc") {
      held.push(Buffer.alloc(Number(url.searchParams.get("mb")) * 1024 * 1024, 1));
      res.end("ok");
      return;
    }
    if (url.pathname === "/exit") {
      res.end("bye");
      setTimeout(() => process.exit(Number(url.searchParams.get("code"))), 5);
      return;
    }
    res.end("ok");
  }).listen(Number(process.env.PORT), "127.0.0.1");`,
);

const runners: Runner[] = [];
after(async () => {
  await Promise.all(runners.map((r) => r.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function until(pred: () => boolean, what: string, ms = 8_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The value of the one sample of `name` for `instance` whose labels include `extra`; undefined when absent. */
function sample(r: Registry, name: string, instance: string, extra: Record<string, string> = {}): number | undefined {
  const found: number[] = [];
  r.forEachSample((labels, value) => {
    if (labels.metricName() !== name || labels.get("instance") !== instance) return;
    if (Object.entries(extra).every(([k, v]) => labels.get(k) === v)) found.push(value);
  });
  assert.ok(found.length <= 1, `one ${name} sample, got ${found.length}`);
  return found[0];
}

function cpu(r: Registry, id: string): number {
  return (
    (sample(r, "fly_instance_cpu", id, { mode: "user" }) ?? 0) +
    (sample(r, "fly_instance_cpu", id, { mode: "system" }) ?? 0)
  );
}

test("a carried counter stays monotonic across dropped children and restarts", () => {
  const c = new Carry();
  const steps: [number, boolean, number][] = [
    [10, false, 10],
    [25, false, 25],
    [15, false, 25], // a child with 10 exited unreaped: its time is kept
    [18, false, 28],
    [3, true, 31], // a new leader: the last total carries over
    [9, true, 40], // a restart that already outgrew the last reading is still a restart
    [12, false, 43],
  ];
  for (const [raw, restarted, want] of steps) assert.equal(c.update(raw, restarted), want, `raw ${raw}`);
  assert.equal(c.total, 43);
});

test("publishes fly_instance_* for local instances from their process trees, the host and the proxy", async () => {
  const runner = new Runner({
    host: "beef",
    restart: { initialDelayMs: 400, maxDelayMs: 400, resetAfterMs: 60_000 },
    stopGraceMs: 1_000,
  });
  runners.push(runner);
  const events: InstanceEvent[] = [];
  runner.on((e) => events.push(e));
  const registry = new Registry();
  const proxied = new Map<string, { sent: number; recv: number }>();
  new InstanceAgent({ registry, source: runner, proxiedBytes: (id) => proxied.get(id) });

  const [info] = await runner.start({
    app: "metered",
    dir,
    env: {},
    groups: [
      {
        name: "app",
        command: `${JSON.stringify(process.execPath)} server.js`,
        internalPort: 8080,
        checks: [{ kind: "http", path: "/", intervalMs: 100, timeoutMs: 500, gracePeriodMs: 50 }],
        regions: ["syd"],
        instancesPerRegion: 1,
      },
    ],
  });
  const id = info.id;
  await until(() => events.some((e) => e.kind === "healthy"), "healthy");
  proxied.set(id, { sent: 1234, recv: 98765 });

  // Labels and the instance's own figures.
  let labels: Record<string, string> | undefined;
  registry.forEachSample((l) => {
    if (l.metricName() === "fly_instance_up" && l.get("instance") === id) labels = l.toRecord();
  });
  assert.deepEqual(labels, { __name__: "fly_instance_up", app: "metered", region: "syd", host: "beef", instance: id });
  assert.equal(sample(registry, "fly_instance_up", id), 1);
  assert.ok((sample(registry, "fly_instance_memory_rss", id) ?? 0) > 10 * 1024 * 1024);
  assert.ok((sample(registry, "fly_instance_memory_pss", id) ?? 0) > 0);
  assert.ok((sample(registry, "fly_instance_memory_rss_anon", id) ?? 0) > 0);
  assert.ok((sample(registry, "fly_instance_filefd_allocated", id) ?? 0) > 0);
  assert.ok((sample(registry, "fly_instance_filefd_maximum", id) ?? 0) > 0);
  assert.equal(sample(registry, "fly_instance_net_recv_bytes", id, { device: "eth0" }), 1234, "what the proxy sent");
  assert.equal(sample(registry, "fly_instance_net_sent_bytes", id, { device: "eth0" }), 98765);
  assert.ok((sample(registry, "fly_instance_disk_sectors_read", id, { device: "vda" }) ?? -1) >= 0);
  assert.equal(sample(registry, "fly_instance_exit_code", id), undefined, "no exit yet");
  // The host's figures.
  assert.ok((sample(registry, "fly_instance_memory_mem_total", id) ?? 0) > 0);
  for (const minutes of ["1", "5", "15"]) {
    assert.ok((sample(registry, "fly_instance_load_average", id, { minutes }) ?? -1) >= 0);
  }
  assert.ok((sample(registry, "fly_instance_filesystem_blocks", id, { mount: "/" }) ?? 0) > 0);
  assert.ok((sample(registry, "fly_instance_filesystem_block_size", id, { mount: "/" }) ?? 0) > 0);

  // CPU work and memory growth show up.
  const cpuBefore = cpu(registry, id);
  const rssBefore = sample(registry, "fly_instance_memory_rss", id)!;
  await fetch(`http://${info.address}/busy?ms=300`).then((r) => r.text());
  await fetch(`http://${info.address}/alloc?mb=64`).then((r) => r.text());
  const cpuAfter = cpu(registry, id);
  assert.ok(cpuAfter - cpuBefore >= 10, `cpu grew by ${cpuAfter - cpuBefore} centiseconds`);
  assert.ok(sample(registry, "fly_instance_memory_rss", id)! - rssBefore > 32 * 1024 * 1024, "64 MB touched");

  // A crash: exit code recorded, up 0 while waiting to restart, the CPU counter carried.
  await fetch(`http://${info.address}/exit?code=7`).then((r) => r.text());
  await until(() => events.some((e) => e.kind === "restarting"), "restart scheduled");
  assert.equal(sample(registry, "fly_instance_exit_code", id), 7);
  assert.equal(sample(registry, "fly_instance_exit_oom", id), 0);
  assert.equal(sample(registry, "fly_instance_up", id), 0);
  assert.equal(sample(registry, "fly_instance_memory_rss", id), undefined, "no process, no memory figure");
  assert.ok(cpu(registry, id) >= cpuAfter);

  // Back up, then killed: 128 + 9, and not an OOM kill.
  // Healthy again after the restart (a loaded machine may also flap health before the crash, so count from it).
  const restartAt = events.findIndex((e) => e.kind === "restarting");
  await until(() => events.slice(restartAt).some((e) => e.kind === "healthy"), "healthy again");
  assert.equal(sample(registry, "fly_instance_up", id), 1);
  assert.ok(cpu(registry, id) >= cpuAfter, "the counter never goes back after a restart");
  process.kill(runner.status(id)!.pid!, "SIGKILL");
  await until(() => events.filter((e) => e.kind === "exited").length === 2, "killed");
  assert.equal(sample(registry, "fly_instance_exit_code", id), 137);
  assert.equal(sample(registry, "fly_instance_exit_oom", id), 0);

  const text = writePrometheusText(registry.collect());
  assert.match(text, /# TYPE fly_instance_cpu counter/);
  assert.match(
    text,
    new RegExp(`fly_instance_cpu\\{app="metered",cpu_id="0",host="beef",instance="${id}",mode="user",region="syd"\\} `),
  );
  await runner.stop();
  assert.equal(sample(registry, "fly_instance_up", id), 0);
});

test("external instances report up and proxied bytes only", async () => {
  const runner = new Runner({ host: "beef" });
  runners.push(runner);
  const registry = new Registry();
  const agent = new InstanceAgent({ source: runner, proxiedBytes: () => ({ sent: 5, recv: 6 }) });
  registry.addCollector(agent.collector);
  const info = runner.addExternal({
    id: "00000000000e01",
    app: "far",
    group: "app",
    region: "gru",
    host: "0a0b",
    address: "127.0.0.1:1",
    checks: [{ kind: "tcp", intervalMs: 100, timeoutMs: 200, gracePeriodMs: 0 }],
  });
  assert.equal(sample(registry, "fly_instance_up", info.id), 1, "starting counts as up");
  await until(() => runner.status(info.id)?.health === "unhealthy", "nothing listens on port 1");
  const names = new Set<string>();
  registry.forEachSample((l) => names.add(l.metricName()));
  assert.deepEqual([...names].sort(), [
    "fly_instance_net_recv_bytes",
    "fly_instance_net_sent_bytes",
    "fly_instance_up",
  ]);
  assert.equal(sample(registry, "fly_instance_up", info.id), 0);
  assert.equal(sample(registry, "fly_instance_net_recv_bytes", info.id), 5);
  await runner.stop();
});
