// Starting a worker thread from a module of this code base, compiled (`.js` in `dist/`) or TypeScript run through
// tsx (tests, benchmarks). Node 20 does not carry tsx's module hooks into worker threads, neither from `--import tsx`
// in `execArgv` nor from `register()` on the main thread, so a `.ts` entry is reached through a small bootstrap that
// registers tsx in the worker first. The parent's flags are inherited as Node filters them (naming them explicitly
// would refuse flags such as `--expose-gc` that workers do not take).

import { extname } from "node:path";
import { Worker, type WorkerOptions } from "node:worker_threads";

/** The module `name` (without extension) beside `base` (a file URL), with `base`'s own extension (`.ts` or `.js`). */
export function siblingModule(base: string, name: string): URL {
  return new URL(`./${name}${extname(new URL(base).pathname)}`, base);
}

/** Starts `script` (a file URL of a `.js` or `.ts` module) in a new worker thread with `opts`. */
export function spawnWorker(script: URL, opts: WorkerOptions = {}): Worker {
  if (!script.pathname.endsWith(".ts")) return new Worker(script, opts);
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(script.href)}); });`;
  return new Worker(boot, { ...opts, eval: true });
}
