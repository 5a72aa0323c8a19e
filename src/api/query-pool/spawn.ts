// Starting a worker thread from a module of this code base, compiled (`.js`) or TypeScript run through tsx (tests,
// `bin/contrail.js`). Node 20 does not carry tsx's module hooks into worker threads, whatever `execArgv` says, so a
// `.ts` entry is reached through a small bootstrap that registers tsx in the worker first.

import { extname } from "node:path";
import { Worker, type WorkerOptions } from "node:worker_threads";

/** The module `name` (without extension) beside `base`, with `base`'s own extension (`.ts` or `.js`). */
export function siblingModule(base: string, name: string): URL {
  return new URL(`./${name}${extname(new URL(base).pathname)}`, base);
}

/** Starts `script` in a new worker thread with `opts`. */
export function spawnWorker(script: URL, opts: WorkerOptions): Worker {
  if (!script.pathname.endsWith(".ts")) return new Worker(script, opts);
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(script.href)}); });`;
  return new Worker(boot, { ...opts, eval: true, execArgv: withoutTsxImport(opts.execArgv ?? process.execArgv) });
}

// The flags without `--import tsx` (the bootstrap registers tsx itself; twice would stack its hooks).
function withoutTsxImport(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--import" && argv[i + 1] === "tsx") i++;
    else if (argv[i] !== "--import=tsx") out.push(argv[i]);
  }
  return out;
}
