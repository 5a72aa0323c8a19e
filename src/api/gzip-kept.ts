// Gzip of whole answers through one deflate state kept for the thread, instead of a zlib object per answer.
// `zlib.gzipSync` makes a Gzip stream, allocates zlib's deflate state (window, hash chains, pending buffer: about
// 260 KB of native memory reported to V8 as external memory) and frees it again for every body: about a third of
// what gzip cost in the API's fixed-cost profile. Here one Gzip object is made once; each body is compressed to its
// end (Z_FINISH) through the object's handle in one synchronous call and the state is reset after it, so nothing
// asynchronous happens between a body's first byte in and its last byte out. zlib writes the gzip header and the
// CRC-32 trailer itself.
//
// A reset keeps the window's bytes, and deflate reads a little past the end of its input there (match lengths are
// clamped afterwards), so a state that once held a longer body compresses differently from a new one: the same
// text, other bytes, and the choice would depend on an earlier answer, possibly another org's. So the window is kept
// as a new state has it, zero past the data: when the last body reached further into the window than the next one
// does, a run of zeros as long as the last body is compressed (and thrown away) first. A body as long as the window
// overwrites all of it. Every output is then `gzipSync`'s with the same options, byte for byte, whatever came
// before (gzip-kept.test.ts checks it over random sequences of bodies).

import { constants, createGzip, type Gzip, gzipSync } from "node:zlib";

/**
 * The part of a Gzip object's native handle used here: Node's own synchronous path (`zlib.gzipSync`) drives the
 * same two calls. `writeSync` compresses `inLength` bytes of `input` from `inOffset` into `output` from `outOffset`
 * (at most `outLength` bytes) and leaves the output and input space left in the object's `_writeState`.
 */
interface DeflateHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOffset: number,
    inLength: number,
    output: Uint8Array,
    outOffset: number,
    outLength: number,
  ): void;
  reset(): void;
}

/** A Gzip object with its internal handle and write state (Node 20's names). */
interface GzipInternals {
  readonly _handle: DeflateHandle | null;
  /** [output bytes left, input bytes left] after the handle's last `writeSync`. */
  readonly _writeState: Uint32Array;
}

/** Output space of one `writeSync`: larger answers loop; a query answer's gzip is usually a few KB. */
const SCRATCH_BYTES = 64 * 1024;
/** zlib's deflate window at the default `windowBits` (15): twice the 32 KiB history. */
const WINDOW_BYTES = 64 * 1024;
/** Zeros compressed to clear the window of the last body's bytes. */
const ZEROS = Buffer.alloc(WINDOW_BYTES);

/** One kept deflate state at one compression level; not safe for use from two threads (each has its own). */
export class KeptGzip {
  readonly #level: number;
  #engine: (Gzip & GzipInternals) | null = null;
  /** Where zlib writes; each answer's bytes are copied out of it, so the returned buffers are the caller's. */
  readonly #scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  /** How far into the window the last body's bytes reach (zero past it). */
  #dirty = 0;

  /** A compressor at zlib `level` (0–9); its state is made at the first body. */
  constructor(level: number) {
    this.#level = level;
  }

  /** `body` (a string as UTF-8) gzip-compressed: the same bytes as `gzipSync(body, { level })`. Synchronous. */
  compress(body: string | Uint8Array): Buffer {
    const input = typeof body === "string" ? Buffer.from(body, "utf8") : body;
    const engine = this.#engine ?? this.#start();
    try {
      if (this.#dirty > input.byteLength) {
        this.#run(engine, ZEROS.subarray(0, this.#dirty));
        engine._handle?.reset();
      }
      this.#dirty = Math.min(input.byteLength, WINDOW_BYTES);
      const out = this.#run(engine, input);
      engine._handle?.reset();
      return out;
    } catch {
      // zlib refused (it closes the stream): this body goes through a state of its own, which throws zlib's own
      // error if it fails again, and the next body gets a new kept state.
      this.#engine = null;
      engine.close();
      return gzipSync(input, { level: this.#level });
    }
  }

  // Compresses `input` to its end with the engine's handle, copying each filled stretch of the scratch out.
  #run(engine: Gzip & GzipInternals, input: Uint8Array): Buffer {
    const handle = engine._handle;
    // Closed, or a Node whose Gzip object no longer has these internals (a test checks they are there).
    if (typeof handle?.writeSync !== "function") throw new Error("the kept Gzip object has no synchronous handle");
    const state = engine._writeState;
    const scratch = this.#scratch;
    let inOffset = 0;
    let inLeft = input.byteLength;
    let pieces: Buffer[] | null = null;
    let total = 0;
    for (;;) {
      handle.writeSync(constants.Z_FINISH, input, inOffset, inLeft, scratch, 0, SCRATCH_BYTES);
      // A failing write destroys the stream at once (its error event comes later).
      if (engine.destroyed) throw new Error("zlib failed on the kept Gzip object");
      const outLeft = state[0];
      const written = SCRATCH_BYTES - outLeft;
      const piece = Buffer.allocUnsafe(written);
      scratch.copy(piece, 0, 0, written);
      inOffset += inLeft - state[1];
      inLeft = state[1];
      // Space left over means zlib finished the stream; a full scratch means there may be more.
      if (outLeft !== 0 && pieces === null) return piece;
      pieces ??= [];
      pieces.push(piece);
      total += written;
      if (outLeft !== 0) return Buffer.concat(pieces, total);
    }
  }

  #start(): Gzip & GzipInternals {
    const engine = createGzip({ level: this.#level }) as Gzip & GzipInternals;
    // The stream reports a zlib failure as an error event after the call that hit it has already dropped it.
    engine.on("error", () => {});
    this.#engine = engine;
    this.#dirty = 0;
    return engine;
  }
}
