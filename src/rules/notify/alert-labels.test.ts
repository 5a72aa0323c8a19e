import assert from "node:assert/strict";
import { test } from "node:test";
import { fingerprint, labelsForDelivery } from "./alert-labels.ts";

/** FNV-1a 64 the plain way (BigInt over TextEncoder's bytes), to check the two-halves arithmetic against. */
function reference(labels: Record<string, string>): string {
  let h = 0xcbf29ce484222325n;
  const mix = (b: number) => {
    h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  };
  const encoder = new TextEncoder();
  for (const name of Object.keys(labels).sort()) {
    for (const b of encoder.encode(name)) mix(b);
    mix(0xff);
    for (const b of encoder.encode(labels[name])) mix(b);
    mix(0xff);
  }
  return h.toString(16).padStart(16, "0");
}

test("fingerprint: FNV-1a 64 over sorted labels, UTF-8 encoded, lone surrogates as U+FFFD", () => {
  assert.equal(fingerprint({}), "cbf29ce484222325", "the offset basis for no labels");
  const cases: Record<string, string>[] = [
    { alertname: "HighLatency", org: "acme" },
    { org: "acme", alertname: "HighLatency" },
    { city: "Zürich", script: "日本語", emoji: "😀" },
    { odd: "a\ud800b", tail: "\udc00" },
    { "": "", k: "ߟࠀ￿𐀀" },
  ];
  for (const labels of cases) assert.equal(fingerprint(labels), reference(labels), JSON.stringify(labels));
  assert.equal(fingerprint(cases[0]), fingerprint(cases[1]), "label order does not matter");
  assert.notEqual(fingerprint({ a: "bc" }), fingerprint({ ab: "c" }), "the separator keeps names and values apart");
});

test("labelsForDelivery: external labels fill in, the alert's own win over them, org wins over all; sorted", () => {
  const out = labelsForDelivery(
    "acme",
    { region: "ams", org: "spoofed", alertname: "A" },
    { region: "ord", cluster: "eu", org: "x" },
  );
  assert.deepEqual(out, { alertname: "A", cluster: "eu", org: "acme", region: "ams" });
  assert.deepEqual(Object.keys(out), ["alertname", "cluster", "org", "region"]);
});
