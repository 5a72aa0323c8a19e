// How fast the hostile requests of the hardening issue are refused, and what memory the server takes meanwhile.
// A server (API + remote write over the embedded store, limits from the control database, as `contrail up` wires
// them) runs in a child process of its own; this process builds every hostile body first, then sends each one
// several times over loopback HTTP and times it from the first byte sent to the last byte of the answer, then
// times `1+1` right after. It also reports the server's CPU time per refusal (process.cpuUsage, which the machine's
// other load inflates far less than wall time). Memory is the child's resident set (VmRSS) after each case and its
// peak (VmHWM).
// Cases: a series with 1,000,000 labels, a 16 MB label value, 100,000 series in one request, an 8 MB snappy body
// that expands to 160 MB, a 1.0 body under the 2.0 Content-Type, a label name with bad percent-encoding, a
// 2,000-character label name, a multipart body.
// The query API's half of the issue is bench/hostile.ts.
// Run: npm run bench -- hostile-ingest [--runs 7]

import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { checkAccess } from "../src/api/auth.ts";
import { registerRemoteWrite } from "../src/api/remote-write.ts";
import { createApiServer } from "../src/api/server.ts";
import {
  authenticate,
  createOrg,
  createToken,
  localUser,
  OrgLimitsCache,
  openControlDb,
} from "../src/control/index.ts";
import { Labels } from "../src/model/labels.ts";
import { encodeWriteRequestV1 } from "../src/storage/remote/codec-v1-encode.ts";
import { MetadataStore } from "../src/storage/remote/metadata.ts";
import { ProtoWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "../src/storage/remote/protobuf.ts";
import { EmbeddedTenantStore } from "../src/storage/tenants.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { SnappyEncoder } from "../src/tsdb/encoding/snappy.ts";
import { type Figure, median, printFigures } from "./harness.ts";

const ORG = "acme";
const NOW = Date.now();
const V1 = { "content-type": "application/x-protobuf", "content-encoding": "snappy" };
const V2 = {
  "content-type": "application/x-protobuf;proto=io.prometheus.write.v2.Request",
  "content-encoding": "snappy",
};

// The server: this file with `--server <dir>`; it tells its port and a read-write token once listening.
async function serverMain(dir: string): Promise<void> {
  const control = openControlDb({ dataDir: dir });
  createOrg(control, { slug: ORG, admin: localUser(control)!.id });
  const { token } = createToken(control, { org: ORG, scopes: ["read", "write"] });
  const store = new EmbeddedTenantStore({ dataDir: dir, idleCloseMs: 0 });
  const auth = (t: string) => authenticate(control, t);
  const limits = new OrgLimitsCache(control);
  const limitsFor = (org: string) => limits.limitsOf(org);
  const { app } = createApiServer({ store, authenticate: auth, limitsFor });
  await registerRemoteWrite(app, {
    authorize: (request, org, scope) => checkAccess(auth, { header: request.headers.authorization, org, scope }),
    tenants: store,
    metadata: new MetadataStore(),
    limitsFor,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  process.send?.({ port: typeof address === "object" && address !== null ? address.port : 0, token });
  process.on("message", (m: string) => {
    if (m !== "cpu") return;
    const u = process.cpuUsage();
    process.send?.({ cpuMs: (u.user + u.system) / 1000 });
  });
  process.on("SIGTERM", () => {
    app.close().then(() => {
      store.close();
      control.close();
      process.exit(0);
    });
  });
}

function snappy(raw: Uint8Array): Uint8Array {
  return new SnappyEncoder().encodeCopy(raw);
}

function oneSample(w: ProtoWriter): void {
  const m = w.begin(2);
  w.tag(1, WIRE_FIXED64);
  w.double(1);
  w.tag(2, WIRE_VARINT);
  w.int64(NOW);
  w.end(m);
}

function labelsBody(pairs: Iterable<[string, string]>): Uint8Array {
  const w = new ProtoWriter(1 << 24);
  const ts = w.begin(1);
  for (const [n, v] of pairs) {
    const m = w.begin(1);
    w.tag(1, WIRE_LEN);
    w.string(n);
    w.tag(2, WIRE_LEN);
    w.string(v);
    w.end(m);
  }
  oneSample(w);
  w.end(ts);
  return snappy(w.finish());
}

function* millionLabels(): Generator<[string, string]> {
  yield ["__name__", "wide"];
  for (let i = 0; i < 1_000_000; i++) yield [`l${String(i).padStart(7, "0")}`, "v"];
}

interface Case {
  readonly name: string;
  readonly path: string;
  readonly method: "GET" | "POST";
  readonly headers: Record<string, string>;
  readonly body?: Uint8Array;
}

function cases(): Case[] {
  const write = (name: string, body: Uint8Array, headers = V1): Case => ({
    name,
    path: "/api/v1/write",
    method: "POST",
    headers,
    body,
  });
  const series = Array.from({ length: 100_000 }, (_, i) => ({
    labels: Labels.fromStrings("__name__", "many", "i", String(i)),
    samples: [{ t: NOW, v: i }],
  }));
  const v1Body = snappy(encodeWriteRequestV1({ series: series.slice(0, 1) }));
  return [
    write("1,000,000 labels", labelsBody(millionLabels())),
    write(
      "16 MB label value",
      labelsBody([
        ["__name__", "big"],
        ["blob", "x".repeat(16 * 1024 * 1024)],
      ]),
    ),
    write("100,000 series", snappy(encodeWriteRequestV1({ series }, new ProtoWriter(1 << 22)))),
    write("8 MB snappy -> 160 MB", snappy(new Uint8Array(160 * 1024 * 1024))),
    write("1.0 body, 2.0 type", v1Body, V2),
    { name: "bad URL encoding", path: "/api/v1/label/U__%ff/values", method: "GET", headers: {} },
    { name: "2,000-char label name", path: `/api/v1/label/${"a".repeat(2000)}/values`, method: "GET", headers: {} },
    {
      name: "multipart body",
      path: "/api/v1/query",
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=x" },
      body: new TextEncoder().encode('--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n1+1\r\n--x--\r\n'),
    },
  ];
}

/** VmRSS and VmHWM of `pid`, in MB. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

async function main(): Promise<void> {
  const runsArg = process.argv.indexOf("--runs");
  const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 7;
  const dir = scratchDir("contrail-bench-hostile-");
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", import.meta.filename, "--server", dir], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  try {
    const { port, token } = await new Promise<{ port: number; token: string }>((resolve, reject) => {
      child.once("message", (m: { port: number; token: string }) => resolve(m));
      child.once("exit", () => reject(new Error("the server exited")));
    });
    const base = `http://127.0.0.1:${port}/prometheus/${ORG}`;
    const auth = { authorization: `Bearer ${token}` };
    const cpuMs = () =>
      new Promise<number>((resolve) => {
        child.once("message", (m: { cpuMs: number }) => resolve(m.cpuMs));
        child.send("cpu");
      });
    const onePlusOne = async () => {
      const t0 = performance.now();
      const r = await fetch(`${base}/api/v1/query?query=1%2B1`, { headers: auth });
      const text = await r.text();
      if (!text.includes('"2"')) throw new Error(`1+1: ${text}`);
      return performance.now() - t0;
    };
    const all = cases();
    const start = memory(child.pid!);
    console.log(`server RSS at start: ${start.rss.toFixed(0)} MB`);
    const figures: Figure[] = [];
    const after: Figure[] = [];
    const cpu: Figure[] = [];
    const rows: string[] = [];
    for (const c of all) {
      const times: number[] = [];
      const checks: number[] = [];
      const cpuRuns: number[] = [];
      let status = 0;
      for (let i = 0; i <= runs; i++) {
        const c0 = await cpuMs();
        const t0 = performance.now();
        const r = await fetch(base + c.path, {
          method: c.method,
          headers: { ...c.headers, ...auth },
          body: c.body,
        });
        await r.text();
        const ms = performance.now() - t0;
        const c1 = await cpuMs();
        status = r.status;
        const check = await onePlusOne();
        // The first round warms the code paths up and is not counted.
        if (i === 0) continue;
        times.push(ms);
        checks.push(check);
        cpuRuns.push(c1 - c0);
      }
      const mem = memory(child.pid!);
      figures.push({ name: c.name, unit: "ms", runs: times, higherIsBetter: false });
      after.push({ name: c.name, unit: "ms", runs: checks, higherIsBetter: false });
      cpu.push({ name: c.name, unit: "ms", runs: cpuRuns, higherIsBetter: false });
      const size = c.body === undefined ? "-" : `${(c.body.length / 1e6).toFixed(1)} MB`;
      rows.push(`${c.name.padEnd(24)} ${String(status).padEnd(6)} ${size.padEnd(9)} ${mem.rss.toFixed(0)} MB`);
    }
    printFigures("hostile request, sent to answered (loopback HTTP)", figures);
    printFigures("server CPU time per refusal", cpu);
    printFigures("1+1 right after it", after);
    console.log("\ncase                     status body      server RSS after");
    for (const r of rows) console.log(r);
    const end = memory(child.pid!);
    console.log(`server RSS at the end: ${end.rss.toFixed(0)} MB, peak (VmHWM): ${end.peak.toFixed(0)} MB`);
    const slowest = Math.max(...figures.map((f) => median(f.runs)));
    console.log(`slowest median refusal: ${slowest.toFixed(1)} ms`);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const serverAt = process.argv.indexOf("--server");
if (serverAt > 0) await serverMain(process.argv[serverAt + 1]);
else await main();
