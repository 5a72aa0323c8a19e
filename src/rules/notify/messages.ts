// The bodies of a group notification: Alertmanager's webhook JSON (version 4), which any Alertmanager webhook
// receiver understands, and a Slack-compatible incoming-webhook message. Both are bounded: at most
// MAX_ALERTS_PER_MESSAGE alerts, and a body over MAX_MESSAGE_BYTES carries fewer alerts (the count of those left
// out is `truncatedAlerts` in the webhook body, "and N more" in Slack's).

import type { ReceiverKind } from "../../model/receivers.ts";
import type { OutgoingAlert } from "../types.ts";
import { fingerprint } from "./alert-labels.ts";

/** Most alerts one notification lists; the rest are counted as truncated. */
export const MAX_ALERTS_PER_MESSAGE = 100;
/** Largest body of one notification, bytes (UTF-8). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/** Most alerts a Slack message lists line by line. */
const SLACK_MAX_LINES = 20;
/** Slack's attachment colours: red while anything fires, green once all resolved. */
const SLACK_FIRING_COLOR = "danger";
const SLACK_RESOLVED_COLOR = "good";

/** One group's notification, before it is rendered for a receiver kind. Times in ms since the epoch. */
export interface GroupNotification {
  readonly receiver: string;
  /** Identifies the group across notifications (the same for every notification of the group). */
  readonly groupKey: string;
  /** The group_by labels' values of the group. */
  readonly groupLabels: Readonly<Record<string, string>>;
  /** Every alert of the group to report, firing and (when the receiver wants them) resolved. */
  readonly alerts: readonly OutgoingAlert[];
  /** Where the alerts came from: the metrics node's external URL. */
  readonly externalUrl: string;
  /** The moment of the notification: alerts whose endsAt is at or before it are resolved. */
  readonly nowMs: number;
}

/** Whether an alert is resolved at `nowMs`: Alertmanager's rule, endsAt at or before now. */
export function isResolved(a: OutgoingAlert, nowMs: number): boolean {
  return a.endsAtMs <= nowMs;
}

function common(maps: readonly Readonly<Record<string, string>>[]): Record<string, string> {
  if (maps.length === 0) return {};
  const out: Record<string, string> = { ...maps[0] };
  for (const m of maps.slice(1)) for (const k of Object.keys(out)) if (m[k] !== out[k]) delete out[k];
  return out;
}

function status(n: GroupNotification): "firing" | "resolved" {
  return n.alerts.some((a) => !isResolved(a, n.nowMs)) ? "firing" : "resolved";
}

function webhookBody(n: GroupNotification, shown: number): string {
  const alerts = n.alerts.slice(0, shown);
  return JSON.stringify({
    version: "4",
    groupKey: n.groupKey,
    truncatedAlerts: n.alerts.length - shown,
    status: status(n),
    receiver: n.receiver,
    groupLabels: n.groupLabels,
    commonLabels: common(n.alerts.map((a) => a.labels)),
    commonAnnotations: common(n.alerts.map((a) => a.annotations)),
    externalURL: n.externalUrl,
    alerts: alerts.map((a) => ({
      status: isResolved(a, n.nowMs) ? "resolved" : "firing",
      labels: a.labels,
      annotations: a.annotations,
      startsAt: new Date(a.startsAtMs).toISOString(),
      endsAt: new Date(a.endsAtMs).toISOString(),
      generatorURL: a.generatorURL,
      fingerprint: fingerprint(a.labels),
    })),
  });
}

function describe(a: OutgoingAlert): string {
  const text = a.annotations.summary ?? a.annotations.description ?? "";
  const labels = Object.entries(a.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  return text === "" ? labels : `${text} (${labels})`;
}

function slackBody(n: GroupNotification, shown: number): string {
  const st = status(n);
  const firing = n.alerts.filter((a) => !isResolved(a, n.nowMs)).length;
  const name = n.groupLabels.alertname ?? n.alerts[0]?.labels.alertname ?? "alerts";
  const count = st === "firing" ? firing : n.alerts.length;
  const title = `[${st.toUpperCase()}:${count}] ${name}`;
  const listed = n.alerts.slice(0, Math.min(shown, SLACK_MAX_LINES));
  const lines = listed.map((a) => `${isResolved(a, n.nowMs) ? "resolved" : "firing"}: ${describe(a)}`);
  const more = n.alerts.length - listed.length;
  if (more > 0) lines.push(`and ${more} more`);
  const groupText = Object.entries(n.groupLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  return JSON.stringify({
    text: title,
    attachments: [
      {
        color: st === "firing" ? SLACK_FIRING_COLOR : SLACK_RESOLVED_COLOR,
        title,
        title_link: n.externalUrl,
        text: lines.join("\n"),
        fallback: `${title}${groupText === "" ? "" : ` (${groupText})`}`,
        footer: groupText,
      },
    ],
  });
}

/** Renders `n` for a receiver of `kind`, with as many alerts as the bounds allow (halving until the body fits). */
export function renderNotification(kind: ReceiverKind, n: GroupNotification): string {
  const render = kind === "webhook" ? webhookBody : slackBody;
  let shown = Math.min(n.alerts.length, MAX_ALERTS_PER_MESSAGE);
  for (;;) {
    const body = render(n, shown);
    if (shown === 0 || Buffer.byteLength(body) <= MAX_MESSAGE_BYTES) return body;
    shown = Math.floor(shown / 2);
  }
}
