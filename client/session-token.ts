/**
 * Where `createBillingClient()` finds the signed-in user's token when it is given no
 * `getToken`, read again before every call (so a refreshed token is used), in this order:
 *
 * 1. `billing-token` in sessionStorage, then localStorage: a key the app (or the demo site)
 *    writes the token to itself.
 * 2. A Supabase session (supabase-js v2): `sb-<ref>-auth-token` in localStorage, a JSON
 *    session whose `access_token` is sent; the latest to expire when there are several.
 * 3. The same session in cookies, as `@supabase/ssr`'s browser client keeps it: the cookie
 *    `sb-<ref>-auth-token`, or its chunks `.0`, `.1`, ..., raw JSON or `base64-` + base64url.
 *
 * Nothing found is `null`; the client then throws UNAUTHORIZED without calling the API.
 */
export const TOKEN_KEY = 'billing-token';

const SUPABASE_KEY = /^sb-.+-auth-token$/;

interface StorageLike {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
}

/** A browser storage, or null where there is none or it refuses access (sandboxed frames, Safari's private mode). */
function storage(name: 'sessionStorage' | 'localStorage'): StorageLike | null {
  try {
    return (globalThis as Record<string, unknown>)[name] as StorageLike | undefined ?? null;
  } catch {
    return null;
  }
}

/** A Supabase session's JSON: its access token and expiry, or null. */
function sessionOf(json: string | null): { token: string; expiresAt: number } | null {
  if (!json) return null;
  try {
    const s: unknown = JSON.parse(json);
    if (typeof s !== 'object' || s === null) return null;
    const { access_token: token, expires_at: expiresAt } = s as Record<string, unknown>;
    return typeof token === 'string' && token ? { token, expiresAt: typeof expiresAt === 'number' ? expiresAt : 0 } : null;
  } catch {
    return null;
  }
}

function fromBase64Url(s: string): string {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(b64.padEnd(b64.length + ((4 - (b64.length % 4)) % 4), '=')), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** Supabase sessions kept in cookies (@supabase/ssr), chunks joined in order. */
function cookieSessions(): Array<string | null> {
  let raw: string;
  try {
    raw = (globalThis as { document?: { cookie?: string } }).document?.cookie ?? '';
  } catch {
    return [];
  }
  const parts = new Map<string, string[]>();
  for (const pair of raw.split(';')) {
    const at = pair.indexOf('=');
    if (at < 0) continue;
    const name = pair.slice(0, at).trim();
    const m = /^(.*?)(?:\.(\d+))?$/.exec(name)!;
    const base = m[1]!;
    if (!SUPABASE_KEY.test(base)) continue;
    let value: string;
    try {
      value = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      continue;
    }
    const chunks = parts.get(base) ?? [];
    chunks[m[2] === undefined ? 0 : Number(m[2])] = value;
    parts.set(base, chunks);
  }
  return [...parts.values()].map((chunks) => {
    const joined = chunks.join('');
    if (!joined.startsWith('base64-')) return joined;
    try {
      return fromBase64Url(joined.slice('base64-'.length));
    } catch {
      return null;
    }
  });
}

export function sessionToken(): string | null {
  for (const store of [storage('sessionStorage'), storage('localStorage')]) {
    const own = store?.getItem(TOKEN_KEY);
    if (own) return own;
  }
  const found: Array<string | null> = [];
  const local = storage('localStorage');
  for (let i = 0; local && i < local.length; i++) {
    const key = local.key(i);
    if (key && SUPABASE_KEY.test(key)) found.push(local.getItem(key));
  }
  found.push(...cookieSessions());
  const sessions = found.map(sessionOf).filter((s) => s !== null);
  sessions.sort((a, b) => b.expiresAt - a.expiresAt);
  return sessions[0]?.token ?? null;
}
