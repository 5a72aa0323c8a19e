import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ImportRef, scanImports } from "./scan.ts";

/** The imports of `src` as compact strings: `kind specifier` with ` (type)` for type-only ones. */
function scan(src: string): string[] {
  return scanImports(src).map((r: ImportRef) => `${r.kind} ${r.specifier}${r.typeOnly ? " (type)" : ""}`);
}

describe("scanImports", () => {
  const cases: { name: string; src: string; want: string[] }[] = [
    { name: "named", src: `import { a, b as c } from "./a.ts";`, want: ["import ./a.ts"] },
    { name: "default and namespace", src: `import d, * as ns from './a.ts'`, want: ["import ./a.ts"] },
    { name: "side effect", src: `import "./setup.ts";`, want: ["import ./setup.ts"] },
    { name: "import type", src: `import type { A } from "./a.ts";`, want: ["import ./a.ts (type)"] },
    { name: "import type default", src: `import type A from "./a.ts";`, want: ["import ./a.ts (type)"] },
    { name: "default named type", src: `import type from "./a.ts";`, want: ["import ./a.ts"] },
    { name: "default named type and more", src: `import type, { a } from "./a.ts";`, want: ["import ./a.ts"] },
    // Kept as `import {} from` under verbatimModuleSyntax, so the module still runs.
    { name: "inline type specifiers", src: `import { type A, type B } from "./a.ts";`, want: ["import ./a.ts"] },
    { name: "multi-line", src: `import {\n  a,\n  b,\n} from "./a.ts";`, want: ["import ./a.ts"] },
    { name: "re-export names", src: `export { a, type B } from "./a.ts";`, want: ["reexport ./a.ts"] },
    { name: "re-export all", src: `export * from "./a.ts";`, want: ["reexport ./a.ts"] },
    { name: "re-export namespace", src: `export * as ns from "./a.ts";`, want: ["reexport ./a.ts"] },
    { name: "export type from", src: `export type { A } from "./a.ts";`, want: ["reexport ./a.ts (type)"] },
    { name: "export type all", src: `export type * from "./a.ts";`, want: ["reexport ./a.ts (type)"] },
    { name: "local export list", src: `const a = 1;\nexport { a };\nexport type T = 1;`, want: [] },
    { name: "dynamic", src: `const m = await import("./a.ts");`, want: ["dynamic ./a.ts"] },
    {
      name: "dynamic with options",
      src: `await import("./a.json", { with: { type: "json" } });`,
      want: ["dynamic ./a.json"],
    },
    // biome-ignore lint/suspicious/noTemplateCurlyInString: TypeScript source holding a template is under test
    { name: "dynamic computed", src: "await import(name); await import(`./${x}.ts`);", want: [] },
    { name: "typeof import", src: `type M = typeof import("./a.ts");`, want: ["dynamic ./a.ts (type)"] },
    { name: "import.meta", src: "const m = import.meta.dirname;", want: [] },
    { name: "path reference", src: "new Worker(new URL('./w.ts', import.meta.url));", want: ["path ./w.ts"] },
    { name: "URL of a folder", src: "new URL(`../../x/`, import.meta.url); new URL(a, import.meta.url);", want: [] },
    { name: "member named import", src: `loader.import("./a.ts"); x.export;`, want: [] },
    { name: "object key", src: `const o = { import: 1, export: 2 };`, want: [] },
    { name: "line comment", src: `// import "./a.ts";\nimport "./b.ts";`, want: ["import ./b.ts"] },
    { name: "block comment", src: `/* import "./a.ts"; */ export * from "./b.ts";`, want: ["reexport ./b.ts"] },
    { name: "string", src: `const s = 'import "./a.ts"';`, want: [] },
    { name: "template text", src: 'const s = `import { a } from "./a.ts";`;', want: [] },
    {
      name: "template holding code",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: TypeScript source holding a template is under test
      src: "const s = `x ${f({ a: `import('./a.ts')` })} y`;\nimport './b.ts';",
      want: ["import ./b.ts"],
    },
    { name: "regex with quote", src: `const r = /["'\`]/g;\nimport "./a.ts";`, want: ["import ./a.ts"] },
    { name: "regex class with slash", src: `const r = /[/]"/;\nimport "./a.ts";`, want: ["import ./a.ts"] },
    { name: "division", src: `const x = a / b / c;\nimport "./a.ts";`, want: ["import ./a.ts"] },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(scan(c.src), c.want));
  }

  it("gives 1-based lines", () => {
    const refs = scanImports(`// header\n\nimport {\n  a,\n} from "./a.ts";\n/*\n*/\nawait import("./b.ts");\n`);
    assert.deepEqual(
      refs.map((r) => [r.specifier, r.line]),
      [
        ["./a.ts", 3],
        ["./b.ts", 8],
      ],
    );
  });
});
