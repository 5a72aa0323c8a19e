// Checks the import graph of the repository against the layer table (`table.ts`): every import goes down the
// layers or is a recorded departure, production code imports no test and no test kit, every source folder is in
// the table, and no file reaches itself through imports that run. Type-only imports are erased before the code
// runs, so they may close a loop; they still obey the layer rule.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { findCycles } from "./cycles.ts";
import { type ImportRef, scanImports } from "./scan.ts";
import type { LayerTable, ModuleRule } from "./table.ts";

/** One source file with its imports; `path` is relative to the repository root, with `/` separators. */
export interface SourceFile {
  readonly path: string;
  readonly imports: readonly ImportRef[];
}

/** What the check found wrong; `message` names the files and the rule, ready to print. */
export interface Problem {
  readonly rule: "table" | "unresolved" | "layer" | "test-support" | "cycle";
  readonly message: string;
}

/** Extensions of the files the check reads. */
const SOURCE_EXTENSIONS = [".ts", ".tsx", ".js", ".mjs"];
/** Suffix of test files: run by the test runner, imported by nothing. */
const TEST_SUFFIX = ".test.ts";
/** Where the table lives, for messages that ask to change it. */
const TABLE_FILE = "scripts/layers/table.ts";
/** Node's test runner: a file that imports it is test support. */
const NODE_TEST = "node:test";

/** Reads every source file under `roots` (repository-relative folders) of the repository at `repoDir`, by path. */
export function readSources(repoDir: string, roots: readonly string[]): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(repoDir, dir), { withFileTypes: true })) {
      if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (SOURCE_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) {
        out.push({ path, imports: scanImports(readFileSync(join(repoDir, path), "utf8")) });
      }
    }
  };
  for (const root of roots) walk(root);
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** Reads the repository at `repoDir` and checks it against `table`. */
export function checkRepository(repoDir: string, table: LayerTable): Problem[] {
  const files = readSources(repoDir, table.roots);
  return checkImports(files, table, (path) => existsSync(join(repoDir, path)));
}

/** How a file takes part in the rules: test-side files (tests, test kits, benchmarks) may import test kits. */
type Role = "production" | "test" | "testkit";

/** A file placed in the table. */
interface Placed {
  readonly module: ModuleRule;
  readonly role: Role;
}

/** The modules a module may import besides itself, by name → the departure's reason, or null when the table allows it. */
type Allowed = ReadonlyMap<string, string | null>;

function allowedTargets(m: ModuleRule, table: LayerTable): Allowed {
  const out = new Map<string, string | null>();
  if ("upToLayer" in m.imports) {
    const top = m.imports.upToLayer;
    for (const o of table.modules) if (o !== m && o.layer <= top && o.testSide !== true) out.set(o.name, null);
  } else {
    for (const name of m.imports) out.set(name, null);
  }
  for (const [name, reason] of Object.entries(m.departures ?? {})) out.set(name, reason);
  return out;
}

/** The table's answer to "which module and role has this file", and each module's allowed imports. */
class Placement {
  readonly allowed = new Map<ModuleRule, Allowed>();
  readonly #byFolder = new Map<string, ModuleRule>();
  readonly #byFile = new Map<string, ModuleRule>();
  readonly #names = new Set<string>();

  constructor(table: LayerTable) {
    for (const m of table.modules) {
      this.#names.add(m.name);
      this.allowed.set(m, allowedTargets(m, table));
      for (const f of m.folders) this.#byFolder.set(f, m);
      for (const f of m.files ?? []) this.#byFile.set(f, m);
    }
  }

  isModule(name: string): boolean {
    return this.#names.has(name);
  }

  hasFolder(folder: string): boolean {
    return this.#byFolder.has(folder);
  }

  place(path: string): Placed | undefined {
    const module = this.#byFile.get(path) ?? this.#byFolder.get(posix.dirname(path));
    if (module === undefined) return undefined;
    if (path.endsWith(TEST_SUFFIX)) return { module, role: "test" };
    const kit =
      module.testSide === true || (module.testKits?.some((k) => k === path || path.startsWith(`${k}/`)) ?? false);
    return { module, role: kit ? "testkit" : "production" };
  }
}

/** Problems of the table itself: names that are no module, folders and files that do not exist (unless planned). */
function checkTable(
  table: LayerTable,
  placement: Placement,
  known: ReadonlySet<string>,
  folders: ReadonlySet<string>,
): Problem[] {
  const problems: Problem[] = [];
  for (const m of table.modules) {
    const names = [
      ...(Array.isArray(m.imports) ? m.imports : []),
      ...Object.keys(m.departures ?? {}),
      ...Object.keys(m.testDepartures ?? {}),
    ];
    for (const name of names) {
      if (!placement.isModule(name)) {
        problems.push({ rule: "table", message: `${m.name} names ${name}, which is no module of the table` });
      }
    }
    for (const f of [...(m.files ?? []), ...(m.testKits ?? [])]) {
      if (known.has(f) || [...known].some((k) => k.startsWith(`${f}/`))) continue;
      problems.push({ rule: "table", message: `${m.name} lists ${f}, which does not exist: remove it` });
    }
    const present = m.folders.filter((f) => folders.has(f));
    if (m.planned !== undefined && present.length > 0) {
      problems.push({ rule: "table", message: `${m.name} has files now: drop its "planned" note` });
    }
    for (const f of m.folders) {
      if (m.planned === undefined && !folders.has(f)) {
        problems.push({ rule: "table", message: `${m.name} lists ${f}/, which holds no source file: remove it` });
      }
    }
  }
  for (const folder of folders) {
    if (placement.hasFolder(folder)) continue;
    problems.push({
      rule: "table",
      message: `${folder}/ is not in the layer table: add it to ${TABLE_FILE} (to a module's folders, or as a module with its layer and what it may import)`,
    });
  }
  return problems;
}

function layerText(m: ModuleRule): string {
  return `${m.name} (layer ${m.layer})`;
}

/** Why `src` may not import `target`, or null when it may; records the departures it relies on in `used`. */
function ruleBroken(placement: Placement, src: Placed, target: Placed, used: Set<string>): string | null {
  if (target.role === "test") return "a test file is run by the test runner and imported by nothing";
  if (target.role === "testkit" && src.role === "production") {
    return `production code may not import test support (a test kit of ${target.module.name})`;
  }
  if (target.module === src.module) return null;
  const allowed = placement.allowed.get(src.module)!;
  const reason = allowed.get(target.module.name);
  if (reason !== undefined) {
    if (reason !== null) used.add(`${src.module.name} -> ${target.module.name}`);
    return null;
  }
  if (src.role !== "production") {
    if (target.role === "testkit" && target.module.sharedTestKit === true) return null;
    if (src.module.testDepartures?.[target.module.name] !== undefined) {
      used.add(`${src.module.name} tests -> ${target.module.name}`);
      return null;
    }
  }
  const rule = src.module.imports;
  const may = "upToLayer" in rule ? [`layers 0-${rule.upToLayer}`] : rule.length === 0 ? ["nothing"] : [...rule];
  may.push(...Object.keys(src.module.departures ?? {}));
  const who =
    src.role === "test"
      ? `a test of ${layerText(src.module)}`
      : src.role === "testkit" && src.module.testSide !== true
        ? `a test kit of ${layerText(src.module)}`
        : layerText(src.module);
  return `layer rule: ${who} may import ${may.join(", ")}; not ${layerText(target.module)}`;
}

/** Checks `files` (as read by {@link readSources}) against `table`; `exists` answers for targets that are not sources. */
export function checkImports(
  files: readonly SourceFile[],
  table: LayerTable,
  exists: (path: string) => boolean,
): Problem[] {
  const placement = new Placement(table);
  const folders = new Set(files.map((f) => posix.dirname(f.path)));
  const known = new Set(files.map((f) => f.path));
  const problems = checkTable(table, placement, known, folders);
  const used = new Set<string>();
  // Production files → the roles of the files that import them, to find test support not declared as such.
  const importers = new Map<string, { readonly path: string; readonly role: Role }[]>();
  const graph = new Map<string, string[]>();
  const addImporter = (to: string, path: string, role: Role): void => {
    const list = importers.get(to) ?? [];
    list.push({ path, role });
    importers.set(to, list);
  };

  for (const file of files) {
    const src = placement.place(file.path);
    const runtime: string[] = [];
    graph.set(file.path, runtime);
    if (src === undefined) continue;
    if (src.role === "production" && file.imports.some((r) => r.specifier === NODE_TEST)) {
      problems.push({
        rule: "test-support",
        message: `${file.path} imports ${NODE_TEST}, so it is test support: add it to testKits of ${src.module.name} in ${TABLE_FILE}`,
      });
    }
    for (const ref of file.imports) {
      if (!ref.specifier.startsWith("./") && !ref.specifier.startsWith("../")) continue;
      const to = posix.normalize(posix.join(posix.dirname(file.path), ref.specifier));
      if (ref.kind === "path") {
        // Loaded in another thread or process, or read as data: not an import. Production code loading a file this
        // way (a worker's entry) is a production use of it; tests running the program by path are no use of note.
        if (known.has(to) && src.role === "production") addImporter(to, file.path, src.role);
        continue;
      }
      const at = `${file.path}:${ref.line} imports ${to}`;
      if (!known.has(to) && !exists(to)) {
        problems.push({ rule: "unresolved", message: `${at}: no such file` });
        continue;
      }
      if (known.has(to) && !ref.typeOnly && !runtime.includes(to)) runtime.push(to);
      const target = placement.place(to);
      if (target === undefined) {
        if (placement.hasFolder(posix.dirname(to))) continue;
        problems.push({ rule: "layer", message: `${at}: that file is outside every folder of the layer table` });
        continue;
      }
      if (target.role === "production") addImporter(to, file.path, src.role);
      const broken = ruleBroken(placement, src, target, used);
      if (broken !== null) {
        problems.push({ rule: target.role === "production" ? "layer" : "test-support", message: `${at}: ${broken}` });
      }
    }
  }

  for (const [path, from] of importers) {
    if (from.some((f) => f.role === "production")) continue;
    problems.push({
      rule: "test-support",
      message: `${path} is imported only by tests, test kits and benchmarks (${from[0].path}): add it to testKits of ${placement.place(path)!.module.name} in ${TABLE_FILE}`,
    });
  }

  for (const m of table.modules) {
    for (const name of Object.keys(m.departures ?? {})) {
      if (!used.has(`${m.name} -> ${name}`)) {
        problems.push({ rule: "table", message: `${m.name}: the departure to ${name} is no longer needed: remove it` });
      }
    }
    for (const name of Object.keys(m.testDepartures ?? {})) {
      if (!used.has(`${m.name} tests -> ${name}`)) {
        problems.push({
          rule: "table",
          message: `${m.name}: the test departure to ${name} is no longer needed: remove it`,
        });
      }
    }
  }

  for (const cycle of findCycles(graph)) {
    const others = cycle.members.filter((m) => !cycle.chain.includes(m));
    const also = others.length > 0 ? ` (also in this cycle: ${others.join(", ")})` : "";
    problems.push({ rule: "cycle", message: `runtime import cycle: ${cycle.chain.join(" -> ")}${also}` });
  }
  return problems;
}
