import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runStorageConformance } from "./conformance.ts";
import { EmbeddedTenantStore } from "./tenants.ts";

runStorageConformance("EmbeddedTenantStore bound to one org", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "contrail-tenants-conf-"));
  const store = new EmbeddedTenantStore({ dataDir, db: { autoCompact: false }, idleCloseMs: 0 });
  const org = "acme";
  return {
    appendable: { appender: () => store.appender(org) },
    queryable: store.queryable(org),
    close() {
      store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});
