// Notifications: what handing alerts over costs the evaluator's thread, and how fast alerts reach an Alertmanager.
// - sink: one Dispatcher.ingest of 10,000 alerts into one receiver (100 groups, long group_wait: no delivery), ms;
// - fingerprint: Alertmanager fingerprints of 6-label sets per second;
// - alertmanager: 10,000 alerts enqueued until the last batch is accepted, alerts/s, against Debian's Alertmanager
//   on loopback (skipped when it is not installed). Median of 5 runs.
// Run: npm run bench -- notify

import { rmSync } from "node:fs";
import type { Receiver } from "../src/model/receivers.ts";
import { fingerprint } from "../src/rules/notify/alert-labels.ts";
import { AlertmanagerNotifier } from "../src/rules/notify/alertmanager.ts";
import { Dispatcher } from "../src/rules/notify/dispatcher.ts";
import type { OutgoingAlert } from "../src/rules/types.ts";
import { alertmanagerSkip, startAlertmanager } from "../src/testkit/peers.ts";
import { scratchDir } from "../src/testkit/scratch.ts";
import { type Figure, printFigures, timeRuns } from "./harness.ts";

const ALERTS = 10_000;
const GROUPS = 100;
const FINGERPRINTS = 100_000;

function alerts(now: number): OutgoingAlert[] {
  return Array.from({ length: ALERTS }, (_, i) => ({
    labels: {
      alertname: `Alert${i % 10}`,
      service: `svc-${i % GROUPS}`,
      instance: `10.0.${(i >> 8) & 255}.${i & 255}:8080`,
      job: "api",
      severity: i % 3 === 0 ? "page" : "ticket",
    },
    annotations: { summary: "something is wrong" },
    startsAtMs: now - 60_000,
    endsAtMs: now + 240_000,
    generatorURL: "http://127.0.0.1:9300/graph",
  }));
}

const receiver: Receiver = {
  name: "ops",
  kind: "webhook",
  url: "http://127.0.0.1:9/hook",
  secret: null,
  groupBy: ["service"],
  groupWaitMs: 3_600_000,
  groupIntervalMs: 300_000,
  repeatIntervalMs: 14_400_000,
  sendResolved: true,
};

const figures: Figure[] = [];
const batch = alerts(Date.now());

const d = new Dispatcher({ receiversFor: () => [receiver], externalUrl: "http://127.0.0.1:9300" });
figures.push({
  name: `sink: ingest ${ALERTS} alerts`,
  unit: "ms",
  runs: await timeRuns(() => d.ingest("acme", batch)),
  higherIsBetter: false,
});
await d.stop();

const labelSets = batch.map((a) => ({ ...a.labels, org: "acme" }));
const fpTimes = await timeRuns(() => {
  for (let i = 0; i < FINGERPRINTS; i++) fingerprint(labelSets[i % labelSets.length]);
});
figures.push({
  name: "fingerprint",
  unit: "label sets/s",
  runs: fpTimes.map((ms) => FINGERPRINTS / (ms / 1000)),
  higherIsBetter: true,
});

const skip = alertmanagerSkip();
if (skip) console.log(`alertmanager case: ${skip}`);
else {
  const dir = scratchDir("contrail-bench-am-");
  const am = await startAlertmanager({ dir });
  try {
    const n = new AlertmanagerNotifier({ urls: [am.url] });
    const times = await timeRuns(async () => {
      n.enqueue("acme", alerts(Date.now()));
      await n.idle();
    });
    figures.push({
      name: `alertmanager: ${ALERTS} alerts`,
      unit: "alerts/s",
      runs: times.map((ms) => ALERTS / (ms / 1000)),
      higherIsBetter: true,
    });
    await n.stop();
  } finally {
    await am.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

printFigures("notifications", figures);
