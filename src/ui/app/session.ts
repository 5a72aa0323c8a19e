// The signed-in session as the server describes it (org, scopes, expiry), and signing in and out. The secret lives
// only in the HttpOnly cookie: this code never sees it.

import { call, SESSION_PATH, send } from "./api.ts";

/** Who the console acts as: one org, with the session's scopes; `expiresAt` in ms since the epoch. */
export interface Session {
  readonly org: string;
  readonly scopes: readonly ("read" | "write")[];
  readonly expiresAt: number;
}

/** The current session, or null when the cookie holds none. */
export async function loadSession(): Promise<Session | null> {
  const s = await call<({ signedIn: true } & Session) | { signedIn: false }>(SESSION_PATH);
  return s.signedIn ? { org: s.org, scopes: s.scopes, expiresAt: s.expiresAt } : null;
}

/** Exchanges a one-time link secret (`cl_…`) or a pasted token (`ct_…`) for a session cookie. */
export function signIn(credential: { link: string } | { token: string }): Promise<Session> {
  return send<Session>("POST", SESSION_PATH, credential);
}

/** Ends the session on the server and clears the cookie. */
export function signOut(): Promise<void> {
  return send<void>("DELETE", SESSION_PATH);
}

/** Whether the session may manage tokens (both scopes). */
export function canManageTokens(s: Session): boolean {
  return s.scopes.includes("read") && s.scopes.includes("write");
}
