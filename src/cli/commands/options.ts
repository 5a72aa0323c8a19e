// Options that several commands share. Loaded on every run of the CLI, so it imports nothing but commander.

import { Option } from "commander";

/** The `--data DIR` option; `CONTRAIL_DATA` overrides the default `./data`. */
export function dataOption(): Option {
  return new Option("--data <dir>", "data directory").env("CONTRAIL_DATA").default("./data");
}
