// Server certificates of the edge, issued by the local CA on the first handshake for a host name and kept as ready
// TLS contexts: at most `max` names (least recently used dropped first), each renewed a day before it expires.

import { createSecureContext, type SecureContext } from "node:tls";
import type { LocalCa } from "./cert-authority.ts";

/** A certificate is issued again when less than this remains of its validity, ms. */
const RENEW_BEFORE_MS = 86_400_000;

interface Entry {
  readonly context: SecureContext;
  readonly notAfterMs: number;
}

/** The TLS contexts of the host names an edge process served, shared by its TLS listeners. */
export class CertCache {
  private readonly entries = new Map<string, Entry>();
  /** Certificates issued so far (renewals and re-issues after eviction included). */
  issued = 0;

  constructor(
    private readonly ca: LocalCa,
    private readonly max: number,
  ) {}

  /** The context for `hostName` (lower case), issuing its certificate now if it has none or it is about to expire. */
  context(hostName: string, nowMs: number = Date.now()): SecureContext {
    let e = this.entries.get(hostName);
    if (e !== undefined) this.entries.delete(hostName);
    if (e === undefined || e.notAfterMs - nowMs < RENEW_BEFORE_MS) {
      const cert = this.ca.issue(hostName, new Date(nowMs));
      this.issued++;
      e = { context: createSecureContext({ key: cert.keyPem, cert: cert.certPem }), notAfterMs: cert.notAfterMs };
    }
    // Re-inserted so that Map order is least recently used first.
    this.entries.set(hostName, e);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
    return e.context;
  }

  /** Host names with a cached certificate. */
  get size(): number {
    return this.entries.size;
  }
}
