// Sign-in: a one-time link's secret arrives in the URL's fragment (`#link=cl_…`, never sent to a server) and is
// exchanged for the session cookie; or a read token is pasted here. A link that is used, expired or mistyped is
// refused with the server's plain words, and the form stays to paste a token instead.

import { useState } from "preact/hooks";
import type { Session } from "../session.ts";
import { signIn } from "../session.ts";

/** The sign-in page; `message` explains why it is shown (a refused link, a signed-out session). */
export function SignIn(props: { readonly message: string | null; readonly onSignedIn: (s: Session) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(await signIn({ token: token.trim() }));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="page narrow">
      <h1>Sign in to Contrail</h1>
      {props.message !== null && (
        <p class="error" role="alert" data-sign-in-message="">
          {props.message}
        </p>
      )}
      <p>
        Open the one-time sign-in link that <code>contrail up</code> printed, or get a new one with{" "}
        <code>npx contrail console</code>. Or paste an API token of your org:
      </p>
      <form onSubmit={submit} class="stack">
        <label for="token">Token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          placeholder="ct_…"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          required
        />
        <button type="submit" disabled={busy || token.trim() === ""}>
          Sign in
        </button>
        {error !== null && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
      <p class="muted small">
        A read token shows the org's metrics; a token with read and write also lets you manage tokens. Tokens come from{" "}
        <code>npx contrail tokens create</code>.
      </p>
    </main>
  );
}
