// Entry module of an ingest decode worker for tests only: the real worker, plus bodies that behave in known ways.
// A body of the bytes DE AD 01 makes the worker throw (it crashes), DE AD 02 makes it loop forever without
// answering (stuck), DE AD 03 is refused with the worker's V8 resource limits as the message (JSON; the decoder's
// own answer that follows is one the pool no longer waits for); others are decoded as usual.

import { parentPort, resourceLimits } from "node:worker_threads";
import type { DecodeAnswer } from "./decode-worker.ts";
import { serveDecodes } from "./decode-worker.ts";

serveDecodes({
  beforeDecode(job) {
    const b = job.body;
    if (b.length !== 3 || b[0] !== 0xde || b[1] !== 0xad) return;
    if (b[2] === 1) throw new Error("decode test worker: crash on demand");
    if (b[2] === 3) {
      const refusal = { status: 400, code: "bad_data", message: JSON.stringify(resourceLimits) } as const;
      parentPort?.postMessage({ id: job.id, refusal } satisfies DecodeAnswer);
    }
    if (b[2] === 2) {
      for (;;) {
        // Never answers: only terminating the thread stops it.
      }
    }
  },
});
