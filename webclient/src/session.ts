// The signed-in user: the bearer token kept in localStorage, so a reload stays signed in.

const KEY = "eschat.token";

export interface Credentials {
  token: string;
  userId: string;
  expiresAt: number; // ms since the epoch
}

function claims(token: string): { sub?: unknown; exp?: unknown } | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const binary = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const json = new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
    return JSON.parse(json) as { sub?: unknown; exp?: unknown };
  } catch {
    return null;
  }
}

export function fromToken(token: string): Credentials | null {
  const c = claims(token);
  if (!c || typeof c.sub !== "string") return null;
  const expiresAt = typeof c.exp === "number" ? c.exp * 1000 : Number.POSITIVE_INFINITY;
  return { token, userId: c.sub, expiresAt };
}

export function restore(): Credentials | null {
  const token = localStorage.getItem(KEY);
  const credentials = token ? fromToken(token) : null;
  if (!credentials || credentials.expiresAt <= Date.now()) {
    localStorage.removeItem(KEY);
    return null;
  }
  return credentials;
}

export function keep(credentials: Credentials): void {
  localStorage.setItem(KEY, credentials.token);
}

export function forget(): void {
  localStorage.removeItem(KEY);
}
