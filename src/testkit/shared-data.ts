// Test support: Prometheus's conformance data (`promqltest/`, `promql-parser-cases/`), kept in `../shared/` beside the
// repository rather than in it, and the one rule for suites that need something the repository does not hold (this
// data, or a toolchain an example app is built with). A suite runs when what it needs is there; when it is missing,
// the suite is skipped with one line naming what is missing and where it was looked for, except under CI (CI=true),
// where it fails the run: there the suites must not pass by not running. Not imported by production code.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The folder beside the repository that holds the shared test data: an absolute path. */
export const SHARED_DATA_ROOT: string = fileURLToPath(new URL("../../../shared/", import.meta.url));

/** A data set of the shared folder as a suite sees it; valid for the life of the process. */
export interface SharedData {
  /** The data set's folder name under the shared root, e.g. `promqltest`. */
  readonly name: string;
  /** Absolute path of the data set's folder. */
  readonly dir: string;
  /** False when the data set is there; otherwise the one-line reason to give node:test's `skip` option. */
  readonly skip: string | false;
  /** Absolute path of `file` inside the data set. */
  path(file: string): string;
  /** The parsed JSON of `file` inside the data set, as the caller's type (the caller knows the table's shape). */
  json<T>(file: string): T;
}

/** Where to look and what counts as CI; both default to this process's (tests of this module pass their own). */
export interface SharedDataOptions {
  /** The shared folder; defaults to {@link SHARED_DATA_ROOT}. */
  readonly root?: string;
  /** The environment whose `CI` decides whether a missing data set is a failure; defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** True when `env` says the run is CI's: `CI` set to anything but an empty string, `0` or `false`. */
export function isCi(env: Readonly<Record<string, string | undefined>>): boolean {
  const ci = env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== "" && ci !== "0" && ci !== "false";
}

/**
 * The rule for a suite's requirement: false when `missing` is undefined (it is met), else the one-line reason to
 * give node:test's `skip` option; under CI (`env`, default this process's) it throws that reason instead, so that
 * the test file fails. `missing` says in one line what is missing and where it was looked for.
 */
export function skipUnlessCi(
  missing: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | false {
  if (missing === undefined) return false;
  if (isCi(env)) throw new Error(`${missing}; under CI it is required`);
  return `${missing}; skipped (under CI=true this fails)`;
}

/**
 * Locates the data set `name` of the shared folder. When it is missing, `skip` holds the reason to skip the suites
 * that read it, or, under CI, this throws that reason as an error so that the test file fails.
 */
export function sharedData(name: string, opts: SharedDataOptions = {}): SharedData {
  const root = opts.root ?? SHARED_DATA_ROOT;
  const dir = join(root, name);
  const skip = skipUnlessCi(
    existsSync(dir) ? undefined : `Prometheus's conformance data ../shared/${name}/ is missing (looked in ${dir})`,
    opts.env ?? process.env,
  );
  return {
    name,
    dir,
    skip,
    path: (file) => join(dir, file),
    json: <T>(file: string): T => JSON.parse(readFileSync(join(dir, file), "utf8")) as T,
  };
}
