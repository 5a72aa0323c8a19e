// Entry module of a query worker thread (see worker.ts).

import { serveQueries } from "./worker.ts";

serveQueries();
