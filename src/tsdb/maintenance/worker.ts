// The maintenance worker thread: runs the jobs the MaintenanceQueue posts, one at a time, and posts each result (or
// its error, with the ContrailError code when there is one) back. It holds no state between jobs.

import { parentPort } from "node:worker_threads";
import { isContrailError } from "../../model/errors.ts";
import { type JobReply, type JobRequest, runJob } from "./jobs.ts";

const port = parentPort;
if (port === null) throw new Error("the maintenance worker must run in a worker thread");
port.on("message", (req: JobRequest) => {
  let reply: JobReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const done = runJob(req.job);
    reply = { id: req.id, ok: true, result: done.result };
    transfer = done.transfer;
  } catch (err) {
    reply = {
      id: req.id,
      ok: false,
      code: isContrailError(err) ? err.code : "internal",
      message: err instanceof Error ? err.message : String(err),
    };
  }
  port.postMessage(reply, transfer);
});
