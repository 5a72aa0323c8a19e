// An org's notification receivers: where its alerts are delivered without any Alertmanager (a webhook in
// Alertmanager's format, or a Slack-compatible incoming webhook) and how they are grouped and repeated. The shape
// and its bounds are defined once here; the control database stores receivers, the API and the CLI write them, and
// the notifier reads them. Durations in ms.

import { ContrailError } from "./errors.ts";
import { isValidLegacyLabelName } from "./labels.ts";

/** How a receiver is notified: Alertmanager's webhook JSON, or a Slack incoming-webhook message. */
export type ReceiverKind = "webhook" | "slack";

/** Every receiver kind, for validation and help texts. */
export const RECEIVER_KINDS: readonly ReceiverKind[] = ["webhook", "slack"];

/** One receiver of an org as stored. `secret` is the HMAC key of the body's signature; null: deliveries unsigned. */
export interface Receiver {
  /** Unique within the org. */
  readonly name: string;
  readonly kind: ReceiverKind;
  /** An http or https URL. */
  readonly url: string;
  readonly secret: string | null;
  /** Labels whose values split alerts into groups, one notification per group; empty: one group; `...`: all labels. */
  readonly groupBy: readonly string[];
  /** How long a new group waits before its first notification, ms. */
  readonly groupWaitMs: number;
  /** How long after a notification a group waits before notifying of changes, ms. */
  readonly groupIntervalMs: number;
  /** How long after a notification an unchanged firing group is notified again, ms. */
  readonly repeatIntervalMs: number;
  /** Also notify when alerts resolve. */
  readonly sendResolved: boolean;
}

/** A receiver as shown to people: everything but the secret, and whether one is set. Times in ms since the epoch. */
export interface ReceiverInfo extends Omit<Receiver, "secret"> {
  readonly hasSecret: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** What {@link putReceiver} writes: a receiver whose `secret` may be left out to keep the stored one. */
export interface ReceiverInput extends Omit<Receiver, "secret"> {
  /** The HMAC key: a string sets it, null removes it, undefined keeps what is stored (none for a new receiver). */
  readonly secret?: string | null;
}

/** `group_by` value that groups by every label (each distinct label set is its own group). */
export const GROUP_BY_ALL = "...";

/** Bounds of receivers; every one is checked on write with an error naming it. */
export const RECEIVER_BOUNDS = {
  /** Receivers one org may have. */
  maxPerOrg: 20,
  /** Characters of a receiver's name. */
  maxNameLength: 64,
  /** Characters of a URL. */
  maxUrlLength: 2048,
  /** Characters of a secret. */
  maxSecretLength: 256,
  /** Labels in `group_by`. */
  maxGroupBy: 20,
  /** group_wait, ms: 0 to 1 hour. */
  maxGroupWaitMs: 3_600_000,
  /** group_interval, ms: 1 second to 1 day. */
  minGroupIntervalMs: 1_000,
  maxGroupIntervalMs: 86_400_000,
  /** repeat_interval, ms: 1 second to 30 days. */
  minRepeatIntervalMs: 1_000,
  maxRepeatIntervalMs: 30 * 86_400_000,
} as const;

/** Alertmanager's defaults: group_wait 30s, group_interval 5m, repeat_interval 4h, send_resolved true. */
export const RECEIVER_DEFAULTS = {
  groupWaitMs: 30_000,
  groupIntervalMs: 300_000,
  repeatIntervalMs: 4 * 3_600_000,
  sendResolved: true,
} as const;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function bad(message: string): ContrailError {
  return new ContrailError("bad_data", message);
}

/** Throws `bad_data` unless `name` is a valid receiver name (letters, digits, `_.-`, at most 64). */
export function checkReceiverName(name: string): string {
  if (name.length === 0 || name.length > RECEIVER_BOUNDS.maxNameLength || !NAME.test(name)) {
    throw bad(
      `receiver name ${JSON.stringify(name.slice(0, RECEIVER_BOUNDS.maxNameLength + 1))}: expected 1 to ` +
        `${RECEIVER_BOUNDS.maxNameLength} letters, digits, '_', '.' or '-', starting with a letter or digit`,
    );
  }
  return name;
}

/** Throws `bad_data` unless `url` is an absolute http or https URL of at most 2048 characters. */
export function checkReceiverUrl(url: string): string {
  if (url.length > RECEIVER_BOUNDS.maxUrlLength) {
    throw bad(`url: ${url.length} characters, the limit is ${RECEIVER_BOUNDS.maxUrlLength}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw bad(`url: not an absolute URL: ${JSON.stringify(url.slice(0, 200))}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw bad(`url: only http and https URLs are allowed, got ${parsed.protocol.slice(0, -1)}`);
  }
  return url;
}

function checkRange(field: string, ms: number, min: number, max: number): number {
  if (!Number.isInteger(ms) || ms < min || ms > max) {
    throw bad(`${field}: ${ms} ms is outside ${min} to ${max} ms`);
  }
  return ms;
}

/** Checks every field of `r` against its bound; returns it, or throws `bad_data` naming the field and the limit. */
export function checkReceiver(r: Receiver): Receiver {
  const b = RECEIVER_BOUNDS;
  checkReceiverName(r.name);
  if (!RECEIVER_KINDS.includes(r.kind)) {
    throw bad(`kind: expected one of ${RECEIVER_KINDS.join(", ")}, got ${JSON.stringify(r.kind)}`);
  }
  checkReceiverUrl(r.url);
  if (r.secret !== null && (r.secret.length === 0 || r.secret.length > b.maxSecretLength)) {
    throw bad(`secret: expected 1 to ${b.maxSecretLength} characters, got ${r.secret.length}`);
  }
  if (r.groupBy.length > b.maxGroupBy) {
    throw bad(`group_by: ${r.groupBy.length} labels, the limit is ${b.maxGroupBy}`);
  }
  for (const l of r.groupBy) {
    if (l === GROUP_BY_ALL ? r.groupBy.length !== 1 : !isValidLegacyLabelName(l)) {
      throw bad(`group_by: ${JSON.stringify(l)} is not a label name (or "${GROUP_BY_ALL}" alone)`);
    }
  }
  if (new Set(r.groupBy).size !== r.groupBy.length) throw bad("group_by: a label is listed twice");
  checkRange("group_wait", r.groupWaitMs, 0, b.maxGroupWaitMs);
  checkRange("group_interval", r.groupIntervalMs, b.minGroupIntervalMs, b.maxGroupIntervalMs);
  checkRange("repeat_interval", r.repeatIntervalMs, b.minRepeatIntervalMs, b.maxRepeatIntervalMs);
  return r;
}
