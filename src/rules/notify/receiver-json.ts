// The JSON form of an org's receivers, shared by the receivers API and `contrail receivers`: snake_case field names
// like Alertmanager's configuration, durations as Prometheus durations (`30s`, `4h`). Reading checks shapes and
// names the field at fault; the bounds are checked where receivers are written (control's putReceiver).

import { ContrailError } from "../../model/errors.ts";
import { RECEIVER_DEFAULTS, type ReceiverInfo, type ReceiverInput } from "../../model/receivers.ts";
import { formatDuration, parseDuration } from "../../promql/parser/index.ts";

/** Labels a receiver groups by when its body names none: one notification per alert name. */
const DEFAULT_GROUP_BY = ["alertname"];
const FIELDS = new Set([
  "kind",
  "url",
  "secret",
  "group_by",
  "group_wait",
  "group_interval",
  "repeat_interval",
  "send_resolved",
]);

/** The JSON of a receiver in answers: snake_case like Alertmanager's configuration, durations as `30s`, `4h`. */
export function receiverJson(r: ReceiverInfo): Record<string, unknown> {
  return {
    name: r.name,
    kind: r.kind,
    url: r.kind === "slack" ? `${new URL(r.url).origin}/…` : r.url,
    has_secret: r.hasSecret,
    group_by: r.groupBy,
    group_wait: formatDuration(r.groupWaitMs),
    group_interval: formatDuration(r.groupIntervalMs),
    repeat_interval: formatDuration(r.repeatIntervalMs),
    send_resolved: r.sendResolved,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

function duration(body: Record<string, unknown>, field: string, fallback: number): number {
  const v = body[field];
  if (v === undefined) return fallback;
  if (typeof v !== "string") throw new ContrailError("bad_data", `${field}: expected a duration string such as "5m"`);
  try {
    return parseDuration(v);
  } catch (err) {
    throw new ContrailError("bad_data", `${field}: ${(err as Error).message}`);
  }
}

function text(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (typeof v !== "string") throw new ContrailError("bad_data", `${field}: expected a string`);
  return v;
}

/** Reads a PUT body into a receiver; throws `bad_data` naming the field for anything malformed or unknown. */
export function receiverFromJson(name: string, body: unknown): ReceiverInput {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ContrailError("bad_data", 'expected a JSON object like {"kind":"webhook","url":"https://…"}');
  }
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!FIELDS.has(k)) throw new ContrailError("bad_data", `unknown field ${JSON.stringify(k.slice(0, 64))}`);
  }
  const secret = b.secret;
  if (secret !== undefined && secret !== null && typeof secret !== "string") {
    throw new ContrailError("bad_data", "secret: expected a string, or null to remove it");
  }
  const groupBy = b.group_by ?? DEFAULT_GROUP_BY;
  if (!Array.isArray(groupBy) || !groupBy.every((l) => typeof l === "string")) {
    throw new ContrailError("bad_data", "group_by: expected an array of label names");
  }
  const sendResolved = b.send_resolved ?? RECEIVER_DEFAULTS.sendResolved;
  if (typeof sendResolved !== "boolean") throw new ContrailError("bad_data", "send_resolved: expected true or false");
  return {
    name,
    kind: text(b, "kind") as ReceiverInput["kind"],
    url: text(b, "url"),
    secret,
    groupBy,
    groupWaitMs: duration(b, "group_wait", RECEIVER_DEFAULTS.groupWaitMs),
    groupIntervalMs: duration(b, "group_interval", RECEIVER_DEFAULTS.groupIntervalMs),
    repeatIntervalMs: duration(b, "repeat_interval", RECEIVER_DEFAULTS.repeatIntervalMs),
    sendResolved,
  };
}
