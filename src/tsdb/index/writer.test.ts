import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { crc32c } from "../encoding/crc32c.ts";
import { type ChunkMeta, IndexWriter, type IndexWriterOptions } from "./writer.ts";

const dir = mkdtempSync(join(tmpdir(), "contrail-index-writer-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
const nextPath = () => join(dir, `index-${fileNo++}`);

function hex(s: string): Uint8Array {
  const clean = s.replace(/#[^\n]*/g, "").replace(/\s+/g, "");
  return Uint8Array.from(Buffer.from(clean, "hex"));
}

// The two-series index of the golden tests: {__name__="up", job="a"} and {__name__="up", job="b"}, one chunk each
// covering 1000..2000 ms, at chunk refs 8 and 108 (segment 0).
function writeTiny(opts: IndexWriterOptions): Uint8Array {
  const path = nextPath();
  const w = new IndexWriter(path, opts);
  for (const s of ["__name__", "a", "b", "job", "up"]) w.addSymbol(s);
  assert.equal(w.addSeries(Labels.fromStrings("__name__", "up", "job", "a"), [{ mint: 1000, maxt: 2000, ref: 8 }]), 3);
  assert.equal(
    w.addSeries(Labels.fromStrings("__name__", "up", "job", "b"), [{ mint: 1000, maxt: 2000, ref: 108 }]),
    4,
  );
  w.close();
  assert.equal(existsSync(`${path}_tmp_p`), false);
  assert.equal(existsSync(`${path}_tmp_po`), false);
  return new Uint8Array(readFileSync(path));
}

// Header, symbol table and series section: shared by both layouts (offsets 0..80).
const HEAD = `
  baaad700 02                      # magic, version 2
  # symbol table @5: len 24 (count + entries), 5 symbols
  00000018 00000005
  08 5f5f6e616d655f5f              # "__name__" = symbol 0
  01 61  01 62  03 6a6f62  02 7570 # "a" 1, "b" 2, "job" 3, "up" 4
  f0b315e7                         # CRC32C of count + entries
  0000000000000000000000           # padding to 48
  # series ref 3 @48: body length 11
  0b 02 00 04 03 01                # 2 labels: (0=4) __name__=up, (3=1) job=a
  01 d00f e807 08                  # 1 chunk: mint 1000 (zig-zag varint), maxt-mint 1000, ref 8
  5f108bcc                         # CRC32C of the body
  # series ref 4 @64
  0b 02 00 04 03 02 01 d00f e807 6c
  41 49 fa e9
`;

describe("IndexWriter golden bytes", () => {
  it("writes Prometheus 2.x's layout, label indices included, byte for byte", () => {
    const want = hex(`${HEAD}
      # label index "__name__" @80: len 12, 1 name, 1 entry, value symbol 4
      0000000c 00000001 00000001 00000004  20d59ba6
      # label index "job" @100: values 1, 2
      00000010 00000001 00000002 00000001 00000002  461967b5
      # postings @124: all postings ("" = "") then __name__=up, job=a, job=b; each len, count, refs, CRC
      0000000c 00000002 00000003 00000004  495848d7
      0000000c 00000002 00000003 00000004  495848d7
      00000008 00000001 00000003  a7692ed2
      00000008 00000001 00000004  73a34a39
      # label offset table @196: len 21, 2 entries (1 key, name, offset)
      00000015 00000002
      01 08 5f5f6e616d655f5f 50
      01 03 6a6f62 64
      290c8747
      # postings offset table @225: len 41, 4 entries (2 keys, name, value, offset)
      00000029 00000004
      02 00 00 7c
      02 08 5f5f6e616d655f5f 02 7570 9001
      02 03 6a6f62 01 61 a401
      02 03 6a6f62 01 62 b401
      8f6efa02
      # TOC: symbols, series, label indices, label offset table, postings, postings offset table
      0000000000000005 0000000000000025 0000000000000050 00000000000000c4 000000000000007c 00000000000000e1
      ec9d2dbf
    `);
    assert.deepEqual(writeTiny({}), want);
  });

  it("writes Prometheus 3's layout without label indices, byte for byte", () => {
    const want = hex(`${HEAD}
      # postings @80 (label indices and their table are empty)
      0000000c 00000002 00000003 00000004  495848d7
      0000000c 00000002 00000003 00000004  495848d7
      00000008 00000001 00000003  a7692ed2
      00000008 00000001 00000004  73a34a39
      # postings offset table @152
      00000027 00000004
      02 00 00 50
      02 08 5f5f6e616d655f5f 02 7570 64
      02 03 6a6f62 01 61 78
      02 03 6a6f62 01 62 8801
      077743eb
      0000000000000005 0000000000000025 0000000000000050 0000000000000098 0000000000000050 0000000000000098
      b5f8ed31
    `);
    assert.deepEqual(writeTiny({ labelIndices: false }), want);
  });

  it("reproduces an index Prometheus 2.42 wrote (promtool create-blocks-from) for the same series and chunks", () => {
    // Prometheus's head lists the empty string among its symbols (from the all-postings key), so it is symbol 0.
    const prometheus = hex(`
      baaad70002000000190000000600085f5f6e616d655f5f01610162036a6f620275709d4add99000000000000000000000b020105040201
      d00fe807082224567d0b020105040301d00fe8071d6f88a9c60000000c000000010000000100000005d2be18a500000010000000010000
      00020000000200000003fc4154420000000c000000020000000300000004495848d70000000c000000020000000300000004495848d700
      0000080000000100000003a7692ed200000008000000010000000473a34a39000000150000000201085f5f6e616d655f5f5001036a6f62
      64290c874700000029000000040200007c02085f5f6e616d655f5f027570900102036a6f620161a40102036a6f620162b4018f6efa0200
      000000000000050000000000000026000000000000005000000000000000c4000000000000007c00000000000000e102d650ce
    `);
    const path = nextPath();
    const w = new IndexWriter(path);
    for (const s of ["", "__name__", "a", "b", "job", "up"]) w.addSymbol(s);
    w.addSeries(Labels.fromStrings("__name__", "up", "job", "a"), [{ mint: 1000, maxt: 2000, ref: 8 }]);
    w.addSeries(Labels.fromStrings("__name__", "up", "job", "b"), [{ mint: 1000, maxt: 2000, ref: 29 }]);
    w.close();
    assert.deepEqual(new Uint8Array(readFileSync(path)), prometheus);
  });

  it("stores CRC32C over exactly the bytes between each length and checksum", () => {
    const b = writeTiny({});
    // Symbol table: len at 5, body 9..33, CRC after.
    const view = new DataView(b.buffer, b.byteOffset, b.length);
    const len = view.getUint32(5);
    assert.equal(view.getUint32(9 + len - 4 + 4), crc32c(b, 9, 9 + len));
    // TOC: 48 bytes then CRC.
    assert.equal(view.getUint32(b.length - 4), crc32c(b, b.length - 52, b.length - 4));
  });

  it("writes an index without series: empty sections, all-postings list of length 0", () => {
    const path = nextPath();
    new IndexWriter(path).close();
    const b = new Uint8Array(readFileSync(path));
    const want = hex(`
      baaad700 02
      00000004 00000000 48674bc7       # empty symbol table @5
      000000                           # padding to 4 before the postings
      00000004 00000000 48674bc7       # the empty all-postings list @20
      00000004 00000000 48674bc7       # empty label offset table @32
      00000008 00000001 02 00 00 14 dc9aaed7   # postings offset table @44: ("", "") at 20
      0000000000000005 0000000000000011 0000000000000011 0000000000000020 0000000000000011 000000000000002c
      614badcc
    `);
    assert.deepEqual(b, want);
  });
});
describe("IndexWriter validation", () => {
  const up = (job: string) => Labels.fromStrings("__name__", "up", "job", job);
  const chunk = (mint: number, maxt: number, ref: number): ChunkMeta => ({ mint, maxt, ref });

  function withWriter(fn: (w: IndexWriter) => void, symbols = ["__name__", "a", "b", "c", "job", "up"]): void {
    const w = new IndexWriter(nextPath());
    try {
      for (const s of symbols) w.addSymbol(s);
      fn(w);
    } finally {
      w.abort();
    }
  }

  const cases: { name: string; run: () => void; message: RegExp }[] = [
    {
      name: "symbols out of order",
      run: () => withWriter(() => {}, ["b", "a"]),
      message: /symbol "a" out of order/,
    },
    {
      name: "duplicate symbol",
      run: () => withWriter(() => {}, ["a", "a"]),
      message: /symbol "a" out of order/,
    },
    {
      name: "symbol after series",
      run: () =>
        withWriter((w) => {
          w.addSeries(up("a"), []);
          w.addSymbol("zzz");
        }),
      message: /cannot add a symbol in stage series/,
    },
    {
      name: "series out of order",
      run: () =>
        withWriter((w) => {
          w.addSeries(up("b"), []);
          w.addSeries(up("a"), []);
        }),
      message:
        /out-of-order series added with label set \{__name__="up", job="a"\}, last label set \{__name__="up", job="b"\}/,
    },
    {
      name: "duplicate series",
      run: () =>
        withWriter((w) => {
          w.addSeries(up("a"), []);
          w.addSeries(up("a"), []);
        }),
      message: /out-of-order series/,
    },
    {
      name: "series without labels",
      run: () => withWriter((w) => w.addSeries(Labels.EMPTY, [])),
      message: /series with no labels/,
    },
    {
      name: "label string that is not a symbol",
      run: () => withWriter((w) => w.addSeries(up("zz"), [])),
      message: /symbol entry for "zz" does not exist/,
    },
    {
      name: "chunk refs decreasing within a series",
      run: () => withWriter((w) => w.addSeries(up("a"), [chunk(0, 10, 100), chunk(20, 30, 50)])),
      message: /unsorted chunk reference: 50, previous: 100/,
    },
    {
      name: "chunk refs decreasing across series",
      run: () =>
        withWriter((w) => {
          w.addSeries(up("a"), [chunk(0, 10, 100)]);
          w.addSeries(up("b"), [chunk(0, 10, 99)]);
        }),
      message: /unsorted chunk reference: 99, previous: 100/,
    },
    {
      name: "overlapping chunks",
      run: () => withWriter((w) => w.addSeries(up("a"), [chunk(0, 10, 1), chunk(10, 30, 2)])),
      message: /chunk minT 10 is not higher than previous chunk maxT 10/,
    },
    {
      name: "chunk maxt before mint",
      run: () => withWriter((w) => w.addSeries(up("a"), [chunk(10, 5, 1)])),
      message: /chunk maxT 5 is less than minT 10/,
    },
    {
      name: "series after postings",
      run: () =>
        withWriter((w) => {
          w.addSeries(up("a"), []);
          w.addPostings("__name__", "up", [3]);
          w.addSeries(up("b"), []);
        }),
      message: /cannot add a series in stage postings/,
    },
    {
      name: "postings pairs out of order",
      run: () =>
        withWriter((w) => {
          w.addSeries(up("a"), []);
          w.addPostings("job", "a", [3]);
          w.addPostings("__name__", "up", [3]);
        }),
      message: /postings for __name__="up" out of order/,
    },
    {
      name: "postings with an unknown ref",
      run: () =>
        withWriter((w) => {
          w.addSeries(up("a"), []);
          w.addPostings("__name__", "up", [3, 4]);
        }),
      message: /unknown series ref 4/,
    },
    {
      name: "postings not increasing",
      run: () =>
        withWriter((w) => {
          w.addSeries(up("a"), []);
          w.addSeries(up("b"), []);
          w.addPostings("__name__", "up", [4, 3]);
        }),
      message: /are not increasing/,
    },
    {
      name: "postings that miss series",
      run: () => {
        const w = new IndexWriter(nextPath());
        for (const s of ["__name__", "a", "job", "up"]) w.addSymbol(s);
        w.addSeries(up("a"), []);
        w.addPostings("__name__", "up", [3]);
        w.close();
      },
      message: /postings for label "job" list 0 series, but 1 series have the label/,
    },
  ];
  for (const c of cases) {
    it(`rejects ${c.name}`, () => {
      assert.throws(c.run, (err: unknown) => {
        assert.ok(isContrailError(err, "bad_data"), String(err));
        assert.match(err.message, c.message);
        return true;
      });
    });
  }

  it("removes every file when closing fails", () => {
    const path = nextPath();
    const w = new IndexWriter(path);
    for (const s of ["__name__", "a", "job", "up"]) w.addSymbol(s);
    w.addSeries(up("a"), []);
    w.addPostings("__name__", "up", [3]);
    assert.throws(() => w.close());
    assert.equal(existsSync(path), false);
    assert.equal(existsSync(`${path}_tmp_p`), false);
  });
});
