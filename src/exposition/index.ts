// Public surface of the exposition module: Prometheus text 0.0.4, OpenMetrics 1.0 and protobuf parsers behind one
// interface, the Content-Type choice, body decompression, and the writers.

export { DEFAULT_MAX_BODY_BYTES, type DecodeBodyOptions, decodeBody } from "./body.ts";
export {
  formatForContentType,
  OPENMETRICS_CONTENT_TYPE,
  type ParserFactory,
  PROMETHEUS_TEXT_CONTENT_TYPE,
  PROTOBUF_CONTENT_TYPE,
  parserForContentType,
  parserForFormat,
  prefersProtobuf,
  SCRAPE_ACCEPT_HEADER,
  SCRAPE_ACCEPT_HEADER_PROTOBUF,
} from "./content-type.ts";
export { formatGoFloat, formatOpenMetricsFloat } from "./float.ts";
export { OpenMetricsParser } from "./om-parser.ts";
export { PromTextParser } from "./prom-parser.ts";
export { ProtobufParser, type ProtoParserOptions } from "./proto-parser.ts";
export { type FamilyHead, ProtobufFamilyWriter, type ProtoMetric, writeProtobuf } from "./proto-writer.ts";
export type {
  EntryKind,
  Exemplar,
  ExpositionFormat,
  ExpositionParser,
  MetricMetadata,
  MetricType,
  ScrapeFormat,
} from "./types.ts";
export {
  escapeLabelValue,
  type FamilySample,
  headerName,
  type MetricFamily,
  seriesText,
  writeExposition,
  writeOpenMetrics,
  writePrometheusText,
} from "./writer.ts";
