import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import { writePrometheusText } from "../../exposition/index.ts";
import type { Receiver } from "../../model/receivers.ts";
import { createNotifiers } from "./notifiers.ts";

test("one sink feeds the Alertmanagers and the org's receivers; the counters render as metrics", async () => {
  const paths: string[] = [];
  const server = createServer(async (req, res) => {
    for await (const _ of req);
    paths.push(req.url ?? "");
    res.writeHead(200).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const hook: Receiver = {
    name: "hook",
    kind: "webhook",
    url: `${base}/hook`,
    secret: null,
    groupBy: [],
    groupWaitMs: 0,
    groupIntervalMs: 1_000,
    repeatIntervalMs: 3_600_000,
    sendResolved: true,
  };
  const warnings: string[] = [];
  const n = createNotifiers({
    alertmanagers: [`${base}/am/`],
    receiversFor: (org) => (org === "acme" ? [hook] : []),
    externalUrl: "http://contrail.test",
    warn: (l) => warnings.push(l),
  });
  try {
    const now = Date.now();
    n.sink("acme", [
      { labels: { alertname: "A" }, annotations: {}, startsAtMs: now, endsAtMs: now + 60_000, generatorURL: "" },
    ]);
    // Both deliveries are counted once their answers arrived.
    const counted = (t: string) =>
      /_sent_total\{[^}]*\} 1$/m.test(t) && /receiver_notifications_total\{kind="webhook"\} 1$/m.test(t);
    const deadline = Date.now() + 5_000;
    while (!counted(writePrometheusText(n.families())) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(paths.sort(), ["/am/api/v2/alerts", "/hook"]);
    const text = writePrometheusText(n.families());
    assert.match(text, /^contrail_notifications_sent_total\{alertmanager="http:\/\/127\.0\.0\.1:\d+\/am\/"\} 1$/m);
    assert.match(text, /^contrail_receiver_notifications_total\{kind="webhook"\} 1$/m);
    assert.match(text, /^contrail_notifications_queue_capacity 10000$/m);
    assert.deepEqual(warnings, []);
  } finally {
    await n.stop();
    await new Promise((r) => server.close(r));
  }
});

test("without Alertmanagers only the receivers' counters are exposed", async () => {
  const n = createNotifiers({ alertmanagers: [], receiversFor: () => [], externalUrl: "", warn: () => {} });
  n.sink("acme", []);
  const text = writePrometheusText(n.families());
  assert.doesNotMatch(text, /contrail_notifications_/);
  assert.match(text, /contrail_receiver_alert_groups 0/);
  await n.stop();
});
