// Finds the imports of one TypeScript or JavaScript source file without a compiler: a small lexer that skips
// comments, strings, template literals and regular expressions, then a matcher over its tokens for `import`
// declarations, `export … from` re-exports and `import("…")` calls with a literal specifier. Only what decides the
// module graph is recognised, plus `new URL("…", import.meta.url)`, the way a worker thread or child process entry
// is named; the rest of the language passes through as opaque tokens.

/**
 * How a file reaches another: a static import, a re-export, a dynamic `import()` with a literal specifier, or a
 * `path` named by `new URL("…", import.meta.url)` (loaded in another thread or process, or read as data).
 */
export type ImportKind = "import" | "reexport" | "dynamic" | "path";

/** One import of a source file; `line` is 1-based. */
export interface ImportRef {
  readonly specifier: string;
  readonly kind: ImportKind;
  /** True for `import type`, `export type … from` and `typeof import(…)`: erased before the code runs. */
  readonly typeOnly: boolean;
  readonly line: number;
}

/** A token: an identifier or keyword, a string literal's value, or one punctuation character. */
interface Token {
  readonly kind: "name" | "string" | "punct";
  readonly value: string;
  readonly line: number;
}

/** Keywords after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER_WORD = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);
/** Punctuation after which a `/` starts a regular expression (`)` and `]` end operands, so they are absent). */
const REGEX_AFTER_PUNCT = new Set([..."(,=:[!&|?{};+-*%<>~^"]);

/** The character code of `ch`, for the lexer's comparisons. */
const code = (ch: string): number => ch.charCodeAt(0);
const CH_NEWLINE = code("\n");
const CH_BACKSLASH = code("\\");
const CH_SLASH = code("/");
const CH_STAR = code("*");
const CH_BACKTICK = code("`");
const CH_DOLLAR = code("$");
const CH_DOT = code(".");
const CH_UNDERSCORE = code("_");
const CH_DOUBLE_QUOTE = code('"');
const CH_SINGLE_QUOTE = code("'");
const CH_OPEN_BRACE = code("{");
const CH_CLOSE_BRACE = code("}");
const CH_OPEN_BRACKET = code("[");
const CH_CLOSE_BRACKET = code("]");
const CH_0 = code("0");
const CH_9 = code("9");
const CH_LOWER_A = code("a");
const CH_LOWER_Z = code("z");
const CH_UPPER_A = code("A");
const CH_UPPER_Z = code("Z");
/** Codes above ASCII: taken as identifier characters, which is all the matcher needs of Unicode names. */
const LAST_ASCII = 127;
/** Whitespace besides the newline: space, tab, CR, vertical tab, form feed, and the byte order mark. */
const SPACES = new Set([..." \t\r\v\f\ufeff"].map(code));

function isDigit(c: number): boolean {
  return c >= CH_0 && c <= CH_9;
}

function isNameStart(c: number): boolean {
  return (
    (c >= CH_LOWER_A && c <= CH_LOWER_Z) ||
    (c >= CH_UPPER_A && c <= CH_UPPER_Z) ||
    c === CH_UNDERSCORE ||
    c === CH_DOLLAR ||
    c > LAST_ASCII
  );
}

function isNamePart(c: number): boolean {
  return isNameStart(c) || isDigit(c);
}

/** Splits `src` into the tokens the import matcher needs; numbers, templates and regexes leave no token. */
function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  // One entry per open `${` of a template literal: the brace depth inside it, so its closing `}` is recognised.
  const templates: number[] = [];
  let line = 1;
  let i = 0;
  const n = src.length;
  // Whether a `/` here starts a regular expression, from the last significant token.
  let regexAllowed = true;

  /** Skips a template literal's text from `i` up to its closing backtick or to a `${`; returns true at `${`. */
  const skipTemplateText = (): boolean => {
    while (i < n) {
      const c = src.charCodeAt(i);
      if (c === CH_BACKSLASH) {
        i += 2;
        continue;
      }
      if (c === CH_NEWLINE) line++;
      if (c === CH_BACKTICK) {
        i++;
        return false;
      }
      if (c === CH_DOLLAR && src.charCodeAt(i + 1) === CH_OPEN_BRACE) {
        i += 2;
        templates.push(0);
        return true;
      }
      i++;
    }
    return false;
  };

  while (i < n) {
    const c = src.charCodeAt(i);
    if (c === CH_NEWLINE) {
      line++;
      i++;
      continue;
    }
    if (SPACES.has(c)) {
      i++;
      continue;
    }
    if (c === CH_SLASH && src.charCodeAt(i + 1) === CH_SLASH) {
      const end = src.indexOf("\n", i);
      i = end < 0 ? n : end;
      continue;
    }
    if (c === CH_SLASH && src.charCodeAt(i + 1) === CH_STAR) {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      for (let k = i; k < stop; k++) if (src.charCodeAt(k) === CH_NEWLINE) line++;
      i = stop;
      continue;
    }
    if (isNameStart(c)) {
      const start = i;
      while (i < n && isNamePart(src.charCodeAt(i))) i++;
      const value = src.slice(start, i);
      tokens.push({ kind: "name", value, line });
      regexAllowed = REGEX_AFTER_WORD.has(value);
      continue;
    }
    if (isDigit(c)) {
      while (i < n && (isNamePart(src.charCodeAt(i)) || src.charCodeAt(i) === CH_DOT)) i++;
      regexAllowed = false;
      continue;
    }
    if (c === CH_DOUBLE_QUOTE || c === CH_SINGLE_QUOTE) {
      const startLine = line;
      const start = ++i;
      let escaped = false;
      while (i < n && src.charCodeAt(i) !== c) {
        const s = src.charCodeAt(i);
        if (s === CH_BACKSLASH) {
          if (src.charCodeAt(i + 1) === CH_NEWLINE) line++;
          escaped = true;
          i += 2;
          continue;
        }
        if (s === CH_NEWLINE) break;
        i++;
      }
      const raw = src.slice(start, i);
      i++;
      // Specifiers hold no escapes in practice; an escaped character stands for itself, enough to compare paths.
      const value = escaped ? raw.replace(/\\([\s\S])/g, "$1") : raw;
      tokens.push({ kind: "string", value, line: startLine });
      regexAllowed = false;
      continue;
    }
    if (c === CH_BACKTICK) {
      i++;
      skipTemplateText();
      regexAllowed = false;
      continue;
    }
    if (c === CH_SLASH && regexAllowed) {
      i++;
      let inClass = false;
      while (i < n) {
        const r = src.charCodeAt(i);
        if (r === CH_NEWLINE) break;
        if (r === CH_BACKSLASH) i++;
        else if (r === CH_OPEN_BRACKET) inClass = true;
        else if (r === CH_CLOSE_BRACKET) inClass = false;
        else if (r === CH_SLASH && !inClass) break;
        i++;
      }
      i++;
      while (i < n && isNamePart(src.charCodeAt(i))) i++;
      regexAllowed = false;
      continue;
    }
    if (templates.length > 0) {
      const top = templates.length - 1;
      if (c === CH_OPEN_BRACE) templates[top]++;
      else if (c === CH_CLOSE_BRACE) {
        if (templates[top] === 0) {
          templates.pop();
          i++;
          skipTemplateText();
          regexAllowed = false;
          continue;
        }
        templates[top]--;
      }
    }
    const value = src[i];
    tokens.push({ kind: "punct", value, line });
    regexAllowed = REGEX_AFTER_PUNCT.has(value);
    i++;
  }
  return tokens;
}

/** Upper bound on tokens between `import` and its `from`, so a stray keyword cannot scan the whole file. */
const MAX_CLAUSE_TOKENS = 2000;

/** The index of the `from "…"` string ending an import or export clause that starts at `start`, or -1. */
function findFrom(tokens: readonly Token[], start: number): number {
  const stop = Math.min(tokens.length - 1, start + MAX_CLAUSE_TOKENS);
  for (let j = start; j < stop; j++) {
    const t = tokens[j];
    if (t.kind === "punct" && t.value === ";") return -1;
    if (t.kind === "name" && t.value === "from" && tokens[j + 1].kind === "string") return j + 1;
  }
  return -1;
}

function isPunct(t: Token | undefined, value: string): boolean {
  return t !== undefined && t.kind === "punct" && t.value === value;
}

function isName(t: Token | undefined, value: string): boolean {
  return t !== undefined && t.kind === "name" && t.value === value;
}

/** The tokens of `new URL(<string>, import.meta.url)` after the string, in order. */
const URL_BASE = [",", "import", ".", "meta", ".", "url", ")"];

/** True when `tokens[i]` starts `new URL("…", import.meta.url)`. */
function isPathReference(tokens: readonly Token[], i: number): boolean {
  if (!isName(tokens[i + 1], "URL") || !isPunct(tokens[i + 2], "(") || tokens[i + 3]?.kind !== "string") return false;
  return URL_BASE.every((value, k) => tokens[i + 4 + k]?.value === value && tokens[i + 4 + k].kind !== "string");
}

/** The imports of one source file, in order of appearance. */
export function scanImports(source: string): ImportRef[] {
  const tokens = tokenize(source);
  const out: ImportRef[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === "name" && t.value === "new" && isPathReference(tokens, i)) {
      out.push({ specifier: tokens[i + 3].value, kind: "path", typeOnly: false, line: t.line });
      continue;
    }
    if (t.kind !== "name" || (t.value !== "import" && t.value !== "export")) continue;
    // `x.import` and `x?.import` are property names.
    if (isPunct(tokens[i - 1], ".")) continue;
    const next = tokens[i + 1];
    if (next === undefined) break;
    if (t.value === "import") {
      if (isPunct(next, "(")) {
        const arg = tokens[i + 2];
        const after = tokens[i + 3];
        if (arg?.kind === "string" && (isPunct(after, ")") || isPunct(after, ","))) {
          const typeOnly = isName(tokens[i - 1], "typeof");
          out.push({ specifier: arg.value, kind: "dynamic", typeOnly, line: t.line });
        }
        continue;
      }
      if (next.kind === "string") {
        out.push({ specifier: next.value, kind: "import", typeOnly: false, line: t.line });
        continue;
      }
      if (!(next.kind === "name" || isPunct(next, "{") || isPunct(next, "*"))) continue;
      const from = findFrom(tokens, i + 1);
      if (from < 0) continue;
      // `import type from "x"` and `import type, { a } from "x"` import a default export named `type`.
      const typeOnly = isName(next, "type") && from !== i + 3 && !isPunct(tokens[i + 2], ",");
      out.push({ specifier: tokens[from].value, kind: "import", typeOnly, line: t.line });
      continue;
    }
    const typeOnly = isName(next, "type");
    const clause = typeOnly ? i + 2 : i + 1;
    if (!(isPunct(tokens[clause], "{") || isPunct(tokens[clause], "*"))) continue;
    let end = clause;
    if (isPunct(tokens[clause], "{")) {
      while (end < tokens.length && !isPunct(tokens[end], "}")) end++;
    } else {
      end = isName(tokens[clause + 1], "as") ? clause + 2 : clause;
    }
    if (isName(tokens[end + 1], "from") && tokens[end + 2]?.kind === "string") {
      out.push({ specifier: tokens[end + 2].value, kind: "reexport", typeOnly, line: t.line });
    }
  }
  return out;
}
