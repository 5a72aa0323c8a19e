// `contrail dashboard export`: prints the Grafana dashboard of the seed (dashboards/contrail-app.json). As shipped it
// is ready for Grafana's "Import dashboard": its `${DS}` input asks for the Prometheus data source. With
// `--ds-uid UID` every `${DS}` becomes that data source's uid (for provisioning or the HTTP API, which do not ask
// for inputs), and with `--regions-url URL` the region map reads its coordinates from that URL, which the viewer's
// browser must be able to reach.

import { readFileSync } from "node:fs";
import { ContrailError, isContrailError } from "../model/errors.ts";

/** Where the dashboard's JSON lives in the source tree. */
export const DASHBOARD_PATH = new URL("../../dashboards/contrail-app.json", import.meta.url);

/** The placeholder of the data source input, replaced by Grafana on import or by `--ds-uid`. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's input syntax, not a template.
export const DS_PLACEHOLDER = "${DS}";

/** Options of {@link exportDashboard}. */
export interface DashboardExportOptions {
  /** The uid of the Prometheus data source to bind every panel and variable to. */
  readonly dsUid?: string;
  /** Where the map's browser fetches `/meta/regions.json`. */
  readonly regionsUrl?: string;
}

/** A dashboard as parsed JSON; only the parts this module edits are typed. */
export interface DashboardJson {
  __inputs?: unknown[];
  panels: PanelJson[];
  templating: { list: { name: string; type: string }[] };
  [key: string]: unknown;
}

/** A panel as parsed JSON; rows nest their panels. */
export interface PanelJson {
  type: string;
  panels?: PanelJson[];
  targets?: { refId: string; expr?: string; [key: string]: unknown }[];
  options?: { layers?: { location?: { mode?: string; gazetteer?: string } }[] };
  [key: string]: unknown;
}

const UID = /^[a-zA-Z0-9_-]{1,40}$/;

/** Reads the dashboard from the source tree (a fresh object on each call). */
export function loadDashboard(): DashboardJson {
  return JSON.parse(readFileSync(DASHBOARD_PATH, "utf8")) as DashboardJson;
}

/** Every panel, rows' nested panels included, in order. */
export function allPanels(d: DashboardJson): PanelJson[] {
  const out: PanelJson[] = [];
  const visit = (list: readonly PanelJson[]) => {
    for (const p of list) {
      out.push(p);
      if (p.panels !== undefined) visit(p.panels);
    }
  };
  visit(d.panels);
  return out;
}

/** `value` with every string equal to `from` replaced by `to`, at any depth. */
function replaceStrings(value: unknown, from: string, to: string): unknown {
  if (typeof value === "string") return value === from ? to : value;
  if (Array.isArray(value)) return value.map((v) => replaceStrings(v, from, to));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceStrings(v, from, to)]));
  }
  return value;
}

/** The dashboard with the options applied. Throws bad_data for a malformed uid or URL. */
export function exportDashboard(opts: DashboardExportOptions = {}): DashboardJson {
  let d = loadDashboard();
  if (opts.dsUid !== undefined) {
    if (!UID.test(opts.dsUid)) {
      throw new ContrailError("bad_data", `--ds-uid: a Grafana uid is 1 to 40 of a-z A-Z 0-9 - _, got ${opts.dsUid}`);
    }
    d = replaceStrings(d, DS_PLACEHOLDER, opts.dsUid) as DashboardJson;
    // Bound to one data source: nothing is left to ask on import, and a data source picker would change nothing.
    delete d.__inputs;
    d.templating.list = d.templating.list.filter((v) => !(v.type === "datasource" && v.name === "DS"));
  }
  if (opts.regionsUrl !== undefined) {
    if (!/^https?:\/\/[^/\s]+\/?\S*$/.test(opts.regionsUrl)) {
      throw new ContrailError("bad_data", `--regions-url: expected an http(s) URL, got ${opts.regionsUrl}`);
    }
    for (const p of allPanels(d)) {
      for (const layer of p.options?.layers ?? []) {
        if (layer.location?.mode === "lookup") layer.location.gazetteer = opts.regionsUrl;
      }
    }
  }
  return d;
}

/** The action of `contrail dashboard export`: prints the dashboard; a bad option becomes a message and exit code 1. */
export function dashboardExportCommand(opts: DashboardExportOptions): void {
  try {
    process.stdout.write(`${JSON.stringify(exportDashboard(opts), null, 2)}\n`);
  } catch (err) {
    if (!isContrailError(err)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    process.exitCode = 1;
  }
}
