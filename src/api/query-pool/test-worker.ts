// Entry module of a query worker for tests only: the real worker, plus two queries that misbehave on purpose.
// `test_hook{action="spin"}` loops forever without a single cancellation check; `test_hook{action="exhaust"}`
// allocates until the worker's heap limit stops it. Every other query is evaluated as usual.

import { serveQueries } from "./worker.ts";

/** Objects kept alive by the memory-exhausting hook. */
const hoard: unknown[] = [];

serveQueries({
  beforeEvaluate(query) {
    if (query === 'test_hook{action="spin"}') {
      for (;;) {
        // Never checks the cancel flag or the deadline: only terminating the thread stops it.
      }
    }
    if (query === 'test_hook{action="exhaust"}') {
      for (let i = 0; ; i++) hoard.push({ i, text: `object ${i}`, list: [i, i + 1, i + 2] });
    }
  },
});
