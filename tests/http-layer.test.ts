import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import subscription from '../functions/subscription.ts';
import notFound from '../functions/not-found.ts';
import { defineEndpoint } from '../shared/endpoint.ts';
import { call, startStack, tokenFor, uid, type Stack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.stop());

describe('CORS', () => {
  it('answers a preflight with 204 and the seed headers', async () => {
    for (const path of ['/api/stripe/subscription', '/api/billing/subscription']) {
      const res = await call(subscription, 'OPTIONS', path, { headers: { origin: 'https://site.example', 'access-control-request-method': 'GET' } });
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-methods')).toBe('POST, GET, OPTIONS');
      expect(res.headers.get('access-control-allow-headers')).toBe('Content-Type, Authorization');
    }
  });

  it('puts CORS headers on errors too', async () => {
    const res = await call(subscription, 'GET', '/api/stripe/subscription');
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('narrows to ALLOWED_ORIGINS', async () => {
    stack.setEnv({ ALLOWED_ORIGINS: 'https://app.example.com, https://www.example.com' });
    try {
      const ok = await call(subscription, 'OPTIONS', '/api/stripe/subscription', { headers: { origin: 'https://www.example.com' } });
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://www.example.com');
      expect(ok.headers.get('vary')).toBe('Origin');
      const other = await call(subscription, 'GET', '/api/stripe/subscription', { headers: { origin: 'https://evil.example' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      stack.setEnv({ ALLOWED_ORIGINS: undefined });
    }
  });
});

describe('methods and dialects', () => {
  it('405 with Allow for a method the endpoint does not serve, in each dialect', async () => {
    const token = await tokenFor({ sub: uid('u') });
    const flat = await call(subscription, 'DELETE', '/api/stripe/subscription', { token });
    expect(flat.status).toBe(405);
    expect(flat.headers.get('allow')).toBe('GET, POST, OPTIONS');
    expect(flat.body).toMatchObject({ error: expect.any(String), code: 'METHOD_NOT_ALLOWED' });
    const env = await call(subscription, 'PUT', '/api/billing/subscription', { token });
    expect(env.status).toBe(405);
    expect(env.body).toMatchObject({ success: false, data: null, error: { code: 'METHOD_NOT_ALLOWED' } });
  });

  it('every response carries a request id; errors carry it in the body', async () => {
    const ok = await call(subscription, 'GET', '/api/stripe/subscription', { token: await tokenFor({ sub: uid('u') }) });
    expect(ok.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const err = await call(subscription, 'GET', '/api/billing/subscription');
    expect(err.body.error.requestId).toBe(err.headers.get('x-request-id'));
    const nf = await subscription(new Request('http://localhost/api/stripe/subscription'), { requestId: '01HNETLIFYREQ' });
    expect(nf.headers.get('x-request-id')).toBe('01HNETLIFYREQ');
  });
});

describe('dependencies down', () => {
  it('Postgres down: 503 SERVICE_UNAVAILABLE with a clear message and no stack or secret', async () => {
    stack.setEnv({ DATABASE_URL: 'postgres://postgres:supersecretpw@127.0.0.1:1/nowhere' });
    try {
      for (const path of ['/api/stripe/subscription', '/api/billing/subscription']) {
        const res = await call(subscription, 'GET', path, { token: await tokenFor({ sub: uid('u') }) });
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('5');
        expect(res.text).toMatch(/Database is temporarily unavailable/);
        expect(res.text).not.toMatch(/supersecretpw|ECONNREFUSED|at .*\.ts:\d+/);
      }
    } finally {
      stack.setEnv({ DATABASE_URL: stack.databaseUrl });
    }
  });

  it('a missing database setting is a 500 that names nothing secret', async () => {
    stack.setEnv({ DATABASE_URL: undefined });
    try {
      const res = await call(subscription, 'GET', '/api/billing/subscription', { token: await tokenFor({ sub: uid('u') }) });
      expect(res.status).toBe(500);
      expect(res.body.error).toMatchObject({ code: 'INTERNAL_ERROR', message: 'Server configuration error' });
    } finally {
      stack.setEnv({ DATABASE_URL: stack.databaseUrl });
    }
  });
});

/** The log lines written while `run` runs. */
async function logsOf(run: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const original = { log: console.log, error: console.error };
  console.log = (l: string) => lines.push(l);
  console.error = (l: string) => lines.push(l);
  stack.setEnv({ LOG_LEVEL: 'info' });
  try {
    await run();
  } finally {
    console.log = original.log;
    console.error = original.error;
    stack.setEnv({ LOG_LEVEL: 'silent' });
  }
  return lines;
}

describe('request log', () => {
  it('writes one JSON line per request with no token or email in it', async () => {
    const user = uid('u');
    const token = await tokenFor({ sub: user, email: 'secret.person@example.com' });
    const lines = await logsOf(() => call(subscription, 'GET', '/api/stripe/subscription', { token }));
    const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'request');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ function: 'subscription', method: 'GET', path: '/api/stripe/subscription', status: 200, accountId: `user:${user}` });
    expect(typeof requests[0].durationMs).toBe('number');
    expect(requests[0].requestId).toBeTruthy();
    const all = lines.join('\n');
    expect(all).not.toContain('secret.person');
    expect(all).not.toContain(token);
  });
});

describe('unhandled errors', () => {
  it('are logged with their class and stack frames, never their message (a library message may quote input or secrets)', async () => {
    const failing = defineEndpoint('probe', {
      GET: {
        auth: 'none',
        handle: async () => {
          throw new TypeError('Invalid value "db-password-SECRET-not-a-real-key" for header "authorization"');
        },
      },
    });
    let res: Awaited<ReturnType<typeof call>> | undefined;
    const lines = await logsOf(async () => (res = await call(failing, 'GET', '/api/stripe/probe')));
    expect(res!.status).toBe(500);
    expect(res!.text).not.toContain('SECRET');
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.event === 'unhandled_error');
    expect(logged).toMatchObject({ errorType: 'TypeError', stack: expect.stringMatching(/^\s+at /) });
    expect(lines.join('\n')).not.toContain('SECRET');
  });
});

describe('unknown paths', () => {
  it('answer 404 NOT_FOUND in the path\'s dialect, with CORS and a request id, for every method', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'OPTIONS']) {
      const flat = await call(notFound, method, '/api/stripe/nope');
      expect(flat.status, method).toBe(404);
      expect(flat.headers.get('content-type')).toMatch(/^application\/json/);
      expect(flat.headers.get('access-control-allow-origin')).toBe('*');
      expect(flat.body).toEqual({ error: 'No such endpoint', code: 'NOT_FOUND', requestId: flat.headers.get('x-request-id') });
      const envelope = await call(notFound, method, '/api/billing/subscription/extra');
      expect(envelope.status).toBe(404);
      expect(envelope.body).toEqual({
        success: false, data: null, error: { code: 'NOT_FOUND', message: 'No such endpoint', requestId: envelope.headers.get('x-request-id') },
      });
    }
  });
});
