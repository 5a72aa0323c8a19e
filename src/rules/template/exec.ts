// Executes a parsed alert template with Go text/template's semantics (missingkey=zero, as Prometheus sets it):
// pipelines pass their value as the last argument of the next command, `and`/`or` short-circuit, variables are
// scoped to their control structure. Bounded: output length, range iterations and queries per execution.

import type { Command, Operand, ParsedTemplate, Pipeline, TemplateNode } from "./ast.ts";
import { FUNCS, type FuncContext } from "./funcs.ts";
import { isTrue, printValue, TStruct, type TValue, typeName } from "./values.ts";

/** Longest output of one expansion, in UTF-16 units. */
export const MAX_TEMPLATE_OUTPUT = 64 * 1024;
/** Most `range` iterations of one expansion, across all its loops. */
export const MAX_RANGE_ITERATIONS = 10_000;
/** Most `query` calls of one expansion. */
export const MAX_TEMPLATE_QUERIES = 10;
/** Deepest nesting of `{{template}}` calls (a template may call itself). */
export const MAX_TEMPLATE_CALL_DEPTH = 50;

/** An execution error; `message` is Go's `template: NAME:LINE: executing "NAME" ...` text. */
export class TemplateExecError extends Error {}

type Flow = "break" | "continue" | undefined;

/** Runs `template` with `data` as dot and `$`; resolves with the output, rejects with TemplateExecError. */
export async function executeTemplate(
  template: ParsedTemplate,
  name: string,
  data: TValue,
  vars: ReadonlyMap<string, TValue>,
  ctx: FuncContext,
): Promise<string> {
  const ex = new Executor(name, data, vars, ctx, template.defines);
  await ex.walk(template.main, data);
  return ex.out;
}

class Executor {
  out = "";
  private iterations = 0;
  private queries = 0;
  private line = 1;
  private vars: { name: string; value: TValue }[] = [];
  private callDepth = 0;
  /** Output held by the callers of the template being run, counted against the output bound. */
  private heldLength = 0;
  private readonly ctx: FuncContext;

  constructor(
    private readonly name: string,
    data: TValue,
    vars: ReadonlyMap<string, TValue>,
    ctx: FuncContext,
    private readonly defines: ReadonlyMap<string, readonly TemplateNode[]>,
  ) {
    this.vars.push({ name: "$", value: data });
    for (const [k, v] of vars) this.vars.push({ name: k, value: v });
    this.ctx = {
      externalUrl: ctx.externalUrl,
      evalTimeMs: ctx.evalTimeMs,
      query:
        ctx.query === null
          ? null
          : (expr) => {
              if (++this.queries > MAX_TEMPLATE_QUERIES) {
                throw new Error(`more than ${MAX_TEMPLATE_QUERIES} queries in one template`);
              }
              return (ctx.query as (e: string) => Promise<readonly TValue[]>)(expr);
            },
    };
  }

  private fail(msg: string): never {
    throw new TemplateExecError(`template: ${this.name}:${this.line}: executing "${this.name}": ${msg}`);
  }

  private write(s: string): void {
    if (this.heldLength + this.out.length + s.length > MAX_TEMPLATE_OUTPUT)
      this.fail(`output longer than ${MAX_TEMPLATE_OUTPUT} characters`);
    this.out += s;
  }

  async walk(nodes: readonly TemplateNode[], dot: TValue): Promise<Flow> {
    for (const n of nodes) {
      const flow = await this.node(n, dot);
      if (flow !== undefined) return flow;
    }
    return undefined;
  }

  private async node(n: TemplateNode, dot: TValue): Promise<Flow> {
    switch (n.kind) {
      case "text":
        this.write(n.text);
        return undefined;
      case "action": {
        const v = await this.pipeline(n.pipe, dot);
        if (n.pipe.vars.length === 0) this.write(printValue(v));
        return undefined;
      }
      case "if":
      case "with": {
        const mark = this.vars.length;
        const v = await this.pipeline(n.pipe, dot);
        const flow = isTrue(v) ? await this.walk(n.body, n.kind === "with" ? v : dot) : await this.walk(n.else, dot);
        this.vars.length = mark;
        return flow;
      }
      case "range":
        return await this.range(n, dot);
      case "template": {
        this.line = n.line;
        const arg = n.pipe === null ? null : await this.pipeline(n.pipe, dot);
        this.write(await this.callTemplate(n.name, arg));
        return undefined;
      }
      case "break":
      case "continue":
        return n.kind;
    }
  }

  /** Runs the named template with `dot` as its data and `$`, in a variable scope of its own; returns its output. */
  private async callTemplate(name: string, dot: TValue): Promise<string> {
    const body = this.defines.get(name);
    if (body === undefined) return this.fail(`template "${name}" not defined`);
    if (++this.callDepth > MAX_TEMPLATE_CALL_DEPTH)
      this.fail(`templates nested deeper than ${MAX_TEMPLATE_CALL_DEPTH}`);
    const savedVars = this.vars;
    const savedOut = this.out;
    this.vars = [{ name: "$", value: dot }];
    this.heldLength += savedOut.length;
    this.out = "";
    try {
      await this.walk(body, dot);
      return this.out;
    } finally {
      this.callDepth--;
      this.vars = savedVars;
      this.heldLength -= savedOut.length;
      this.out = savedOut;
    }
  }

  private async range(n: Extract<TemplateNode, { kind: "range" }>, dot: TValue): Promise<Flow> {
    const mark = this.vars.length;
    const v = await this.pipeline({ ...n.pipe, vars: [] }, dot);
    let entries: [TValue, TValue][];
    if (v === null) entries = [];
    else if (Array.isArray(v)) entries = v.map((e, i) => [BigInt(i), e]);
    else if (v instanceof Map) entries = [...v.keys()].sort().map((k) => [k, v.get(k) as TValue]);
    else if (typeof v === "bigint")
      entries = Array.from({ length: Math.max(0, Math.min(Number(v), MAX_RANGE_ITERATIONS + 1)) }, (_, i) => [
        BigInt(i),
        BigInt(i),
      ]);
    else return this.fail(`range can't iterate over ${printValue(v)}`);
    if (entries.length === 0) {
      const flow = await this.walk(n.else, dot);
      this.vars.length = mark;
      return flow;
    }
    const [first, second] = n.pipe.vars;
    for (const [key, elem] of entries) {
      if (++this.iterations > MAX_RANGE_ITERATIONS) this.fail(`more than ${MAX_RANGE_ITERATIONS} range iterations`);
      this.vars.length = mark;
      if (second !== undefined) this.vars.push({ name: first, value: key }, { name: second, value: elem });
      else if (first !== undefined) this.vars.push({ name: first, value: elem });
      const flow = await this.walk(n.body, elem);
      if (flow === "break") break;
    }
    this.vars.length = mark;
    return undefined;
  }

  private async pipeline(p: Pipeline, dot: TValue): Promise<TValue> {
    this.line = p.line;
    let value: TValue | undefined;
    for (const cmd of p.commands) value = await this.command(cmd, dot, value);
    const result = value ?? null;
    for (const name of p.vars) {
      if (p.assign) {
        const slot = this.findVar(name);
        slot.value = result;
      } else this.vars.push({ name, value: result });
    }
    return result;
  }

  private findVar(name: string): { name: string; value: TValue } {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i];
    return this.fail(`undefined variable: ${name}`);
  }

  private async command(cmd: Command, dot: TValue, final: TValue | undefined): Promise<TValue> {
    const [head, ...rest] = cmd.args;
    if (head.kind === "func" && head.chain.length === 0) return await this.call(head.name, rest, dot, final);
    if (rest.length > 0 || final !== undefined) this.fail(`can't give argument to non-function ${describe(head)}`);
    return await this.operand(head, dot);
  }

  private async call(
    name: string,
    argOps: readonly Operand[],
    dot: TValue,
    final: TValue | undefined,
  ): Promise<TValue> {
    if (name === "and" || name === "or") {
      const all = argOps.length + (final === undefined ? 0 : 1);
      if (all === 0) this.fail(`wrong number of args for ${name}: want at least 1 got 0`);
      let v: TValue = null;
      for (let i = 0; i < all; i++) {
        v = i < argOps.length ? await this.operand(argOps[i], dot) : (final as TValue);
        if (isTrue(v) === (name === "or")) return v;
      }
      return v;
    }
    const args: TValue[] = [];
    for (const op of argOps) args.push(await this.operand(op, dot));
    if (final !== undefined) args.push(final);
    const fn = FUNCS.get(name);
    if (fn === undefined) return this.fail(`function "${name}" not defined`);
    try {
      return await fn(this.ctx, args);
    } catch (err) {
      if (err instanceof TemplateExecError) throw err;
      return this.fail(`error calling ${name}: ${(err as Error).message}`);
    }
  }

  private async operand(op: Operand, dot: TValue): Promise<TValue> {
    switch (op.kind) {
      case "dot":
        return this.fields(dot, op.chain);
      case "var":
        return this.fields(this.findVar(op.name).value, op.chain);
      case "pipe":
        return this.fields(await this.pipeline(op.pipe, dot), op.chain);
      case "func":
        return this.fields(await this.call(op.name, [], dot, undefined), op.chain);
      case "string":
      case "int":
      case "float":
      case "bool":
        return op.value;
      case "nil":
        return this.fail("nil is not a command");
    }
  }

  private fields(v: TValue, chain: readonly string[]): TValue {
    let cur = v;
    for (const f of chain) {
      if (cur instanceof TStruct) {
        const next = cur.fields.get(f);
        if (next === undefined) this.fail(`can't evaluate field ${f} in type ${cur.typeName}`);
        cur = next;
      } else if (cur instanceof Map) {
        // missingkey=zero: an absent key reads as the map's zero value, "" for string maps.
        cur = (cur as ReadonlyMap<string, TValue>).get(f) ?? "";
      } else if (cur === null) {
        this.fail(`nil pointer evaluating interface {}.${f}`);
      } else {
        this.fail(`can't evaluate field ${f} in type ${typeName(cur)}`);
      }
    }
    return cur;
  }
}

function describe(op: Operand): string {
  switch (op.kind) {
    case "dot":
      return op.chain.length === 0 ? "." : `.${op.chain.join(".")}`;
    case "var":
      return [op.name, ...op.chain].join(".");
    case "string":
      return JSON.stringify(op.value);
    case "int":
    case "float":
    case "bool":
      return String(op.value);
    default:
      return op.kind;
  }
}
