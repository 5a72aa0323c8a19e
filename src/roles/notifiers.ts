// The metrics node's notifiers over its control database: the Alertmanagers of `--alertmanager`, and each org's
// receivers as stored in control.db (read again whenever alerts arrive, so a change made by any process counts).

import { type ControlDb, listReceivers } from "../control/index.ts";
import { createNotifiers, type Notifiers } from "../rules/notify/notifiers.ts";

/** Options of {@link notifiersFor}. */
export interface NodeNotifierOptions {
  /** Checked base URLs (options.ts's `parseAlertmanagerUrls`). */
  readonly alertmanagers: readonly string[];
  /** The API's URL, the `externalURL` of notifications. */
  readonly externalUrl: string;
  /** `--external-label` labels (options.ts's `parseExternalLabels`); none when absent. */
  readonly externalLabels?: Readonly<Record<string, string>>;
  readonly warn: (line: string) => void;
}

/** Builds the notifiers of a metrics node; stop them before closing `control`. */
export function notifiersFor(control: ControlDb, o: NodeNotifierOptions): Notifiers {
  return createNotifiers({
    alertmanagers: o.alertmanagers,
    receiversFor: (org) => listReceivers(control, org),
    externalUrl: o.externalUrl,
    externalLabels: o.externalLabels,
    warn: (line) => o.warn(`notifications: ${line}`),
  });
}
