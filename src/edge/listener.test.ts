import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Registry } from "../exposition/registry.ts";
import { EdgeCore, resolveTuning } from "./core.ts";
import { HttpListener } from "./listener.ts";
import { EdgeMetrics } from "./metrics.ts";

function listener(): HttpListener {
  const core = new EdgeCore(resolveTuning({ domain: "example.test" }), new EdgeMetrics(new Registry()), new Map());
  return new HttpListener(core, { region: "ord", host: "a1b2", address: "127.0.0.1:0" });
}

describe("HttpListener.appName", () => {
  const cases: [string, string | null][] = [
    ["web.example.test", "web"],
    ["Web.Example.TEST:8080", "web"],
    ["web.example.test.", "web"],
    ["a.b.example.test", null],
    ["example.test", null],
    [".example.test", null],
    ["web.example.org", null],
    ["[::1]:80", null],
    ["web.example.test:80:90", null],
  ];

  test("names the app of a Host value, the same when asked again", () => {
    const l = listener();
    for (let round = 0; round < 3; round++) {
      for (const [host, app] of cases) assert.equal(l.appName(host), app, `${host} (round ${round})`);
    }
  });

  test("stays right past the hosts it remembers, and for hosts too long to remember", () => {
    const l = listener();
    for (let i = 0; i < 3000; i++) assert.equal(l.appName(`app${i}.example.test`), `app${i}`);
    assert.equal(l.appName("app1.example.test"), "app1");
    const long = `${"x".repeat(300)}.example.test`;
    assert.equal(l.appName(long), "x".repeat(300));
    assert.equal(l.appName(long), "x".repeat(300));
    assert.equal(l.appName(`${"x".repeat(300)}.example.org`), null);
  });
});
