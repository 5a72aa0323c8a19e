// How soon V8 optimizes the code a server runs once per request. V8 runs a function as bytecode, then as baseline
// code, and hands it to its optimizing compiler (TurboFan) once the function has executed its interrupt budget of
// bytecode a few times over (`--interrupt-budget`, 66 KiB by default; three times plus one more per 150 bytes of the
// function's size, and again from zero whenever one of its inline caches changes). A function run once per request
// (a route handler, the token check, the reply, a query's planning) executes a few hundred bytes of bytecode per
// request, so it reached TurboFan only after 1,000-3,000 requests: on the metrics node under a steady stream of small
// queries, the first ~2,500 requests cost 1.6-2x the CPU of later ones (baseline code on the main thread, and
// compilations trickling through V8's helper threads the whole time). With a smaller budget the same functions are
// optimized within a few hundred requests at most; the compilations are the same ones, done sooner. The flag is
// process-wide: query workers' threads share it.

import v8 from "node:v8";

/**
 * Bytecode a function executes per interrupt tick, bytes: a sixteenth of V8's default, so a function run once per
 * request is optimized after a hundred or so requests instead of a few thousand. In the query bench's small cases
 * (a young metrics node: 200 warm-up queries, then 1,000 measured), 4 KiB took the most off the node's CPU per query
 * of 4, 8 and 16 KiB.
 */
export const SERVER_INTERRUPT_BUDGET = 4 * 1024;

/** Makes V8 optimize hot functions of this process sooner (all threads, for the process's life). */
export function tierUpSooner(): void {
  v8.setFlagsFromString(`--interrupt-budget=${SERVER_INTERRUPT_BUDGET}`);
}
