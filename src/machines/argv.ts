// Splits a command line into argv without a shell, the way the seed's platform splits `[processes]` commands:
// words separated by whitespace; single quotes keep everything literally; double quotes keep everything but a
// backslash before `"`, `\`, `$`, a backtick or a newline; a backslash outside quotes escapes the next character.
// Nothing is expanded (no variables, globs or `~`). A bare shell operator (`&&`, `|`, `;`, `>`, ...) is an error
// rather than a literal argument, since no shell will interpret it: wrap such commands in `sh -c '...'`.

import { ContrailError } from "../model/errors.ts";

const OPERATORS = new Set(["&&", "||", "|", "&", ";", ";;", ">", ">>", "<", "<<", "2>", "2>&1"]);
const DOUBLE_QUOTE_ESCAPES = new Set(['"', "\\", "$", "`", "\n"]);

/** Splits `command` into argv; throws `bad_data` on an unclosed quote, a trailing backslash, a bare operator or no words. */
export function parseCommandLine(command: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quoted = false; // the current word has a quoted part, so it is not a bare operator
  let i = 0;
  const fail = (why: string): never => {
    throw new ContrailError("bad_data", `command ${JSON.stringify(command)}: ${why}`);
  };
  const endWord = () => {
    if (!inWord) return;
    if (!quoted && OPERATORS.has(word)) {
      fail(`shell operator "${word}" needs a shell; run it as: sh -c '...'`);
    }
    words.push(word);
    word = "";
    inWord = false;
    quoted = false;
  };
  while (i < command.length) {
    const c = command[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      endWord();
      i++;
    } else if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) fail("unclosed single quote");
      word += command.slice(i + 1, end);
      inWord = quoted = true;
      i = end + 1;
    } else if (c === '"') {
      inWord = quoted = true;
      i++;
      for (;;) {
        if (i >= command.length) fail("unclosed double quote");
        const d = command[i];
        if (d === '"') break;
        if (d === "\\" && i + 1 < command.length && DOUBLE_QUOTE_ESCAPES.has(command[i + 1])) {
          if (command[i + 1] !== "\n") word += command[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      i++;
    } else if (c === "\\") {
      if (i + 1 >= command.length) fail("trailing backslash");
      // A backslash-newline joins lines; any other escaped character is literal.
      if (command[i + 1] !== "\n") {
        word += command[i + 1];
        inWord = quoted = true;
      }
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  endWord();
  if (words.length === 0) fail("no program to run");
  return words;
}
