// The metrics node's notifiers in one piece: the Alertmanager client (when Alertmanagers are configured) and the
// per-org receivers' dispatcher, behind one AlertSink for the rule manager, one list of metric families for
// `/metrics`, and one stop. The metrics node builds it once at start and stops it before closing the control
// database that `receiversFor` reads.

import type { MetricFamily } from "../../exposition/index.ts";
import type { Receiver } from "../../model/receivers.ts";
import type { AlertSink } from "../types.ts";
import { AlertmanagerNotifier } from "./alertmanager.ts";
import { Dispatcher } from "./dispatcher.ts";
import { alertmanagerFamilies, dispatcherFamilies } from "./metrics.ts";

/** Options of {@link createNotifiers}. */
export interface NotifiersOptions {
  /** Base URLs of Alertmanagers (`contrail up --alertmanager`); none: alerts go to per-org receivers only. */
  readonly alertmanagers: readonly string[];
  /** The org's receivers now; usually control's `listReceivers` over the control database. */
  readonly receiversFor: (org: string) => readonly Receiver[];
  /** Where people reach this platform (the API's URL), for notifications' `externalURL`. */
  readonly externalUrl: string;
  /** Labels every alert carries unless it has its own of that name; `org` always wins. */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /** Told of delivery failures, one line each. */
  readonly warn: (line: string) => void;
}

/** The running notifiers of one metrics node. */
export interface Notifiers {
  /** Hands an org's alerts to every notifier; never throws or blocks. */
  readonly sink: AlertSink;
  /** The notifiers' counters, for the metrics node's `/metrics`. */
  families(): MetricFamily[];
  /** Stops both; queued alerts and pending groups are dropped. */
  stop(): Promise<void>;
}

/** Builds the notifiers; the caller plugs `sink` into the rule manager and `families` into `/metrics`. */
export function createNotifiers(o: NotifiersOptions): Notifiers {
  const am =
    o.alertmanagers.length === 0
      ? null
      : new AlertmanagerNotifier({ urls: o.alertmanagers, externalLabels: o.externalLabels, warn: o.warn });
  const dispatcher = new Dispatcher({
    receiversFor: o.receiversFor,
    externalUrl: o.externalUrl,
    externalLabels: o.externalLabels,
    warn: o.warn,
  });
  return {
    sink: (org, alerts) => {
      try {
        am?.enqueue(org, alerts);
        dispatcher.ingest(org, alerts);
      } catch (err) {
        o.warn(`notifications of org ${org}: ${(err as Error).message}`);
      }
    },
    families: () => [
      ...(am === null ? [] : alertmanagerFamilies(am.figures())),
      ...dispatcherFamilies(dispatcher.figures()),
    ],
    stop: async () => {
      await Promise.all([am?.stop(), dispatcher.stop()]);
    },
  };
}
