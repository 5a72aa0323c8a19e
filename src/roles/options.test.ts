import assert from "node:assert/strict";
import { test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import {
  checkEdges,
  formatEdgeSpec,
  hostIdFor,
  MAX_ALERTMANAGERS,
  parseAlertmanagerUrls,
  parseEdgeSpec,
  parseExternalLabels,
  parseQueueMaxBytes,
  parseServeRoles,
  tcpPortOffsets,
  tlsAddressOf,
} from "./options.ts";

test("parseEdgeSpec reads REGION=HOST:PORT and rejects anything else", () => {
  assert.deepEqual(parseEdgeSpec("ord=127.0.0.1:8080"), { region: "ord", address: "127.0.0.1:8080" });
  assert.deepEqual(parseEdgeSpec("ams=[::1]:0"), { region: "ams", address: "[::1]:0" });
  assert.deepEqual(parseEdgeSpec("syd=localhost:80"), { region: "syd", address: "localhost:80" });
  const withTls = parseEdgeSpec("ord=127.0.0.1:8080,tls=127.0.0.1:8443");
  assert.deepEqual(withTls, { region: "ord", address: "127.0.0.1:8080", tlsAddress: "127.0.0.1:8443" });
  assert.equal(formatEdgeSpec(withTls), "ord=127.0.0.1:8080,tls=127.0.0.1:8443");
  assert.equal(tlsAddressOf(parseEdgeSpec("ams=[::1]:8081")), "[::1]:0");
  for (const bad of [
    "ord=127.0.0.1:1,tls=",
    "ord=127.0.0.1:1,tls=8443",
    "ord=127.0.0.1:1,tls=127.0.0.1:99999",
    "ord",
    "ord=",
    "ORD=127.0.0.1:1",
    "ordx=127.0.0.1:1",
    "ord=127.0.0.1",
    "ord=1.2.3.4:70000",
    "=1:1",
  ]) {
    assert.throws(
      () => parseEdgeSpec(bad),
      (e) => isContrailError(e, "bad_data") && /REGION=HOST:PORT/.test(e.message),
      bad,
    );
  }
});

test("checkEdges refuses a region given twice", () => {
  const ord = { region: "ord", address: "127.0.0.1:1" };
  assert.equal(checkEdges([ord]).length, 1);
  assert.throws(() => checkEdges([ord, { ...ord, address: "127.0.0.1:2" }]), /region ord given twice/);
});

test("host ids are 4 hex digits, stable per machine and role", () => {
  const a = hostIdFor("edge/ord", "box");
  assert.match(a, /^[0-9a-f]{4}$/);
  assert.equal(hostIdFor("edge/ord", "box"), a);
  assert.notEqual(hostIdFor("edge/ams", "box"), a);
  assert.notEqual(hostIdFor("edge/ord", "other"), a);
});

test("TCP service offsets: 1000 apart for listeners sharing an IP", () => {
  const edges = [
    { region: "ord", address: "127.0.0.1:8080" },
    { region: "ams", address: "127.0.0.1:8081" },
    { region: "fra", address: "127.0.0.2:8080" },
    { region: "syd", address: "127.0.0.1:8082" },
  ];
  assert.deepEqual(tcpPortOffsets(edges), [0, 1000, 0, 2000]);
});

test("parseAlertmanagerUrls takes http and https base URLs and refuses anything else", () => {
  assert.deepEqual(parseAlertmanagerUrls(["http://127.0.0.1:9093", "https://am.example.com/prefix/"]), [
    "http://127.0.0.1:9093",
    "https://am.example.com/prefix/",
  ]);
  assert.deepEqual(parseAlertmanagerUrls([]), []);
  const refused: [string[], RegExp][] = [
    [["127.0.0.1:9093"], /expected an http or https URL/],
    [["ftp://am:21"], /expected an http or https URL/],
    [[`http://a/${"x".repeat(2048)}`], /at most 2048 characters/],
    [["http://a:1", "http://a:1"], /given twice/],
    [Array.from({ length: MAX_ALERTMANAGERS + 1 }, (_, i) => `http://a:${i + 1}`), /11 given, the limit is 10/],
  ];
  for (const [urls, pattern] of refused) {
    assert.throws(
      () => parseAlertmanagerUrls(urls),
      (e: unknown) => isContrailError(e, "bad_data") && pattern.test((e as Error).message),
    );
  }
});

test("parseExternalLabels reads NAME=VALUE pairs; org, bad names and repeats are refused", () => {
  assert.deepEqual(parseExternalLabels(["cluster=eu-1", "replica=a=b", "empty="]), {
    cluster: "eu-1",
    replica: "a=b",
    empty: "",
  });
  const refused: [string[], RegExp][] = [
    [["cluster"], /expected NAME=VALUE/],
    [["1bad=x"], /expected NAME=VALUE/],
    [[`v=${"x".repeat(1025)}`], /at most 1024 characters/],
    [["org=acme"], /org is set to each alert's org/],
    [["a=1", "a=2"], /a given twice/],
    [Array.from({ length: 21 }, (_, i) => `l${i}=x`), /21 given, the limit is 20/],
  ];
  for (const [pairs, pattern] of refused) {
    assert.throws(
      () => parseExternalLabels(pairs),
      (e: unknown) => isContrailError(e, "bad_data") && pattern.test((e as Error).message),
    );
  }
});

test("parseServeRoles reads a comma-separated subset of api, scrape, rules", () => {
  assert.deepEqual([...parseServeRoles("api")], ["api"]);
  assert.deepEqual([...parseServeRoles("scrape, rules")], ["scrape", "rules"]);
  assert.deepEqual([...parseServeRoles("api,scrape,rules")], ["api", "scrape", "rules"]);
  for (const bad of ["", "api,", "api,api", "web", "API"]) {
    assert.throws(
      () => parseServeRoles(bad),
      (e) => isContrailError(e, "bad_data") && e.message.startsWith("--roles: a comma-separated list of api, scrape"),
      bad,
    );
  }
});

test("--storage-queue-max: bytes or KiB to TiB, from 1 MiB to 1 TiB, anything else refused naming the flag", () => {
  assert.equal(parseQueueMaxBytes("512MiB"), 512 * 1024 * 1024);
  assert.equal(parseQueueMaxBytes("1048576"), 1024 * 1024);
  assert.equal(parseQueueMaxBytes("2GiB"), 2 * 1024 ** 3);
  assert.equal(parseQueueMaxBytes("1TiB"), 1024 ** 4);
  for (const bad of ["1KiB", "2TiB", "512MB", "-1", "", "1.5GiB", "9".repeat(30)]) {
    assert.throws(
      () => parseQueueMaxBytes(bad),
      (e: unknown) =>
        isContrailError(e, "bad_data") && /--storage-queue-max: expected a size from 1MiB/.test((e as Error).message),
    );
  }
});
