// RE2 regular expressions for the `match` and `reReplaceAll` template functions: parsed by our RE2 parser (Go's
// syntax and errors), run unanchored on V8 with the linear-time translation the label matchers use.

import { ContrailError } from "../../model/errors.ts";
import { emitAnchored } from "../../model/regex/emit.ts";
import { parseRegex } from "../../model/regex/parse.ts";

/** The fully anchored form emitAnchored writes, `^(?:...)$`: the lengths to strip for an unanchored search. */
const ANCHOR_PREFIX = "^(?:".length;
const ANCHOR_SUFFIX = ")$".length;

/** Compiled patterns kept for reuse: the same templates run every round. */
const CACHE_LIMIT = 256;
const cache = new Map<string, RegExp>();

/** The unanchored RegExp of an RE2 pattern (global for replacing); compiled once, then shared. */
function compile(pattern: string, global: boolean): RegExp {
  const key = `${global ? "g" : "-"}${pattern}`;
  let re = cache.get(key);
  if (re === undefined) {
    re = translate(pattern, global);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(key, re);
  }
  // A global RegExp keeps its position between uses; start every use from the beginning.
  re.lastIndex = 0;
  return re;
}

function translate(pattern: string, global: boolean): RegExp {
  try {
    const anchored = emitAnchored(parseRegex(pattern), { captures: true });
    return new RegExp(anchored.slice(ANCHOR_PREFIX, anchored.length - ANCHOR_SUFFIX), global ? "g" : "");
  } catch (err) {
    const msg = err instanceof ContrailError || err instanceof Error ? err.message : String(err);
    throw new Error(`error parsing regexp: ${msg}`);
  }
}

/** Go's regexp.MatchString: true when `pattern` matches anywhere in `text`. */
export function matchRegex(pattern: string, text: string): boolean {
  return compile(pattern, false).test(text);
}

/** Go's Regexp.ReplaceAllString: `$1`, `${1}` and `${name}` expand to submatches (missing ones to ""). */
export function replaceAllRegex(pattern: string, replacement: string, text: string): string {
  const re = compile(pattern, true);
  return text.replace(re, (...m: unknown[]) => {
    // The replacer's arguments: the match, its groups, the offset, the text, and (with named groups) their object.
    const named = typeof m[m.length - 1] === "object";
    const groups = (named ? m[m.length - 1] : undefined) as Record<string, string> | undefined;
    const count = m.length - (named ? 3 : 2);
    return replacement.replace(
      /\$(\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g,
      (_all, whole: string, braced?: string, bare?: string) => {
        if (whole === "$") return "$";
        const name = braced ?? (bare as string);
        if (/^[0-9]+$/.test(name)) return Number(name) < count ? ((m[Number(name)] as string | undefined) ?? "") : "";
        return groups?.[name] ?? "";
      },
    );
  });
}
