// The console's entry: signs in with a one-time link found in the URL's fragment (`#link=cl_…`), learns the
// session, and shows the page of the URL's path, or sign-in when there is no session. Every page but sign-in needs
// the session; a 401 from any call (the session ended elsewhere) leads back to sign-in.

import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./style.css";
import { SIGNED_OUT_EVENT } from "./api.ts";
import { Apps } from "./pages/apps.tsx";
import { Dashboard } from "./pages/dashboard.tsx";
import { Explore } from "./pages/explore.tsx";
import { SignIn } from "./pages/sign-in.tsx";
import { Status } from "./pages/status.tsx";
import { navigate, onLinkClick, useLocation } from "./router.ts";
import { loadSession, type Session, signIn, signOut } from "./session.ts";

type Boot =
  | { readonly kind: "loading" }
  | { readonly kind: "ready"; readonly session: Session | null; readonly message: string | null };

/** Takes `link=…` out of the fragment (so a reload or a shared URL does not carry it) and returns it. */
function takeLink(): string | null {
  const m = /(?:^#|&)link=([^&]+)/.exec(window.location.hash);
  if (m === null) return null;
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  return decodeURIComponent(m[1]);
}

async function boot(): Promise<Boot> {
  const link = takeLink();
  if (link !== null) {
    try {
      return { kind: "ready", session: await signIn({ link }), message: null };
    } catch (err) {
      return { kind: "ready", session: null, message: (err as Error).message };
    }
  }
  return { kind: "ready", session: await loadSession(), message: null };
}

function Nav(props: { readonly session: Session; readonly path: string; readonly onSignOut: () => void }) {
  const item = (href: string, label: string) => {
    const current = href === "/apps" ? props.path === "/" || props.path.startsWith("/apps") : props.path === href;
    return (
      <a href={href} onClick={onLinkClick} aria-current={current ? "page" : undefined}>
        {label}
      </a>
    );
  };
  return (
    <header class="top">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <span class="brand">Contrail</span>
      <nav aria-label="main">
        {item("/apps", "Apps")}
        {item("/explore", "Explore")}
        {item("/status", "Status")}
      </nav>
      <span class="who" title="the org this session sees">
        {props.session.org}
      </span>
      <button type="button" class="secondary small" onClick={props.onSignOut}>
        Sign out
      </button>
    </header>
  );
}

function App() {
  const loc = useLocation();
  const [state, setState] = useState<Boot>({ kind: "loading" });
  // Charts draw in the theme's colours: remount them when the system switches between light and dark.
  const [theme, setTheme] = useState(0);
  useEffect(() => {
    boot().then(setState, (err: Error) => setState({ kind: "ready", session: null, message: err.message }));
    const signedOut = () =>
      setState({ kind: "ready", session: null, message: "Your session has ended; sign in again." });
    window.addEventListener(SIGNED_OUT_EVENT, signedOut);
    const dark = window.matchMedia("(prefers-color-scheme: dark)");
    const onTheme = () => setTheme((t) => t + 1);
    dark.addEventListener("change", onTheme);
    return () => {
      window.removeEventListener(SIGNED_OUT_EVENT, signedOut);
      dark.removeEventListener("change", onTheme);
    };
  }, []);
  if (state.kind === "loading") return <p class="muted page">Loading…</p>;
  const { session } = state;
  if (session === null) {
    return (
      <SignIn
        message={state.message}
        onSignedIn={(s) => {
          setState({ kind: "ready", session: s, message: null });
          if (loc.path === "/sign-in") navigate(new URLSearchParams(window.location.search).get("next") ?? "/", true);
        }}
      />
    );
  }
  const onSignOut = async () => {
    await signOut();
    setState({ kind: "ready", session: null, message: "Signed out." });
    navigate("/sign-in", true);
  };
  const app = /^\/apps\/([^/]+)$/.exec(loc.path);
  let page = <Apps session={session} />;
  if (app !== null) page = <Dashboard session={session} app={decodeURIComponent(app[1])} params={loc.params} />;
  else if (loc.path === "/explore") page = <Explore session={session} params={loc.params} />;
  else if (loc.path === "/status") page = <Status session={session} />;
  return (
    <div key={theme}>
      <Nav session={session} path={loc.path} onSignOut={onSignOut} />
      {page}
    </div>
  );
}

render(<App />, document.getElementById("app")!);
