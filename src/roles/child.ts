// How a role process runs (`contrail serve|edge|agent`), alone or under the supervisor of `contrail up`: start the
// role, say that it serves, and stop it in order on SIGINT or SIGTERM (a second signal exits at once). Under the
// supervisor (an IPC channel is open) it sends a `ready` message with its addresses instead of printing them, its
// lines go out unprefixed (the supervisor prefixes them with the role), it leaves the terminal's SIGINT and SIGHUP
// to the supervisor (which stops the roles in order with SIGTERM), and it also stops when the channel closes: a
// supervisor that dies without a word leaves no role running.

import { isContrailError } from "../model/errors.ts";

/** What a role process reports once it serves: its addresses, shown by the supervisor and used for restarts. */
export type ReadyInfo = Readonly<Record<string, unknown>>;

/** The message a role process sends its supervisor once it serves. */
export interface ReadyMessage {
  readonly type: "ready";
  readonly info: ReadyInfo;
}

/** True when `m` is a {@link ReadyMessage}. */
export function isReadyMessage(m: unknown): m is ReadyMessage {
  return typeof m === "object" && m !== null && (m as ReadyMessage).type === "ready";
}

/** A started role, as {@link runRole} needs it. */
export interface StartedRole {
  readonly info: ReadyInfo;
  /** What to print once ready when running alone (one line each, without prefix). */
  readonly lines: readonly string[];
  stop(): Promise<void>;
}

/** Where a role writes its progress lines and warnings. */
export interface RoleOutput {
  readonly log: (line: string) => void;
  readonly warn: (line: string) => void;
}

/** `stop` made idempotent: the first call runs it, every call returns that first run's promise. */
export function stopOnce(stop: () => Promise<void>): () => Promise<void> {
  let stopping: Promise<void> | null = null;
  return () => {
    stopping ??= stop();
    return stopping;
  };
}

/** True when this process was started by a supervisor (it has an IPC channel). */
export function supervised(): boolean {
  return typeof process.send === "function";
}

/** The output of role `name`: prefixed with `contrail <name>: ` when alone, bare under a supervisor. */
export function roleOutput(name: string): RoleOutput {
  const prefix = supervised() ? "" : `contrail ${name}: `;
  return {
    log: (line) => process.stdout.write(`${prefix}${line}\n`),
    warn: (line) => process.stderr.write(`${prefix}${line}\n`),
  };
}

/**
 * Starts role `name` with `start` and runs it until a signal (or, supervised, the end of the IPC channel); resolves
 * to the exit code: 0 after a clean stop, 1 when it could not start (a ContrailError or a system error, printed).
 */
export async function runRole(name: string, start: (out: RoleOutput) => Promise<StartedRole>): Promise<number> {
  const out = roleOutput(name);
  let requested: (why: string) => void = () => {};
  const stopRequested = new Promise<string>((resolve) => {
    requested = resolve;
  });
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) {
      out.warn(`${sig} again, exiting without waiting`);
      process.exit(1);
    }
    signalled = true;
    requested(sig);
  };
  process.on("SIGTERM", onSignal);
  if (supervised()) {
    // The terminal's signals reach the whole process group; the supervisor turns them into an ordered stop.
    process.on("SIGINT", () => {});
    process.on("SIGHUP", () => {});
    process.on("disconnect", () => requested("disconnect"));
  } else {
    process.on("SIGINT", onSignal);
  }

  let role: StartedRole;
  try {
    role = await start(out);
  } catch (err) {
    const known = isContrailError(err) || typeof (err as NodeJS.ErrnoException).code === "string";
    if (!known) throw err;
    out.warn((err as Error).message);
    return 1;
  }
  if (supervised()) {
    const ready: ReadyMessage = { type: "ready", info: role.info };
    if (process.connected) process.send?.(ready);
  } else {
    for (const line of role.lines) out.log(line);
  }
  await stopRequested;
  await role.stop();
  if (process.connected) process.disconnect();
  return 0;
}
