import assert from "node:assert/strict";
import { test } from "node:test";
import { StringInterner } from "./intern.ts";

test("intern returns the first equal string and counts distinct ones", () => {
  const interner = new StringInterner();
  const a1 = ["job", "=", "api"].join("");
  const a2 = ["jo", "b=api"].join("");
  assert.equal(interner.intern(a1), a1);
  assert.equal(interner.intern(a2), a1);
  assert.equal(interner.intern(""), "");
  assert.equal(interner.size, 2);
  interner.intern("other");
  assert.equal(interner.size, 3);
});

test("clear forgets strings but keeps returned ones valid", () => {
  const interner = new StringInterner();
  const s = interner.intern("abc");
  interner.clear();
  assert.equal(interner.size, 0);
  assert.equal(s, "abc");
  assert.equal(interner.intern("abc"), "abc");
  assert.equal(interner.size, 1);
});
