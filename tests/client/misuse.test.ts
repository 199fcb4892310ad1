/** Misusing the client is a BillingError INVALID_ARGUMENT that says what is wrong, never a TypeError, and calls nothing. */
import { describe, expect, it } from 'vitest';
import { BillingError, createBillingClient, type BillingClientOptions } from '../../client/billing-client.ts';

let calls = 0;
const fetchCounting: typeof fetch = async () => {
  calls++;
  return new Response('{"success":true,"data":{"url":"https://pay.example/cs_1"},"error":null}');
};
const billing = createBillingClient({ baseUrl: 'https://api.example/api/billing', getToken: () => 'tok', fetch: fetchCounting });

function thrown(run: () => unknown): BillingError {
  let err: unknown;
  try {
    run();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(BillingError);
  return err as BillingError;
}

async function rejected(promise: Promise<unknown>): Promise<BillingError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(BillingError);
  return err as BillingError;
}

describe('createBillingClient options', () => {
  it('refuses what is not an options object, unknown options and wrong types', () => {
    const bad: Array<[unknown, RegExp]> = [
      ['/api/billing', /takes an options object .* not string/],
      [{ baseURL: '/api' }, /unknown option baseURL \(known: baseUrl, getToken, fetch, timeoutMs\)/],
      [{ getToken: 'eyJhbGciOi' }, /getToken must be a function returning the token, not string/],
      [{ baseUrl: 42 }, /baseUrl must be a URL or path/],
      [{ fetch: {} }, /fetch must be a function/],
      [{ timeoutMs: -1 }, /timeoutMs must be a positive number/],
    ];
    for (const [options, message] of bad) {
      const err = thrown(() => createBillingClient(options as BillingClientOptions));
      expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', status: 0 });
      expect(err.message).toMatch(message);
    }
  });
});

describe('method arguments', () => {
  it('rejects wrong parameters with INVALID_ARGUMENT before any request', async () => {
    const cases: Array<[Promise<unknown>, RegExp]> = [
      [billing.createCheckout('price_123' as never), /createCheckout takes an object such as \{ priceId: '...' \}, not string/],
      [billing.createCheckout({ priceID: 'price_123' } as never), /unknown parameter priceID \(known: priceId, successUrl, cancelUrl\)/],
      [billing.createCheckout({ priceId: 123 } as never), /priceId must be a string, not number/],
      [billing.createPortal({ returnUrl: new URL('https://x.example') } as never), /returnUrl must be a string, not URL/],
      // onClick={billing.redirectToPortal}: the click event arrives as the parameters.
      [billing.redirectToPortal(new (class MouseEvent {})() as never, { assign() {} }), /redirectToPortal takes an object .* not MouseEvent/],
      [billing.redirectToCheckout({}, {} as never), /redirectToCheckout: the location must have an assign\(url\) method/],
      [billing.redirectToCheckout({}), /redirectToCheckout needs a location outside a browser/],
      [(billing.getSubscription as (a: unknown) => Promise<unknown>)('user_1'), /getSubscription takes no arguments/],
    ];
    for (const [promise, message] of cases) {
      const err = await rejected(promise);
      expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', status: 0 });
      expect(err.message).toMatch(message);
    }
    expect(calls).toBe(0);
  });

  it('refuses a getToken that returns something other than the token', async () => {
    const c = createBillingClient({ baseUrl: 'https://api.example', fetch: fetchCounting, getToken: (() => ({ access_token: 't' })) as never });
    expect(await rejected(c.getSubscription())).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'getToken must return the token string (or null when signed out), not an object' });
  });

  it('says a token that cannot be a header is not a token (fetch would throw a TypeError)', async () => {
    const c = createBillingClient({ baseUrl: 'https://api.example', fetch: fetchCounting, getToken: () => 'eyJ\nabc' });
    expect(await rejected(c.getSubscription())).toMatchObject({ code: 'UNAUTHORIZED', message: 'The session token is not a valid bearer token' });
  });

  it('says a path baseUrl needs a page (server rendering) instead of a TypeError from fetch', async () => {
    const c = createBillingClient({ getToken: () => 'tok' });
    const err = await rejected(c.getSubscription());
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(err.message).toMatch(/baseUrl \/api\/billing is not an absolute URL/);
    expect(calls).toBe(0);
  });
});
