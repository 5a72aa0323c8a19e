// Parses alert templates: Go text/template's syntax for text, actions (`{{ pipeline }}`), comments, `{{- -}}`
// trimming, `if`/`else if`/`else`, `range` (with `break`, `continue`), `with`, `define`/`template`/`block`,
// variables and pipelines. Like Go, it
// rejects unknown functions and undefined variables at parse time; errors read `template: NAME:LINE: message`.

import type { Command, Operand, ParsedTemplate, Pipeline, TemplateNode } from "./ast.ts";

/** Longest template accepted, in UTF-16 units (labels and annotations are short; this bounds hostile input). */
export const MAX_TEMPLATE_LENGTH = 64 * 1024;
/** Deepest nesting of control structures and parenthesized pipelines. */
export const MAX_TEMPLATE_DEPTH = 50;

/** A template parse error; `message` is Go's `template: NAME:LINE: ...` text. */
export class TemplateSyntaxError extends Error {}

const SPACE = /[ \t\r\n]/;
const IDENT_START = /[A-Za-z_]/;
const IDENT = /[A-Za-z0-9_]/;
const KEYWORDS = new Set(["if", "else", "end", "range", "with", "break", "continue", "define", "template", "block"]);

/** What closed a list: `{{end}}`, `{{else}}` (with the rest of its action), or the end of the text. */
type ListEnd = { kind: "end" } | { kind: "else"; rest: string } | { kind: "eof" };

/** Parses `text`; `isFunc` tells which function names exist, `vars` which variables are predefined (`$` always). */
export function parseTemplate(
  text: string,
  name: string,
  isFunc: (fn: string) => boolean,
  vars: readonly string[],
): ParsedTemplate {
  return new TemplateParser(text, name, isFunc, vars).parse();
}

class TemplateParser {
  private pos = 0;
  private line = 1;
  private depth = 0;
  private rangeDepth = 0;
  private scopes: string[] = ["$"];
  private readonly defines = new Map<string, TemplateNode[]>();
  // The action being read: its text (between the delimiters, trim markers removed) and a cursor into it.
  private act = "";
  private ap = 0;

  constructor(
    private readonly text: string,
    private readonly name: string,
    private readonly isFunc: (fn: string) => boolean,
    vars: readonly string[],
  ) {
    this.scopes.push(...vars);
    if (text.length > MAX_TEMPLATE_LENGTH) this.fail(`template longer than ${MAX_TEMPLATE_LENGTH} characters`);
  }

  parse(): ParsedTemplate {
    const { nodes, end } = this.list();
    if (end.kind === "end") this.fail("unexpected {{end}}");
    if (end.kind === "else") this.fail("unexpected {{else}}");
    return { main: nodes, defines: this.defines };
  }

  private fail(msg: string): never {
    throw new TemplateSyntaxError(`template: ${this.name}:${this.line}: ${msg}`);
  }

  /** Reads nodes until `{{end}}`, `{{else ...}}` or the end of the text. */
  private list(): { nodes: TemplateNode[]; end: ListEnd } {
    const nodes: TemplateNode[] = [];
    for (;;) {
      const open = this.text.indexOf("{{", this.pos);
      const textEnd = open < 0 ? this.text.length : open;
      let chunk = this.text.slice(this.pos, textEnd);
      const trimLeft = open >= 0 && this.text[open + 2] === "-" && SPACE.test(this.text[open + 3] ?? "");
      if (trimLeft) chunk = chunk.replace(/[ \t\r\n]+$/, "");
      if (chunk !== "") nodes.push({ kind: "text", text: chunk });
      this.advanceTo(textEnd);
      if (open < 0) return { nodes, end: { kind: "eof" } };
      const node = this.action(trimLeft);
      if (node === null) continue;
      if ("end" in node) return { nodes, end: node.end };
      nodes.push(node.node);
    }
  }

  private advanceTo(p: number): void {
    for (let i = this.pos; i < p; i++) if (this.text.charCodeAt(i) === 10) this.line++;
    this.pos = p;
  }

  /** Reads one `{{...}}` at `pos`; null for a comment. */
  private action(trimLeft: boolean): { node: TemplateNode } | { end: ListEnd } | null {
    const start = this.pos + (trimLeft ? 4 : 2);
    const close = this.findClose(start);
    const trimRight = close > start && this.text[close - 1] === "-" && SPACE.test(this.text[close - 2] ?? "");
    this.act = this.text.slice(start, trimRight ? close - 2 : close);
    this.ap = 0;
    const line = this.line;
    this.advanceTo(close + 2);
    if (trimRight) {
      const m = /^[ \t\r\n]*/.exec(this.text.slice(this.pos))?.[0] ?? "";
      this.advanceTo(this.pos + m.length);
    }
    const saved = this.line;
    this.line = line;
    const r = this.actionBody();
    this.line = saved;
    return r;
  }

  /** The index of the `}}` closing the action that starts at `from`, skipping quoted strings and comments. */
  private findClose(from: number): number {
    const t = this.text;
    if (/^[ \t\r\n]*\/\*/.test(t.slice(from, from + 64))) {
      const end = t.indexOf("*/", from);
      if (end < 0) this.fail("unclosed comment");
      const close = t.indexOf("}}", end + 2);
      if (close < 0 || t.slice(end + 2, close).replace(/^[ \t\r\n]*-?/, "") !== "")
        this.fail("comment ends before closing delimiter");
      return close;
    }
    let i = from;
    while (i < t.length) {
      const c = t[i];
      if (c === "}" && t[i + 1] === "}") return i;
      if (c === '"' || c === "`" || c === "'") {
        const q = c;
        i++;
        while (i < t.length && t[i] !== q) {
          if (q !== "`" && t[i] === "\\") i++;
          else if (q !== "`" && t[i] === "\n") this.fail("unterminated quoted string");
          i++;
        }
        if (i >= t.length) this.fail("unterminated quoted string");
      }
      i++;
    }
    return this.fail("unclosed action");
  }

  private actionBody(): { node: TemplateNode } | { end: ListEnd } | null {
    this.skipSpace();
    if (this.act.startsWith("/*", this.ap)) return null;
    const word = this.peekIdent();
    if (word !== null && KEYWORDS.has(word)) {
      this.ap += word.length;
      const next = this.act[this.ap];
      if (next !== undefined && !SPACE.test(next) && !".,|:()".includes(next)) {
        this.fail(`bad character ${JSON.stringify(next)} after ${word}`);
      }
      switch (word) {
        case "end":
          this.expectEnd("end");
          return { end: { kind: "end" } };
        case "else":
          return { end: { kind: "else", rest: this.act.slice(this.ap) } };
        case "if":
        case "with":
        case "range":
          return { node: this.control(word) };
        case "break":
        case "continue":
          if (this.rangeDepth === 0) this.fail(`{{${word}}} outside {{range}}`);
          this.expectEnd(word);
          return { node: { kind: word } };
        case "define":
          if (this.depth > 0) this.fail("unexpected <define> in command");
          {
            const name = this.templateName("define");
            this.expectEnd("define clause");
            this.define(name);
          }
          return null;
        case "template":
        case "block": {
          const line = this.line;
          const name = this.templateName(word);
          this.skipSpace();
          const pipe = this.ap < this.act.length ? this.pipeline(word, false) : null;
          if (word === "block") {
            if (pipe === null) this.fail("missing value for block");
            this.define(name);
          }
          return { node: { kind: "template", name, pipe, line } };
        }
        default:
          return this.fail(`unexpected <${word}>`);
      }
    }
    const pipe = this.pipeline("command", false);
    return { node: { kind: "action", pipe } };
  }

  /** The quoted name after `define`, `template` or `block`. */
  private templateName(context: string): string {
    this.skipSpace();
    const c = this.act[this.ap];
    if (c !== '"' && c !== "`") {
      this.fail(`unexpected ${JSON.stringify(this.act.slice(this.ap).trim())} in ${context} clause`);
    }
    const name = this.stringLiteral();
    if (name.kind !== "string") return this.fail(`bad name in ${context} clause`);
    return name.value;
  }

  /** The body of a named template, through its `{{end}}`, parsed in a scope of its own (only `$`). */
  private define(name: string): void {
    if (this.defines.has(name)) this.fail(`multiple definition of template "${name}"`);
    const saved = this.scopes;
    const savedRange = this.rangeDepth;
    this.scopes = ["$"];
    this.rangeDepth = 0;
    this.depth++;
    const body = this.list();
    this.depth--;
    this.scopes = saved;
    this.rangeDepth = savedRange;
    if (body.end.kind !== "end") this.fail("unexpected EOF");
    this.defines.set(name, body.nodes);
  }

  private expectEnd(what: string): void {
    this.skipSpace();
    if (this.ap < this.act.length) this.fail(`unexpected ${JSON.stringify(this.act.slice(this.ap))} in ${what}`);
  }

  /** `if`, `with` or `range` after its keyword, through its `{{end}}`; `else if`/`else with` nest. */
  private control(kind: "if" | "with" | "range"): TemplateNode {
    if (++this.depth > MAX_TEMPLATE_DEPTH) this.fail(`nesting deeper than ${MAX_TEMPLATE_DEPTH}`);
    const mark = this.scopes.length;
    const pipe = this.pipeline(kind, kind === "range");
    if (kind === "range") this.rangeDepth++;
    const body = this.list();
    if (kind === "range") this.rangeDepth--;
    let elseNodes: TemplateNode[] = [];
    if (body.end.kind === "eof") this.fail("unexpected EOF");
    if (body.end.kind === "else") {
      const rest = body.end.rest;
      const chained = /^[ \t\r\n]+(if|with)\b/.exec(rest);
      if (chained !== null && chained[1] !== "range") {
        this.act = rest;
        this.ap = chained[0].length;
        elseNodes = [this.control(chained[1] as "if" | "with")];
      } else {
        if (rest.trim() !== "") this.fail(`unexpected ${JSON.stringify(rest.trim())} in else`);
        const tail = this.list();
        if (tail.end.kind === "eof") this.fail("unexpected EOF");
        if (tail.end.kind === "else") this.fail(`expected end; found {{else}}`);
        elseNodes = tail.nodes;
      }
    }
    this.scopes.length = mark;
    this.depth--;
    return { kind, pipe, body: body.nodes, else: elseNodes };
  }

  /** A pipeline up to the end of the action or a `)`; `context` names it in errors. */
  private pipeline(context: string, allowTwoVars: boolean, inParens = false): Pipeline {
    const line = this.line;
    const decl = this.declaration(allowTwoVars);
    const commands: Command[] = [];
    for (;;) {
      this.skipSpace();
      const args: Operand[] = [];
      for (;;) {
        this.skipSpace();
        const c = this.act[this.ap];
        if (c === undefined || c === "|" || c === ")") break;
        args.push(this.operand());
      }
      if (args.length === 0) this.fail(`missing value for ${context}`);
      commands.push({ args });
      const c = this.act[this.ap];
      if (c === "|") {
        this.ap++;
        this.skipSpace();
        // Go's parser accepts a pipe with nothing after it (`{{ x | }}`): the pipeline just ends there.
        const next = this.act[this.ap];
        if (next === undefined || (next === ")" && inParens)) break;
        continue;
      }
      if (c === ")" && !inParens) this.fail(`unexpected ")" in ${context}`);
      break;
    }
    for (let i = 1; i < commands.length; i++) {
      const first = commands[i].args[0];
      if (first.kind !== "func" && first.kind !== "dot" && first.kind !== "var" && first.kind !== "pipe") {
        this.fail(`non executable command in pipeline stage ${i + 1}`);
      }
    }
    if (decl !== null) this.scopes.push(...decl.vars);
    return { vars: decl?.vars ?? [], assign: decl?.assign ?? false, commands, line };
  }

  /** `$x :=`, `$x =` or (in range) `$i, $v :=` at the cursor, consumed; null when the pipeline declares nothing. */
  private declaration(allowTwoVars: boolean): { vars: string[]; assign: boolean } | null {
    const m = /^[ \t\r\n]*(\$[A-Za-z0-9_]*)[ \t\r\n]*(?:,[ \t\r\n]*(\$[A-Za-z0-9_]*)[ \t\r\n]*)?(:=|=(?!=))/.exec(
      this.act.slice(this.ap),
    );
    if (m === null) return null;
    const vars = m[2] === undefined ? [m[1]] : [m[1], m[2]];
    if (vars.length === 2 && !allowTwoVars) this.fail("too many declarations in command");
    const assign = m[3] === "=";
    if (assign) for (const v of vars) this.checkVar(v);
    this.ap += m[0].length;
    return { vars, assign };
  }

  private checkVar(name: string): void {
    if (!this.scopes.includes(name)) this.fail(`undefined variable "${name}"`);
  }

  private skipSpace(): void {
    while (this.ap < this.act.length && SPACE.test(this.act[this.ap])) this.ap++;
  }

  private peekIdent(): string | null {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.act.slice(this.ap));
    return m === null ? null : m[0];
  }

  /** Field names written right after an operand: `.a.b`. */
  private chain(): string[] {
    const out: string[] = [];
    while (this.act[this.ap] === "." && IDENT_START.test(this.act[this.ap + 1] ?? "")) {
      this.ap++;
      const id = this.peekIdent() as string;
      this.ap += id.length;
      out.push(id);
    }
    return out;
  }

  private operand(): Operand {
    const a = this.act;
    const c = a[this.ap];
    if (c === ".") {
      if (IDENT_START.test(a[this.ap + 1] ?? "")) {
        const chain = this.chain();
        this.afterOperand();
        return { kind: "dot", chain };
      }
      if (!/[0-9]/.test(a[this.ap + 1] ?? "")) {
        this.ap++;
        this.afterOperand();
        return { kind: "dot", chain: [] };
      }
    }
    if (c === "$") {
      this.ap++;
      let name = "$";
      while (this.ap < a.length && IDENT.test(a[this.ap])) name += a[this.ap++];
      this.checkVar(name);
      const chain = this.chain();
      this.afterOperand();
      return { kind: "var", name, chain };
    }
    if (c === "(") {
      if (++this.depth > MAX_TEMPLATE_DEPTH) this.fail(`nesting deeper than ${MAX_TEMPLATE_DEPTH}`);
      this.ap++;
      const pipe = this.pipeline("parenthesized pipeline", false, true);
      if (a[this.ap] !== ")") this.fail("unclosed left paren");
      this.ap++;
      this.depth--;
      const chain = this.chain();
      this.afterOperand();
      return { kind: "pipe", pipe, chain };
    }
    if (c === '"' || c === "`") return this.stringLiteral();
    if (c === "'") return this.charLiteral();
    if (/[0-9+\-.]/.test(c)) return this.number();
    const id = this.peekIdent();
    if (id === null) this.fail(`unexpected ${JSON.stringify(c)} in operand`);
    this.ap += id.length;
    if (id === "true" || id === "false" || id === "nil") {
      this.afterOperand();
      return id === "nil" ? { kind: "nil" } : { kind: "bool", value: id === "true" };
    }
    if (KEYWORDS.has(id)) this.fail(`unexpected <${id}> in command`);
    if (!this.isFunc(id)) this.fail(`function "${id}" not defined`);
    // Go accepts fields after a function name (`fn.Field`): the function runs without arguments, then the fields.
    const chain = this.chain();
    this.afterOperand();
    return { kind: "func", name: id, chain };
  }

  /** An operand must be followed by a space, `|`, `)` or the end of the action. */
  private afterOperand(): void {
    const c = this.act[this.ap];
    if (c !== undefined && !SPACE.test(c) && c !== "|" && c !== ")") {
      this.fail(`unexpected ${JSON.stringify(c)} in operand`);
    }
  }

  private stringLiteral(): Operand {
    const a = this.act;
    const q = a[this.ap];
    let i = this.ap + 1;
    while (a[i] !== q) i += q === '"' && a[i] === "\\" ? 2 : 1;
    const raw = a.slice(this.ap, i + 1);
    this.ap = i + 1;
    this.afterOperand();
    if (q === "`") return { kind: "string", value: raw.slice(1, -1) };
    return { kind: "string", value: this.unquote(raw) };
  }

  private charLiteral(): Operand {
    const a = this.act;
    let i = this.ap + 1;
    while (a[i] !== "'") i += a[i] === "\\" ? 2 : 1;
    const raw = a.slice(this.ap, i + 1);
    this.ap = i + 1;
    const s = this.unquote(`"${raw.slice(1, -1).replace(/"/g, '\\"')}"`);
    const cp = s.codePointAt(0);
    if (cp === undefined || String.fromCodePoint(cp) !== s) this.fail(`malformed character constant: ${raw}`);
    return { kind: "int", value: BigInt(cp) };
  }

  /** Go's interpreted string literal escapes. */
  private unquote(raw: string): string {
    const body = raw.slice(1, -1);
    let out = "";
    for (let i = 0; i < body.length; i++) {
      const ch = body[i];
      if (ch !== "\\") {
        out += ch;
        continue;
      }
      const e = body[++i];
      const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", f: "\f", v: "\v" };
      if (e in simple) out += simple[e];
      else if (e === "\\" || e === '"' || e === "'") out += e;
      else if (e === "x" || e === "u" || e === "U") {
        const n = e === "x" ? 2 : e === "u" ? 4 : 8;
        const hex = body.slice(i + 1, i + 1 + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) this.fail(`invalid syntax: ${raw}`);
        out += String.fromCodePoint(Number.parseInt(hex, 16));
        i += n;
      } else if (/[0-7]/.test(e)) {
        const oct = body.slice(i, i + 3);
        if (!/^[0-7]{3}$/.test(oct)) this.fail(`invalid syntax: ${raw}`);
        out += String.fromCharCode(Number.parseInt(oct, 8));
        i += 2;
      } else this.fail(`invalid syntax: ${raw}`);
    }
    return out;
  }

  private number(): Operand {
    const m = /^[+-]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9_]*\.?[0-9_]*(?:[eE][+-]?[0-9_]+)?)/.exec(
      this.act.slice(this.ap),
    );
    const text = m?.[0] ?? "";
    this.ap += text.length;
    this.afterOperand();
    const clean = text.replace(/_/g, "");
    if (/^[+-]?0[xXoObB]/.test(clean)) {
      const neg = clean.startsWith("-");
      const v = BigInt(clean.replace(/^[+-]/, ""));
      return { kind: "int", value: neg ? -v : v };
    }
    if (/^[+-]?[0-9]+$/.test(clean)) return { kind: "int", value: BigInt(clean) };
    const f = Number(clean);
    if (clean === "" || clean === "." || Number.isNaN(f)) this.fail(`bad number syntax: ${JSON.stringify(text)}`);
    return { kind: "float", value: f };
  }
}
