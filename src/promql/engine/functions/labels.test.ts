import assert from "node:assert/strict";
import { test } from "node:test";
import { Labels } from "../../../model/labels.ts";
import { MemoryStore } from "../../../storage/memory.ts";
import { Engine } from "../index.ts";

function store(): MemoryStore {
  const s = new MemoryStore();
  const app = s.appender();
  app.append(Labels.fromRecord({ __name__: "m", src: "Ünïcode-42", path: "/api/v1" }), 0, 1);
  app.commit();
  return s;
}

// label_replace runs RE2 syntax (translated), not JavaScript's: inline flags, Unicode classes and Go's
// template expansion, where `$1x` names a group "1x" (unknown, so empty) and `${1}x` is group 1 then "x".
test("label_replace uses RE2 syntax and Go's template expansion", async () => {
  const cases: [string, string, string][] = [
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Go's template syntax is what is under test
    ["(?i)ü(N)", "${1}", ""],
    ["(?i)ÜNÏ(.*)", "$1", "code-42"],
    ["(\\pL+)-(?P<num>\\d+)", "$num:$1", "42:Ünïcode"],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Go's template syntax is what is under test
    ["(\\pL+)-(\\d+)", "$1x|${1}x|$$", "|Ünïcodex|$"],
    ["(?P<a>\\pL+)-(?P<a>\\d+)", "$a", "Ünïcode"],
  ];
  const engine = new Engine();
  for (const [re, repl, want] of cases) {
    const r = await engine.instantQuery(
      store(),
      `label_replace(m, "dst", "${repl}", "src", "${re.replaceAll("\\", "\\\\")}")`,
      0,
    );
    assert.equal(r.value.type, "vector");
    if (r.value.type !== "vector") continue;
    assert.equal(r.value.samples[0].labels.get("dst"), want, `${re} → ${repl}`);
  }
});

test("label_replace rejects invalid RE2 and invalid destination names", async () => {
  const engine = new Engine();
  await assert.rejects(
    engine.instantQuery(store(), 'label_replace(m, "dst", "", "src", "(?=x)")', 0),
    /invalid regular expression/,
  );
  await assert.rejects(
    engine.instantQuery(store(), 'label_replace(m, "\\xff", "", "src", "(.*)")', 0),
    /invalid destination label name/,
  );
});
