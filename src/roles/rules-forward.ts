// Rule and alert listings from the node that evaluates them. Every metrics node lists an org's rule groups, but
// only the node holding the rules lease knows their health, last evaluation and active alerts, which live in its
// memory. So that every API node behind a load balancer answers `/api/v1/rules` and `/api/v1/alerts` the same, a
// node that does not evaluate passes these GETs, once authorized here, to the evaluating node's API (named in the
// lease row) and relays its answer; if that node does not answer, it answers from its own listing.

import type { FastifyInstance } from "fastify";
import { type ControlDb, readHeartbeat } from "../control/index.ts";
import { isLive, RULES_ROLE } from "./heartbeat.ts";

/** Marks a forwarded request, which is always answered where it arrives (no chains, no loops). */
const FORWARDED_HEADER = "x-contrail-forwarded";
/** Longest wait for the evaluating node, ms; then the local listing answers. */
const FORWARD_TIMEOUT_MS = 5_000;
/** The listings that live with the evaluator. */
const LISTING = /^\/prometheus\/[^/?]+\/api\/v1\/(?:rules|alerts)(?:\?|$)/;
/** Request headers passed on: the credentials (token or console session) and content negotiation. */
const PASSED = ["authorization", "cookie", "accept"] as const;
/** Response headers relayed. */
const RELAYED = ["content-type", "cache-control"] as const;

/** Options of {@link forwardRuleListings}. */
export interface RuleForwardOptions {
  readonly control: ControlDb;
  /** True while this node evaluates the rules. */
  readonly evaluates: () => boolean;
  /** This node's API base URL (null until it listens), never forwarded to. */
  readonly self: () => string | null;
  readonly warn: (line: string) => void;
}

/** The live evaluator's API base URL, or null (none, or without an API). */
function evaluatorApi(control: ControlDb): string | null {
  const hb = readHeartbeat(control, RULES_ROLE);
  if (!isLive(control, hb)) return null;
  return typeof hb.info.api === "string" && hb.info.api !== "" ? hb.info.api : null;
}

/**
 * Adds the hook to `app`; call it after the API's authorization hook (hooks run in order), so that a request is
 * refused here, not forwarded, when its credentials do not hold.
 */
export function forwardRuleListings(app: FastifyInstance, o: RuleForwardOptions): void {
  app.addHook("onRequest", async (request, reply) => {
    if (request.method !== "GET" || !LISTING.test(request.url) || request.headers[FORWARDED_HEADER] !== undefined) {
      return;
    }
    if (o.evaluates()) return;
    const target = evaluatorApi(o.control);
    if (target === null || target === o.self()) return;
    const headers: Record<string, string> = { [FORWARDED_HEADER]: "1" };
    for (const h of PASSED) {
      const v = request.headers[h];
      if (typeof v === "string") headers[h] = v;
    }
    try {
      const r = await fetch(`${target}${request.url}`, { headers, signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS) });
      const body = Buffer.from(await r.arrayBuffer());
      for (const h of RELAYED) {
        const v = r.headers.get(h);
        if (v !== null) reply.header(h, v);
      }
      return reply.code(r.status).send(body);
    } catch (err) {
      o.warn(`rules listing from ${target}: ${(err as Error).message}; answering from this node`);
    }
  });
}
