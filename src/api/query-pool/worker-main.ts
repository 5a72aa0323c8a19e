// Entry module of a query worker thread (see worker.ts). Between jobs the worker gives back the new space a job grew
// (young-release.ts).

import { startYoungRelease } from "../../runtime/young-release.ts";
import { serveQueries } from "./worker.ts";

serveQueries();
startYoungRelease();
