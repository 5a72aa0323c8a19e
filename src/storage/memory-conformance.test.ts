import { runStorageConformance } from "./conformance.ts";
import { MemoryStore } from "./memory.ts";

runStorageConformance("MemoryStore", () => {
  const store = new MemoryStore();
  return { appendable: store, queryable: store };
});
