// The control API for instances that run elsewhere: `/control/v1/apps/<app>/instances`.
//   GET                      the app's instances with their runtime facts (read scope)
//   POST   {region, address[, host][, processGroup]}   registers an external instance (write scope); 201
//   DELETE …/instances/<id>  removes an external instance (write scope); 204
// The token (or the web console's session) must belong to the app's org. An app that does not exist is refused exactly like another org's app
// (403 for a valid token, 401 otherwise), so answers do not tell which app names are taken. A running `up` picks
// the change up within a second: it health checks the instance, routes to it once healthy and scrapes it.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  type ControlDb,
  getApp,
  getInstance,
  type InstanceWithRuntime,
  listInstancesWithRuntime,
  registerInstance,
  removeInstance,
  type Scope,
} from "../control/index.ts";
import { ContrailError } from "../model/errors.ts";
import type { Authenticator } from "./auth.ts";
import { JSON_TYPE } from "./respond.ts";
import { checkRequestAccess, type SessionAuthenticator, sendRefusal } from "./session-auth.ts";

/** What the control routes need. */
export interface ControlRouteDeps {
  readonly control: ControlDb;
  readonly authenticate: Authenticator;
  /** The web console's session check; without it only tokens authorize. */
  readonly session?: SessionAuthenticator;
}

/** The JSON shape of an instance in control API answers. Times in ms since the epoch. */
export function instanceJson(i: InstanceWithRuntime): Record<string, unknown> {
  return {
    id: i.id,
    app: i.app,
    kind: i.kind,
    region: i.region,
    host: i.host,
    address: i.address,
    processGroup: i.processGroup,
    state: i.state,
    registeredAt: i.registeredAt,
    startedAt: i.startedAt,
    pid: i.runtime?.pid ?? null,
    health: i.runtime?.health ?? null,
    restarts: i.runtime?.restarts ?? 0,
    lastExitCode: i.runtime?.lastExitCode ?? null,
  };
}

/** Refuses unless the token grants `scope` on the app's org; returns the app name when it does. */
async function authorize(
  deps: ControlRouteDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  scope: Scope,
): Promise<string | null> {
  const { app } = request.params as { app: string };
  const org = getApp(deps.control, app)?.orgId ?? "";
  const access = checkRequestAccess(deps, request, { org, scopes: [scope] });
  if (access.ok) return app;
  await sendRefusal(reply, access.refusal);
  return null;
}

function field(body: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const v = body[name];
  if (v === undefined && !required) return undefined;
  if (typeof v !== "string") throw new ContrailError("bad_data", `${name}: expected a string`);
  return v;
}

/** Adds the control routes to `app` (errors go through the server's error handler). */
export function registerControlRoutes(app: FastifyInstance, deps: ControlRouteDeps): void {
  const base = "/control/v1/apps/:app/instances";
  app.get(base, async (request, reply) => {
    const name = await authorize(deps, request, reply, "read");
    if (name === null) return reply;
    const list = listInstancesWithRuntime(deps.control, { app: name }).map(instanceJson);
    return reply.header("content-type", JSON_TYPE).send(JSON.stringify({ instances: list }));
  });

  app.post(base, async (request, reply) => {
    const name = await authorize(deps, request, reply, "write");
    if (name === null) return reply;
    const body = request.body;
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw new ContrailError("bad_data", 'expected a JSON object like {"region":"ord","address":"10.0.0.5:8080"}');
    }
    const b = body as Record<string, unknown>;
    const created = registerInstance(deps.control, {
      app: name,
      kind: "external",
      region: field(b, "region", true)!,
      address: field(b, "address", true)!,
      host: field(b, "host", false),
      processGroup: field(b, "processGroup", false),
      // Traffic and scrapes wait for the first passing health check of a running `up`.
      state: "starting",
    });
    const [withRuntime] = listInstancesWithRuntime(deps.control, { app: name }).filter((i) => i.id === created.id);
    return reply
      .code(201)
      .header("content-type", JSON_TYPE)
      .send(JSON.stringify({ instance: instanceJson(withRuntime) }));
  });

  app.delete(`${base}/:id`, async (request, reply) => {
    const name = await authorize(deps, request, reply, "write");
    if (name === null) return reply;
    const { id } = request.params as { id: string };
    const inst = getInstance(deps.control, id);
    if (inst === undefined || inst.app !== name)
      throw new ContrailError("not_found", `app "${name}" has no instance ${id}`);
    if (inst.kind !== "external") {
      throw new ContrailError("conflict", `instance ${id} is run by contrail up: redeploy the app to change it`);
    }
    removeInstance(deps.control, id);
    return reply.code(204).send();
  });
}
