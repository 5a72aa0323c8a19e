// Builds scrape targets from control-plane facts without depending on the control module: the wiring layer passes
// each app's `[metrics]` endpoints and its instances as plain data, and gets one target per started instance and
// endpoint that applies to the instance's process group.
//
// Where an endpoint is reached: an instance's registered address is where its service's internal port is served
// (a local instance gets its own loopback port for it). An endpoint on that same port is scraped at the address;
// one on another port (an app that serves metrics on a separate listener) at the port the instance stands it in
// with when it has one (local instances sharing a host each get their own, `PORT_<port>`), else at that port on
// the address's host (external instances on their own machines).

import { ContrailError } from "../model/errors.ts";
import type { ScrapeTarget, TargetLimits } from "./target.ts";

/** A `[metrics]` / `[[metrics]]` entry: `processes` empty means every process group; limits absent mean none. */
export interface MetricsEndpointSpec {
  readonly port: number;
  readonly path: string;
  readonly processes: readonly string[];
  readonly sampleLimit?: number;
  readonly bodyLimitBytes?: number;
}

/** The scrape-relevant facts of an app. */
export interface AppMetricsSpec {
  readonly name: string;
  readonly org: string;
  readonly metrics: readonly MetricsEndpointSpec[];
  /** The internal port the instances' addresses stand for, by process group (groups without a service absent). */
  readonly internalPorts: Readonly<Record<string, number>>;
}

/** The scrape-relevant facts of an instance; only `started` instances are scraped. */
export interface InstanceSpec {
  readonly id: string;
  readonly app: string;
  readonly region: string;
  readonly host: string;
  /** `host:port` or `[v6]:port`. */
  readonly address: string;
  readonly processGroup: string;
  readonly state: string;
  /** Ports the instance listens on in place of declared ones, by declared port (local instances only). */
  readonly ports?: Readonly<Record<string, number>>;
}

/** Splits `host:port` / `[v6]:port`; throws `bad_data` when it is neither. The host keeps IPv6 brackets. */
export function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(":");
  const host = colon > 0 ? address.slice(0, colon) : "";
  const port = Number(address.slice(colon + 1));
  const v6 = host.startsWith("[");
  if (
    host === "" ||
    !Number.isInteger(port) ||
    port < 1 ||
    port > 65535 ||
    (v6 ? !host.endsWith("]") : host.includes(":"))
  ) {
    throw new ContrailError("bad_data", `invalid instance address ${JSON.stringify(address)}: expected host:port`);
  }
  return { host, port };
}

/** The scrape URL of `endpoint` on `instance` (see the file comment for the port rule). */
export function endpointUrl(
  instance: InstanceSpec,
  endpoint: MetricsEndpointSpec,
  internalPort: number | undefined,
): string {
  const { host, port } = splitHostPort(instance.address);
  const standIn = instance.ports !== undefined && Object.hasOwn(instance.ports, endpoint.port);
  const p =
    internalPort !== undefined && endpoint.port === internalPort
      ? port
      : standIn
        ? instance.ports![endpoint.port]
        : endpoint.port;
  const path = endpoint.path.startsWith("/") ? endpoint.path : `/${endpoint.path}`;
  return `http://${host}:${p}${path}`;
}

/** One target per started instance and applicable metrics endpoint; instances of unknown apps and with bad
 * addresses are skipped. Ids are `<instance>:<port><path>`, stable across refreshes. */
export function targetsFromApps(apps: readonly AppMetricsSpec[], instances: readonly InstanceSpec[]): ScrapeTarget[] {
  const byName = new Map(apps.map((a) => [a.name, a]));
  const out: ScrapeTarget[] = [];
  for (const inst of instances) {
    if (inst.state !== "started") continue;
    const app = byName.get(inst.app);
    if (app === undefined) continue;
    for (const ep of app.metrics) {
      if (ep.processes.length > 0 && !ep.processes.includes(inst.processGroup)) continue;
      let url: string;
      try {
        const internal = Object.hasOwn(app.internalPorts, inst.processGroup)
          ? app.internalPorts[inst.processGroup]
          : undefined;
        url = endpointUrl(inst, ep, internal);
      } catch {
        continue;
      }
      out.push({
        id: `${inst.id}:${ep.port}${ep.path}`,
        org: app.org,
        app: app.name,
        region: inst.region,
        host: inst.host,
        instance: inst.id,
        url,
        ...limitsOf(ep),
      });
    }
  }
  return out;
}

/** The target's `limits` field for an endpoint that sets any, else nothing (a target without limits has none). */
function limitsOf(ep: MetricsEndpointSpec): { limits?: TargetLimits } {
  if (ep.sampleLimit === undefined && ep.bodyLimitBytes === undefined) return {};
  return {
    limits: {
      ...(ep.sampleLimit === undefined ? {} : { sampleLimit: ep.sampleLimit }),
      ...(ep.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: ep.bodyLimitBytes }),
    },
  };
}
