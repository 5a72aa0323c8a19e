import assert from "node:assert/strict";
import { test } from "node:test";
import { type Chunk, Encoding } from "../chunkenc/chunk.ts";
import { PageCache, PageChunks } from "./page-cache.ts";

const chunkAt = (off: number): Chunk => ({ encoding: Encoding.xor, data: new Uint8Array([off & 0xff, off >> 8]) });

test("page chunks: every chunk set is found by its offset, in any order of setting and asking", () => {
  const held = new PageChunks();
  const offsets = [40, 10, 70, 20, 90, 30, 0, 60, 50, 80];
  const set = new Map<number, Chunk>();
  for (const off of offsets) {
    const c = chunkAt(off);
    held.set(off, c);
    set.set(off, c);
    for (const [o, want] of set) assert.equal(held.get(o), want, `offset ${o} after setting ${off}`);
  }
  for (const off of [...offsets].reverse()) assert.equal(held.get(off), set.get(off));
  for (const off of [...offsets].sort((a, b) => a - b)) assert.equal(held.get(off), set.get(off));
});

test("page chunks: an offset never set is missing, between, before and after the held ones", () => {
  const held = new PageChunks();
  for (const off of [100, 200, 300]) held.set(off, chunkAt(off));
  for (const off of [0, 99, 101, 150, 250, 299, 301, 1000]) assert.equal(held.get(off), undefined, `offset ${off}`);
  // A miss does not spoil the sequential look-up that follows.
  assert.equal(held.get(100)?.data[0], 100);
  assert.equal(held.get(200)?.data[0], 200);
  assert.equal(held.get(300)?.data[0], 300 & 0xff);
});

test("page cache: a page's chunks start empty and stay with the page while it is cached", () => {
  const cache = new PageCache(2);
  const page = cache.put(0, 0, new Uint8Array(16));
  assert.equal(page.chunks.get(0), undefined);
  const c = chunkAt(4);
  page.chunks.set(4, c);
  assert.equal(cache.get(0, 0)?.chunks.get(4), c);
  cache.put(0, 1, new Uint8Array(16));
  cache.put(0, 2, new Uint8Array(16));
  assert.equal(cache.get(0, 0), undefined);
  assert.equal(cache.put(0, 0, new Uint8Array(16)).chunks.get(4), undefined);
});
