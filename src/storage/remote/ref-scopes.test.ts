import assert from "node:assert/strict";
import { test } from "node:test";
import { RefScopes } from "./ref-scopes.ts";

test("scopes get numbers from 1, null 0; past the bound the holder forgets and numbering starts over", () => {
  const scopes = new RefScopes(2);
  const [a, b, c] = [{}, {}, {}];
  let forgotten = 0;
  const forget = () => forgotten++;
  assert.equal(scopes.numberOf(null, forget), 0);
  assert.equal(scopes.numberOf(a, forget), 1);
  assert.equal(scopes.numberOf(b, forget), 2);
  assert.equal(scopes.numberOf(a, forget), 1);
  assert.equal(scopes.scopeOf(2), b);
  assert.equal(scopes.scopeOf(0), null);
  assert.equal(forgotten, 0);
  assert.equal(scopes.numberOf(c, forget), 1);
  assert.equal(forgotten, 1);
  assert.equal(scopes.scopeOf(1), c);
  assert.equal(scopes.numberOf(a, forget), 2, "a is numbered afresh");
});
