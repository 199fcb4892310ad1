/** Where createBillingClient() finds the token with no getToken: our key, Supabase's localStorage, @supabase/ssr's cookies. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sessionToken } from '../../client/session-token.ts';

const storage = (items: Record<string, string>) => ({
  get length() { return Object.keys(items).length; },
  key: (i: number) => Object.keys(items)[i] ?? null,
  getItem: (k: string) => items[k] ?? null,
});
const session = (token: string, expiresAt = 2_000_000_000) => JSON.stringify({ access_token: token, expires_at: expiresAt, refresh_token: 'r', user: { id: 'u' } });
const base64url = (s: string) => Buffer.from(s).toString('base64url');

afterEach(() => vi.unstubAllGlobals());

describe('the default session token', () => {
  it('is null outside a browser or when signed out', () => {
    expect(sessionToken()).toBeNull();
    vi.stubGlobal('localStorage', storage({ 'sb-abc-auth-token-code-verifier': 'x', other: 'y' }));
    expect(sessionToken()).toBeNull();
  });

  it('takes billing-token first (sessionStorage, then localStorage)', () => {
    vi.stubGlobal('localStorage', storage({ 'billing-token': 'local', 'sb-abc-auth-token': session('supabase') }));
    expect(sessionToken()).toBe('local');
    vi.stubGlobal('sessionStorage', storage({ 'billing-token': 'tab' }));
    expect(sessionToken()).toBe('tab');
  });

  it("reads supabase-js's session in localStorage, the latest to expire of several", () => {
    vi.stubGlobal('localStorage', storage({ 'sb-old-auth-token': session('old', 1_000), 'sb-127-auth-token': session('new', 3_000), 'sb-x-auth-token': 'not json' }));
    expect(sessionToken()).toBe('new');
  });

  it("reads @supabase/ssr's cookies: base64url in chunks, or raw JSON", () => {
    const encoded = `base64-${base64url(session('chunked'))}`;
    const [a, b] = [encoded.slice(0, 40), encoded.slice(40)];
    vi.stubGlobal('document', { cookie: `theme=dark; sb-proj-auth-token.1=${b}; sb-proj-auth-token.0=${a}` });
    expect(sessionToken()).toBe('chunked');
    vi.stubGlobal('document', { cookie: `sb-proj-auth-token=${encodeURIComponent(session('raw'))}` });
    expect(sessionToken()).toBe('raw');
  });
});
