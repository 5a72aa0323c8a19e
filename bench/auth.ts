// Cost of the token check every API request makes: `authenticate` (hash the token, read its row from control.db)
// against `TokenCache.authenticate` (hash, read the token-change counter, answer from memory). A file database in
// WAL mode with 1,000 tokens, as `contrail up` keeps it. Microseconds per check, median of 5 runs.
// Run: npm run bench -- auth

import crypto from "node:crypto";
import { rmSync } from "node:fs";
import { authenticate, createToken, openControlDb, TokenCache } from "../src/control/index.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { type Figure, printFigures, timeRuns } from "./harness.ts";

const TOKENS = 1_000;
const CHECKS = 20_000;
const MICROS_PER_MS = 1_000;

const dir = scratchDir("contrail-bench-auth-");
const db = openControlDb({ dataDir: dir });
const tokens: string[] = [];
for (let i = 0; i < TOKENS; i++) tokens.push(createToken(db, { org: "personal" }).token);
const valid = tokens[TOKENS >> 1];
const unknown = `ct_${crypto.randomBytes(32).toString("base64url")}`;
const cache = new TokenCache(db);

/** Times CHECKS calls of `check(token)`; per-run cost in microseconds per check. */
async function perCheck(check: (token: string) => unknown, token: string): Promise<number[]> {
  const runs = await timeRuns(() => {
    for (let i = 0; i < CHECKS; i++) check(token);
  });
  return runs.map((ms) => (ms * MICROS_PER_MS) / CHECKS);
}

const cases: [string, string][] = [
  ["valid token", valid],
  ["unknown token", unknown],
];
const ours: Figure[] = [];
const before: Figure[] = [];
for (const [name, token] of cases) {
  if (cache.authenticate(token) === null && token === valid) throw new Error("the valid token was refused");
  ours.push({
    name,
    unit: "µs/check",
    runs: await perCheck((t) => cache.authenticate(t), token),
    higherIsBetter: false,
  });
  before.push({
    name,
    unit: "µs/check",
    runs: await perCheck((t) => authenticate(db, t), token),
    higherIsBetter: false,
  });
}
printFigures("token check per API request (TokenCache vs authenticate)", ours, { uncached: before });
db.close();
rmSync(dir, { recursive: true, force: true });
