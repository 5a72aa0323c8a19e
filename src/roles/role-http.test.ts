import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  PROMETHEUS_TEXT_CONTENT_TYPE,
  PROTOBUF_CONTENT_TYPE,
  ProtobufParser,
  SCRAPE_ACCEPT_HEADER,
  SCRAPE_ACCEPT_HEADER_PROTOBUF,
} from "../exposition/index.ts";
import { Registry } from "../exposition/registry.ts";
import { metricsAnswer, startRoleHttp } from "./role-http.ts";

function registry(): Registry {
  const r = new Registry();
  r.histogram({ name: "rt_seconds", help: "RT.", buckets: [1], native: {} })
    .labels()
    .observe(0.5);
  return r;
}

describe("role /metrics", () => {
  test("Prometheus text unless the scraper prefers protobuf", () => {
    const text = metricsAnswer(registry(), SCRAPE_ACCEPT_HEADER);
    assert.equal(text.contentType, PROMETHEUS_TEXT_CONTENT_TYPE);
    assert.match(String(text.body), /^rt_seconds_bucket\{le="1"\} 1$/m);
    assert.equal(metricsAnswer(registry()).contentType, PROMETHEUS_TEXT_CONTENT_TYPE);
    const proto = metricsAnswer(registry(), SCRAPE_ACCEPT_HEADER_PROTOBUF);
    assert.equal(proto.contentType, PROTOBUF_CONTENT_TYPE);
    const p = new ProtobufParser(proto.body as Uint8Array);
    const kinds: string[] = [];
    for (let k = p.next(); k !== "eof"; k = p.next()) kinds.push(k);
    assert.deepEqual(kinds, ["help", "type", "histogram"]);
  });

  test("the listener passes the Accept header and sends binary bodies whole", async () => {
    const reg = registry();
    const http = await startRoleHttp("127.0.0.1:0", (path, accept) =>
      path === "/metrics" ? metricsAnswer(reg, accept) : undefined,
    );
    try {
      const r = await fetch(`${http.url}/metrics`, { headers: { accept: SCRAPE_ACCEPT_HEADER_PROTOBUF } });
      assert.equal(r.headers.get("content-type"), PROTOBUF_CONTENT_TYPE);
      const body = new Uint8Array(await r.arrayBuffer());
      assert.equal(Number(r.headers.get("content-length")), body.length);
      const p = new ProtobufParser(body);
      let histograms = 0;
      for (let k = p.next(); k !== "eof"; k = p.next()) if (k === "histogram") histograms++;
      assert.equal(histograms, 1);
    } finally {
      await http.close();
    }
  });
});
