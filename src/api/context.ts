// What an org endpoint's handler receives once the request is authorized, and what it returns. Handlers are plain
// async functions of this context: no fastify types, so they are easy to read and to test.

import type { MetricMetadata } from "../exposition/index.ts";
import type { Engine } from "../promql/engine/index.ts";
import type { ActiveTarget } from "../scrape/index.ts";
import type { TenantStore } from "../storage/interface.ts";
import type { OrgLimits } from "./limits.ts";
import type { Form } from "./params.ts";
import type { QuerySpec } from "./query-pool/protocol.ts";
import type { RulesSource } from "./rules-handlers.ts";

/**
 * What the API reads of the platform's scraping and ingestion, per org: the wiring layer backs it with the scrape
 * manager and the remote-write receiver's metadata. Both answers are small and built on demand.
 */
export interface TargetsAndMetadata {
  /** The org's active scrape targets, as `/api/v1/targets` lists them. */
  targetsFor(org: string): readonly ActiveTarget[];
  /** Metric family name to its distinct (type, help, unit) entries, names sorted, for `/api/v1/metadata`. */
  metadataFor(org: string): ReadonlyMap<string, readonly MetricMetadata[]>;
}

/** The answer of a server that neither scrapes nor receives writes: no targets, no metadata. */
export const NO_TARGETS_OR_METADATA: TargetsAndMetadata = {
  targetsFor: () => [],
  metadataFor: () => new Map(),
};

/** An authorized request to one org's API. */
export interface OrgRequest {
  /** The org of the URL, which the token was checked against. */
  readonly org: string;
  /** Body and URL parameters. */
  readonly form: Form;
  /** Route parameters other than the org (e.g. `name` of label values), decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly limits: OrgLimits;
  readonly store: TenantStore;
  /** Checks query texts before they are queued (evaluation happens on the query pool). */
  readonly engine: Engine;
  /** Evaluates a PromQL query of this org off the event loop; resolves with the whole answer. */
  readonly queries: (spec: QuerySpec) => Promise<Answer>;
  /** Targets and metadata of the org's scrapes and writes. */
  readonly status: TargetsAndMetadata;
  /** The org's rule groups and alerts (`/api/v1/rules`, `/api/v1/alerts`). */
  readonly rules: RulesSource;
  /**
   * Aborted when the client goes away. With embedded storage it is the connection's, shared by every request over
   * it for as long as it lives: a listener added to it must be removed when the request is answered.
   */
  readonly signal: AbortSignal;
  /** The request's arrival time, ms since the epoch: the default `time` of instant queries. */
  readonly now: number;
  /** The request's Accept header, for endpoints that negotiate their format (federation); absent when not sent. */
  readonly accept?: string;
}

/**
 * A handler's result: a success envelope around `data`, a text or binary body of its own content type
 * (federation), or a rendered JSON body.
 */
export type Answer =
  | {
      readonly kind: "data";
      /** The JSON text of `data`, in pieces. */
      readonly data: Iterable<string>;
      readonly warnings?: readonly string[];
      readonly infos?: readonly string[];
    }
  | { readonly kind: "text"; readonly body: string; readonly contentType: string }
  /** A whole binary body, owned by the answer. */
  | { readonly kind: "bytes"; readonly body: Uint8Array; readonly contentType: string }
  /** A whole JSON response body, UTF-8, in chunks (as a query worker renders it). */
  | { readonly kind: "json"; readonly body: readonly Uint8Array[] };

/** An org endpoint. */
export type OrgHandler = (req: OrgRequest) => Promise<Answer> | Answer;

/** A data answer holding one JSON text. */
export function dataAnswer(json: string, warnings?: readonly string[]): Answer {
  return { kind: "data", data: [json], warnings };
}

/** Caps annotations as Prometheus does: 10 of each kind, then one line counting the rest. */
export function capNotes(list: readonly string[], kind: "warning" | "info"): string[] {
  if (list.length <= 10) return [...list];
  return [...list.slice(0, 10), `${list.length - 10} more ${kind} annotations omitted`];
}
