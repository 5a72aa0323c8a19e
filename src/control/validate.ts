// Input checks of the control plane: every name and free-text field has a syntax and a maximum length, checked
// before anything reaches SQLite, so a bad input fails with a message that names the field and the rule.

import { ContrailError } from "../model/errors.ts";

/** Maximum lengths, in UTF-16 code units (JavaScript string length), of the control plane's string inputs. */
export const LIMITS = {
  orgSlug: 63,
  orgName: 100,
  appName: 63,
  userEmail: 254,
  userName: 100,
  tokenNote: 200,
  region: 3,
  host: 4,
  processGroup: 63,
  address: 261,
  /** fly.toml text, in bytes of UTF-8. */
  flyTomlBytes: 64 * 1024,
} as const;

const ORG_SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
const APP_NAME = /^[a-z0-9][a-z0-9-]{1,62}$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;
const REGION = /^[a-z]{3}$/;
const HOST_ID = /^[0-9a-f]{4}$/;
const PROCESS_GROUP = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/;

/** Throws `bad_data` naming `field` when `value` is empty or longer than `max`. */
export function checkLength(field: string, value: string, max: number): void {
  if (value.length === 0) throw new ContrailError("bad_data", `${field}: must not be empty`);
  if (value.length > max) {
    throw new ContrailError("bad_data", `${field}: at most ${max} characters, got ${value.length}`);
  }
}

/** Checks `value` against `pattern` after its length; `rule` says in words what is allowed. */
function checkPattern(field: string, value: string, max: number, pattern: RegExp, rule: string): string {
  checkLength(field, value, max);
  if (!pattern.test(value))
    throw new ContrailError("bad_data", `${field}: ${JSON.stringify(value)} is invalid: ${rule}`);
  return value;
}

/** Validates an organization slug (`[a-z0-9][a-z0-9-]{0,62}`); returns it. */
export function checkOrgSlug(slug: string): string {
  return checkPattern(
    "org slug",
    slug,
    LIMITS.orgSlug,
    ORG_SLUG,
    'use lower-case letters, digits and "-", starting with a letter or digit',
  );
}

/** Validates an app name (`[a-z0-9][a-z0-9-]{1,62}`, 2 to 63 characters); returns it. */
export function checkAppName(name: string): string {
  return checkPattern(
    "app name",
    name,
    LIMITS.appName,
    APP_NAME,
    'use 2 to 63 lower-case letters, digits and "-", starting with a letter or digit',
  );
}

/** Validates a display name (of an org or user): non-empty, at most `max` characters, no control characters. */
export function checkDisplayName(field: string, name: string, max: number): string {
  checkLength(field, name, max);
  if (CONTROL_CHARS.test(name)) throw new ContrailError("bad_data", `${field}: control characters not allowed`);
  return name;
}

/** Validates an e-mail address loosely (one "@", no spaces) and lower-cases it. */
export function checkEmail(email: string): string {
  return checkPattern(
    "email",
    email,
    LIMITS.userEmail,
    EMAIL,
    "expected an address like name@example.com",
  ).toLowerCase();
}

/** Validates a region code: three lower-case letters, like `ord`. */
export function checkRegion(region: string): string {
  return checkPattern("region", region, LIMITS.region, REGION, "expected three lower-case letters, like ord");
}

/** Validates a host id: four lower-case hex digits. */
export function checkHostId(host: string): string {
  return checkPattern("host", host, LIMITS.host, HOST_ID, "expected four lower-case hex digits");
}

/** Validates a process group name, like `app` or `worker`. */
export function checkProcessGroup(field: string, group: string): string {
  return checkPattern(
    field,
    group,
    LIMITS.processGroup,
    PROCESS_GROUP,
    'use lower-case letters, digits, "-" and "_", starting with a letter or digit',
  );
}

/** Validates a token note: at most 200 characters, no control characters; empty means none. */
export function checkTokenNote(note: string): string {
  if (note.length > LIMITS.tokenNote) {
    throw new ContrailError("bad_data", `token note: at most ${LIMITS.tokenNote} characters, got ${note.length}`);
  }
  if (CONTROL_CHARS.test(note)) throw new ContrailError("bad_data", "token note: control characters not allowed");
  return note;
}

/** A network address split into its parts; `host` keeps IPv6 brackets off. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/** Parses `host:port` (`[v6]:port` for IPv6); throws `bad_data` naming the problem. */
export function parseAddress(address: string): Address {
  checkLength("address", address, LIMITS.address);
  const fail = (why: string): never => {
    throw new ContrailError("bad_data", `address: ${JSON.stringify(address)} is invalid: ${why}`);
  };
  const colon = address.lastIndexOf(":");
  if (colon <= 0) fail("expected host:port");
  let host = address.slice(0, colon);
  const portText = address.slice(colon + 1);
  if (host.startsWith("[")) {
    if (!host.endsWith("]")) fail("unclosed [ in IPv6 address");
    host = host.slice(1, -1);
    if (!host.includes(":") || !IPV6.test(host)) fail("bad IPv6 address");
  } else if (!HOSTNAME.test(host)) {
    fail(host.includes(":") ? "write IPv6 addresses as [addr]:port" : "bad host name");
  }
  if (!/^[0-9]{1,5}$/.test(portText)) fail("port must be an integer 1-65535");
  const port = Number(portText);
  if (port < 1 || port > 65535) fail("port must be an integer 1-65535");
  return { host, port };
}
