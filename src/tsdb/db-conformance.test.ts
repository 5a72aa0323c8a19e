import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runStorageConformance } from "../storage/conformance.ts";
import { Db } from "./db.ts";

runStorageConformance("Db", () => {
  const dir = mkdtempSync(join(tmpdir(), "contrail-db-conf-"));
  const db = Db.open({ dir, autoCompact: false });
  return {
    appendable: db,
    queryable: db,
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
