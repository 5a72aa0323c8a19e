// deploy/cluster/ stays valid: every systemd unit parses, every `contrail` command line in them names a command and
// flags the CLI has, with values its own parsers accept; the addresses agree between the files (the nodes' --storage
// URLs are nginx's front doors of vminsert and vmselect, whose -storageNode ports are vmstorage's); nginx accepts
// the configuration (`nginx -t`, when Debian's nginx is installed); and the flags VictoriaMetrics' single-node binary
// shares with the cluster's are flags it knows. The cluster-only flags (-storageNode, -replicationFactor,
// -vminsertAddr, -vmselectAddr) are checked against VictoriaMetrics' documentation only: no cluster binary here.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Command, type Option } from "commander";
import {
  checkEdges,
  parseEdgeSpec,
  parseListenAddress,
  parseScrapeInterval,
  parseServeRoles,
} from "../roles/options.ts";
import { parseShard } from "../scrape/target.ts";
import { parseStorageSpec } from "../storage/remote/backend-spec.ts";
import { skipUnlessCi } from "../testkit/shared-data.ts";
import { registerRoleCommands } from "./roles.ts";

const DIR = join(import.meta.dirname, "..", "..", "deploy", "cluster");
/** The instance names the README enables for the template units (`contrail-api@9301` …). */
const INSTANCES: Record<string, readonly string[]> = {
  "contrail-api@.service": ["9301", "9302"],
  "contrail-scrape@.service": ["0", "1"],
};
/** A VictoriaMetrics cluster's write and read base URLs, as `--storage vmcluster=INSERT_URL,SELECT_URL` gives them. */
interface ClusterUrls {
  readonly insertUrl: string;
  readonly selectUrl: string;
}

/** Reads `vmcluster=INSERT_URL,SELECT_URL` (the only storage the example uses): two http URLs. */
function clusterStorage(text: string, where: string): ClusterUrls {
  const m = /^vmcluster=([^,\s]+),([^,\s]+)$/.exec(text);
  assert.ok(m !== null, `${where}: --storage ${text}: expected vmcluster=INSERT_URL,SELECT_URL`);
  for (const url of [m[1]!, m[2]!]) assert.equal(new URL(url).protocol, "http:", `${where}: ${url}`);
  return { insertUrl: m[1]!, selectUrl: m[2]! };
}

/** A unit file's sections and their key/value pairs (repeated keys kept in order). */
type Unit = Map<string, [string, string][]>;

function parseUnit(text: string, name: string): Unit {
  const unit: Unit = new Map();
  let section: [string, string][] | null = null;
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const head = /^\[([A-Za-z]+)\]$/.exec(line);
    if (head !== null) {
      section = [];
      unit.set(head[1]!, section);
      continue;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    assert.ok(kv !== null && section !== null, `${name}:${i + 1}: not a key=value line in a section: ${line}`);
    section.push([kv[1]!, kv[2]!]);
  }
  return unit;
}

function value(unit: Unit, section: string, key: string): string | undefined {
  return unit.get(section)?.find(([k]) => k === key)?.[1];
}

/** Every unit under deploy/cluster/, by path relative to it. */
function units(): Map<string, Unit> {
  const out = new Map<string, Unit>();
  for (const sub of readdirSync(DIR, { withFileTypes: true })) {
    if (!sub.isDirectory()) continue;
    for (const f of readdirSync(join(DIR, sub.name))) {
      if (f.endsWith(".service"))
        out.set(`${sub.name}/${f}`, parseUnit(readFileSync(join(DIR, sub.name, f), "utf8"), f));
    }
  }
  return out;
}

/** The ExecStart of each enabled instance of `file` (`%i` replaced), as argv. */
function commandLines(file: string, unit: Unit): string[][] {
  const exec = value(unit, "Service", "ExecStart");
  assert.ok(exec !== undefined, `${file}: no ExecStart`);
  const name = file.slice(file.indexOf("/") + 1);
  const instances = name.includes("@.") ? INSTANCES[name] : [""];
  assert.ok(instances !== undefined, `${file}: a template unit the README names no instances of`);
  return instances.map((i) => exec.replaceAll("%i", i).split(/\s+/));
}

/** The role commands as the CLI registers them (no action runs). */
function roleCommands(): Map<string, Command> {
  const program = new Command();
  registerRoleCommands(program);
  return new Map(program.commands.map((c) => [c.name(), c]));
}

/** Checks a `contrail` command line's flags against the command and their values with the CLI's parsers. */
function checkContrail(argv: readonly string[], where: string, storages: ClusterUrls[]): void {
  const commands = roleCommands();
  const command = commands.get(argv[1] ?? "");
  assert.ok(command !== undefined, `${where}: no command contrail ${argv[1]}`);
  const edges = [];
  for (let i = 2; i < argv.length; i += 2) {
    const flag = argv[i]!;
    const given = argv[i + 1];
    assert.ok(given !== undefined && !given.startsWith("--"), `${where}: ${flag} without a value`);
    const option: Option | undefined = command.options.find((o) => o.long === flag);
    assert.ok(option !== undefined, `${where}: contrail ${argv[1]} has no ${flag}`);
    assert.ok(option === undefined || option.required || option.optional, `${where}: ${flag} takes no value`);
    switch (flag) {
      case "--api":
      case "--metrics":
        parseListenAddress(given, flag);
        break;
      case "--roles":
        parseServeRoles(given);
        break;
      case "--shard":
        parseShard(given);
        break;
      case "--scrape-interval":
        parseScrapeInterval(given);
        break;
      case "--storage":
        parseStorageSpec(given);
        storages.push(clusterStorage(given, where));
        break;
      case "--edge":
        edges.push(parseEdgeSpec(given));
        break;
      case "--region":
        assert.match(given, /^[a-z]{3}$/, where);
        break;
      case "--data":
      case "--domain":
        assert.match(given, /^\S+$/, where);
        break;
      default:
        assert.fail(`${where}: ${flag} is not checked by this test; add its parser`);
    }
  }
  checkEdges(edges);
}

/** `-name=value` flags of a VictoriaMetrics command line. */
function vmFlags(argv: readonly string[]): Map<string, string> {
  return new Map(argv.slice(1).map((a) => /^-([A-Za-z.]+)=(.*)$/.exec(a)!.slice(1, 3) as [string, string]));
}

describe("deploy/cluster", () => {
  const all = units();

  test("every unit parses and has a description, an absolute ExecStart, a restart policy and an install target", () => {
    assert.ok(all.size >= 7, `units: ${[...all.keys()]}`);
    for (const [file, unit] of all) {
      assert.ok(value(unit, "Unit", "Description"), `${file}: Description`);
      assert.match(value(unit, "Service", "ExecStart") ?? "", /^\/\S+/, `${file}: ExecStart`);
      assert.equal(value(unit, "Service", "Restart"), "always", `${file}: Restart`);
      assert.equal(value(unit, "Install", "WantedBy"), "multi-user.target", `${file}: WantedBy`);
    }
  });

  test("every contrail command line uses flags the CLI has, with values it accepts", () => {
    const storages: ClusterUrls[] = [];
    let lines = 0;
    for (const [file, unit] of all) {
      for (const argv of commandLines(file, unit)) {
        if (!argv[0]!.endsWith("/contrail")) continue;
        checkContrail(argv, file, storages);
        lines++;
      }
    }
    assert.ok(lines >= 6, `contrail command lines: ${lines}`);
    // Every node reaches the cluster through nginx's front doors of vminsert and vmselect.
    const nginx = readFileSync(join(DIR, "nginx", "contrail.conf"), "utf8");
    for (const s of storages) {
      for (const [url, upstream] of [
        [s.insertUrl, "vminsert"],
        [s.selectUrl, "vmselect"],
      ] as const) {
        const listen = new URL(url).host;
        const server = new RegExp(
          `server \\{\\s+listen ${listen.replaceAll(".", "\\.")};[^}]*proxy_pass http://${upstream};`,
        );
        assert.match(nginx, server, `nginx listens on ${listen} for ${upstream}`);
      }
    }
    // The API nodes the units start are the load balancer's upstream.
    const upstream = /upstream contrail_api \{([^}]*)\}/.exec(nginx)?.[1] ?? "";
    const servers = [...upstream.matchAll(/server (\S+)/g)].map((m) => m[1]);
    assert.deepEqual(
      servers,
      INSTANCES["contrail-api@.service"]!.map((p) => `127.0.0.1:${p}`),
    );
  });

  test("the VictoriaMetrics units agree on ports, and the flags the single-node binary shares are known to it", () => {
    const storage = vmFlags(value(all.get("storage/vmstorage.service")!, "Service", "ExecStart")!.split(/\s+/));
    const insert = vmFlags(value(all.get("storage/vminsert.service")!, "Service", "ExecStart")!.split(/\s+/));
    const select = vmFlags(value(all.get("storage/vmselect.service")!, "Service", "ExecStart")!.split(/\s+/));
    const port = (addr: string | undefined) => addr?.slice(addr.lastIndexOf(":") + 1);
    const nodes = (flags: Map<string, string>) => (flags.get("storageNode") ?? "").split(",");
    assert.equal(nodes(insert).length, 3);
    for (const n of nodes(insert)) assert.equal(port(n), port(storage.get("vminsertAddr")));
    for (const n of nodes(select)) assert.equal(port(n), port(storage.get("vmselectAddr")));
    assert.deepEqual(
      nodes(insert).map((n) => n.split(":")[0]),
      nodes(select).map((n) => n.split(":")[0]),
    );
    const nginx = readFileSync(join(DIR, "nginx", "contrail.conf"), "utf8");
    for (const [name, flags] of [
      ["vminsert", insert],
      ["vmselect", select],
    ] as const) {
      const upstream = new RegExp(`upstream ${name} \\{([^}]*)\\}`).exec(nginx)?.[1] ?? "";
      const servers = [...upstream.matchAll(/server (\S+)/g)].map((m) => m[1]!);
      const hosts = nodes(flags).map((n) => n.split(":")[0]);
      assert.deepEqual(
        servers,
        hosts.map((h) => `${h}:${port(flags.get("httpListenAddr"))}`),
        `nginx's ${name} upstream is the ${name} of every host`,
      );
    }
    const binary = "/usr/bin/victoria-metrics";
    if (!existsSync(binary)) return;
    const help = spawnSync(binary, ["-help"], { encoding: "utf8" });
    const known = `${help.stdout}${help.stderr}`;
    for (const flag of ["storageDataPath", "retentionPeriod", "httpListenAddr", "dedup.minScrapeInterval"]) {
      assert.match(known, new RegExp(`^\\s+-${flag.replaceAll(".", "\\.")} `, "m"), `victoria-metrics knows -${flag}`);
    }
  });

  const nginxSkip = skipUnlessCi(existsSync("/usr/sbin/nginx") ? undefined : "nginx is not installed");
  test("nginx accepts the configuration", { skip: nginxSkip }, () => {
    const root = mkdtempSync(join(tmpdir(), "contrail-cluster-nginx-"));
    try {
      // Debian's nginx.conf includes conf.d/*.conf inside http {}; this is the least of it.
      writeFileSync(
        join(root, "nginx.conf"),
        `pid ${root}/nginx.pid;\nevents {}\nhttp {\n  access_log off;\n  include ${join(DIR, "nginx", "contrail.conf")};\n}\n`,
      );
      const out = execFileSync("/usr/sbin/nginx", ["-t", "-p", root, "-c", join(root, "nginx.conf"), "-e", "stderr"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
      assert.equal(typeof out, "string");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
