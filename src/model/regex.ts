// RE2 regular expressions for label matchers.
// Provisional: a plain anchored JS RegExp with dotAll; to be replaced by the full RE2 translation.

import { ContrailError } from "./errors.ts";

/** A compiled, fully anchored matcher regex. */
export interface CompiledRegex {
  readonly source: string;
  test(value: string): boolean;
}

/** Compiles an RE2 pattern, anchored at both ends; throws ContrailError `invalid_regex`. */
export function compileRegex(pattern: string): CompiledRegex {
  try {
    const re = new RegExp(`^(?:${pattern})$`, "s");
    return { source: pattern, test: (v) => re.test(v) };
  } catch (err) {
    throw new ContrailError("invalid_regex", `error parsing regexp: ${(err as Error).message}`, { cause: err });
  }
}
