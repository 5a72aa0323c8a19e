import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConformanceSeries, runBlockReaderConformance } from "../block-reader-conformance.ts";
import { Head } from "./head.ts";

function fill(data: readonly ConformanceSeries[]): { dir: string; head: Head } {
  const dir = mkdtempSync(join(tmpdir(), "head-conf-"));
  const head = Head.open({ dir });
  const app = head.appender();
  for (const s of data) for (const [t, v] of s.samples) app.append(s.labels, t, v);
  app.commit();
  return { dir, head };
}

runBlockReaderConformance("head", (data) => {
  const { dir, head } = fill(data);
  return {
    reader: head,
    close() {
      head.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

runBlockReaderConformance("head reopened from chunks_head and the WAL", (data) => {
  const first = fill(data);
  first.head.close();
  const head = Head.open({ dir: first.dir });
  return {
    reader: head,
    close() {
      head.close();
      rmSync(first.dir, { recursive: true, force: true });
    },
  };
});

runBlockReaderConformance("head range reader over one block range", (data) => {
  const { dir, head } = fill(data);
  return {
    reader: head.rangeReader(0, 2 * 60 * 60 * 1000 - 1),
    close() {
      head.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
