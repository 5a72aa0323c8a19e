// PromQL token types with Prometheus's item names, the keyword tables, how syntax errors name a token, and the
// character classes of the lexer.

import { quoteString, quoteTruncated } from "./literals.ts";

/** Token types, named as Prometheus names its lexer items. */
export type TokenType =
  | "EOF"
  | "ERROR"
  | "COMMENT"
  | "IDENTIFIER"
  | "METRIC_IDENTIFIER"
  | "NUMBER"
  | "DURATION"
  | "STRING"
  | "EQL"
  | "BLANK"
  | "COLON"
  | "COMMA"
  | "LEFT_BRACE"
  | "LEFT_BRACKET"
  | "LEFT_PAREN"
  | "OPEN_HIST"
  | "CLOSE_HIST"
  | "RIGHT_BRACE"
  | "RIGHT_BRACKET"
  | "RIGHT_PAREN"
  | "SEMICOLON"
  | "SPACE"
  | "TIMES"
  | HistogramDescType
  | OperatorType
  | AggregatorType
  | KeywordType
  | PreprocessorType
  | CounterResetType;

/** Keys of a native histogram literal in series descriptions. */
export type HistogramDescType =
  | "SUM_DESC"
  | "COUNT_DESC"
  | "SCHEMA_DESC"
  | "OFFSET_DESC"
  | "NEGATIVE_OFFSET_DESC"
  | "BUCKETS_DESC"
  | "NEGATIVE_BUCKETS_DESC"
  | "ZERO_BUCKET_DESC"
  | "ZERO_BUCKET_WIDTH_DESC"
  | "CUSTOM_VALUES_DESC"
  | "COUNTER_RESET_HINT_DESC";

/** Operator tokens (Prometheus prints them as `<op:+>` in syntax errors). */
export type OperatorType =
  | "ADD"
  | "DIV"
  | "EQLC"
  | "EQL_REGEX"
  | "GTE"
  | "GTR"
  | "TRIM_UPPER"
  | "TRIM_LOWER"
  | "LAND"
  | "LOR"
  | "LSS"
  | "LTE"
  | "LUNLESS"
  | "MOD"
  | "MUL"
  | "NEQ"
  | "NEQ_REGEX"
  | "POW"
  | "SUB"
  | "AT"
  | "ATAN2";

/** Aggregation operator tokens. */
export type AggregatorType =
  | "AVG"
  | "BOTTOMK"
  | "COUNT"
  | "COUNT_VALUES"
  | "GROUP"
  | "MAX"
  | "MIN"
  | "QUANTILE"
  | "STDDEV"
  | "STDVAR"
  | "SUM"
  | "TOPK"
  | "LIMITK"
  | "LIMIT_RATIO";

/** Modifier keywords. */
export type KeywordType =
  | "BOOL"
  | "BY"
  | "GROUP_LEFT"
  | "GROUP_RIGHT"
  | "FILL"
  | "FILL_LEFT"
  | "FILL_RIGHT"
  | "IGNORING"
  | "OFFSET"
  | "SMOOTHED"
  | "ANCHORED"
  | "ON"
  | "WITHOUT";

/** `start`, `end` and the duration-expression words. */
export type PreprocessorType = "START" | "END" | "STEP" | "RANGE" | "MAX_OF" | "MIN_OF";

/** Counter reset hints of histogram literals. */
export type CounterResetType = "UNKNOWN_COUNTER_RESET" | "COUNTER_RESET" | "NOT_COUNTER_RESET" | "GAUGE_TYPE";

/** One lexed item: its type, the byte offset where it starts, and its text (the message for ERROR). */
export interface Token {
  readonly type: TokenType;
  readonly pos: number;
  readonly val: string;
}

/** A token with its end offset (exclusive), as the parser uses it. */
export interface SpannedToken extends Token {
  readonly end: number;
}

const OPERATORS: ReadonlySet<TokenType> = new Set<OperatorType>([
  "ADD",
  "DIV",
  "EQLC",
  "EQL_REGEX",
  "GTE",
  "GTR",
  "TRIM_UPPER",
  "TRIM_LOWER",
  "LAND",
  "LOR",
  "LSS",
  "LTE",
  "LUNLESS",
  "MOD",
  "MUL",
  "NEQ",
  "NEQ_REGEX",
  "POW",
  "SUB",
  "AT",
  "ATAN2",
]);

/** Word (lower-cased) to token type: operators, aggregators, keywords, preprocessors; `inf`/`nan` are numbers. */
export const KEYWORDS: ReadonlyMap<string, TokenType> = new Map<string, TokenType>([
  ["and", "LAND"],
  ["or", "LOR"],
  ["unless", "LUNLESS"],
  ["atan2", "ATAN2"],
  ["sum", "SUM"],
  ["avg", "AVG"],
  ["count", "COUNT"],
  ["min", "MIN"],
  ["max", "MAX"],
  ["group", "GROUP"],
  ["stddev", "STDDEV"],
  ["stdvar", "STDVAR"],
  ["topk", "TOPK"],
  ["bottomk", "BOTTOMK"],
  ["count_values", "COUNT_VALUES"],
  ["quantile", "QUANTILE"],
  ["limitk", "LIMITK"],
  ["limit_ratio", "LIMIT_RATIO"],
  ["offset", "OFFSET"],
  ["smoothed", "SMOOTHED"],
  ["anchored", "ANCHORED"],
  ["by", "BY"],
  ["without", "WITHOUT"],
  ["on", "ON"],
  ["ignoring", "IGNORING"],
  ["group_left", "GROUP_LEFT"],
  ["group_right", "GROUP_RIGHT"],
  ["fill", "FILL"],
  ["fill_left", "FILL_LEFT"],
  ["fill_right", "FILL_RIGHT"],
  ["bool", "BOOL"],
  ["start", "START"],
  ["end", "END"],
  ["step", "STEP"],
  ["range", "RANGE"],
  ["max_of", "MAX_OF"],
  ["min_of", "MIN_OF"],
  ["inf", "NUMBER"],
  ["nan", "NUMBER"],
]);

/** The aggregation operators' tokens (`sum`, `topk`, ...). */
export const AGGREGATOR_TOKENS: ReadonlySet<TokenType> = new Set<AggregatorType>([
  "AVG",
  "BOTTOMK",
  "COUNT",
  "COUNT_VALUES",
  "GROUP",
  "MAX",
  "MIN",
  "QUANTILE",
  "STDDEV",
  "STDVAR",
  "SUM",
  "TOPK",
  "LIMITK",
  "LIMIT_RATIO",
]);

const KEYWORD_TYPES: ReadonlySet<TokenType> = new Set<KeywordType>([
  "BOOL",
  "BY",
  "GROUP_LEFT",
  "GROUP_RIGHT",
  "FILL",
  "FILL_LEFT",
  "FILL_RIGHT",
  "IGNORING",
  "OFFSET",
  "SMOOTHED",
  "ANCHORED",
  "ON",
  "WITHOUT",
]);

/** Keys of histogram literals (lower-cased) to their token types. */
export const HISTOGRAM_DESC: ReadonlyMap<string, HistogramDescType> = new Map<string, HistogramDescType>([
  ["sum", "SUM_DESC"],
  ["count", "COUNT_DESC"],
  ["schema", "SCHEMA_DESC"],
  ["offset", "OFFSET_DESC"],
  ["n_offset", "NEGATIVE_OFFSET_DESC"],
  ["buckets", "BUCKETS_DESC"],
  ["n_buckets", "NEGATIVE_BUCKETS_DESC"],
  ["z_bucket", "ZERO_BUCKET_DESC"],
  ["z_bucket_w", "ZERO_BUCKET_WIDTH_DESC"],
  ["custom_values", "CUSTOM_VALUES_DESC"],
  ["counter_reset_hint", "COUNTER_RESET_HINT_DESC"],
]);

/** Values of `counter_reset_hint:` to their token types. */
export const COUNTER_RESET_HINTS: ReadonlyMap<string, CounterResetType> = new Map<string, CounterResetType>([
  ["unknown", "UNKNOWN_COUNTER_RESET"],
  ["reset", "COUNTER_RESET"],
  ["not_reset", "NOT_COUNTER_RESET"],
  ["gauge", "GAUGE_TYPE"],
]);

/** Words recognised inside brackets (duration expressions). */
export const DURATION_KEYWORDS: ReadonlyMap<string, TokenType> = new Map<string, TokenType>([
  ["step", "STEP"],
  ["range", "RANGE"],
  ["max_of", "MAX_OF"],
  ["min_of", "MIN_OF"],
]);

// Fixed spellings of punctuation tokens, as Prometheus's item-type table lists them.
const PUNCTUATION: ReadonlySet<TokenType> = new Set<TokenType>([
  "OPEN_HIST",
  "CLOSE_HIST",
  "LEFT_PAREN",
  "RIGHT_PAREN",
  "LEFT_BRACE",
  "RIGHT_BRACE",
  "LEFT_BRACKET",
  "RIGHT_BRACKET",
  "COMMA",
  "EQL",
  "COLON",
  "SEMICOLON",
  "BLANK",
  "TIMES",
  "SPACE",
]);

const KEYWORD_VALUES: ReadonlySet<TokenType> = new Set([...KEYWORDS.values()].filter((t) => t !== "NUMBER"));

/** True for tokens Prometheus classifies as operators. */
export function isOperatorToken(t: TokenType): boolean {
  return OPERATORS.has(t);
}

/** True for aggregation operator tokens. */
export function isAggregatorToken(t: TokenType): boolean {
  return AGGREGATOR_TOKENS.has(t);
}

// Prometheus's Item.String().
function tokenString(t: Token): string {
  if (t.type === "EOF") return "EOF";
  if (t.type === "ERROR") return t.val;
  if (t.type === "IDENTIFIER" || t.type === "METRIC_IDENTIFIER") return quoteString(t.val);
  if (KEYWORD_TYPES.has(t.type)) return `<${t.val}>`;
  if (OPERATORS.has(t.type)) return `<op:${t.val}>`;
  if (AGGREGATOR_TOKENS.has(t.type)) return `<aggr:${t.val}>`;
  return quoteTruncated(t.val);
}

const TYPE_DESC: Partial<Record<TokenType, string>> = {
  ERROR: "error",
  EOF: "end of input",
  COMMENT: "comment",
  IDENTIFIER: "identifier",
  METRIC_IDENTIFIER: "metric identifier",
  STRING: "string",
  NUMBER: "number",
  DURATION: "duration",
};

/** How a syntax error names a token: `end of input`, `identifier "foo"`, `<op:*>`, `"("`, `number "5"`. */
export function describeToken(t: Token): string {
  if (PUNCTUATION.has(t.type) || OPERATORS.has(t.type) || KEYWORD_VALUES.has(t.type)) return tokenString(t);
  if (t.type === "EOF") return "end of input";
  const desc = TYPE_DESC[t.type] ?? quoteString(t.type);
  return `${desc} ${tokenString(t)}`;
}

/** Keywords that may also name a metric at the start of an expression (IDENTIFIER included). */
export const METRIC_NAME_TOKENS: ReadonlySet<TokenType> = new Set<TokenType>([
  "IDENTIFIER",
  "METRIC_IDENTIFIER",
  "BY",
  "WITHOUT",
  "FILL",
  "FILL_LEFT",
  "FILL_RIGHT",
  "LAND",
  "LOR",
  "LUNLESS",
  "OFFSET",
  "START",
  "END",
  "STEP",
  "RANGE",
  "ANCHORED",
  "SMOOTHED",
  "MAX_OF",
  "MIN_OF",
]);

// ---- characters --------------------------------------------------------------------------------------------------

/** What `Lexer.next()` returns at the end of the input. */
export const EOF_RUNE = -1;
/** U+FFFD, which also stands for an invalid UTF-8 byte. */
export const RUNE_ERROR = 0xfffd;

/** Where the lexer is in a native histogram literal of a series description. */
export const HistogramState = { None: 0, Open: 1, Mul: 2, Add: 3, Sub: 4 } as const;

/** Decimal digits. */
export const DIGITS = "0123456789";
/** Hexadecimal digits. */
export const HEX_DIGITS = "0123456789abcdefABCDEF";

/** ASCII space, tab, newline, carriage return. */
export function isSpace(r: number): boolean {
  return r === 0x20 || r === 0x09 || r === 0x0a || r === 0x0d;
}

/** 0-9 only (never other scripts' digits). */
export function isDigit(r: number): boolean {
  return r >= 0x30 && r <= 0x39;
}

/** Letters a-z, A-Z and the underscore. */
export function isAlpha(r: number): boolean {
  return r === 0x5f || (r >= 0x61 && r <= 0x7a) || (r >= 0x41 && r <= 0x5a);
}

/** isAlpha or isDigit. */
export function isAlphaNumeric(r: number): boolean {
  return isAlpha(r) || isDigit(r);
}

/** True when the code point `r` is one of the ASCII characters of `set`. */
export function inSet(set: string, r: number): boolean {
  return r >= 0 && r < 0x80 && set.includes(String.fromCharCode(r));
}
