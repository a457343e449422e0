// The session: vhupay's address and the bearer token, kept in sessionStorage (this tab only, gone
// when it closes). In production the marketplace's login issues the token; this demo takes one
// pasted on the login page, or given in the address's fragment (never sent to any server):
//   http://127.0.0.1:5173/#api=http://127.0.0.1:8080&token=<JWT>

export type Role = "buyer" | "center" | "admin" | "service";

export interface Session {
  api: string;
  token: string;
  role: Role;
  /** The buyer's or the centre's id (the token's org claim). */
  org: string;
}

const KEY = "vhupay-demo-session";

/** claims reads the token's payload to choose the pages to show; vhupay alone checks the token. */
function claims(token: string): { role?: string; org?: string } {
  try {
    const payload = token.split(".")[1] ?? "";
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    return JSON.parse(json) as { role?: string; org?: string };
  } catch {
    return {};
  }
}

export function makeSession(api: string, token: string): Session | string {
  const c = claims(token.trim());
  if (!c.role || !["buyer", "center", "admin", "service"].includes(c.role)) {
    return "Ce jeton n'est pas un jeton vhupay (rôle inconnu).";
  }
  return { api: api.trim().replace(/\/+$/, ""), token: token.trim(), role: c.role as Role, org: c.org ?? "" };
}

export function loadSession(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  return raw ? (JSON.parse(raw) as Session) : null;
}

export function saveSession(s: Session | null): void {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

/** sessionFromFragment takes #api=...&token=... from the address, once, and removes it. */
export function sessionFromFragment(): Session | string | null {
  const hash = new URLSearchParams(location.hash.slice(1));
  const api = hash.get("api");
  const token = hash.get("token");
  if (!api || !token) return null;
  history.replaceState(null, "", location.pathname + location.search);
  return makeSession(api, token);
}
