// Hostile templates: thousands of random token soups must parse or fail with a parse error (never throw anything
// else), and every template that parses must expand (or fail into its error text) without hanging.

import assert from "node:assert/strict";
import { test } from "node:test";
import { mulberry32 } from "../../testkit/random.ts";
import { randomTemplate } from "../testkit.ts";
import { checkTemplate, expandAlertTemplate } from "./index.ts";

const CASES = 3_000;

test("random templates parse or report a parse error, and expand without throwing", async () => {
  const rand = mulberry32(16);
  let parsed = 0;
  for (let i = 0; i < CASES; i++) {
    const text = randomTemplate(rand);
    const problem = checkTemplate(text, "__alert_Fuzz");
    if (problem !== null) {
      assert.match(problem, /^template: __alert_Fuzz:\d+: /, text);
      continue;
    }
    parsed++;
    const out = await expandAlertTemplate(text, "__alert_Fuzz", {
      labels: { job: "api" },
      externalLabels: {},
      externalUrl: "",
      value: 1,
      query: async () => [{ labels: { job: "api" }, value: 2 }],
    });
    assert.equal(typeof out, "string");
  }
  assert.ok(parsed > CASES / 10, `only ${parsed} of ${CASES} parsed: the generator is too hostile to test expansion`);
});
