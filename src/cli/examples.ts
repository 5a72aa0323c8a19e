// The example apps of examples/, one for each app of the seed article's "Generate Your Own Metrics": Node with
// Express, Go with the official client library, Python with Flask. `contrail up --demo --examples` deploys the ones
// it names, and checks first that each can run here: the Node app needs its npm dependencies, the Go app Debian's Go
// and client_golang, the Flask app Debian's Python with Flask and the Prometheus client. What is missing is said
// with the command that installs it. The tests that deploy the examples read the same checks.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type FlyConfig, parseFlyToml } from "../control/index.ts";
import { parseCommandLine } from "../machines/index.ts";
import { ContrailError } from "../model/errors.ts";

/** An example app: its folder under examples/ and what it lacks to run on this machine. */
export interface Example {
  /** The folder's name, as `--examples` takes it. */
  readonly name: string;
  /** Absolute path of the folder: its fly.toml and sources. */
  readonly dir: string;
  /** What is missing to run it here, with the command that installs it; undefined when nothing is. */
  missing(): string | undefined;
}

/** The examples folder of the source tree. */
const EXAMPLES_DIR = fileURLToPath(new URL("../../examples/", import.meta.url));

/** Longest wait for a toolchain's version or import check, ms (they answer in well under a second). */
const PROBE_TIMEOUT_MS = 10_000;

/** `path` relative to the working directory when it lies below it, else as given: as a user would type it. */
export function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" ? "." : rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

/** The checked fly.toml of the example in `dir`. */
function configOf(dir: string): FlyConfig {
  return parseFlyToml(readFileSync(join(dir, "fly.toml"), "utf8"));
}

/** True when `argv` runs and exits 0 within the probe timeout. */
function runs(argv: readonly string[]): boolean {
  const r = spawnSync(argv[0], argv.slice(1), { stdio: "ignore", timeout: PROBE_TIMEOUT_MS });
  return r.error === undefined && r.status === 0;
}

/** What the Node app in `dir` lacks: the npm dependencies of its package.json missing from its node_modules. */
export function missingNodeDependencies(dir: string): string | undefined {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  const missing = Object.keys(pkg.dependencies ?? {}).filter(
    (d) => !existsSync(join(dir, "node_modules", d, "package.json")),
  );
  if (missing.length === 0) return undefined;
  return (
    `the demo app's dependencies are not installed (missing: ${missing.join(", ")}); install them with:\n` +
    `  npm ci --prefix ${shownPath(dir)}`
  );
}

/** What the Go app in `dir` lacks: `go` on PATH, and client_golang in the GOPATH its fly.toml sets. */
export function missingGo(dir: string): string | undefined {
  const install = "apt-get install golang-go golang-github-prometheus-client-golang-dev";
  if (!runs(["go", "version"])) return `the Go example needs Go (no go on PATH); install it with: ${install}`;
  const gopath = configOf(dir).env.GOPATH ?? "";
  const client = join(gopath, "src", "github.com", "prometheus", "client_golang", "prometheus");
  if (gopath === "" || !existsSync(client)) {
    return `the Go example needs client_golang in ${join(gopath, "src")} (not found: ${client}); install it with: ${install}`;
  }
  return undefined;
}

/** What the Flask app in `dir` lacks: Flask and the Prometheus client for the Python its `[build] command` runs. */
export function missingFlask(dir: string): string | undefined {
  const python = parseCommandLine(configOf(dir).build?.command ?? "python3")[0];
  if (runs([python, "-c", "import flask, prometheus_client"])) return undefined;
  return (
    `the Flask example needs Flask and the Prometheus client for ${python}; ` +
    "install them with: apt-get install python3 python3-flask python3-prometheus-client"
  );
}

/** Every example, the Node app (the default demo) first. */
export const EXAMPLES: readonly Example[] = [
  { name: "node-express", check: missingNodeDependencies },
  { name: "go-http", check: missingGo },
  { name: "python-flask", check: missingFlask },
].map(({ name, check }) => {
  const dir = join(EXAMPLES_DIR, name);
  return { name, dir, missing: () => check(dir) };
});

/** The example named `name`; throws `bad_data` listing the names. */
export function exampleNamed(name: string): Example {
  const found = EXAMPLES.find((e) => e.name === name);
  if (found !== undefined) return found;
  throw new ContrailError(
    "bad_data",
    `unknown example ${JSON.stringify(name)}; the examples are ${EXAMPLES.map((e) => e.name).join(", ")} (or all)`,
  );
}

/** The examples of a comma-separated list of names, or every one for `all`, each once, in the catalog's order. */
export function parseExamples(list: string): Example[] {
  const names = list
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");
  if (names.length === 0) throw new ContrailError("bad_data", "--examples: expected example names or all");
  if (names.includes("all")) return [...EXAMPLES];
  const wanted = new Set(names.map((n) => exampleNamed(n).name));
  return EXAMPLES.filter((e) => wanted.has(e.name));
}

/** Throws `unavailable` saying what each of `examples` lacks, when any lacks something. */
export function checkExamples(examples: readonly Example[]): void {
  const problems = examples.map((e) => e.missing()).filter((m) => m !== undefined);
  if (problems.length === 0) return;
  throw new ContrailError("unavailable", `${problems.join("\n")}\nthen run contrail up --demo again`);
}
