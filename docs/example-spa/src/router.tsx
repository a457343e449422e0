// A small router on the History API: the pages are real paths (/paiement/retour...), so that the
// bank and the mandate page can send the browser back to them. The server serves index.html for
// every path (vite does; so does the test server).
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";

const listeners = new Set<() => void>();

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  listeners.forEach((l) => l());
}

/** Redirect replaces the current address with another page's. */
export function Redirect(props: { to: string }) {
  useEffect(() => {
    // After this render's effects: the pages above subscribe to the location in theirs.
    const id = setTimeout(() => navigate(props.to, { replace: true }));
    return () => clearTimeout(id);
  }, [props.to]);
  return null;
}

/** useLocation returns the current path and query, and re-renders when they change. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const update = () => setTick((t) => t + 1);
    listeners.add(update);
    addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      removeEventListener("popstate", update);
    };
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

export function Link(props: { href: string; id?: string; class?: string; children: ComponentChildren }) {
  return (
    <a
      href={props.href}
      id={props.id}
      class={props.class}
      onClick={(e) => {
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}
