// The web console's sign-in link, as `contrail up` and `contrail console` print it: the console's URL with a
// one-time link secret in the fragment (`#link=cl_…`). A fragment is never sent to a server, nor kept in a
// Referer or an access log; the page reads it, exchanges it for a session cookie, and drops it from the address.

import { createSignInLink, parseScopes } from "../control/index.ts";
import { withControl } from "./common.ts";
import { apiBase } from "./query.ts";

/** The sign-in URL of `link` (a `cl_` secret) that opens `path` of the console at `apiUrl`. */
export function signInUrl(apiUrl: string, link: string, path = "/"): string {
  return `${apiUrl}${path}#link=${link}`;
}

/** Options of `contrail console`, as the command line gives them. */
export interface ConsoleCommandOptions {
  readonly org: string;
  readonly scope: string;
  readonly api: string;
  readonly data: string;
}

/** The action of `contrail console`: prints a new one-time sign-in link of the web console. */
export function consoleCommand(opts: ConsoleCommandOptions): Promise<void> {
  return withControl(opts.data, (db) => {
    const { link } = createSignInLink(db, { org: opts.org, scopes: parseScopes(opts.scope) });
    process.stdout.write(`${signInUrl(apiBase(opts.api), link)}\n`);
    if (process.stderr.isTTY) {
      console.error(`a one-time sign-in link for org "${opts.org}" (${opts.scope}); it works once, within a day`);
    }
  });
}
