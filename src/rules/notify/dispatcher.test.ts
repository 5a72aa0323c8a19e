import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { after, test } from "node:test";
import type { Receiver } from "../../model/receivers.ts";
import type { OutgoingAlert } from "../types.ts";
import type { RetryPolicy } from "./deliver.ts";
import { Dispatcher } from "./dispatcher.ts";
import { MAX_ALERTS_PER_MESSAGE } from "./messages.ts";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from "./signature.ts";

const LIVENESS_MS = 5_000;
/** Backoff in milliseconds so retried deliveries finish fast. */
const FAST_RETRY: RetryPolicy = { maxAttempts: 4, initialBackoffMs: 10, maxBackoffMs: 50, timeoutMs: 2_000 };

/** The fields of delivered bodies (webhook and Slack) the tests read. */
interface Delivered {
  readonly status: string;
  readonly groupLabels: Record<string, string>;
  readonly commonLabels: Record<string, string>;
  readonly alerts: { readonly status: string; readonly endsAt: string }[];
  readonly truncatedAlerts: number;
  readonly text: string;
  readonly attachments: { readonly color: string; readonly title_link: string; readonly text: string }[];
}

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly status: number;
}

/** A webhook receiver on loopback: answers each POST with the next status of `statuses` (then 200). */
async function receiverServer(statuses: number[] = []) {
  const received: Received[] = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    const status = statuses.shift() ?? 200;
    received.push({ headers: req.headers, body, status });
    res.writeHead(status).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  const close = () => new Promise((r) => server.close(r));
  after(close);
  return {
    url,
    received,
    /** The bodies of accepted deliveries, parsed. */
    accepted: () => received.filter((r) => r.status === 200).map((r) => JSON.parse(r.body) as Delivered),
  };
}

function receiver(url: string, over: Partial<Receiver> = {}): Receiver {
  return {
    name: "team",
    kind: "webhook",
    url,
    secret: null,
    groupBy: ["alertname"],
    groupWaitMs: 10,
    groupIntervalMs: 40,
    repeatIntervalMs: 3_600_000,
    sendResolved: true,
    ...over,
  };
}

/** A clock the test moves; timers still run in real time and read it when they fire. */
function clock(startMs = Date.parse("2026-01-01T00:00:00Z")) {
  let t = startMs;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function firing(now: number, labels: Record<string, string>, name = "HighLatency"): OutgoingAlert {
  return {
    labels: { alertname: name, ...labels },
    annotations: { summary: `${name} on ${labels.service ?? "all"}` },
    startsAtMs: now - 60_000,
    endsAtMs: now + 3_600_000,
    generatorURL: "http://127.0.0.1:9300/graph",
  };
}

async function eventually(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + LIVENESS_MS;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`not within ${LIVENESS_MS} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits `n` group intervals of {@link receiver}'s default, so the group is looked at several times. */
const intervals = (n: number) => new Promise((r) => setTimeout(r, 40 * n + 20));

function dispatcher(receivers: () => readonly Receiver[], c = clock()) {
  const d = new Dispatcher({
    receiversFor: (org) => (org === "acme" ? receivers() : []),
    externalUrl: "http://contrail.test",
    externalLabels: { cluster: "eu" },
    retry: FAST_RETRY,
    now: c.now,
  });
  after(() => d.stop());
  return d;
}

test("a notification in Alertmanager's webhook format, signed; the signature verifies and a tampered body does not", async () => {
  const srv = await receiverServer();
  const c = clock();
  const d = dispatcher(() => [receiver(srv.url, { secret: "s3cret" })], c);
  d.ingest("acme", [firing(c.now(), { service: "api", org: "other" })]);
  await eventually("one delivery", () => srv.received.length === 1);
  const { headers, body } = srv.received[0];
  const msg = JSON.parse(body);
  assert.equal(msg.version, "4");
  assert.equal(msg.status, "firing");
  assert.equal(msg.receiver, "team");
  assert.equal(msg.externalURL, "http://contrail.test");
  assert.equal(msg.truncatedAlerts, 0);
  assert.deepEqual(msg.groupLabels, { alertname: "HighLatency" });
  assert.deepEqual(msg.commonLabels, { alertname: "HighLatency", cluster: "eu", org: "acme", service: "api" });
  assert.deepEqual(msg.commonAnnotations, { summary: "HighLatency on api" });
  assert.match(msg.groupKey, /^\{org="acme",receiver="team"\}:\{alertname="HighLatency"\}$/);
  assert.equal(msg.alerts.length, 1);
  const a = msg.alerts[0];
  assert.equal(a.status, "firing");
  assert.equal(a.startsAt, new Date(c.now() - 60_000).toISOString());
  assert.equal(a.generatorURL, "http://127.0.0.1:9300/graph");
  assert.match(a.fingerprint, /^[0-9a-f]{16}$/);

  // How a receiver verifies: HMAC-SHA256 of "<timestamp>.<body>" with the shared secret, compared in constant time.
  const verify = (secret: string, ts: string, raw: string, sig: string) => {
    const want = Buffer.from(`sha256=${createHmac("sha256", secret).update(`${ts}.${raw}`).digest("hex")}`);
    const got = Buffer.from(sig);
    return want.length === got.length && timingSafeEqual(want, got);
  };
  const ts = String(headers[TIMESTAMP_HEADER]);
  const sig = String(headers[SIGNATURE_HEADER]);
  assert.equal(ts, String(Math.floor(c.now() / 1000)));
  assert.ok(verify("s3cret", ts, body, sig), "the signature verifies");
  assert.ok(!verify("s3cret", ts, body.replace("firing", "resolved"), sig), "a tampered body does not");
  assert.ok(!verify("s3cret", String(Number(ts) - 600), body, sig), "nor does another timestamp");
  assert.ok(!verify("wrong", ts, body, sig), "nor another secret");
});

test("without a secret, deliveries carry no signature", async () => {
  const srv = await receiverServer();
  const c = clock();
  const d = dispatcher(() => [receiver(srv.url)], c);
  d.ingest("acme", [firing(c.now(), {})]);
  await eventually("one delivery", () => srv.received.length === 1);
  assert.equal(srv.received[0].headers[SIGNATURE_HEADER], undefined);
});

test("a 500 is retried, then delivered; a 429 too", async () => {
  const srv = await receiverServer([500, 503, 429]);
  const c = clock();
  const d = dispatcher(() => [receiver(srv.url, { secret: "k" })], c);
  d.ingest("acme", [firing(c.now(), {})]);
  await eventually("delivered", () => srv.accepted().length === 1);
  assert.deepEqual(
    srv.received.map((r) => r.status),
    [500, 503, 429, 200],
  );
  assert.equal(new Set(srv.received.map((r) => r.body)).size, 1, "each attempt sends the same body");
  await d.idle();
  assert.deepEqual(d.figures().byKind.webhook, { delivered: 1, failed: 0, retries: 3 });
});

test("a 400 is not retried", async () => {
  const srv = await receiverServer([400, 400, 400]);
  const c = clock();
  const d = dispatcher(() => [receiver(srv.url)], c);
  d.ingest("acme", [firing(c.now(), {})]);
  await eventually("one attempt", () => srv.received.length === 1);
  await d.idle();
  assert.deepEqual(d.figures().byKind.webhook, { delivered: 0, failed: 1, retries: 0 });
  assert.equal(srv.received.length, 1);
});

test("an unreachable receiver is retried up to the attempt limit and counted as failed", async () => {
  const srv = await receiverServer();
  const c = clock();
  const d = dispatcher(() => [receiver("http://127.0.0.1:1/hook"), receiver(srv.url, { name: "ok" })], c);
  d.ingest("acme", [firing(c.now(), {})]);
  await eventually("the other receiver got it", () => srv.received.length === 1);
  await eventually("attempts exhausted", () => d.figures().byKind.webhook.failed === 1);
  assert.equal(d.figures().byKind.webhook.retries, FAST_RETRY.maxAttempts - 1);
});

test("repeat_interval re-sends an unchanged firing group, and not before", async () => {
  const srv = await receiverServer();
  const c = clock();
  const d = dispatcher(() => [receiver(srv.url, { repeatIntervalMs: 60_000 })], c);
  const alert = firing(c.now(), {});
  d.ingest("acme", [alert]);
  await eventually("first notification", () => srv.received.length === 1);
  c.advance(59_000);
  d.ingest("acme", [alert]);
  await intervals(4);
  assert.equal(srv.received.length, 1, "not repeated before repeat_interval");
  c.advance(1_000);
  await eventually("repeated", () => srv.received.length === 2);
  await intervals(3);
  assert.equal(srv.received.length, 2, "once per repeat_interval");
});

test("a new firing alert in a group is notified at the next group_interval", async () => {
  const srv = await receiverServer();
  const c = clock();
  const d = dispatcher(() => [receiver(srv.url)], c);
  d.ingest("acme", [firing(c.now(), { service: "a" })]);
  await eventually("first", () => srv.received.length === 1);
  d.ingest("acme", [firing(c.now(), { service: "b" })]);
  await eventually("second", () => srv.received.length === 2);
  assert.equal(srv.accepted()[1].alerts.length, 2);
  assert.deepEqual(srv.accepted()[1].commonLabels.service, undefined, "labels that differ are not common");
});

test("group_by splits alerts into groups, one notification each; empty group_by makes one group", async () => {
  const split = await receiverServer();
  const one = await receiverServer();
  const c = clock();
  const d = dispatcher(
    () => [
      receiver(split.url, { name: "by-service", groupBy: ["service"] }),
      receiver(one.url, { name: "all", groupBy: [] }),
    ],
    c,
  );
  d.ingest("acme", [firing(c.now(), { service: "api" }), firing(c.now(), { service: "db" }, "DiskFull")]);
  await eventually("two groups notified", () => split.received.length === 2);
  await eventually("one group notified", () => one.received.length === 1);
  const groups = split
    .accepted()
    .map((m) => m.groupLabels.service)
    .sort();
  assert.deepEqual(groups, ["api", "db"]);
  assert.equal(one.accepted()[0].alerts.length, 2);
  assert.deepEqual(one.accepted()[0].groupLabels, {});
});

test("send_resolved: a resolved alert is notified as resolved; without it, not, and the group is forgotten", async () => {
  const yes = await receiverServer();
  const no = await receiverServer();
  const c = clock();
  const d = dispatcher(
    () => [receiver(yes.url, { name: "yes" }), receiver(no.url, { name: "no", sendResolved: false })],
    c,
  );
  const alert = firing(c.now(), {});
  d.ingest("acme", [alert]);
  await eventually("firing notified", () => yes.received.length === 1 && no.received.length === 1);
  c.advance(1_000);
  d.ingest("acme", [{ ...alert, endsAtMs: c.now() - 500 }]);
  await eventually("resolved notified", () => yes.received.length === 2);
  const msg = yes.accepted()[1];
  assert.equal(msg.status, "resolved");
  assert.equal(msg.alerts[0].status, "resolved");
  assert.equal(msg.alerts[0].endsAt, new Date(c.now() - 500).toISOString());
  await eventually("groups forgotten", () => d.figures().groups === 0);
  await intervals(3);
  assert.equal(no.received.length, 1, "no resolved notification without send_resolved");
});

test("a Slack receiver gets text and an attachment coloured by status", async () => {
  const srv = await receiverServer();
  const c = clock();
  const d = dispatcher(() => [receiver(srv.url, { kind: "slack" })], c);
  const alert = firing(c.now(), { service: "api" });
  d.ingest("acme", [alert, firing(c.now(), { service: "web" })]);
  await eventually("firing", () => srv.received.length === 1);
  const m = srv.accepted()[0];
  assert.equal(m.text, "[FIRING:2] HighLatency");
  assert.equal(m.attachments.length, 1);
  assert.equal(m.attachments[0].color, "danger");
  assert.equal(m.attachments[0].title_link, "http://contrail.test");
  assert.match(m.attachments[0].text, /^firing: HighLatency on api \(alertname=HighLatency, cluster=eu, org=acme/);
  c.advance(1_000);
  d.ingest("acme", [
    { ...alert, endsAtMs: c.now() - 1 },
    { ...firing(c.now(), { service: "web" }), endsAtMs: c.now() - 1 },
  ]);
  await eventually("resolved", () => srv.received.length === 2);
  assert.equal(srv.accepted()[1].attachments[0].color, "good");
  assert.equal(srv.accepted()[1].text, "[RESOLVED:2] HighLatency");
  await d.idle();
  assert.equal(d.figures().byKind.slack.delivered, 2);
});

test("a large group is truncated to the alerts a message may carry, and says how many were left out", async () => {
  const srv = await receiverServer();
  const c = clock();
  const d = dispatcher(() => [receiver(srv.url)], c);
  const count = MAX_ALERTS_PER_MESSAGE + 50;
  d.ingest(
    "acme",
    Array.from({ length: count }, (_, i) => firing(c.now(), { i: String(i) })),
  );
  await eventually("delivered", () => srv.received.length === 1);
  const m = srv.accepted()[0];
  assert.equal(m.alerts.length, MAX_ALERTS_PER_MESSAGE);
  assert.equal(m.truncatedAlerts, 50);
});

test("a deleted receiver is notified no more; another org's alerts never reach this org's receivers", async () => {
  const srv = await receiverServer();
  const c = clock();
  let list = [receiver(srv.url, { repeatIntervalMs: 1_000 })];
  const d = dispatcher(() => list, c);
  d.ingest("other", [firing(c.now(), {})]);
  d.ingest("acme", [firing(c.now(), {})]);
  await eventually("first", () => srv.received.length === 1);
  assert.equal(srv.accepted()[0].commonLabels.org, "acme");
  list = [];
  c.advance(5_000);
  await intervals(4);
  assert.equal(srv.received.length, 1);
  assert.equal(d.figures().groups, 0);
});

test("receivers that cannot be read are warned about, and the groups wait for them unchanged", async () => {
  const srv = await receiverServer();
  const c = clock();
  let broken = false;
  const warnings: string[] = [];
  const d = new Dispatcher({
    receiversFor: () => {
      if (broken) throw new Error("database is locked");
      return [receiver(srv.url, { repeatIntervalMs: 1_000 })];
    },
    externalUrl: "",
    retry: FAST_RETRY,
    now: c.now,
    warn: (l) => warnings.push(l),
  });
  after(() => d.stop());
  d.ingest("acme", [firing(c.now(), {})]);
  await eventually("first", () => srv.received.length === 1);
  broken = true;
  c.advance(5_000);
  await intervals(3);
  assert.equal(srv.received.length, 1);
  assert.equal(d.figures().groups, 1, "the group is kept");
  assert.ok(warnings.some((w) => w === "receivers of org acme: database is locked"));
  broken = false;
  await eventually("repeated once readable again", () => srv.received.length === 2);
});
