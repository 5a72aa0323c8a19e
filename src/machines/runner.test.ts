import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { backoffDelay } from "./local-instance.ts";
import { Runner, type RunnerOptions } from "./runner.ts";
import type { AppSpec, InstanceEvent, InstanceInfo, ProcessGroupSpec } from "./spec.ts";

// Tiny apps, written to a temp dir and run with this node binary (its path quoted, as a command line may need).
const dir = mkdtempSync(join(tmpdir(), "contrail-runner-"));
const NODE = JSON.stringify(process.execPath);
const ENV_KEYS = "k.startsWith('FLY_') || ['PORT', 'GREETING', 'PRIMARY_REGION', 'SECRET'].includes(k)";
const APPS: Record<string, string> = {
  "server.js": `
    const http = require("node:http");
    let healthy = true;
    const server = http.createServer((req, res) => {
      if (req.url === "/health") { res.writeHead(healthy ? 200 : 503); res.end(); return; }
      if (req.url === "/sick") healthy = false;
      res.end("ok");
    });
    server.listen(Number(process.env.PORT), "127.0.0.1", () => {
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => ${ENV_KEYS}));
      console.log("env " + JSON.stringify(env));
    });
    process.on("SIGTERM", () => process.exit(0));`,
  "worker.js": `
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => ${ENV_KEYS}));
    console.log("env " + JSON.stringify(env));
    setInterval(() => {}, 1000);`,
  "crash.js": `console.error("boom"); setTimeout(() => process.exit(3), Number(process.argv[2] ?? 10));`,
  "done.js": `console.log("all done");`,
  "stubborn.js": `process.on("SIGTERM", () => console.log("ignoring SIGTERM")); setInterval(() => {}, 1000); console.log("up");`,
  "interrupted.js": `
    process.on("SIGTERM", () => console.log("ignoring SIGTERM"));
    process.on("SIGINT", () => { console.log("SIGINT: done"); process.exit(0); });
    setInterval(() => {}, 1000); console.log("up");`,
  "parent.js": `
    const { spawn } = require("node:child_process");
    const c = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    console.log("grandchild " + c.pid);
    setInterval(() => {}, 1000);`,
  "spam.js": `for (let i = 0; i < 5000; i++) console.log("line " + i); setInterval(() => {}, 1000);`,
  "private.js": `
    const http = require("node:http");
    http.createServer((req, res) => res.end("app")).listen(Number(process.env.PORT), "127.0.0.1");
    http.createServer((req, res) => res.end(process.env.FLY_REGION)).listen(Number(process.env.PORT_9091), "127.0.0.1");
    console.log("env " + JSON.stringify({ PORT: process.env.PORT, PORT_9091: process.env.PORT_9091 }));
    process.on("SIGTERM", () => process.exit(0));`,
};
for (const [name, text] of Object.entries(APPS)) writeFileSync(join(dir, name), text);

const runners: Runner[] = [];
after(async () => {
  await Promise.all(runners.map((r) => r.stop()));
  rmSync(dir, { recursive: true, force: true });
});

/** A runner with fast restarts whose events are recorded in `events`. */
function newRunner(options: Partial<RunnerOptions> = {}): { runner: Runner; events: InstanceEvent[] } {
  const runner = new Runner({
    host: "ab12",
    restart: { initialDelayMs: 40, maxDelayMs: 160, resetAfterMs: 60_000 },
    stopGraceMs: 2_000,
    ...options,
  });
  runners.push(runner);
  const events: InstanceEvent[] = [];
  runner.on((e) => events.push(e));
  return { runner, events };
}

function group(over: Partial<ProcessGroupSpec> & Pick<ProcessGroupSpec, "command">): ProcessGroupSpec {
  return { name: "app", internalPort: null, checks: [], regions: ["ord"], instancesPerRegion: 1, ...over };
}

function app(name: string, groups: ProcessGroupSpec[], over: Partial<AppSpec> = {}): AppSpec {
  return { app: name, dir, env: {}, groups, ...over };
}

/** Polls `pred` every 10 ms until it holds; fails after `ms`. */
async function until(pred: () => boolean, what: string, ms = 8_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** True while `pid` exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function of<K extends InstanceEvent["kind"]>(events: InstanceEvent[], kind: K, id?: string) {
  return events.filter(
    (e): e is Extract<InstanceEvent, { kind: K }> => e.kind === kind && (!id || e.instance.id === id),
  );
}

function envOf(runner: Runner, id: string): Record<string, string> | undefined {
  const line = runner.logs(id).find((l) => l.text.startsWith("env "));
  return line === undefined ? undefined : JSON.parse(line.text.slice(4));
}

const HTTP_CHECK = { kind: "http", path: "/health", intervalMs: 100, timeoutMs: 500, gracePeriodMs: 50 } as const;

test("backoff doubles from the initial delay up to the cap", () => {
  const o = { initialDelayMs: 500, maxDelayMs: 30_000, resetAfterMs: 60_000 };
  assert.deepEqual(
    [0, 1, 2, 3, 5, 6, 10, 2000].map((n) => backoffDelay(n, o)),
    [500, 1000, 2000, 4000, 16000, 30000, 30000, 30000],
  );
});

test("starts instances across regions with the platform's environment, checks them and stops them all", async () => {
  const { runner, events } = newRunner({ baseEnv: { PATH: process.env.PATH ?? "", SECRET: "not for apps" } });
  const infos = await runner.start(
    app(
      "web",
      [
        group({
          command: `${NODE} server.js`,
          internalPort: 8080,
          checks: [HTTP_CHECK],
          regions: ["ord", "ams"],
          instancesPerRegion: 2,
        }),
        group({ name: "worker", command: `${NODE} "worker.js"`, regions: ["ams"] }),
      ],
      { env: { GREETING: "hi", PORT: "8080", SECRET: "from fly.toml" }, primaryRegion: "ord" },
    ),
  );
  assert.equal(infos.length, 5);
  assert.equal(new Set(infos.map((i) => i.id)).size, 5);
  for (const i of infos) assert.match(i.id, /^[0-9a-f]{14}$/);
  const web = infos.filter((i) => i.group === "app");
  const worker = infos.find((i) => i.group === "worker")!;
  assert.deepEqual(web.map((i) => i.region).sort(), ["ams", "ams", "ord", "ord"]);
  assert.equal(new Set(web.map((i) => i.address)).size, 4);
  for (const i of web) assert.match(i.address!, /^127\.0\.0\.1:[0-9]+$/);
  assert.equal(worker.address, null);
  assert.deepEqual(
    of(events, "started")
      .map((e) => e.instance.id)
      .sort(),
    infos.map((i) => i.id).sort(),
  );

  await until(() => new Set(of(events, "healthy").map((e) => e.instance.id)).size === 5, "all healthy");
  await until(() => infos.every((i) => envOf(runner, i.id) !== undefined), "every instance's env line");
  for (const i of web) {
    assert.deepEqual(envOf(runner, i.id), {
      FLY_APP_NAME: "web",
      FLY_REGION: i.region,
      FLY_ALLOC_ID: i.id,
      FLY_MACHINE_ID: i.id,
      FLY_PUBLIC_IP: "127.0.0.1",
      FLY_PROCESS_GROUP: "app",
      PRIMARY_REGION: "ord",
      GREETING: "hi",
      SECRET: "from fly.toml",
      PORT: i.address!.split(":")[1],
    });
    assert.equal(runner.status(i.id)?.health, "healthy");
  }
  const workerEnv = envOf(runner, worker.id)!;
  assert.equal(workerEnv.PORT, undefined, "a group without a service gets no PORT");
  assert.equal(workerEnv.FLY_PROCESS_GROUP, "worker");

  // A failing check turns the instance unhealthy.
  const sick = web[0];
  const before = of(events, "unhealthy", sick.id).length; // a check may have failed while the app was booting
  await fetch(`http://${sick.address}/sick`).then((r) => r.text());
  await until(() => of(events, "unhealthy", sick.id).length > before, "unhealthy");
  assert.match(of(events, "unhealthy", sick.id).at(-1)!.reason, /http check \/health: http: 503/);
  assert.equal(runner.status(sick.id)?.health, "unhealthy");

  const pids = runner.instances().map((s) => s.pid!);
  assert.equal(pids.length, 5);
  assert.ok(pids.every(alive));
  await runner.stop();
  assert.deepEqual(
    pids.filter((p) => alive(p)),
    [],
    "no process outlives stop()",
  );
  assert.ok(runner.instances().every((s) => s.state === "stopped" && s.pid === null));
  for (const e of of(events, "exited")) {
    // The servers exit 0 on SIGTERM; the worker has no handler, so the signal ends it.
    const want = e.instance.group === "app" ? [0, null] : [null, "SIGTERM"];
    assert.deepEqual([e.exit.code, e.exit.signal, e.exit.oom], [...want, false]);
  }
  assert.equal(of(events, "restarting").length, 0);
});

test("a crashing instance restarts with capped exponential backoff and keeps its exit codes and output", async () => {
  const { runner, events } = newRunner();
  const [info] = await runner.start(app("crashy", [group({ command: `${NODE} crash.js 10` })]));
  await until(() => of(events, "restarting").length >= 4, "four restarts");
  assert.deepEqual(
    of(events, "restarting")
      .slice(0, 4)
      .map((e) => [e.attempt, e.delayMs]),
    [
      [1, 40],
      [2, 80],
      [3, 160],
      [4, 160],
    ],
  );
  for (const e of of(events, "exited")) assert.deepEqual([e.exit.code, e.exit.signal, e.exit.oom], [3, null, false]);
  assert.equal(runner.status(info.id)?.lastExit?.code, 3);
  const texts = runner.logs(info.id).map((l) => l.text);
  const boom = texts.indexOf("boom");
  assert.ok(boom >= 0 && texts.indexOf("exited with code 3 (status 3)") > boom, "output lands before the exit note");
  await runner.stop();
  assert.equal(runner.status(info.id)?.state, "stopped");
  const restarts = of(events, "restarting").length;
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(of(events, "restarting").length, restarts, "no restart after stop()");
});

test("backoff resets after a stable period; a clean exit is not restarted on-failure", async () => {
  const { runner, events } = newRunner({ restart: { initialDelayMs: 40, maxDelayMs: 1_000, resetAfterMs: 100 } });
  const [slow] = await runner.start(app("slow-crash", [group({ command: `${NODE} crash.js 250` })]));
  await until(() => of(events, "restarting", slow.id).length >= 3, "three restarts");
  assert.deepEqual(
    of(events, "restarting", slow.id)
      .slice(0, 3)
      .map((e) => e.delayMs),
    [40, 40, 40],
  );

  const [done] = await runner.start(app("one-shot", [group({ command: `${NODE} done.js` })]));
  await until(() => runner.status(done.id)?.state === "stopped", "clean exit");
  assert.equal(runner.status(done.id)?.lastExit?.code, 0);
  assert.equal(of(events, "restarting", done.id).length, 0);
  assert.ok(runner.logs(done.id).some((l) => l.text === "all done"));
  await runner.stop();
});

test("a SIGKILL is recorded as a signal exit that is not an OOM kill, and the instance comes back", async () => {
  const { runner, events } = newRunner();
  const [info] = await runner.start(
    app("killed", [group({ command: `${NODE} server.js`, internalPort: 8080, checks: [HTTP_CHECK] })]),
  );
  await until(() => of(events, "healthy", info.id).length === 1, "healthy");
  const pid = runner.status(info.id)!.pid!;
  process.kill(pid, "SIGKILL");
  await until(() => of(events, "exited", info.id).length === 1, "exit");
  const exit = of(events, "exited", info.id)[0].exit;
  assert.deepEqual([exit.code, exit.signal, exit.oom], [null, "SIGKILL", false]);
  await until(() => of(events, "healthy", info.id).length === 2, "healthy again");
  const restarted = of(events, "started", info.id);
  assert.equal(restarted.length, 2);
  assert.notEqual(restarted[1].pid, pid);
  assert.equal(restarted[1].instance.address, info.address, "the port is kept across restarts");
  assert.equal(runner.status(info.id)?.lastExit?.signal, "SIGKILL");
  assert.ok(runner.logs(info.id).some((l) => l.text === "exited with signal SIGKILL (status 137)"));
  await runner.stop();
});

test("stop() kills whole process groups and escalates to SIGKILL after the grace period", async () => {
  const { runner, events } = newRunner({ stopGraceMs: 300 });
  const [parent] = await runner.start(app("family", [group({ command: `${NODE} parent.js` })]));
  const [stubborn] = await runner.start(app("stubborn", [group({ command: `${NODE} stubborn.js` })]));
  await until(() => runner.logs(parent.id).some((l) => l.text.startsWith("grandchild ")), "grandchild pid");
  await until(() => runner.logs(stubborn.id).some((l) => l.text === "up"), "stubborn up");
  const grandchild = Number(
    runner
      .logs(parent.id)
      .find((l) => l.text.startsWith("grandchild "))!
      .text.split(" ")[1],
  );
  const pids = [runner.status(parent.id)!.pid!, runner.status(stubborn.id)!.pid!, grandchild];
  assert.ok(pids.every(alive));

  const t0 = Date.now();
  await runner.stop();
  assert.ok(Date.now() - t0 >= 280, "the stubborn one had its grace period");
  await until(() => pids.every((p) => !alive(p)), "every process, grandchild included, gone", 2_000);
  const stubbornExit = of(events, "exited", stubborn.id)[0].exit;
  assert.deepEqual([stubbornExit.signal, stubbornExit.oom], ["SIGKILL", false], "the runner's own SIGKILL is no OOM");
  assert.ok(runner.logs(stubborn.id).some((l) => l.text === "ignoring SIGTERM"));
  assert.deepEqual(of(events, "exited", parent.id)[0].exit.signal, "SIGTERM");
});

test("an app's kill_signal and kill_timeout replace SIGTERM and the runner's grace period", async () => {
  const { runner, events } = newRunner({ stopGraceMs: 10_000 });
  const run = (name: string, over: Partial<AppSpec>) =>
    runner.start(app(name, [group({ command: `${NODE} interrupted.js` })], over));
  const [polite] = await run("polite", { killSignal: "SIGINT" });
  // The same program with the default signal, which it ignores, and a short timeout of its own.
  const [deaf] = await run("deaf", { killTimeoutMs: 200 });
  for (const it of [polite, deaf]) await until(() => runner.logs(it.id).some((l) => l.text === "up"), "up");
  const t0 = Date.now();
  await runner.stop();
  assert.ok(Date.now() - t0 < 5_000, "neither waited for the runner's 10 s grace period");
  assert.ok(runner.logs(polite.id).some((l) => l.text === "SIGINT: done"));
  assert.deepEqual(of(events, "exited", polite.id)[0].exit.code, 0);
  assert.ok(runner.logs(deaf.id).some((l) => l.text === "ignoring SIGTERM"));
  assert.deepEqual(of(events, "exited", deaf.id)[0].exit.signal, "SIGKILL");
});

test("output goes to a bounded ring, never to the runner's own streams", async () => {
  const { runner } = newRunner({ logs: { maxLines: 50 } });
  const [info] = await runner.start(app("chatty", [group({ command: `${NODE} spam.js` })]));
  await until(() => runner.logs(info.id).some((l) => l.text === "line 4999"), "last line");
  const lines = runner.logs(info.id);
  assert.equal(lines.length, 50);
  assert.equal(lines.at(-1)!.text, "line 4999");
  assert.equal(lines[0].text, "line 4950");
  assert.deepEqual(
    runner.logs(info.id, 2).map((l) => l.text),
    ["line 4998", "line 4999"],
  );
  await runner.stop();
});

test("external instances are health checked but never started or stopped", async () => {
  let status = 200;
  const server = http.createServer((_req, res) => {
    res.writeHead(status);
    res.end();
  });
  const tcp = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
  const port = (s: net.Server) => (s.address() as net.AddressInfo).port;
  const { runner, events } = newRunner();
  const base = { app: "remote", group: "app", region: "fra", host: "00ff" };
  const a = runner.addExternal({
    ...base,
    id: "0000000000000a",
    address: `127.0.0.1:${port(server)}`,
    checks: [{ ...HTTP_CHECK, gracePeriodMs: 0 }],
  });
  const tcpCheck = { kind: "tcp", intervalMs: 100, timeoutMs: 500, gracePeriodMs: 0 } as const;
  const b = runner.addExternal({
    ...base,
    id: "0000000000000b",
    address: `127.0.0.1:${port(tcp)}`,
    checks: [tcpCheck],
  });
  // No checks: the implicit TCP check.
  const c = runner.addExternal({ ...base, id: "0000000000000c", address: `127.0.0.1:${port(tcp)}`, checks: [] });
  assert.equal(a.kind, "external");
  await until(() => of(events, "healthy").length === 3, "all healthy");
  runner.removeExternal(c.id);
  assert.equal(runner.status(b.id)?.pid, null);

  status = 500;
  await until(() => of(events, "unhealthy", a.id).length === 1, "http unhealthy");
  assert.match(of(events, "unhealthy", a.id)[0].reason, /http: 500/);
  await new Promise<void>((r) => tcp.close(() => r()));
  await until(() => of(events, "unhealthy", b.id).length === 1, "tcp unhealthy", 5_000);
  assert.match(of(events, "unhealthy", b.id)[0].reason, /tcp check: tcp: ECONNREFUSED/);
  status = 200;
  await until(() => of(events, "healthy", a.id).length === 2, "http healthy again");

  assert.throws(() => runner.addExternal({ ...base, id: a.id, address: "127.0.0.1:1", checks: [] }), /already known/);
  runner.removeExternal(a.id);
  assert.equal(runner.status(a.id), undefined);
  await runner.stop();
  assert.equal(of(events, "exited").length, 0, "nothing was started, so nothing exited");
  await new Promise<void>((r) => server.close(() => r()));
});

test("each instance gets its own loopback port for a private port, in PORT_<port>, kept across a restart", async () => {
  const { runner, events } = newRunner();
  const infos = await runner.start(
    app("private", [
      group({ command: `${NODE} private.js`, internalPort: 8080, privatePorts: [9091], regions: ["ord", "ams"] }),
    ]),
  );
  await until(() => new Set(of(events, "healthy").map((e) => e.instance.id)).size === 2, "both healthy");
  const ports = infos.map((i) => i.ports?.["9091"]);
  assert.ok(ports.every((p) => p !== undefined && p > 0));
  assert.equal(new Set([...ports, ...infos.map((i) => Number(i.address!.split(":")[1]))]).size, 4);
  for (const i of infos) {
    assert.deepEqual(envOf(runner, i.id), { PORT: i.address!.split(":")[1], PORT_9091: String(i.ports!["9091"]) });
    const res = await fetch(`http://127.0.0.1:${i.ports!["9091"]}/`);
    assert.equal(await res.text(), i.region);
  }
  const [first] = infos;
  process.kill(runner.status(first.id)!.pid!, "SIGKILL");
  await until(() => of(events, "healthy", first.id).length === 2, "healthy again");
  assert.deepEqual(of(events, "started", first.id)[1].instance.ports, first.ports, "kept across the restart");
  assert.ok(runner.logs(first.id).some((l) => l.text.includes(`, 9091 as ${first.ports!["9091"]}`)));
  await runner.stop();
});

test("rejects invalid specs before starting anything", async () => {
  const { runner, events } = newRunner();
  const ok = group({ command: `${NODE} server.js`, internalPort: 8080 });
  const cases: [AppSpec, RegExp][] = [
    [app("bad-cmd", [group({ command: "node a.js | tee x" })]), /shell operator/],
    [app("no-dir", [ok], { dir: join(dir, "missing") }), /does not exist/],
    [app("no-port", [group({ command: "x", checks: [HTTP_CHECK] })]), /no internal port/],
    [app("region", [{ ...ok, regions: ["ORD"] }]), /invalid region/],
    [app("count", [{ ...ok, instancesPerRegion: 1.5 }]), /instancesPerRegion/],
    [app("dup", [ok, ok]), /given twice/],
    [app("private", [{ ...ok, privatePorts: [8080] }]), /private port 8080 is not a port other than the internal/],
    [app("private-twice", [{ ...ok, privatePorts: [9091, 9091] }]), /a private port twice/],
  ];
  for (const [spec, want] of cases) {
    await assert.rejects(runner.start(spec), (err) => isContrailError(err, "bad_data") && want.test(err.message));
  }
  assert.equal(runner.instances().length, 0);
  assert.equal(events.length, 0);
  assert.throws(
    () =>
      runner.addExternal({
        id: "xyz",
        app: "a",
        group: "app",
        region: "ord",
        host: "0000",
        address: "h:1",
        checks: [],
      }),
    /14 lower-case hex/,
  );
  assert.throws(() => new Runner({ host: "nothex" }), /4 lower-case hex/);

  const started: InstanceInfo[] = await runner.start(app("twice", [group({ command: `${NODE} worker.js` })]));
  await assert.rejects(runner.start(app("twice", [group({ command: `${NODE} worker.js` })])), /already runs/);
  await runner.stopApp("twice");
  assert.equal(runner.status(started[0].id), undefined);
});

test("a program that cannot be found exits 127 and is retried", async () => {
  const { runner, events } = newRunner();
  const [info] = await runner.start(app("missing", [group({ command: "no-such-program-here --flag" })]));
  await until(() => of(events, "restarting", info.id).length >= 2, "retries");
  assert.equal(of(events, "exited", info.id)[0].exit.code, 127);
  assert.equal(of(events, "started", info.id).length, 0);
  assert.ok(runner.logs(info.id).some((l) => /cannot start "no-such-program-here": ENOENT/.test(l.text)));
  await runner.stop();
  assert.equal(runner.status(info.id)?.state, "stopped");
});
