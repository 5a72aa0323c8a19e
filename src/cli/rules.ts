// `contrail rules check`: reads rule files and reports each as promtool check rules does, `Checking FILE` then
// `SUCCESS: N rules found` or `FAILED:` with every problem (`FILE:LINE: ...`); exit code 1 when any failed.

import { readFile, stat } from "node:fs/promises";
import { isContrailError } from "../model/errors.ts";
import { MAX_RULE_FILE_BYTES, parseRuleFile } from "../rules/index.ts";

/** The verdict on one file: its rule count, or the problems found. */
export async function checkRuleFile(
  file: string,
): Promise<{ ok: true; rules: number } | { ok: false; errors: string }> {
  try {
    const size = (await stat(file)).size;
    if (size > MAX_RULE_FILE_BYTES) {
      return {
        ok: false,
        errors: `${file}: ${size} bytes, more than the limit of ${MAX_RULE_FILE_BYTES} bytes for a rule file`,
      };
    }
    const groups = parseRuleFile(await readFile(file, "utf8"), file);
    return { ok: true, rules: groups.reduce((n, g) => n + g.rules.length, 0) };
  } catch (err) {
    if (isContrailError(err, "bad_data")) return { ok: false, errors: err.message };
    if (err instanceof Error && "code" in err) return { ok: false, errors: `${file}: ${err.message}` };
    throw err;
  }
}

/** The action of `contrail rules check`: checks every file, printing as promtool does; exit code 1 on a failure. */
export async function checkRulesCommand(files: readonly string[]): Promise<void> {
  let failed = false;
  for (const file of files) {
    process.stdout.write(`Checking ${file}\n`);
    const verdict = await checkRuleFile(file);
    if (verdict.ok) process.stdout.write(`  SUCCESS: ${verdict.rules} rules found\n`);
    else {
      failed = true;
      process.stderr.write(`  FAILED:\n${verdict.errors}\n`);
    }
    process.stdout.write("\n");
  }
  if (failed) process.exitCode = 1;
}
