import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { CA_DIR, LEAF_VALIDITY_DAYS, LocalCa } from "./cert-authority.ts";
import { CertCache } from "./cert-cache.ts";

const made: string[] = [];
const tmp = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "contrail-ca-"));
  made.push(dir);
  return dir;
};
after(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});
const DAY_MS = 86_400_000;

test("the CA is made once, kept in the data directory and read back by later starts", () => {
  const dir = tmp();
  const first = LocalCa.openOrCreate(dir);
  const second = LocalCa.openOrCreate(dir);
  assert.equal(second.certPem, first.certPem);
  assert.equal(first.certPath, path.join(dir, CA_DIR, "ca.pem"));
  assert.equal(fs.statSync(path.join(dir, CA_DIR, "ca-key.pem")).mode & 0o777, 0o600);
  const cert = new X509Certificate(first.certPem);
  assert.ok(cert.ca);
  assert.ok(cert.verify(cert.publicKey), "self-signed");
  // A leaf issued by the second start chains to the first start's certificate.
  const leaf = new X509Certificate(second.issue("api.localhost").certPem);
  assert.ok(leaf.checkIssued(cert) && leaf.verify(cert.publicKey));
  assert.equal(leaf.ca, false);
  assert.equal(leaf.checkHost("api.localhost"), "api.localhost");
  assert.equal(leaf.checkHost("other.localhost"), undefined);
});

test("a server certificate is valid from shortly before its issue for LEAF_VALIDITY_DAYS", () => {
  const ca = LocalCa.openOrCreate(tmp());
  const now = new Date("2027-03-01T12:00:00Z");
  const issued = ca.issue("web.localhost", now);
  const leaf = new X509Certificate(issued.certPem);
  assert.ok(Date.parse(leaf.validFrom) < now.getTime());
  assert.equal(Date.parse(leaf.validTo), now.getTime() + LEAF_VALIDITY_DAYS * DAY_MS);
  assert.equal(issued.notAfterMs, Date.parse(leaf.validTo));
  assert.notEqual(leaf.serialNumber, new X509Certificate(ca.issue("web.localhost", now).certPem).serialNumber);
});

test("a damaged CA is refused with a clear error", () => {
  const dir = tmp();
  LocalCa.openOrCreate(dir);
  fs.writeFileSync(path.join(dir, CA_DIR, "ca.pem"), "not a certificate");
  assert.throws(() => LocalCa.openOrCreate(dir), /edge CA in .*edge-ca/);
});

test("processes starting together on one data directory end up with one CA", async () => {
  const dir = tmp();
  const module = fileURLToPath(new URL("./cert-authority.ts", import.meta.url));
  const script = `import { LocalCa } from ${JSON.stringify(module)}; process.stdout.write(LocalCa.openOrCreate(${JSON.stringify(dir)}).certPem);`;
  const run = () =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]);
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
      });
      child.on("error", reject);
      child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
    });
  const pems = await Promise.all([run(), run(), run()]);
  assert.equal(new Set(pems).size, 1);
  assert.equal(pems[0], fs.readFileSync(path.join(dir, CA_DIR, "ca.pem"), "utf8"));
  assert.deepEqual(fs.readdirSync(dir), [CA_DIR], "no temporary folders left");
});

test("the certificate cache issues once per name, keeps at most `max` names and renews before expiry", () => {
  const cache = new CertCache(LocalCa.openOrCreate(tmp()), 2);
  const t0 = Date.parse("2027-01-01T00:00:00Z");
  const a = cache.context("a.localhost", t0);
  assert.equal(cache.context("a.localhost", t0 + 1000), a);
  cache.context("b.localhost", t0);
  cache.context("a.localhost", t0);
  cache.context("c.localhost", t0); // evicts b, the least recently used
  assert.equal(cache.size, 2);
  assert.equal(cache.issued, 3);
  assert.equal(cache.context("a.localhost", t0), a);
  cache.context("b.localhost", t0);
  assert.equal(cache.issued, 4);
  // Within a day of its end, a certificate is issued again.
  assert.notEqual(cache.context("b.localhost", t0 + (LEAF_VALIDITY_DAYS - 0.5) * DAY_MS), a);
  assert.equal(cache.issued, 5);
});
