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
  type Scope,
} from "../control/index.ts";
import { receiverFromJson, receiverJson } from "../rules/notify/receiver-json.ts";
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
const BASE = "/prometheus/:org/config/v1/receivers";

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
