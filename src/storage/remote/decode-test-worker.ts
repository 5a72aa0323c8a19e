// Entry module of an ingest decode worker for tests only: the real worker, plus bodies that behave in known ways.
// A body of the bytes DE AD 01 makes the worker throw (it crashes), DE AD 02 makes it loop forever without
// answering (stuck); others are decoded as usual.

import { serveDecodes } from "./decode-worker.ts";

serveDecodes({
  beforeDecode(job) {
    const b = job.body;
    if (b.length !== 3 || b[0] !== 0xde || b[1] !== 0xad) return;
    if (b[2] === 1) throw new Error("decode test worker: crash on demand");
    if (b[2] === 2) {
      for (;;) {
        // Never answers: only terminating the thread stops it.
      }
    }
  },
});
