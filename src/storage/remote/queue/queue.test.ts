import assert from "node:assert/strict";
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { isContrailError } from "../../../model/errors.ts";
import { DiskQueue, type DiskQueueOptions, type QueueBatch } from "./queue.ts";
import { RECORD_HEADER_BYTES } from "./record.ts";

const ALL = { maxSamples: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER };
const text = (b: Uint8Array) => Buffer.from(b).toString();
const rec = (s: string) => new Uint8Array(Buffer.from(s));

let dir: string;
let warnings: string[];
const open = (o: Partial<DiskQueueOptions> = {}) =>
  DiskQueue.open({ dir, name: 'org "acme"', warn: (l) => warnings.push(l), ...o });
const segments = () =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".seg"))
    .sort();

/** Reads everything unread, as strings. */
function drain(q: DiskQueue): { texts: string[]; batch: QueueBatch | null } {
  const batch = q.read(ALL);
  return { texts: batch === null ? [] : batch.payloads.map(text), batch };
}

beforeEach(() => {
  dir = join(mkdtempSync(join(tmpdir(), "contrail-queue-")), "acme");
  warnings = [];
});
afterEach(() => rmSync(join(dir, ".."), { recursive: true, force: true }));

describe("DiskQueue", () => {
  test("reads records back in append order, batched by samples and bytes, at least one record", () => {
    const q = open();
    for (let i = 0; i < 5; i++) q.append(10, rec(`r${i}`));
    assert.equal(q.pendingSamples, 50);
    assert.equal(q.pendingBytes, 5 * (RECORD_HEADER_BYTES + 2));
    const a = q.read({ maxSamples: 25, maxBytes: 1000 })!;
    assert.deepEqual(a.payloads.map(text), ["r0", "r1"]);
    assert.equal(a.samples, 20);
    const b = q.read({ maxSamples: 5, maxBytes: 1000 })!;
    assert.deepEqual(b.payloads.map(text), ["r2"], "a record over the limit still goes alone");
    const c = q.read({ maxSamples: 1000, maxBytes: 4 })!;
    assert.deepEqual(c.payloads.map(text), ["r3", "r4"]);
    assert.equal(q.read(ALL), null);
    assert.equal(q.unreadSamples, 0);
    assert.equal(q.pendingSamples, 50, "read is not acknowledged");
    for (const x of [a, b, c]) q.ack(x);
    assert.equal(q.pendingSamples, 0);
    assert.equal(q.pendingBytes, 0);
    q.append(1, rec("later"));
    assert.deepEqual(drain(q).texts, ["later"]);
    q.close();
  });

  test("a restart resumes after the last acknowledged record and reads the unacknowledged ones again", () => {
    let q = open();
    for (let i = 0; i < 4; i++) q.append(1, rec(`r${i}`));
    q.ack(q.read({ maxSamples: 2, maxBytes: 1000 })!);
    q.read(ALL); // read, never acknowledged: the process stops before the backend answered
    q.close();
    q = open();
    assert.equal(q.pendingSamples, 2);
    q.append(1, rec("r4"));
    assert.deepEqual(drain(q).texts, ["r2", "r3", "r4"]);
    q.close();
    q = open();
    assert.deepEqual(drain(q).texts, ["r2", "r3", "r4"], "still not acknowledged: sent again");
    q.close();
    assert.deepEqual(warnings, []);
  });

  test("a torn record at the end of a segment is cut off at open, with a warning; earlier records survive", () => {
    let q = open();
    q.append(3, rec("whole-1"));
    q.append(3, rec("whole-2"));
    q.close();
    const seg = join(dir, segments()[0]);
    const size = statSync(seg).size;
    // A crash in the middle of the third write: its header and half its payload reached the file.
    q = open();
    q.append(3, rec("torn-record-payload"));
    q.close();
    const [, second] = segments();
    truncateSync(join(dir, second), RECORD_HEADER_BYTES + 5);
    appendFileSync(seg, Buffer.from([1, 2, 3])); // and a torn header after the first segment's records
    q = open();
    assert.deepEqual(drain(q).texts, ["whole-1", "whole-2"]);
    assert.equal(statSync(seg).size, size);
    assert.equal(warnings.length, 2);
    assert.match(warnings.join("\n"), /\(torn header\); 3 bytes dropped/);
    assert.match(warnings.join("\n"), /\(torn record\); 17 bytes dropped/);
    q.append(1, rec("after"));
    assert.deepEqual(drain(q).texts, ["after"]);
    q.close();
  });

  test("a record whose checksum does not match ends its segment; later segments are still read", () => {
    let q = open({ segmentBytes: 1 });
    q.append(1, rec("aaaa"));
    q.append(1, rec("bbbb"));
    q.close();
    const [first] = segments();
    const buf = readFileSync(join(dir, first));
    buf[buf.length - 1] ^= 0xff;
    writeFileSync(join(dir, first), buf);
    q = open();
    assert.deepEqual(drain(q).texts, ["bbbb"]);
    assert.match(warnings[0], /checksum mismatch/);
    q.close();
  });

  test("an unreadable position file means everything queued is sent again, never a failure", () => {
    let q = open();
    q.append(1, rec("x"));
    q.ack(q.read(ALL)!);
    q.append(1, rec("y"));
    q.close();
    writeFileSync(join(dir, "position"), "{not json");
    q = open();
    assert.deepEqual(drain(q).texts, ["x", "y"], "everything still on disk is sent again");
    assert.match(warnings[0], /unreadable position file/);
    q.close();
  });

  test("refuses appends past its bound with a rate_limited 'queue full' error until records are acknowledged", () => {
    const recordBytes = RECORD_HEADER_BYTES + 10;
    const q = open({ maxBytes: 3 * recordBytes });
    for (let i = 0; i < 3; i++) q.append(1, new Uint8Array(10));
    assert.throws(
      () => q.append(1, new Uint8Array(10)),
      (err) =>
        isContrailError(err, "rate_limited") &&
        /queue of org "acme" is full: 66 bytes waiting .* limit of 66 bytes/.test(err.message),
    );
    assert.equal(q.pendingSamples, 3, "the refused record is not queued");
    q.ack(q.read({ maxSamples: 1, maxBytes: 100 })!);
    q.append(1, new Uint8Array(10));
    assert.equal(drain(q).batch?.samples, 3);
    q.close();
  });

  test("segments are deleted once everything in them is acknowledged", () => {
    const q = open({ segmentBytes: 30 });
    for (let i = 0; i < 6; i++) q.append(1, new Uint8Array(20));
    assert.equal(segments().length, 7, "one record per segment, plus the empty one being written");
    q.ack(q.read({ maxSamples: 3, maxBytes: 1000 })!);
    assert.equal(segments().length, 4);
    q.ack(q.read(ALL)!);
    assert.deepEqual(segments(), ["00000007.seg"]);
    q.close();
    const again = open();
    assert.equal(again.read(ALL), null);
    assert.deepEqual(segments(), ["00000008.seg"], "an empty leftover segment is removed at open");
    again.close();
  });

  test("appends after close are refused as unavailable", () => {
    const q = open();
    q.close();
    assert.throws(
      () => q.append(1, rec("x")),
      (err) => isContrailError(err, "unavailable"),
    );
  });
});
