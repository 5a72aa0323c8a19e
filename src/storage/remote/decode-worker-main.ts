// Entry module of an ingest decode worker thread (see decode-worker.ts).

import { serveDecodes } from "./decode-worker.ts";

serveDecodes();
