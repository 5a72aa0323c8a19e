import assert from "node:assert/strict";
import { test } from "node:test";
import type { Authenticated } from "../control/index.ts";
import { type Authenticator, checkAccess, REFUSALS, tokenFromHeader } from "./auth.ts";

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

test("tokenFromHeader reads Bearer tokens and the password of Basic auth", () => {
  const cases: [string | undefined, string | null][] = [
    [undefined, null],
    ["", null],
    ["Bearer ct_abc", "ct_abc"],
    ["bearer ct_abc", "ct_abc"],
    ["BEARER   ct_abc  ", "ct_abc"],
    ["Bearer ", null],
    ["Bearer", null],
    [basic("user", "ct_abc"), "ct_abc"],
    [basic("", "ct_abc"), "ct_abc"],
    [basic("user", "pass:with:colons"), "pass:with:colons"],
    [basic("user", ""), null],
    [`Basic ${Buffer.from("nocolon").toString("base64")}`, null],
    ["Basic !!!", null],
    ["Token ct_abc", null],
    [`Bearer ${"x".repeat(5000)}`, null],
  ];
  for (const [header, token] of cases) assert.equal(tokenFromHeader(header), token, String(header));
});

test("401 and 403 refusals have bodies of the same length and the same headers", () => {
  const a = REFUSALS.unauthorized;
  const b = REFUSALS.forbidden;
  assert.equal(a.status, 401);
  assert.equal(b.status, 403);
  assert.equal(Buffer.byteLength(a.body), Buffer.byteLength(b.body));
  assert.deepEqual(Object.keys(a.headers).sort(), Object.keys(b.headers).sort());
  assert.deepEqual(JSON.parse(a.body).status, "error");
  assert.deepEqual(JSON.parse(b.body).errorType, "forbidden");
});

test("checkAccess: 401 without a valid token, 403 for another org or a missing scope", () => {
  const known: Record<string, Authenticated> = {
    ct_reader: { tokenId: "r", orgId: "acme", scopes: ["read"] },
    ct_writer: { tokenId: "w", orgId: "acme", scopes: ["write"] },
  };
  const seen: string[] = [];
  const auth: Authenticator = (t) => {
    seen.push(t);
    return known[t] ?? null;
  };
  const check = (header: string | undefined, org: string) => checkAccess(auth, { header, org, scope: "read" });
  assert.equal(check("Bearer ct_reader", "acme").ok, true);
  assert.equal(check(basic("grafana", "ct_reader"), "acme").ok, true);
  const refused = (header: string | undefined, org: string) => {
    const r = check(header, org);
    return r.ok ? 200 : r.refusal.status;
  };
  assert.equal(refused(undefined, "acme"), 401);
  assert.equal(refused("Bearer ct_unknown", "acme"), 401);
  assert.equal(refused("Bearer ct_reader", "other"), 403);
  assert.equal(refused("Bearer ct_reader", "no-such-org"), 403);
  assert.equal(refused("Bearer ct_writer", "acme"), 403);
  // The org in the URL is never looked at before the token is: the authenticator saw only tokens.
  assert.ok(!seen.includes("acme") && !seen.includes("other"));
});
