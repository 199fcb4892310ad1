import { SignJWT, exportJWK, generateKeyPair, UnsecuredJWT } from 'jose';
import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import subscription from '../functions/subscription.ts';
import { call, startStack, TEST_JWT_SECRET, tokenFor, uid, type Stack } from './helpers/stack.ts';

const secret = new TextEncoder().encode(TEST_JWT_SECRET);
const now = () => Math.floor(Date.now() / 1000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.stop());

async function expect401(token: string | undefined, header?: string) {
  for (const path of ['/api/stripe/subscription', '/api/billing/subscription']) {
    const res = await call(subscription, 'GET', path, {
      headers: header !== undefined ? { authorization: header } : token ? { authorization: `Bearer ${token}` } : {},
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    if (path.startsWith('/api/billing')) {
      expect(res.body).toMatchObject({ success: false, data: null, error: { code: 'UNAUTHORIZED' } });
      expect(res.body.error.requestId).toBe(res.headers.get('x-request-id'));
    } else {
      expect(res.body).toMatchObject({ code: 'UNAUTHORIZED' });
      expect(typeof res.body.error).toBe('string');
    }
  }
}

describe('authentication failures are 401 with WWW-Authenticate: Bearer', () => {
  it('missing header', () => expect401(undefined));
  it('not a bearer token', () => expect401(undefined, 'Basic dXNlcjpwYXNz'));
  it('malformed token', () => expect401('not.a.jwt!'));
  it('expired token', async () => {
    const t = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setExpirationTime(now() - 60).sign(secret);
    await expect401(t);
  });
  it('alg none', async () => {
    const t = new UnsecuredJWT({ sub: 'u1', exp: now() + 600 }).encode();
    await expect401(t);
  });
  it('wrong algorithm (HS512 with the right secret)', async () => {
    const t = await new SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setSubject('u1').setExpirationTime('5m').sign(secret);
    await expect401(t);
  });
  it('wrong algorithm (RS256)', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const t = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setSubject('u1').setExpirationTime('5m').sign(privateKey);
    await expect401(t);
  });
  it('wrong key', async () => {
    await expect401(await tokenFor({ sub: 'u1' }, 'another-secret-another-secret-another-secret'));
  });
  it('no exp claim', async () => {
    const t = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').sign(secret);
    await expect401(t);
  });
  it('no sub claim', async () => {
    const t = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(secret);
    await expect401(t);
  });
  it('tampered payload', async () => {
    const t = await tokenFor({ sub: 'u1' });
    const [h, , s] = t.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'admin', exp: now() + 600 })).toString('base64url');
    await expect401(`${h}.${forged}.${s}`);
  });
  it('wrong issuer and wrong audience when configured', async () => {
    stack.setEnv({ JWT_ISSUER: 'https://auth.example.com', JWT_AUDIENCE: 'billing' });
    try {
      await expect401(await tokenFor({ sub: 'u1', issuer: 'https://evil.example', audience: 'billing' }));
      await expect401(await tokenFor({ sub: 'u1', issuer: 'https://auth.example.com', audience: 'other' }));
      await expect401(await tokenFor({ sub: 'u1' }));
      const ok = await call(subscription, 'GET', '/api/stripe/subscription', {
        token: await tokenFor({ sub: uid('u'), issuer: 'https://auth.example.com', audience: 'billing' }),
      });
      expect(ok.status).toBe(200);
    } finally {
      stack.setEnv({ JWT_ISSUER: undefined, JWT_AUDIENCE: undefined });
    }
  });
});

describe('JWKS (asymmetric keys)', () => {
  let server: Server;
  let privateKey: CryptoKey;
  let fetches = 0;
  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = createServer((_req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    stack.setEnv({ JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json` });
  });
  afterAll(() => {
    stack.setEnv({ JWT_JWKS_URL: undefined });
    server.close();
  });

  it('accepts a token signed by a JWKS key, caches the key set, and refuses HS256 tokens', async () => {
    const sign = () =>
      new SignJWT({ email: 'x@example.com' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject(uid('u')).setExpirationTime('5m').sign(privateKey);
    for (let i = 0; i < 3; i++) {
      const res = await call(subscription, 'GET', '/api/stripe/subscription', { token: await sign() });
      expect(res.status).toBe(200);
    }
    expect(fetches).toBe(1);
    await expect401(await tokenFor({ sub: 'u1' }));
  });
});

describe('principal', () => {
  it('bills the organization when the token names one (also from Supabase app_metadata)', async () => {
    const direct = await call(subscription, 'GET', '/api/stripe/subscription', { token: await tokenFor({ sub: uid('u'), org: 'acme' }) });
    expect(direct.body).toMatchObject({ accountId: 'org:acme', accountType: 'organization' });
    const supa = await new SignJWT({ app_metadata: { org_id: 'globex' }, role: 'authenticated' })
      .setProtectedHeader({ alg: 'HS256' }).setSubject(uid('u')).setExpirationTime('5m').sign(secret);
    const viaMeta = await call(subscription, 'GET', '/api/billing/subscription', { token: supa });
    expect(viaMeta.body.data).toMatchObject({ accountId: 'org:globex', accountType: 'organization' });
    const user = uid('u');
    const solo = await call(subscription, 'GET', '/api/stripe/subscription', { token: await tokenFor({ sub: user }) });
    expect(solo.body).toMatchObject({ accountId: `user:${user}`, accountType: 'user' });
  });
});

describe('a verified token is reused, never past what verifying it again would allow', () => {
  const get = (token: string) => call(subscription, 'GET', '/api/stripe/subscription', { token });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('stops working at its exp', async () => {
    const exp = now() + 2;
    const t = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(uid('u')).setExpirationTime(exp).sign(secret);
    // Signature checks, counted where jose makes them (Node's WebCrypto).
    const verify = vi.spyOn(crypto.subtle, 'verify');
    expect((await get(t)).status).toBe(200);
    expect(verify).toHaveBeenCalledTimes(1);
    expect((await get(t)).status).toBe(200);
    expect(verify).toHaveBeenCalledTimes(1); // reused, not verified again
    await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 50));
    await expect401(t);
  });

  it('is refused once the secret, issuer or audience it was checked against changes', async () => {
    const t = await tokenFor({ sub: uid('u') });
    const verify = vi.spyOn(crypto.subtle, 'verify');
    expect((await get(t)).status).toBe(200);
    expect(verify).toHaveBeenCalledTimes(1);
    for (const change of [{ JWT_SECRET: 'a-rotated-secret-a-rotated-secret-0123456789' }, { JWT_ISSUER: 'https://auth.example.com' }, { JWT_AUDIENCE: 'billing' }]) {
      const before = Object.fromEntries(Object.keys(change).map((k) => [k, process.env[k]]));
      const calls = verify.mock.calls.length;
      stack.setEnv(change);
      try {
        await expect401(t);
      } finally {
        stack.setEnv(before);
      }
      expect(verify).toHaveBeenCalledTimes(calls + 2); // verified again under the new config, on each of expect401's two paths
      expect((await get(t)).status).toBe(200);
      expect(verify).toHaveBeenCalledTimes(calls + 3); // and once more when it is restored
    }
  });
});
