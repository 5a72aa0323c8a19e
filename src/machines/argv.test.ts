import assert from "node:assert/strict";
import { test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { parseCommandLine } from "./argv.ts";

test("splits commands without a shell", () => {
  const cases: [string, string[]][] = [
    ["node server.js", ["node", "server.js"]],
    ["  bin/app   --port  8080 ", ["bin/app", "--port", "8080"]],
    [`"/opt/my node/bin/node" app.js`, ["/opt/my node/bin/node", "app.js"]],
    [`echo 'single $HOME "kept"'`, ["echo", `single $HOME "kept"`]],
    [`echo "a \\"b\\" \\\\ \\$x \\n"`, ["echo", `a "b" \\ $x \\n`]],
    [`echo a\\ b c\\"d`, ["echo", "a b", `c"d`]],
    [`run "" ''`, ["run", "", ""]],
    [`x"y"'z'`, ["xyz"]],
    ["a \\\n  b", ["a", "b"]],
    ["echo $HOME ~ *.js", ["echo", "$HOME", "~", "*.js"]],
    [`sh -c 'npm run build && node dist/server.js'`, ["sh", "-c", "npm run build && node dist/server.js"]],
    [`echo "&&" '|' \\;`, ["echo", "&&", "|", ";"]],
    ["tab\tseparated\nlines", ["tab", "separated", "lines"]],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseCommandLine(input), want, input);
});

test("rejects what only a shell could run, and malformed quoting", () => {
  const cases: [string, RegExp][] = [
    [`echo "open`, /unclosed double quote/],
    [`echo 'open`, /unclosed single quote/],
    ["echo trailing\\", /trailing backslash/],
    ["npm run build && node server.js", /shell operator "&&"/],
    ["node a.js | tee log", /shell operator "\|"/],
    ["node a.js > out.log", /shell operator ">"/],
    ["   ", /no program to run/],
    ["", /no program to run/],
  ];
  for (const [input, want] of cases) {
    assert.throws(
      () => parseCommandLine(input),
      (err) => isContrailError(err, "bad_data") && want.test(err.message),
      input,
    );
  }
});
