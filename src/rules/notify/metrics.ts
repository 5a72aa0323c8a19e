// The notifiers' figures as metric families for the metrics node's `/metrics`. Alertmanager counters are labelled by
// the Alertmanager's URL (operator configuration); no label ever names an org or a receiver.

import type { FamilySample, MetricFamily } from "../../exposition/index.ts";
import { Labels } from "../../model/labels.ts";
import type { NotifierFigures } from "./alertmanager.ts";

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
