// An org's notification receivers over HTTP, beside its Prometheus API:
//   GET    /prometheus/<org>/config/v1/receivers          every receiver (read scope)
//   GET    /prometheus/<org>/config/v1/receivers/<name>   one receiver (read scope)
//   PUT    /prometheus/<org>/config/v1/receivers/<name>   creates (201) or replaces (200) it from a JSON body (write)
//   DELETE /prometheus/<org>/config/v1/receivers/<name>   deletes it; 204 (write scope)
// Answers use Prometheus's JSON envelope. Secrets are never returned, only `has_secret`; a Slack receiver's URL is a
// credential too, so only its origin is shown. A PUT without `secret` keeps the stored one; `"secret": null` removes it.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  type ControlDb,
  deleteReceiver,
  getReceiverInfo,
  listReceiverInfos,
  putReceiver,
  type ReceiverInfo,
  type ReceiverInput,
  type Scope,
} from "../control/index.ts";
import { ContrailError } from "../model/errors.ts";
import { RECEIVER_DEFAULTS } from "../model/receivers.ts";
import { formatDuration, parseDuration } from "../promql/parser/index.ts";
import type { Authenticator } from "./auth.ts";
import { JSON_TYPE } from "./respond.ts";
import { checkRequestAccess, type SessionAuthenticator, sendRefusal } from "./session-auth.ts";

/** What the receiver routes need. */
export interface ReceiverRouteDeps {
  readonly control: ControlDb;
  readonly authenticate: Authenticator;
  /** The web console's session check; without it only tokens authorize. */
  readonly session?: SessionAuthenticator;
}

/** Largest receiver body accepted, bytes: a receiver's fields at their limits fit well within it. */
const MAX_BODY_BYTES = 16 * 1024;
/** Labels a receiver groups by when its body names none: one notification per alert name. */
const DEFAULT_GROUP_BY = ["alertname"];
const BASE = "/prometheus/:org/config/v1/receivers";
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

function success(reply: FastifyReply, data: unknown, status = 200): FastifyReply {
  return reply
    .code(status)
    .header("content-type", JSON_TYPE)
    .send(JSON.stringify({ status: "success", data }));
}

/** Adds the receiver routes to `app` (errors go through the server's error handler). */
export function registerReceiverRoutes(app: FastifyInstance, deps: ReceiverRouteDeps): void {
  // Each route authorizes itself (the server's hook leaves routes that declare a scope alone).
  const guard = (scope: Scope) => async (request: FastifyRequest, reply: FastifyReply) => {
    const { org } = request.params as { org: string };
    const access = checkRequestAccess(deps, request, { org, scopes: [scope] });
    if (!access.ok) await sendRefusal(reply, access.refusal);
  };
  const read = { config: { scope: "read" }, onRequest: guard("read") };
  const write = { config: { scope: "write" }, onRequest: guard("write"), bodyLimit: MAX_BODY_BYTES };
  type Params = { org: string; name: string };

  app.get(BASE, read, async (request, reply) => {
    const { org } = request.params as Params;
    return success(reply, { receivers: listReceiverInfos(deps.control, org).map(receiverJson) });
  });

  app.get(`${BASE}/:name`, read, async (request, reply) => {
    const { org, name } = request.params as Params;
    return success(reply, { receiver: receiverJson(getReceiverInfo(deps.control, org, name)) });
  });

  app.put(`${BASE}/:name`, write, async (request, reply) => {
    const { org, name } = request.params as Params;
    const { receiver, created } = putReceiver(deps.control, org, receiverFromJson(name, request.body));
    return success(reply, { receiver: receiverJson(receiver) }, created ? 201 : 200);
  });

  app.delete(`${BASE}/:name`, write, async (request, reply) => {
    const { org, name } = request.params as Params;
    deleteReceiver(deps.control, org, name);
    return reply.code(204).send();
  });
}
