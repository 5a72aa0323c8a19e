import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isContrailError } from "../model/errors.ts";
import {
  type BlockMeta,
  decodeBlockMeta,
  encodeBlockMeta,
  newUlid,
  parseUlid,
  readBlockMeta,
  UlidGenerator,
  ulidBytes,
  ulidTime,
  writeBlockMeta,
} from "./block-meta.ts";

const dir = mkdtempSync(join(tmpdir(), "contrail-block-meta-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// meta.json as Prometheus 2.42 wrote it (promtool tsdb create-blocks-from openmetrics) for a 2-series block.
const PROMETHEUS_META = `{
\t"ulid": "01M8D3VPVS6S2QP3BQ0WMW60T3",
\t"minTime": 1000,
\t"maxTime": 2001,
\t"stats": {
\t\t"numSamples": 4,
\t\t"numSeries": 2,
\t\t"numChunks": 2
\t},
\t"compaction": {
\t\t"level": 1,
\t\t"sources": [
\t\t\t"01M8D3VPVS6S2QP3BQ0WMW60T3"
\t\t]
\t},
\t"version": 1
}`;

describe("meta.json", () => {
  it("encodes exactly as Prometheus, whatever the caller's key order", () => {
    const ulid = parseUlid("01M8D3VPVS6S2QP3BQ0WMW60T3");
    const meta: BlockMeta = {
      version: 1,
      compaction: { sources: [ulid], level: 1 },
      stats: { numChunks: 2, numSeries: 2, numSamples: 4, numTombstones: 0 },
      maxTime: 2001,
      minTime: 1000,
      ulid,
    };
    assert.equal(encodeBlockMeta(meta), PROMETHEUS_META);
  });

  it("round-trips Prometheus's file and a compacted block's parents and hints", () => {
    assert.equal(encodeBlockMeta(decodeBlockMeta(PROMETHEUS_META)), PROMETHEUS_META);
    const a = parseUlid("01ARZ3NDEKTSV4RRFFQ69G5FAV");
    const b = parseUlid("01M8D3VPVS6S2QP3BQ0WMW60T3");
    const meta: BlockMeta = {
      ulid: b,
      minTime: -5,
      maxTime: 7_200_000,
      stats: {},
      compaction: {
        level: 2,
        sources: [a, b],
        parents: [
          { ulid: a, minTime: -5, maxTime: 10 },
          { ulid: b, minTime: 10, maxTime: 7_200_000 },
        ],
        hints: ["from-out-of-order"],
        deletable: true,
      },
      version: 1,
    };
    const text = encodeBlockMeta(meta);
    assert.match(text, /\t"stats": \{\},\n/);
    assert.match(
      text,
      /"deletable": true,\n\t\t"parents": \[\n\t\t\t\{\n\t\t\t\t"ulid": "01ARZ3NDEKTSV4RRFFQ69G5FAV",/,
    );
    assert.deepEqual(decodeBlockMeta(text), meta);
  });

  const bad: { name: string; text: string; message: RegExp }[] = [
    { name: "not JSON", text: "{", message: /invalid JSON/ },
    { name: "wrong version", text: PROMETHEUS_META.replace('"version": 1', '"version": 2'), message: /version 2/ },
    { name: "bad ULID", text: PROMETHEUS_META.replace("01M8D3VPVS6S2QP3BQ0WMW60T3", "nope"), message: /invalid ULID/ },
    { name: "string time", text: PROMETHEUS_META.replace("1000", '"1000"'), message: /minTime: expected an integer/ },
    {
      name: "no compaction",
      text: '{"ulid":"01M8D3VPVS6S2QP3BQ0WMW60T3","minTime":0,"maxTime":1,"version":1}',
      message: /compaction: expected an object/,
    },
  ];
  for (const c of bad) {
    it(`rejects ${c.name}`, () => {
      assert.throws(
        () => decodeBlockMeta(c.text),
        (err: unknown) => (isContrailError(err) && c.message.test(err.message)) || assert.fail(String(err)),
      );
    });
  }

  it("writes atomically and reads back; a missing file is not_found", () => {
    const blockDir = mkdtempSync(join(dir, "block-"));
    const meta = decodeBlockMeta(PROMETHEUS_META);
    const n = writeBlockMeta(blockDir, meta);
    assert.equal(readFileSync(join(blockDir, "meta.json"), "utf8"), PROMETHEUS_META);
    assert.equal(n, Buffer.byteLength(PROMETHEUS_META));
    assert.deepEqual(readdirSync(blockDir), ["meta.json"]);
    assert.deepEqual(readBlockMeta(blockDir), meta);
    writeFileSync(join(blockDir, "meta.json"), "[]");
    assert.throws(
      () => readBlockMeta(blockDir),
      (err: unknown) => isContrailError(err, "corruption"),
    );
    assert.throws(
      () => readBlockMeta(join(dir, "missing")),
      (err: unknown) => isContrailError(err, "not_found"),
    );
  });
});

describe("ULID", () => {
  it("matches the specification's examples", () => {
    const zeros = new UlidGenerator((buf) => buf.fill(0));
    assert.equal(zeros.next(1469918176385), "01ARYZ6S410000000000000000");
    assert.equal(ulidTime(parseUlid("01ARZ3NDEKTSV4RRFFQ69G5FAV")), 1469922850259);
    assert.equal(
      Buffer.from(ulidBytes("01ARZ3NDEKTSV4RRFFQ69G5FAV")).toString("hex"),
      "01563e3ab5d3d6764c61efb99302bd5b",
    );
    assert.equal(parseUlid("01arz3ndektsv4rrffq69g5fav"), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    const ones = new UlidGenerator((buf) => buf.fill(0xff));
    assert.equal(ones.next(2 ** 48 - 1), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
  });

  it("increments the random part within one millisecond and re-randomizes after", () => {
    let calls = 0;
    const g = new UlidGenerator((buf) => {
      calls++;
      buf.fill(0);
      buf[buf.length - 1] = 0xfe;
    });
    const a = g.next(1000);
    const b = g.next(1000);
    const c = g.next(1000);
    assert.equal(a.slice(-2), "7Y");
    assert.equal(b.slice(-2), "7Z");
    assert.equal(c.slice(-2), "80"); // carry into the next byte
    assert.equal(calls, 1);
    g.next(1001);
    assert.equal(calls, 2);
  });

  it("sorts in creation order and is unique", () => {
    const ids: string[] = [];
    for (let i = 0; i < 2000; i++) ids.push(newUlid(1_700_000_000_000 + Math.floor(i / 500)));
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(ulidTime(ids[1999] as ReturnType<typeof newUlid>), 1_700_000_000_003);
  });

  it("refuses to overflow the random part", () => {
    const g = new UlidGenerator((buf) => buf.fill(0xff));
    g.next(5);
    assert.throws(
      () => g.next(5),
      (err: unknown) => isContrailError(err, "limit_exceeded"),
    );
  });

  const invalid = [
    "",
    "01ARZ3NDEKTSV4RRFFQ69G5FA",
    "81ARZ3NDEKTSV4RRFFQ69G5FAV",
    "01ARZ3NDEKTSV4RRFFQ69G5FAU",
    "01ARZ3NDEKTSV4RRFFQ69G5FA!",
  ];
  for (const s of invalid) {
    it(`rejects ${JSON.stringify(s)}`, () => {
      assert.throws(
        () => parseUlid(s),
        (err: unknown) => isContrailError(err, "bad_data"),
      );
    });
  }
});
