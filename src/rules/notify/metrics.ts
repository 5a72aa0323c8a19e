// The notifiers' figures as metric families for the metrics node's `/metrics`. Alertmanager counters are labelled by
// the Alertmanager's URL (operator configuration), receiver counters by kind; no label names an org or a receiver.

import type { FamilySample, MetricFamily } from "../../exposition/index.ts";
import { Labels } from "../../model/labels.ts";
import { RECEIVER_KINDS } from "../../model/receivers.ts";
import type { NotifierFigures } from "./alertmanager.ts";
import type { DispatcherFigures, KindFigures } from "./dispatcher.ts";

function gauge(name: string, help: string, value: number): MetricFamily {
  return { name, type: "gauge", help, samples: [{ labels: Labels.EMPTY, value }] };
}

function perAlertmanager(f: NotifierFigures, pick: (a: NotifierFigures["alertmanagers"][number]) => number) {
  return f.alertmanagers.map((a) => ({ labels: Labels.fromStrings("alertmanager", a.url), value: pick(a) }));
}

const LATENCY = "contrail_notifications_latency_seconds";

/** The Alertmanager client's queue, counters and POST latency (a summary without quantiles). */
export function alertmanagerFamilies(f: NotifierFigures): MetricFamily[] {
  const latency: FamilySample[] = f.alertmanagers.flatMap((a) => {
    const labels = Labels.fromStrings("alertmanager", a.url);
    return [
      { name: `${LATENCY}_sum`, labels, value: a.latencySeconds },
      { name: `${LATENCY}_count`, labels, value: a.posts },
    ];
  });
  return [
    gauge("contrail_notifications_queue_length", "Alerts waiting to be sent to the Alertmanagers.", f.queueLength),
    gauge("contrail_notifications_queue_capacity", "Most alerts the Alertmanager queue holds.", f.queueCapacity),
    gauge("contrail_notifications_alertmanagers", "Alertmanagers alerts are sent to.", f.alertmanagers.length),
    {
      name: "contrail_notifications_dropped_total",
      type: "counter",
      help: "Alerts dropped: pushed out of a full queue, or in a batch no Alertmanager accepted.",
      samples: [{ labels: Labels.EMPTY, value: f.dropped }],
    },
    {
      name: "contrail_notifications_sent_total",
      type: "counter",
      help: "Alerts an Alertmanager accepted.",
      samples: perAlertmanager(f, (a) => a.sent),
    },
    {
      name: "contrail_notifications_errors_total",
      type: "counter",
      help: "Alerts in POSTs to an Alertmanager that failed (network error, timeout, non-2xx answer).",
      samples: perAlertmanager(f, (a) => a.errors),
    },
    { name: LATENCY, type: "summary", help: "Time one POST of alerts to an Alertmanager took.", samples: latency },
  ];
}

/** The per-org receivers' counters by receiver kind, the groups held and the alerts refused by bounds. */
export function dispatcherFamilies(f: DispatcherFigures): MetricFamily[] {
  const kinds = RECEIVER_KINDS.map((kind) => ({ kind, c: f.byKind[kind] }));
  const byKind = (pick: (c: KindFigures) => number) =>
    kinds.map(({ kind, c }) => ({ labels: Labels.fromStrings("kind", kind), value: pick(c) }));
  return [
    {
      name: "contrail_receiver_notifications_total",
      type: "counter",
      help: "Group notifications receivers accepted, by receiver kind.",
      samples: byKind((c) => c.delivered),
    },
    {
      name: "contrail_receiver_notifications_failed_total",
      type: "counter",
      help: "Group notifications given up on (refused with a 4xx, or attempts exhausted), by receiver kind.",
      samples: byKind((c) => c.failed),
    },
    {
      name: "contrail_receiver_notification_retries_total",
      type: "counter",
      help: "Delivery attempts after the first (5xx, 429, network errors, timeouts), by receiver kind.",
      samples: byKind((c) => c.retries),
    },
    gauge("contrail_receiver_alert_groups", "Alert groups held for receivers, over all orgs.", f.groups),
    {
      name: "contrail_receiver_alerts_dropped_total",
      type: "counter",
      help: "Alerts not taken because a receiver's group or alert bound was reached.",
      samples: [{ labels: Labels.EMPTY, value: f.dropped }],
    },
  ];
}
