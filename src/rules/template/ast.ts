// The syntax tree of an alert template (the subset of Go's text/template that Prometheus alert rules use).

/** An operand of a command. `chain` holds field names applied after the operand (`.Labels.job`, `$x.Value`). */
export type Operand =
  | { readonly kind: "dot"; readonly chain: readonly string[] }
  | { readonly kind: "var"; readonly name: string; readonly chain: readonly string[] }
  | { readonly kind: "func"; readonly name: string; readonly chain: readonly string[] }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "int"; readonly value: bigint }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "nil" }
  | { readonly kind: "pipe"; readonly pipe: Pipeline; readonly chain: readonly string[] };

/** One command of a pipeline: a function and its arguments, or a single operand. */
export interface Command {
  readonly args: readonly Operand[];
}

/** `$a, $b := cmd | cmd`: declared (`:=`) or assigned (`=`) variables, then the commands. */
export interface Pipeline {
  readonly vars: readonly string[];
  readonly assign: boolean;
  readonly commands: readonly Command[];
  /** 1-based line of the action, for error messages. */
  readonly line: number;
}

/** A node of a template's body. */
export type TemplateNode =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "action"; readonly pipe: Pipeline }
  | { readonly kind: "if"; readonly pipe: Pipeline; readonly body: TemplateNode[]; readonly else: TemplateNode[] }
  | { readonly kind: "with"; readonly pipe: Pipeline; readonly body: TemplateNode[]; readonly else: TemplateNode[] }
  | { readonly kind: "range"; readonly pipe: Pipeline; readonly body: TemplateNode[]; readonly else: TemplateNode[] }
  | { readonly kind: "template"; readonly name: string; readonly pipe: Pipeline | null; readonly line: number }
  | { readonly kind: "break" }
  | { readonly kind: "continue" };

/** A parsed template: its body and the templates it defines (`{{define}}`, `{{block}}`) by name. */
export interface ParsedTemplate {
  readonly main: readonly TemplateNode[];
  readonly defines: ReadonlyMap<string, readonly TemplateNode[]>;
}
