// Options that several commands share. Loaded on every run of the CLI, so it imports nothing but commander.

import { Option } from "commander";

/** The `--data DIR` option; `CONTRAIL_DATA` overrides the default `./data`. */
export function dataOption(): Option {
  return new Option("--data <dir>", "data directory").env("CONTRAIL_DATA").default("./data");
}

/** The repeatable `--alertmanager URL` option of `contrail up` and `contrail serve`. */
export function alertmanagerOption(): Option {
  return new Option(
    "--alertmanager <url...>",
    "an Alertmanager (base URL such as http://127.0.0.1:9093) that every org's alerts are sent to, labelled " +
      "org=<org>; repeat for several",
  );
}

/** The repeatable `--external-label NAME=VALUE` option of `contrail up` and `contrail serve`. */
export function externalLabelOption(): Option {
  return new Option(
    "--external-label <name=value...>",
    "a label added to every alert sent to Alertmanagers and receivers (unless the alert has its own); repeat for several",
  );
}

/** The `--storage SPEC` option of `contrail up` and `contrail serve`; `CONTRAIL_STORAGE` overrides the default. */
export function storageOption(): Option {
  return new Option(
    "--storage <spec>",
    "where samples are stored: embedded (the built-in TSDB), victoriametrics=URL, vmcluster=INSERT_URL,SELECT_URL " +
      "or mimir=URL (remote write through a disk queue per org under <data>/remote-queue/)",
  )
    .env("CONTRAIL_STORAGE")
    .default("embedded");
}

/** The `--storage-queue-max SIZE` option: the bound of each org's remote-write queue with remote storage. */
export function storageQueueMaxOption(): Option {
  return new Option(
    "--storage-queue-max <size>",
    "with remote --storage: the most each org's remote-write queue holds on disk (e.g. 512MiB); past it, writes are " +
      "refused with 429 (default 256MiB)",
  );
}

/** The `--native-histograms` flag of `contrail up` and `contrail edge`. */
export function nativeHistogramsOption(): Option {
  return new Option(
    "--native-histograms",
    "keep fly_edge_http_response_time_seconds also as a native histogram (exponential buckets, schema 3) beside " +
      "its classic buckets, exposed in the protobuf format and stored where the store keeps native histograms",
  );
}
