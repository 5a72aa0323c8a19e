// Picks the parser for a scrape response by its Content-Type, as Prometheus does: OpenMetrics for
// `application/openmetrics-text` (any version), Prometheus text for `text/plain` and for anything missing,
// malformed or unknown.

import { OpenMetricsParser } from "./om-parser.ts";
import { PromTextParser } from "./prom-parser.ts";
import type { ExpositionFormat, ExpositionParser } from "./types.ts";

/** Content-Type of Prometheus text 0.0.4 as Contrail serves it. */
export const PROMETHEUS_TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Content-Type of OpenMetrics 1.0 as Contrail serves it. */
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** The Accept header a scraper sends: OpenMetrics preferred, then Prometheus text, then anything. */
export const SCRAPE_ACCEPT_HEADER =
  "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1";

/** Makes parsers of one format. */
export interface ParserFactory {
  readonly format: ExpositionFormat;
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

/** The format a Content-Type header value selects (`undefined` or unknown: Prometheus text). */
export function formatForContentType(contentType: string | undefined): ExpositionFormat {
  if (contentType === undefined) return "prometheus";
  const semi = contentType.indexOf(";");
  const media = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return media === "application/openmetrics-text" ? "openmetrics" : "prometheus";
}

/** The parser factory for a Content-Type header value. */
export function parserForContentType(contentType: string | undefined): ParserFactory {
  return formatForContentType(contentType) === "openmetrics" ? OPENMETRICS : PROMETHEUS;
}

/** The parser factory of a format. */
export function parserForFormat(format: ExpositionFormat): ParserFactory {
  switch (format) {
    case "prometheus":
      return PROMETHEUS;
    case "openmetrics":
      return OPENMETRICS;
  }
}
