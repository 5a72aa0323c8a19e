import assert from "node:assert/strict";
import { test } from "node:test";
import { LogRing } from "./log-ring.ts";

test("keeps the newest lines up to its capacity", () => {
  const ring = new LogRing({ maxLines: 3 });
  for (let i = 1; i <= 5; i++) ring.write("stdout", `line ${i}\n`, i);
  assert.equal(ring.size, 3);
  assert.equal(ring.dropped, 2);
  assert.deepEqual(
    ring.lines().map((l) => [l.atMs, l.text]),
    [
      [3, "line 3"],
      [4, "line 4"],
      [5, "line 5"],
    ],
  );
  assert.deepEqual(
    ring.lines(2).map((l) => l.text),
    ["line 4", "line 5"],
  );
  assert.deepEqual(ring.lines(0), []);
});

test("joins lines across chunks per stream and flushes a trailing partial line", () => {
  const ring = new LogRing();
  ring.write("stdout", "hel");
  ring.write("stderr", "err ");
  ring.write("stdout", "lo\r\nwor");
  ring.write("stderr", "one\n");
  ring.note("exited");
  ring.flush("stdout");
  ring.flush("stdout");
  assert.deepEqual(
    ring.lines().map((l) => [l.stream, l.text]),
    [
      ["stdout", "hello"],
      ["stderr", "err one"],
      ["system", "exited"],
      ["stdout", "wor"],
    ],
  );
});

test("splits long lines so memory stays bounded", () => {
  const ring = new LogRing({ maxLines: 10, maxLineChars: 4 });
  ring.write("stdout", "abcdefghij\n");
  ring.write("stdout", "0123456789");
  assert.deepEqual(
    ring.lines().map((l) => l.text),
    ["abcd", "efgh", "ij", "0123", "4567"],
  );
  ring.flush("stdout");
  assert.equal(ring.lines().at(-1)!.text, "89");
});
