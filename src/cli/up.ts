// `contrail up`: runs Contrail on one machine over the embedded store: the Prometheus API of every org at
// `http://<api>/prometheus/<org>/`, federation, `/metrics`, `/healthz` and `/meta/regions.json`. The default address
// 127.0.0.1:9300 stays clear of Prometheus (9090), its exporters (9100…) and VictoriaMetrics (8428).
// SIGINT or SIGTERM stops it cleanly: no new connections, in-flight requests finish, every tenant database closes.

import { type Command, Option } from "commander";
import { createApiServer } from "../api/server.ts";
import { authenticate, openControlDb } from "../control/index.ts";
import { ContrailError, isContrailError } from "../model/errors.ts";
import { EmbeddedTenantStore } from "../storage/tenants.ts";

/** The API's default listen address. */
export const DEFAULT_API_ADDRESS = "127.0.0.1:9300";

/** A parsed `HOST:PORT` (IPv6 hosts in brackets: `[::1]:9300`). */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Parses `HOST:PORT`; throws bad_data naming the expected form. */
export function parseListenAddress(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = m === null ? -1 : Number(m[3]);
  if (m === null || port > 65535) {
    throw new ContrailError(
      "bad_data",
      `--api: expected HOST:PORT such as ${DEFAULT_API_ADDRESS}, got ${JSON.stringify(text)}`,
    );
  }
  return { host: m[1] ?? m[2], port };
}

/** Options of {@link up}. */
export interface UpOptions {
  readonly data: string;
  readonly api: string;
}

/** Resolves on the first SIGINT or SIGTERM; a second one ends the process at once. */
function shutdownSignal(): Promise<string> {
  return new Promise((resolve) => {
    let seen = false;
    const onSignal = (sig: string) => {
      if (seen) {
        process.stderr.write(`contrail: ${sig} again, exiting without waiting\n`);
        process.exit(1);
      }
      seen = true;
      resolve(sig);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

/** Serves until a signal arrives, then shuts down in order: HTTP server, tenant databases, control database. */
export async function up(opts: UpOptions): Promise<void> {
  const address = parseListenAddress(opts.api);
  const signal = shutdownSignal();
  const control = openControlDb({ dataDir: opts.data });
  const store = new EmbeddedTenantStore({ dataDir: opts.data });
  const { app } = createApiServer({
    store,
    authenticate: (token) => authenticate(control, token),
    onInternalError: (err, request) => {
      // The URL is logged without its query string: queries may name what an org monitors.
      const path = request.url.split("?")[0];
      process.stderr.write(`contrail: internal error on ${request.method} ${path}: ${(err as Error)?.stack ?? err}\n`);
    },
  });
  try {
    await app.listen({ host: address.host, port: address.port });
    const bound = app.server.address();
    const port = bound !== null && typeof bound === "object" ? bound.port : address.port;
    const host = address.host.includes(":") ? `[${address.host}]` : address.host;
    process.stdout.write(
      `contrail: listening on http://${host}:${port} (Prometheus API at /prometheus/<org>/, data in ${opts.data})\n`,
    );
    const sig = await signal;
    process.stdout.write(`contrail: ${sig} received, shutting down\n`);
  } finally {
    try {
      await app.close();
    } finally {
      try {
        store.close();
      } finally {
        control.close();
      }
    }
  }
  process.stdout.write("contrail: stopped\n");
}

/** Registers `contrail up [--data DIR] [--api HOST:PORT]`. */
export function registerUpCommand(program: Command): void {
  program
    .command("up")
    .description("serve the Prometheus API of every org over the embedded store until SIGINT or SIGTERM")
    .addOption(new Option("--data <dir>", "data directory").env("CONTRAIL_DATA").default("./data"))
    .addOption(
      new Option("--api <host:port>", "address of the HTTP API").env("CONTRAIL_API").default(DEFAULT_API_ADDRESS),
    )
    .action(async (opts: UpOptions) => {
      try {
        await up(opts);
      } catch (err) {
        const known = isContrailError(err) || typeof (err as NodeJS.ErrnoException).code === "string";
        if (!known) throw err;
        process.stderr.write(`contrail: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
