// The TLS families of the edge, labelled `app, region, host` like every `fly_edge_*` family, plus their own labels.
// Handshakes happen once per client connection, not per request, so children are looked up per handshake.
//
// Label values come from a bounded set: `app` and `servername` only ever name an app of the route table (a handshake
// for any other name counts under app="" and servername=""), `version` is the protocol OpenSSL negotiated, `kind` is
// one of HandshakeErrorKind, and `ip` takes at most MAX_IP_SERIES distinct values per listener, then "other".

import type { CounterFamily, HistogramFamily, Registry } from "../exposition/registry.ts";

/** Upper bounds of the handshake and handshake-queue histograms, in seconds (our choice; +Inf is implicit). */
export const HANDSHAKE_TIME_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Most distinct `ip` label values of `fly_edge_tls_ip_limit_reached_count` per listener; later IPs count as "other". */
export const MAX_IP_SERIES = 100;

/** Why a TLS handshake at the edge failed: the `kind` label of `fly_edge_tls_handshake_errors`. */
export type HandshakeErrorKind =
  /** The server name (SNI) names no app of this edge. */
  | "unknown_host"
  /** The client sent no server name, so no certificate could be chosen. */
  | "no_sni"
  /** Refused: the app's handshakes-per-second limit was reached. */
  | "sni_limit"
  /** Refused: the client IP's handshakes-per-second limit was reached. */
  | "ip_limit"
  /** Refused: the listener's handshake queue was full, or the wait for a handshake slot ran out. */
  | "queue_full"
  /** The handshake did not finish within the handshake timeout. */
  | "timeout"
  /** The client refused the edge's certificate (it does not trust the local CA). */
  | "cert_refused"
  /** The client closed or reset the connection during the handshake. */
  | "closed"
  /** Anything else OpenSSL refused: not TLS, no common version or cipher, a bad record. */
  | "protocol";

const EDGE = ["app", "region", "host"];

/** The TLS families of one edge process (registered once in the edge's registry). */
export class TlsMetrics {
  readonly handshakeTime: HistogramFamily;
  readonly handshakeErrors: CounterFamily;
  readonly queueTime: HistogramFamily;
  readonly sniLimit: CounterFamily;
  readonly ipLimit: CounterFamily;

  constructor(registry: Registry) {
    this.handshakeTime = registry.histogram({
      name: "fly_edge_tls_handshake_time_seconds",
      help: "Time of successful TLS handshakes at the edge, from the start of the handshake to its end, in seconds.",
      labelNames: [...EDGE, "version"],
      buckets: HANDSHAKE_TIME_BUCKETS,
    });
    this.handshakeErrors = registry.counter({
      name: "fly_edge_tls_handshake_errors",
      help: "TLS handshakes at the edge that failed, by server name and kind of error.",
      labelNames: [...EDGE, "servername", "kind"],
    });
    this.queueTime = registry.histogram({
      name: "fly_edge_tls_queue_time_seconds",
      help: "Time a TLS connection waited for a handshake slot at the edge, in seconds.",
      labelNames: EDGE,
      buckets: HANDSHAKE_TIME_BUCKETS,
    });
    this.sniLimit = registry.counter({
      name: "fly_edge_tls_sni_limit_reached_count",
      help: "TLS handshakes refused because the server name's handshakes-per-second limit was reached.",
      labelNames: [...EDGE, "servername"],
    });
    this.ipLimit = registry.counter({
      name: "fly_edge_tls_ip_limit_reached_count",
      help: "TLS handshakes refused because the client IP's handshakes-per-second limit was reached.",
      labelNames: [...EDGE, "ip"],
    });
  }
}
