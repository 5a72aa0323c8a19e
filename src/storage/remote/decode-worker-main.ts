// Entry module of an ingest decode worker thread (see decode-worker.ts). Once it idles after requests that grew its
// key table, the worker gives back the arrays the table replaced as it doubled (old-release.ts).

import { startOldRelease } from "../../runtime/old-release.ts";
import { serveDecodes } from "./decode-worker.ts";

serveDecodes();
startOldRelease();
