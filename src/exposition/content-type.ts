// Picks the parser for a scrape response by its Content-Type, as Prometheus does: the protobuf parser for
// `application/vnd.google.protobuf` with `proto=io.prometheus.client.MetricFamily` and `encoding=delimited`,
// OpenMetrics for `application/openmetrics-text` (any version), Prometheus text for `text/plain` and for anything
// missing, malformed or unknown. Also the Accept headers a scraper sends, built as Prometheus 3 builds them from its
// `scrape_protocols` (each protocol in order of preference with a falling q-value, then `*/*`).

import { OpenMetricsParser } from "./om-parser.ts";
import { PromTextParser } from "./prom-parser.ts";
import { ProtobufParser, type ProtoParserOptions } from "./proto-parser.ts";
import type { ExpositionParser, ScrapeFormat } from "./types.ts";

/** Content-Type of Prometheus text 0.0.4 as Contrail serves it. */
export const PROMETHEUS_TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Content-Type of OpenMetrics 1.0 as Contrail serves it. */
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** Media type of the protobuf exposition format (without parameters). */
export const PROTOBUF_MEDIA_TYPE = "application/vnd.google.protobuf";

/** Content-Type of the protobuf exposition format: length-delimited MetricFamily messages. */
export const PROTOBUF_CONTENT_TYPE = `${PROTOBUF_MEDIA_TYPE}; proto=io.prometheus.client.MetricFamily; encoding=delimited`;

/**
 * The Accept header of a scraper that keeps no native histograms: OpenMetrics preferred, then Prometheus text,
 * then anything (Prometheus 3's header for its default `scrape_protocols`, less the versions Contrail does not tell
 * apart).
 */
export const SCRAPE_ACCEPT_HEADER =
  "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1";

/**
 * The Accept header of a scraper that takes native histograms: the protobuf format first, as Prometheus 3 asks
 * with `scrape_native_histograms: true` (its `PrometheusProto` protocol ahead of the text ones), then the rest of
 * {@link SCRAPE_ACCEPT_HEADER}.
 */
export const SCRAPE_ACCEPT_HEADER_PROTOBUF =
  "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6," +
  SCRAPE_ACCEPT_HEADER;

/** Makes parsers of one format. */
export interface ParserFactory {
  readonly format: ScrapeFormat;
  /** A parser over `body` (decompressed bytes, or text); the parser keeps `body` for its lifetime. */
  newParser(body: Uint8Array | string): ExpositionParser;
}

const PROMETHEUS: ParserFactory = {
  format: "prometheus",
  newParser: (body) => new PromTextParser(body),
};

const OPENMETRICS: ParserFactory = {
  format: "openmetrics",
  newParser: (body) => new OpenMetricsParser(body),
};

// The value of parameter `name` in the `;`-separated parameters `params` (lower-cased name, quotes removed), or "".
function parameter(params: readonly string[], name: string): string {
  for (const p of params) {
    const eq = p.indexOf("=");
    if (eq >= 0 && p.slice(0, eq).trim().toLowerCase() === name) {
      return p
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, "$1");
    }
  }
  return "";
}

/**
 * The format a Content-Type header value selects (`undefined` or unknown: Prometheus text). Protobuf needs the
 * MetricFamily message and the delimited encoding, as Prometheus checks; any other protobuf falls back to text.
 */
export function formatForContentType(contentType: string | undefined): ScrapeFormat {
  if (contentType === undefined) return "prometheus";
  const [mediaPart, ...params] = contentType.split(";");
  const media = mediaPart.trim().toLowerCase();
  if (media === "application/openmetrics-text") return "openmetrics";
  if (
    media === PROTOBUF_MEDIA_TYPE &&
    parameter(params, "proto") === "io.prometheus.client.MetricFamily" &&
    parameter(params, "encoding") === "delimited"
  ) {
    return "protobuf";
  }
  return "prometheus";
}

/** The parser factory for a Content-Type header value; `opts` applies to the protobuf parser. */
export function parserForContentType(contentType: string | undefined, opts: ProtoParserOptions = {}): ParserFactory {
  return parserForFormat(formatForContentType(contentType), opts);
}

/** The parser factory of a format; `opts` applies to the protobuf parser. */
export function parserForFormat(format: ScrapeFormat, opts: ProtoParserOptions = {}): ParserFactory {
  switch (format) {
    case "prometheus":
      return PROMETHEUS;
    case "openmetrics":
      return OPENMETRICS;
    case "protobuf":
      return { format, newParser: (body) => new ProtobufParser(body, opts) };
  }
}

/** Quality value of one Accept entry's parameters (default 1; malformed: 0). */
function quality(params: readonly string[]): number {
  const q = parameter(params, "q");
  if (q === "") return 1;
  const v = Number(q);
  return Number.isFinite(v) && v >= 0 && v <= 1 ? v : 0;
}

/**
 * Whether a server of Prometheus text and protobuf should answer a request with `accept` in protobuf: the header
 * offers the delimited MetricFamily protobuf with a quality no lower than any other entry it offers (client_golang
 * picks the first entry of the highest quality; entries of equal quality keep their order, and so does this).
 */
export function prefersProtobuf(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  let best = -1;
  let bestIsProtobuf = false;
  for (const entry of accept.split(",")) {
    const [mediaPart, ...params] = entry.split(";");
    const media = mediaPart.trim().toLowerCase();
    if (media === "") continue;
    const q = quality(params);
    if (q <= best) continue;
    best = q;
    bestIsProtobuf =
      media === PROTOBUF_MEDIA_TYPE &&
      parameter(params, "proto") === "io.prometheus.client.MetricFamily" &&
      parameter(params, "encoding") === "delimited";
  }
  return bestIsProtobuf && best > 0;
}
