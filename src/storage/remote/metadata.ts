// Metric metadata (type, help, unit) received by remote write, kept in memory per org: the newest entry per metric
// family name, as the API's /api/v1/metadata reports it. Senders repeat metadata constantly (2.0 with every series,
// 1.0 every minute), so an unchanged entry is recognised without allocating.

import type { MetricMetadata, MetricType } from "../../exposition/types.ts";
import { compareStrings } from "../../model/labels.ts";
import { DEFAULT_ORG_LIMITS } from "../../model/limits.ts";

/** Options of {@link MetadataStore}. */
export interface MetadataStoreOptions {
  /**
   * Metric families kept per org unless `set` is given the org's own limit; entries for new names beyond it are
   * dropped (and counted). Default: the `max_metadata_families` default of model/limits.ts.
   */
  readonly maxPerOrg?: number;
}

interface OrgMetadata {
  readonly byName: Map<string, MetricMetadata>;
  dropped: number;
}

/** Per-org metric metadata in memory; lost on restart (senders resend it). Single-threaded. */
export class MetadataStore {
  private readonly orgs = new Map<string, OrgMetadata>();
  private readonly maxPerOrg: number;

  /** An empty store; see {@link MetadataStoreOptions}. */
  constructor(opts: MetadataStoreOptions = {}) {
    this.maxPerOrg = opts.maxPerOrg ?? DEFAULT_ORG_LIMITS.maxMetadataFamilies;
  }

  /**
   * Records the metadata of metric family `name` in `org`, replacing what was there; a new family is dropped when
   * the org already has `maxFamilies` (default: the store's `maxPerOrg`).
   */
  set(
    org: string,
    name: string,
    type: MetricType,
    help: string,
    unit: string,
    maxFamilies: number = this.maxPerOrg,
  ): void {
    let o = this.orgs.get(org);
    if (o === undefined) {
      o = { byName: new Map(), dropped: 0 };
      this.orgs.set(org, o);
    }
    const old = o.byName.get(name);
    if (old !== undefined) {
      if (old.type === type && old.help === help && old.unit === unit) return;
    } else if (o.byName.size >= maxFamilies) {
      o.dropped++;
      return;
    }
    o.byName.set(name, { type, help, unit });
  }

  /** The metadata of `name` in `org`, or undefined. */
  get(org: string, name: string): MetricMetadata | undefined {
    return this.orgs.get(org)?.byName.get(name);
  }

  /** Every metric family of `org` with its metadata, sorted by name (UTF-8 byte order). */
  list(org: string): [string, MetricMetadata][] {
    const o = this.orgs.get(org);
    if (o === undefined) return [];
    return [...o.byName].sort((a, b) => compareStrings(a[0], b[0]));
  }

  /** Entries of `org` dropped because its table was full. */
  dropped(org: string): number {
    return this.orgs.get(org)?.dropped ?? 0;
  }
}
