// Where an org's samples are kept: the embedded TSDB (default) or an existing distributed engine reached over HTTP.
// `parseStorageSpec` reads the `--storage` flag; `backendEndpoints` says, for one org, where its remote-write
// requests go and where its PromQL reads go, with the headers and the label that keep the org apart:
//
//   victoriametrics=URL         single-tenant: every series carries ORG_LABEL=<org>, every read is confined to it
//   vmcluster=INSERT,SELECT     the org's accountID in the path: INSERT/insert/<id>/prometheus/api/v1/write and
//                               SELECT/select/<id>/prometheus/api/v1/...
//   mimir=URL                   Grafana Mimir or Cortex: URL/api/v1/push and URL/prometheus/api/v1/..., with
//                               X-Scope-OrgID: <org>

import { ContrailError } from "../../model/errors.ts";

/** The `--storage` choice, parsed. URLs have no trailing slash. */
export type StorageSpec =
  | { readonly kind: "embedded" }
  | { readonly kind: "victoriametrics"; readonly url: string }
  | { readonly kind: "vmcluster"; readonly insertUrl: string; readonly selectUrl: string }
  | { readonly kind: "mimir"; readonly url: string };

/** The kinds of remote storage, as spelled before `=` in `--storage`. */
export const REMOTE_STORAGE_KINDS = ["victoriametrics", "vmcluster", "mimir"] as const;

/**
 * The label that names the org on every series written to a single-tenant backend (VictoriaMetrics single-node);
 * reads add `ORG_LABEL="<org>"` to every selector and drop the label from what they return. Platform-owned: a
 * series arriving with its own value for it has that value replaced.
 */
export const ORG_LABEL = "contrail_org";

/** The header Mimir and Cortex read the tenant from. */
export const MIMIR_TENANT_HEADER = "X-Scope-OrgID";

/** Highest VictoriaMetrics cluster accountID (a uint32); 0 is its default tenant, which Contrail never uses. */
export const MAX_VM_ACCOUNT_ID = 4_294_967_295;

/** Where one org's data goes and is read, for one backend. */
export interface BackendEndpoints {
  /** Full URL remote-write requests are POSTed to. */
  readonly writeUrl: string;
  /** Base of the Prometheus query API, e.g. `<base>/api/v1/query`; no trailing slash. */
  readonly readBase: string;
  /** Headers for both writes and reads (the tenant header of multi-tenant backends). */
  readonly headers: Readonly<Record<string, string>>;
  /** Single-tenant backends: the label every written series carries and every read is confined to. */
  readonly orgLabel: { readonly name: string; readonly value: string } | null;
}

function checkUrl(text: string, what: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ContrailError("bad_data", `--storage: ${what} ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ContrailError("bad_data", `--storage: ${what} ${JSON.stringify(text)} must be http:// or https://`);
  }
  if (url.search !== "" || url.hash !== "") {
    throw new ContrailError("bad_data", `--storage: ${what} ${JSON.stringify(text)} must have no query or fragment`);
  }
  return url.href.replace(/\/+$/, "");
}

/** Parses `--storage`: `embedded`, `victoriametrics=URL`, `vmcluster=INSERT_URL,SELECT_URL` or `mimir=URL`. */
export function parseStorageSpec(text: string): StorageSpec {
  const trimmed = text.trim();
  if (trimmed === "embedded") return { kind: "embedded" };
  const eq = trimmed.indexOf("=");
  const kind = eq < 0 ? trimmed : trimmed.slice(0, eq);
  const value = eq < 0 ? "" : trimmed.slice(eq + 1);
  const expected = `embedded, ${REMOTE_STORAGE_KINDS.map((k) => `${k}=${k === "vmcluster" ? "INSERT_URL,SELECT_URL" : "URL"}`).join(", ")}`;
  switch (kind) {
    case "victoriametrics":
    case "mimir": {
      if (value === "") throw new ContrailError("bad_data", `--storage ${kind} needs a URL: ${kind}=URL`);
      return { kind, url: checkUrl(value, `${kind} URL`) };
    }
    case "vmcluster": {
      const parts = value.split(",");
      if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
        throw new ContrailError("bad_data", "--storage vmcluster needs two URLs: vmcluster=INSERT_URL,SELECT_URL");
      }
      return {
        kind,
        insertUrl: checkUrl(parts[0] as string, "vminsert URL"),
        selectUrl: checkUrl(parts[1] as string, "vmselect URL"),
      };
    }
    default:
      throw new ContrailError("bad_data", `--storage ${JSON.stringify(text)}: expected one of ${expected}`);
  }
}

/** The flag's text for a spec (the inverse of {@link parseStorageSpec}). */
export function formatStorageSpec(spec: StorageSpec): string {
  switch (spec.kind) {
    case "embedded":
      return "embedded";
    case "victoriametrics":
    case "mimir":
      return `${spec.kind}=${spec.url}`;
    case "vmcluster":
      return `vmcluster=${spec.insertUrl},${spec.selectUrl}`;
  }
}

/**
 * The endpoints of `org` on a remote backend. `accountId` is the org's VictoriaMetrics cluster tenant (1 ..
 * {@link MAX_VM_ACCOUNT_ID}, kept in the control plane); other backends ignore it.
 */
export function backendEndpoints(
  spec: Exclude<StorageSpec, { kind: "embedded" }>,
  org: string,
  accountId: number,
): BackendEndpoints {
  switch (spec.kind) {
    case "victoriametrics":
      return {
        writeUrl: `${spec.url}/api/v1/write`,
        readBase: `${spec.url}/api/v1`,
        headers: {},
        orgLabel: { name: ORG_LABEL, value: org },
      };
    case "vmcluster": {
      if (!Number.isInteger(accountId) || accountId < 1 || accountId > MAX_VM_ACCOUNT_ID) {
        throw new ContrailError("internal", `org ${JSON.stringify(org)} has no valid VictoriaMetrics accountID`);
      }
      return {
        writeUrl: `${spec.insertUrl}/insert/${accountId}/prometheus/api/v1/write`,
        readBase: `${spec.selectUrl}/select/${accountId}/prometheus/api/v1`,
        headers: {},
        orgLabel: null,
      };
    }
    case "mimir":
      return {
        writeUrl: `${spec.url}/api/v1/push`,
        readBase: `${spec.url}/prometheus/api/v1`,
        headers: { [MIMIR_TENANT_HEADER]: org },
        orgLabel: null,
      };
  }
}
