import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { deflateSync, gzipSync } from "node:zlib";
import { isContrailError } from "../model/errors.ts";
import { DEFAULT_MAX_BODY_BYTES, decodeBody } from "./body.ts";
import { PromTextParser } from "./prom-parser.ts";

const text = "# TYPE up gauge\nup 1\n".repeat(100);
const plain = new TextEncoder().encode(text);

describe("decodeBody", () => {
  const encodings: [string | undefined, Uint8Array][] = [
    [undefined, plain],
    ["", plain],
    ["identity", plain],
    ["gzip", gzipSync(plain)],
    ["x-gzip", gzipSync(plain)],
    [" GZIP ", gzipSync(plain)],
    ["deflate", deflateSync(plain)],
  ];
  for (const [encoding, body] of encodings) {
    test(`Content-Encoding ${JSON.stringify(encoding)}`, () => {
      assert.equal(new TextDecoder().decode(decodeBody(body, encoding)), text);
    });
  }

  test("an uncompressed body is returned without a copy", () => {
    assert.equal(decodeBody(plain, undefined), plain);
  });

  test("concatenated gzip members decode as one body", () => {
    const two = new Uint8Array([...gzipSync("a 1\n"), ...gzipSync("b 2\n")]);
    assert.equal(new TextDecoder().decode(decodeBody(two, "gzip")), "a 1\nb 2\n");
  });

  test("a decoded gzip body parses", () => {
    const p = new PromTextParser(decodeBody(gzipSync(plain), "gzip"));
    let n = 0;
    for (let k = p.next(); k !== "eof"; k = p.next()) if (k === "series") n++;
    assert.equal(n, 100);
  });

  test("a gzip bomb stops at the limit with too_large", () => {
    const bomb = gzipSync(new Uint8Array(10 * 1024 * 1024));
    assert.ok(bomb.length < 64 * 1024);
    assert.throws(
      () => decodeBody(bomb, "gzip", { maxBytes: 1024 * 1024 }),
      (e) =>
        isContrailError(e, "too_large") && e.message === "body exceeds the limit of 1048576 bytes after decompression",
    );
  });

  test("the limit applies exactly, and to uncompressed bodies too", () => {
    assert.equal(decodeBody(gzipSync(plain), "gzip", { maxBytes: plain.length }).length, plain.length);
    assert.throws(() => decodeBody(gzipSync(plain), "gzip", { maxBytes: plain.length - 1 }), { code: "too_large" });
    assert.throws(() => decodeBody(plain, undefined, { maxBytes: plain.length - 1 }), { code: "too_large" });
    assert.throws(() => decodeBody(gzipSync(new Uint8Array(1)), "gzip", { maxBytes: 0 }), { code: "too_large" });
  });

  test("the default limit is 64 MiB", () => assert.equal(DEFAULT_MAX_BODY_BYTES, 64 * 1024 * 1024));

  test("corrupt and truncated streams are bad_data", () => {
    assert.throws(() => decodeBody(new TextEncoder().encode("not gzip"), "gzip"), {
      code: "bad_data",
      message: /^cannot decode gzip body: incorrect header check/,
    });
    assert.throws(() => decodeBody(gzipSync(plain).subarray(0, 20), "gzip"), { code: "bad_data" });
  });

  test("an unsupported encoding is bad_data", () => {
    assert.throws(() => decodeBody(plain, "br"), { code: "bad_data", message: 'unsupported Content-Encoding "br"' });
  });
});
