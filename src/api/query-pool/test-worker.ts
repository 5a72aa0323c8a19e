// Entry module of a query worker for tests only: the real worker, plus queries that behave in known ways.
// `test_hook{action="wait"}` works until it is canceled, checking the cancel flag all along, then goes on to the
// engine (which finds the flag raised); `test_hook{action="spin"}` loops forever without a single check;
// `test_hook{action="exhaust"}` allocates until the worker's heap limit stops it; `test_hook{action="limits"}` fails
// with the worker's V8 resource limits in its error (JSON after "limits: "). Other queries run as usual.

import { resourceLimits } from "node:worker_threads";
import { serveQueries } from "./worker.ts";

/** Objects kept alive by the memory-exhausting hook. */
const hoard: unknown[] = [];

serveQueries({
  beforeEvaluate(query, cancelled) {
    if (query === 'test_hook{action="wait"}') {
      while (!cancelled()) {
        // Busy until canceled, as a long evaluation that checks at every step.
      }
    }
    if (query === 'test_hook{action="spin"}') {
      for (;;) {
        // Never checks the cancel flag or the deadline: only terminating the thread stops it.
      }
    }
    if (query === 'test_hook{action="limits"}') throw new Error(`limits: ${JSON.stringify(resourceLimits)}`);
    if (query === 'test_hook{action="exhaust"}') {
      for (let i = 0; ; i++) hoard.push({ i, text: `object ${i}`, list: [i, i + 1, i + 2] });
    }
  },
});
