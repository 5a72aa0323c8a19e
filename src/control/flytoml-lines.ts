// Where each table and key of a fly.toml starts, so that a message about `metrics[1].port` can say which line
// to fix. The TOML parser gives values without positions; this scan of the text (already known to parse) follows
// the same structure: `[table]` and `[[array]]` headers, `key = value` lines with dotted and quoted keys, values
// spanning lines (arrays, inline tables, multi-line strings), and comments. Key paths are spelled as the checked
// reader spells them: `metrics.port` under `[metrics]`, `metrics[1].port` under the second `[[metrics]]`.

/** Line numbers (1-based) of a fly.toml's tables and keys, by key path. */
export class KeyLines {
  readonly #lines = new Map<string, number>();

  /** Scans `text`, which must be valid TOML (on anything else the lines found are incomplete, never wrong). */
  constructor(text: string) {
    new Scanner(text, this.#lines).run();
  }

  /**
   * The line of `path`, or else of the nearest enclosing table or key that is written in the file: an array
   * element's (`processes[2]`) is its array's, a key written inline or missing is its table's. Undefined when
   * nothing enclosing it is written (a table only implied by a deeper header).
   */
  lineOf(path: string): number | undefined {
    let p = path;
    while (p !== "") {
      const line = this.#lines.get(p);
      if (line !== undefined) return line;
      p = p.endsWith("]") ? p.slice(0, p.lastIndexOf("[")) : p.slice(0, Math.max(0, p.lastIndexOf(".")));
    }
    return undefined;
  }
}

const BARE_KEY = /[A-Za-z0-9_-]/;
const SPACE = /[ \t]/;

/** One pass over the text, recording each header's and key's path at its line. */
class Scanner {
  #i = 0;
  #line = 1;
  /** The table the next keys belong to, as a reader path (`services[0].ports[1]`). */
  #table = "";
  /** Elements so far of each array of tables, by its reader path (`services[0].ports`). */
  readonly #arrays = new Map<string, number>();

  constructor(
    private readonly text: string,
    private readonly lines: Map<string, number>,
  ) {}

  run(): void {
    const t = this.text;
    while (this.#i < t.length) {
      this.#skipSpace();
      const c = t[this.#i];
      if (c === undefined) return;
      if (c === "\n" || c === "\r") this.#newline();
      else if (c === "#") this.#skipComment();
      else if (c === "[") this.#header();
      else this.#keyValue();
    }
  }

  #record(path: string): void {
    if (!this.lines.has(path)) this.lines.set(path, this.#line);
  }

  #header(): void {
    const array = this.text[this.#i + 1] === "[";
    this.#i += array ? 2 : 1;
    const segments = this.#key();
    let path = "";
    segments.forEach((segment, k) => {
      path = path === "" ? segment : `${path}.${segment}`;
      const count = this.#arrays.get(path);
      if (k === segments.length - 1 && array) {
        this.#arrays.set(path, (count ?? 0) + 1);
        path = `${path}[${count ?? 0}]`;
      } else if (count !== undefined) {
        path = `${path}[${count - 1}]`;
      }
      this.#record(path);
    });
    this.#table = path;
    this.#skipToLineEnd();
  }

  #keyValue(): void {
    let path = this.#table;
    for (const segment of this.#key()) {
      path = path === "" ? segment : `${path}.${segment}`;
      this.#record(path);
    }
    if (this.text[this.#i] === "=") this.#i++;
    this.#skipValue();
  }

  /** Reads a dotted key up to `=` or `]`, leaving the index on that character. */
  #key(): string[] {
    const t = this.text;
    const out: string[] = [];
    for (;;) {
      this.#skipSpace();
      const c = t[this.#i];
      if (c === '"' || c === "'") out.push(this.#quotedKey(c));
      else {
        const start = this.#i;
        while (this.#i < t.length && BARE_KEY.test(t[this.#i])) this.#i++;
        if (this.#i === start) return out;
        out.push(t.slice(start, this.#i));
      }
      this.#skipSpace();
      if (t[this.#i] !== ".") return out;
      this.#i++;
    }
  }

  #quotedKey(quote: string): string {
    const start = this.#i;
    this.#i++;
    while (this.#i < this.text.length && this.text[this.#i] !== quote && this.text[this.#i] !== "\n") {
      if (quote === '"' && this.text[this.#i] === "\\") this.#i++;
      this.#i++;
    }
    this.#i++;
    const raw = this.text.slice(start, this.#i);
    if (quote === "'") return raw.slice(1, -1);
    try {
      return JSON.parse(raw) as string;
    } catch {
      return raw.slice(1, -1);
    }
  }

  /** Skips a value to the end of its last line: strings, nested arrays and inline tables may span lines. */
  #skipValue(): void {
    const t = this.text;
    let depth = 0;
    while (this.#i < t.length) {
      const c = t[this.#i];
      if (c === "\n" || c === "\r") {
        if (depth === 0) return;
        this.#newline();
      } else if (c === "#") this.#skipComment();
      else if (c === '"' || c === "'") this.#skipString(c);
      else {
        if (c === "[" || c === "{") depth++;
        else if (c === "]" || c === "}") depth--;
        this.#i++;
      }
    }
  }

  #skipString(quote: string): void {
    const t = this.text;
    const multi = t.startsWith(quote.repeat(3), this.#i);
    const end = multi ? quote.repeat(3) : quote;
    this.#i += end.length;
    while (this.#i < t.length && !t.startsWith(end, this.#i)) {
      if (quote === '"' && t[this.#i] === "\\") this.#i++;
      if (t[this.#i] === "\n") this.#line++;
      this.#i++;
    }
    this.#i += end.length;
    // A multi-line string may end with up to two more quote characters of its content.
    while (multi && t[this.#i] === quote) this.#i++;
  }

  #skipSpace(): void {
    while (this.#i < this.text.length && SPACE.test(this.text[this.#i])) this.#i++;
  }

  #skipComment(): void {
    while (this.#i < this.text.length && this.text[this.#i] !== "\n" && this.text[this.#i] !== "\r") this.#i++;
  }

  #skipToLineEnd(): void {
    while (this.#i < this.text.length && this.text[this.#i] !== "\n" && this.text[this.#i] !== "\r") {
      if (this.text[this.#i] === "#") return;
      this.#i++;
    }
  }

  #newline(): void {
    if (this.text[this.#i] === "\r" && this.text[this.#i + 1] === "\n") this.#i++;
    this.#i++;
    this.#line++;
  }
}
