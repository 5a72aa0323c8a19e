// The ruler configuration API of Cortex and Mimir, per org, under `/prometheus/<org>/config/v1/rules`, so Grafana's
// data-source-managed rules and mimirtool/cortextool-style clients manage an org's rule groups:
//
//   GET    …/rules                      every namespace: a YAML map namespace → list of groups (404 when none)
//   GET    …/rules/<namespace>          one namespace, the same shape (404 when it has no group)
//   GET    …/rules/<namespace>/<group>  one group as a YAML document (404 when absent)
//   POST   …/rules/<namespace>          body: one group as YAML; adds or replaces it by its name (202)
//   DELETE …/rules/<namespace>/<group>  (202; 404 when absent)
//   DELETE …/rules/<namespace>          every group of the namespace (202; 404 when it has none)
//
// mimirtool reaches the same routes with `--address http://<host>/prometheus/<org>`: it adds its own
// `/prometheus/config/v1/rules`, which is served too.
//
// Listings answer `application/yaml`; changes answer 202 `{"status":"success"}` as Cortex does; errors use the API's
// JSON envelope (400 with the rule file's `namespace:line:` messages, 413 past the body limit). Reading takes a
// token with `read`, changing one with `write`, checked before the body is read; every route serves only the org
// of its URL. After a change, `onChange` re-syncs the org's evaluator before the answer is sent.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  type ControlDb,
  checkRuleGroupKey,
  deleteRuleGroup,
  deleteRuleNamespace,
  getRuleGroup,
  listRuleGroups,
  MAX_RULE_GROUP_BYTES,
  putRuleGroup,
  type Scope,
} from "../control/index.ts";
import { ContrailError, isContrailError } from "../model/errors.ts";
import type { OrgLimits } from "../model/limits.ts";
import { prepareRuleGroup, rulerListing } from "../rules/stored-groups.ts";
import type { RuleGroupSpec } from "../rules/types.ts";
import type { Authenticator } from "./auth.ts";
import { readBody } from "./body.ts";
import { toContrailError } from "./error-status.ts";
import { JSON_TYPE, sendError } from "./respond.ts";
import { checkRequestAccess, type SessionAuthenticator, sendRefusal } from "./session-auth.ts";

/** The routes' common prefix, relative to the server root. */
export const RULER_ROUTE = "/prometheus/:org/config/v1/rules";
/** The same routes as mimirtool asks for them when given the org's URL as its address. */
const MIMIRTOOL_ROUTE = "/prometheus/:org/prometheus/config/v1/rules";

/** The content type of listings, as Cortex and Mimir send it. */
const YAML_TYPE = "application/yaml";

/** What the ruler routes need from the server. */
export interface RulerDeps {
  /** Where the groups live; the routes never close it. */
  readonly control: ControlDb;
  readonly authenticate: Authenticator;
  /** Web console session check; without it only tokens authorize. */
  readonly session?: SessionAuthenticator;
  /** The org's limits (max_rule_groups, max_rules_per_group). */
  readonly limitsFor: (org: string) => OrgLimits;
  /** Checks a group against what the org's evaluator accepts (e.g. the shortest interval); throws to refuse it. */
  readonly checkGroup?: (org: string, namespace: string, group: RuleGroupSpec) => void;
  /** Called after a change of the org's groups, and awaited before the answer; must not throw. */
  readonly onChange?: (org: string) => Promise<void> | void;
}

const NO_GROUPS = "no rule groups found";

type Params = { readonly org: string; readonly namespace?: string; readonly group?: string };

function paramsOf(request: FastifyRequest): Params {
  return request.params as Params;
}

function sendYaml(reply: FastifyReply, text: string): FastifyReply {
  return reply.code(200).header("content-type", YAML_TYPE).send(text);
}

function sendAccepted(reply: FastifyReply): FastifyReply {
  return reply.code(202).header("content-type", JSON_TYPE).send('{"status":"success"}');
}

/** Adds the ruler routes to `app` in a context of their own (their body parser and errors touch no other route). */
export async function registerRulerRoutes(app: FastifyInstance, deps: RulerDeps): Promise<void> {
  const credentials = { authenticate: deps.authenticate, session: deps.session };
  const authorize = (scope: Scope) => async (request: FastifyRequest, reply: FastifyReply) => {
    const access = checkRequestAccess(credentials, request, { org: paramsOf(request).org, scopes: [scope] });
    if (!access.ok) return sendRefusal(reply, access.refusal);
  };
  const changed = async (org: string) => {
    await deps.onChange?.(org);
  };

  await app.register(async (scope) => {
    // Any Content-Type (Grafana sends application/yaml, other clients text/plain or none): the body is YAML.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", async (request: FastifyRequest, payload: NodeJS.ReadableStream) =>
      (
        await readBody(payload, request.headers["content-length"], {
          limit: MAX_RULE_GROUP_BYTES,
          what: "the largest rule group accepted",
        })
      ).toString("utf8"),
    );
    scope.setErrorHandler(async (err, _request, reply) => sendError(reply, toContrailError(err)));

    const route = (
      method: "GET" | "POST" | "DELETE",
      path: string,
      need: Scope,
      handler: (p: Params, request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>,
    ) => {
      for (const prefix of [RULER_ROUTE, MIMIRTOOL_ROUTE]) {
        scope.route({
          method,
          url: `${prefix}${path}`,
          config: { scope: need },
          onRequest: authorize(need),
          handler: async (request, reply) => handler(paramsOf(request), request, reply),
        });
      }
    };

    route("GET", "", "read", async ({ org }, _request, reply) => {
      const groups = listRuleGroups(deps.control, org);
      if (groups.length === 0) throw new ContrailError("not_found", NO_GROUPS);
      return sendYaml(reply, rulerListing(groups));
    });

    route("GET", "/:namespace", "read", async ({ org, namespace = "" }, _request, reply) => {
      const groups = listRuleGroups(deps.control, org, namespace);
      if (groups.length === 0) throw new ContrailError("not_found", NO_GROUPS);
      return sendYaml(reply, rulerListing(groups));
    });

    route("GET", "/:namespace/:group", "read", async ({ org, namespace = "", group = "" }, _request, reply) => {
      const g = getRuleGroup(deps.control, org, namespace, group);
      if (g === undefined) throw new ContrailError("not_found", "group does not exist");
      return sendYaml(reply, g.yaml);
    });

    route("POST", "/:namespace", "write", async ({ org, namespace = "" }, request, reply) => {
      checkRuleGroupKey("namespace", namespace);
      const text = typeof request.body === "string" ? request.body : "";
      if (text.trim() === "") throw new ContrailError("bad_data", "empty body: send one rule group as YAML");
      const prepared = prepareRuleGroup(text, namespace);
      try {
        deps.checkGroup?.(org, namespace, prepared.spec);
      } catch (err) {
        // A limit of the org is the request's fault, 400 as Cortex answers it.
        if (isContrailError(err, "limit_exceeded")) throw new ContrailError("bad_data", err.message, { cause: err });
        throw err;
      }
      const limits = deps.limitsFor(org);
      const change = putRuleGroup(
        deps.control,
        org,
        { namespace, name: prepared.spec.name, yaml: prepared.yaml, rules: prepared.rules },
        limits,
      );
      if (change !== null) await changed(org);
      return sendAccepted(reply);
    });

    route("DELETE", "/:namespace/:group", "write", async ({ org, namespace = "", group = "" }, _request, reply) => {
      if (!deleteRuleGroup(deps.control, org, namespace, group)) {
        throw new ContrailError("not_found", "group does not exist");
      }
      await changed(org);
      return sendAccepted(reply);
    });

    route("DELETE", "/:namespace", "write", async ({ org, namespace = "" }, _request, reply) => {
      if (deleteRuleNamespace(deps.control, org, namespace) === 0) {
        throw new ContrailError("not_found", "group namespace does not exist");
      }
      await changed(org);
      return sendAccepted(reply);
    });
  });
}
