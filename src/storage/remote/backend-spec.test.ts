import assert from "node:assert/strict";
import { test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { backendEndpoints, formatStorageSpec, ORG_LABEL, parseStorageSpec } from "./backend-spec.ts";

test("parseStorageSpec reads every kind and formats it back", () => {
  for (const text of [
    "embedded",
    "victoriametrics=http://vm:8428",
    "vmcluster=http://vminsert:8480,http://vmselect:8481",
    "mimir=https://mimir.example/base",
  ]) {
    assert.equal(formatStorageSpec(parseStorageSpec(text)), text);
  }
  assert.deepEqual(parseStorageSpec("victoriametrics=http://vm:8428/"), {
    kind: "victoriametrics",
    url: "http://vm:8428",
  });
});

test("parseStorageSpec names the problem of a bad flag", () => {
  const cases: [string, RegExp][] = [
    ["sqlite", /expected one of embedded, victoriametrics=URL, vmcluster=INSERT_URL,SELECT_URL, mimir=URL/],
    ["victoriametrics", /needs a URL/],
    ["victoriametrics=vm:8428", /must be http/],
    ["mimir=not a url", /is not a URL/],
    ["vmcluster=http://a:1", /two URLs/],
    ["vmcluster=http://a:1,http://b:2,http://c:3", /two URLs/],
    ["victoriametrics=http://vm:8428/?x=1", /no query/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseStorageSpec(text),
      (err: unknown) => isContrailError(err) && err.code === "bad_data" && message.test(err.message),
      text,
    );
  }
});

test("backendEndpoints lays out each backend's documented paths and tenant", () => {
  const vm = backendEndpoints({ kind: "victoriametrics", url: "http://vm:8428" }, "acme", 0);
  assert.equal(vm.writeUrl, "http://vm:8428/api/v1/write");
  assert.equal(vm.readBase, "http://vm:8428/api/v1");
  assert.deepEqual(vm.orgLabel, { name: ORG_LABEL, value: "acme" });

  const cluster = backendEndpoints(
    { kind: "vmcluster", insertUrl: "http://i:8480", selectUrl: "http://s:8481" },
    "acme",
    7,
  );
  assert.equal(cluster.writeUrl, "http://i:8480/insert/7/prometheus/api/v1/write");
  assert.equal(cluster.readBase, "http://s:8481/select/7/prometheus/api/v1");
  assert.equal(cluster.orgLabel, null);
  assert.throws(() => backendEndpoints({ kind: "vmcluster", insertUrl: "http://i", selectUrl: "http://s" }, "acme", 0));

  const mimir = backendEndpoints({ kind: "mimir", url: "http://mimir:9009" }, "acme", 0);
  assert.equal(mimir.writeUrl, "http://mimir:9009/api/v1/push");
  assert.equal(mimir.readBase, "http://mimir:9009/prometheus/api/v1");
  assert.deepEqual(mimir.headers, { "X-Scope-OrgID": "acme" });
});
