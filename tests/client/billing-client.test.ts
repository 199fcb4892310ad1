/** The browser client against scripted answers: request shape, both dialects, every failure kind. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingError, createBillingClient } from '../../client/billing-client.ts';
import { scriptedServer } from './scripted-server.ts';

let server: Awaited<ReturnType<typeof scriptedServer>>;
beforeAll(async () => {
  server = await scriptedServer();
});
afterAll(() => server.close());

const client = (opts: { token?: string | null; base?: string; timeoutMs?: number } = {}) =>
  createBillingClient({
    baseUrl: opts.base ?? `${server.url}/api/billing/`,
    getToken: async () => (opts.token === undefined ? 'tok_1' : opts.token),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  });

async function failure(promise: Promise<unknown>): Promise<BillingError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(BillingError);
  return err as BillingError;
}

const SUBSCRIPTION = {
  accountId: 'user:u1',
  accountType: 'user',
  state: 'active',
  hasAccess: true,
  accessUntil: '2026-12-21T10:00:00.000Z',
  customerId: 'cus_1',
  subscription: null,
};

describe('requests', () => {
  it('GETs with the bearer token and no body', async () => {
    server.answer({ body: { success: true, data: SUBSCRIPTION, error: null } });
    await client().getSubscription();
    const r = server.received.at(-1)!;
    expect(r).toMatchObject({ method: 'GET', path: '/api/billing/subscription', body: '' });
    expect(r.headers.authorization).toBe('Bearer tok_1');
    expect(r.headers['content-type']).toBeUndefined();
  });

  it('POSTs the parameters as JSON, and {} when there are none', async () => {
    server.answer({ body: { success: true, data: { url: 'https://pay.example/cs_1', sessionId: 'cs_1' }, error: null } });
    await client().createCheckout({ priceId: 'price_pro', successUrl: '/ok', cancelUrl: '/no' });
    let r = server.received.at(-1)!;
    expect(r).toMatchObject({ method: 'POST', path: '/api/billing/checkout' });
    expect(r.headers['content-type']).toBe('application/json');
    expect(JSON.parse(r.body)).toEqual({ priceId: 'price_pro', successUrl: '/ok', cancelUrl: '/no' });
    server.answer({ body: { success: true, data: { url: 'https://portal.example/bps_1' }, error: null } });
    await client().createPortal();
    r = server.received.at(-1)!;
    expect(r).toMatchObject({ method: 'POST', path: '/api/billing/portal', body: '{}' });
  });

  it('throws UNAUTHORIZED without calling the API when there is no token', async () => {
    for (const token of [null, '', '  ']) {
      const before = server.received.length;
      const err = await failure(client({ token }).getUsage());
      expect(err).toMatchObject({ code: 'UNAUTHORIZED', status: 0, requestId: null, message: 'Not signed in: getToken gave no token' });
      expect(server.received.length).toBe(before);
    }
  });

  it('defaults to /api/billing on the page origin', async () => {
    const seen: string[] = [];
    const billing = createBillingClient({
      getToken: () => 't',
      fetch: async (input) => {
        seen.push(String(input));
        return new Response(JSON.stringify({ success: true, data: { url: 'x' }, error: null }));
      },
    });
    await billing.createPortal();
    expect(seen).toEqual(['/api/billing/portal']);
  });
});

describe('answers', () => {
  it('unwraps the envelope', async () => {
    server.answer({ body: { success: true, data: SUBSCRIPTION, error: null } });
    await expect(client().getSubscription()).resolves.toEqual(SUBSCRIPTION);
  });

  it('reads flat bodies too (/api/stripe/*)', async () => {
    server.answer({ body: { url: 'https://pay.example/cs_2', sessionId: 'cs_2' } });
    await expect(client({ base: `${server.url}/api/stripe` }).createCheckout()).resolves.toEqual({ url: 'https://pay.example/cs_2', sessionId: 'cs_2' });
    expect(server.received.at(-1)!.path).toBe('/api/stripe/checkout');
  });

  it('throws the envelope error with its code, message, status and request id', async () => {
    server.answer({
      status: 400,
      headers: { 'x-request-id': 'req_header' },
      body: { success: false, data: null, error: { code: 'BAD_REQUEST', message: 'Already subscribed', requestId: 'req_body' } },
    });
    const err = await failure(client().createCheckout());
    expect(err).toMatchObject({ name: 'BillingError', code: 'BAD_REQUEST', message: 'Already subscribed', status: 400, requestId: 'req_body', retryAfter: null });
  });

  it('throws the flat error, with details', async () => {
    const details = [{ field: 'priceId', message: 'Expected string' }];
    server.answer({ status: 400, body: { error: 'Invalid request body', code: 'BAD_REQUEST', requestId: 'req_f', details } });
    const err = await failure(client({ base: `${server.url}/api/stripe` }).createCheckout());
    expect(err).toMatchObject({ code: 'BAD_REQUEST', message: 'Invalid request body', status: 400, requestId: 'req_f', details });
  });

  it('takes the request id from X-Request-Id when the body has none', async () => {
    server.answer({ status: 500, headers: { 'x-request-id': 'req_h' }, body: { error: 'Internal server error' } });
    expect(await failure(client().getUsage())).toMatchObject({ code: 'INTERNAL_ERROR', status: 500, requestId: 'req_h', message: 'Internal server error' });
  });

  it('gives retryAfter in seconds on 429, from seconds or an HTTP date', async () => {
    server.answer({
      status: 429,
      headers: { 'retry-after': '42' },
      body: { success: false, data: null, error: { code: 'RATE_LIMITED', message: 'Too many requests', requestId: 'req_r' } },
    });
    expect(await failure(client().getSubscription())).toMatchObject({ code: 'RATE_LIMITED', status: 429, retryAfter: 42 });
    server.answer({ status: 429, headers: { 'retry-after': new Date(Date.now() + 30_000).toUTCString() }, body: { error: 'Too many requests' } });
    const err = await failure(client().getSubscription());
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.retryAfter).toBeGreaterThanOrEqual(28);
    expect(err.retryAfter).toBeLessThanOrEqual(31);
  });

  it('treats an envelope saying success: false as an error whatever the status', async () => {
    server.answer({ status: 200, body: { success: false, data: null, error: { code: 'FORBIDDEN', message: 'Insufficient permissions' } } });
    expect(await failure(client().createPortal())).toMatchObject({ code: 'FORBIDDEN', status: 200 });
  });
});

describe('failures without an API answer', () => {
  it('turns an HTML error page into INVALID_RESPONSE, keeping the status', async () => {
    server.answer({ status: 502, body: '<html><body>Bad gateway</body></html>' });
    const err = await failure(client().getSubscription());
    expect(err).toMatchObject({ code: 'INVALID_RESPONSE', status: 502 });
  });

  it('turns a 200 without data into INVALID_RESPONSE', async () => {
    server.answer({ status: 200, body: { success: true, data: null, error: null } });
    expect(await failure(client().getSubscription())).toMatchObject({ code: 'INVALID_RESPONSE', status: 200 });
  });

  it('turns a dropped connection into NETWORK_ERROR with status 0', async () => {
    server.answer({ hangUp: true });
    const err = await failure(client().getSubscription());
    expect(err).toMatchObject({ code: 'NETWORK_ERROR', status: 0, requestId: null, message: 'Could not reach the billing API' });
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('turns a refused connection into NETWORK_ERROR', async () => {
    const gone = await scriptedServer();
    await gone.close();
    expect(await failure(client({ base: gone.url }).getUsage())).toMatchObject({ code: 'NETWORK_ERROR', status: 0 });
  });

  it('gives up after timeoutMs with NETWORK_ERROR', async () => {
    server.answer({ delayMs: 1000, body: {} });
    const err = await failure(client({ timeoutMs: 100 }).getSubscription());
    expect(err).toMatchObject({ code: 'NETWORK_ERROR', message: 'No answer from the billing API within 100 ms' });
  });

  it('turns a failing getToken into UNAUTHORIZED, keeping its error as the cause', async () => {
    const expired = new Error('session expired');
    let billing = createBillingClient({ baseUrl: server.url, getToken: () => Promise.reject(expired) });
    let err = await failure(billing.getSubscription());
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', status: 0, message: 'Could not get the session token (getToken failed)' });
    expect(err.cause).toBe(expired);
    // The usual slip: `() => session.access_token` while signed out is a TypeError inside getToken.
    const session = null as { access_token: string } | null;
    billing = createBillingClient({ baseUrl: server.url, getToken: () => session!.access_token });
    err = await failure(billing.getSubscription());
    expect(err.code).toBe('UNAUTHORIZED');
    expect(err.cause).toBeInstanceOf(TypeError);
  });
});

describe('redirect helpers', () => {
  it('send the location to the session URL', async () => {
    const visited: string[] = [];
    const location = { assign: (url: string) => void visited.push(url) };
    server.answer({ body: { success: true, data: { url: 'https://pay.example/cs_3', sessionId: 'cs_3' }, error: null } });
    await client().redirectToCheckout({ priceId: 'price_pro' }, location);
    server.answer({ body: { success: true, data: { url: 'https://portal.example/bps_3' }, error: null } });
    await client().redirectToPortal({ returnUrl: '/account' }, location);
    expect(visited).toEqual(['https://pay.example/cs_3', 'https://portal.example/bps_3']);
    expect(JSON.parse(server.received.at(-1)!.body)).toEqual({ returnUrl: '/account' });
  });

  it('do not move when the call fails', async () => {
    const visited: string[] = [];
    server.answer({ status: 400, body: { success: false, data: null, error: { code: 'BAD_REQUEST', message: 'No active subscription' } } });
    const err = await failure(client().redirectToPortal({}, { assign: (url) => void visited.push(url) }));
    expect(err.message).toBe('No active subscription');
    expect(visited).toEqual([]);
  });
});
