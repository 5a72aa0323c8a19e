// A bounded ring of an instance's output lines, kept across restarts so a crash loop can be read afterwards.
// Memory is bounded by `maxLines * maxLineChars`: a fixed array of slots overwritten oldest first, and lines
// longer than `maxLineChars` are split. Output is never inherited by the runner's own stdout/stderr.

/** Where a line came from: the instance's stdout or stderr, or a note of the runner (start, exit, restart). */
export type LogStream = "stdout" | "stderr" | "system";

/** One captured line, without its newline. */
export interface LogLine {
  /** Milliseconds since the epoch when the line was completed. */
  readonly atMs: number;
  readonly stream: LogStream;
  readonly text: string;
}

/** Bounds of a ring. */
export interface LogRingOptions {
  /** Default 1000. */
  readonly maxLines?: number;
  /** Longer lines are split into pieces of this many characters. Default 4096. */
  readonly maxLineChars?: number;
}

/** A fixed-capacity ring of lines plus per-stream partial-line buffers. */
export class LogRing {
  readonly maxLines: number;
  readonly maxLineChars: number;
  private readonly slots: (LogLine | undefined)[];
  private next = 0;
  private count = 0;
  private droppedLines = 0;
  private readonly partial: Record<LogStream, string> = { stdout: "", stderr: "", system: "" };

  constructor(options: LogRingOptions = {}) {
    this.maxLines = Math.max(1, options.maxLines ?? 1000);
    this.maxLineChars = Math.max(1, options.maxLineChars ?? 4096);
    this.slots = new Array(this.maxLines);
  }

  /** Appends a chunk of decoded output; complete lines enter the ring, a trailing partial line waits for more. */
  write(stream: LogStream, chunk: string, atMs = Date.now()): void {
    let text = this.partial[stream] + chunk;
    let nl = text.indexOf("\n");
    while (nl >= 0) {
      this.pushLine(stream, text.slice(0, nl).replace(/\r$/, ""), atMs);
      text = text.slice(nl + 1);
      nl = text.indexOf("\n");
    }
    while (text.length > this.maxLineChars) {
      this.push({ atMs, stream, text: text.slice(0, this.maxLineChars) });
      text = text.slice(this.maxLineChars);
    }
    this.partial[stream] = text;
  }

  /** Completes a stream's pending partial line, if any (at end of output). */
  flush(stream: LogStream, atMs = Date.now()): void {
    const text = this.partial[stream];
    if (text === "") return;
    this.partial[stream] = "";
    this.pushLine(stream, text, atMs);
  }

  /** Adds a runner note as one line. */
  note(text: string, atMs = Date.now()): void {
    this.pushLine("system", text, atMs);
  }

  /** The kept lines, oldest first (a fresh array). `last` limits the result to the newest lines. */
  lines(last?: number): LogLine[] {
    const n = last === undefined ? this.count : Math.max(0, Math.min(last, this.count));
    const out: LogLine[] = [];
    for (let k = this.count - n; k < this.count; k++) {
      const slot = (this.next - this.count + k + this.maxLines) % this.maxLines;
      out.push(this.slots[slot]!);
    }
    return out;
  }

  /** Lines kept now. */
  get size(): number {
    return this.count;
  }

  /** Lines overwritten since the ring was made. */
  get dropped(): number {
    return this.droppedLines;
  }

  private pushLine(stream: LogStream, text: string, atMs: number): void {
    if (text.length <= this.maxLineChars) {
      this.push({ atMs, stream, text });
      return;
    }
    for (let i = 0; i < text.length; i += this.maxLineChars) {
      this.push({ atMs, stream, text: text.slice(i, i + this.maxLineChars) });
    }
  }

  private push(line: LogLine): void {
    this.slots[this.next] = line;
    this.next = (this.next + 1) % this.maxLines;
    if (this.count < this.maxLines) this.count++;
    else this.droppedLines++;
  }
}
