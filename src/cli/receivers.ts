// The actions of `contrail receivers …` (options in commands/receivers.ts): an org's notification receivers in
// `<data>/control.db`, read and written in the same JSON form as the receivers API. Results go to stdout, errors
// to stderr with exit code 1.

import { deleteReceiver, listReceiverInfos, putReceiver, requireOrg } from "../control/index.ts";
import { receiverFromJson, receiverJson } from "../rules/notify/receiver-json.ts";
import { printTable, withControl } from "./common.ts";

/** Options of `contrail receivers set`, as the command line gives them. */
export interface ReceiversSetOptions {
  readonly org: string;
  readonly kind?: string;
  readonly url: string;
  /** A string sets it, false (`--no-secret`) removes it, true or undefined keeps the stored one. */
  readonly secret?: string | boolean;
  readonly groupBy?: string;
  readonly groupWait?: string;
  readonly groupInterval?: string;
  readonly repeatInterval?: string;
  readonly sendResolved?: "on" | "off";
  readonly data: string;
}

/** `contrail receivers list`: a table, or a JSON array in the API's form. */
export function receiversListCommand(opts: { org: string; json?: boolean; data: string }): Promise<void> {
  return withControl(opts.data, (db) => {
    requireOrg(db, opts.org);
    const list = listReceiverInfos(db, opts.org).map(receiverJson);
    if (opts.json === true) {
      console.log(JSON.stringify(list));
      return;
    }
    printTable([
      ["NAME", "KIND", "URL", "SIGNED", "GROUP BY", "WAIT", "INTERVAL", "REPEAT", "RESOLVED"],
      ...list.map((r) => [
        String(r.name),
        String(r.kind),
        String(r.url),
        r.has_secret === true ? "yes" : "no",
        (r.group_by as string[]).join(",") || "-",
        String(r.group_wait),
        String(r.group_interval),
        String(r.repeat_interval),
        r.send_resolved === true ? "yes" : "no",
      ]),
    ]);
  });
}

/** `contrail receivers set NAME`: creates or replaces the receiver; prints it in the API's JSON form. */
export function receiversSetCommand(name: string, opts: ReceiversSetOptions): Promise<void> {
  const body: Record<string, unknown> = {
    kind: opts.kind ?? "webhook",
    url: opts.url,
    secret: typeof opts.secret === "string" ? opts.secret : opts.secret === false ? null : undefined,
    group_by:
      opts.groupBy === undefined
        ? undefined
        : opts.groupBy
            .split(",")
            .map((l) => l.trim())
            .filter((l) => l !== ""),
    group_wait: opts.groupWait,
    group_interval: opts.groupInterval,
    repeat_interval: opts.repeatInterval,
    send_resolved: opts.sendResolved === undefined ? undefined : opts.sendResolved === "on",
  };
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  return withControl(opts.data, (db) => {
    const { receiver, created } = putReceiver(db, opts.org, receiverFromJson(name, body));
    console.log(`${created ? "created" : "replaced"} receiver ${name} of org ${opts.org}`);
    console.log(JSON.stringify(receiverJson(receiver)));
  });
}

/** `contrail receivers delete NAME`. */
export function receiversDeleteCommand(name: string, opts: { org: string; data: string }): Promise<void> {
  return withControl(opts.data, (db) => {
    deleteReceiver(db, opts.org, name);
    console.log(`deleted receiver ${name} of org ${opts.org}`);
  });
}
