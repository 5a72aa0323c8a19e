// The console's URLs: the path picks the page, the query string holds every other piece of state (time range,
// refresh, filters, the explorer's query), so any view can be shared or reloaded as it is. The server answers the
// page for each path of PAGES (src/api/console-assets.ts lists the same).

import { useEffect, useState } from "preact/hooks";

/** Where the app is: the path and its parameters. */
export interface Location {
  readonly path: string;
  readonly params: URLSearchParams;
}

const CHANGE = "contrail:navigate";

function current(): Location {
  return { path: window.location.pathname, params: new URLSearchParams(window.location.search) };
}

/** Goes to `url` (path and query) in this page; `replace` keeps the history entry. */
export function navigate(url: string, replace = false): void {
  if (replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  window.dispatchEvent(new Event(CHANGE));
}

/** Changes some parameters of the current URL (an empty or null value removes one), keeping the history entry. */
export function setParams(changes: Readonly<Record<string, string | null>>, replace = true): void {
  const params = new URLSearchParams(window.location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === "") params.delete(k);
    else params.set(k, v);
  }
  const s = params.toString();
  navigate(`${window.location.pathname}${s === "" ? "" : `?${s}`}`, replace);
}

/** The current location, re-rendering on every change. */
export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const update = () => setLoc(current());
    window.addEventListener("popstate", update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return loc;
}

/** Handles a click on an in-app link: navigates without a page load unless a modifier asks for a new tab. */
export function onLinkClick(e: MouseEvent): void {
  const a = e.currentTarget as HTMLAnchorElement;
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.getAttribute("href") ?? "/");
}
