/**
 * Stripe's request rate limits in the double: off by default; when on, calls over a limit in
 * one second of the double's clock get Stripe's 429, which stripe-node turns into
 * StripeRateLimitError and does not retry. Counts are checked against the windows the calls
 * fell in (a burst may straddle a second), never against elapsed milliseconds.
 */
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StripeDouble } from '../../dev/stripe-double/index.ts';
import { client, setup, stripeError } from './helpers.ts';

let double: StripeDouble;
let stripe: Stripe;
let customer: string;
beforeAll(async () => {
  ({ double, stripe } = await setup());
  customer = (await stripe.customers.create({ email: 'limits@example.com' })).id;
});
afterAll(() => double.close());
afterEach(() => double.rateLimits.set(null));

/** Runs every call at once; the failures are returned as StripeErrors. */
async function burst(n: number, call: (i: number) => Promise<unknown>): Promise<{ ok: number; errors: Stripe.errors.StripeError[] }> {
  const settled = await Promise.allSettled(Array.from({ length: n }, (_, i) => call(i)));
  const errors: Stripe.errors.StripeError[] = [];
  for (const s of settled) {
    if (s.status === 'fulfilled') continue;
    if (!(s.reason instanceof Stripe.errors.StripeError)) throw s.reason;
    errors.push(s.reason);
  }
  return { ok: n - errors.length, errors };
}

const windowsUsed = () => double.rateLimits.stats().windows.length;

const meterEvent = (identifier: string) =>
  ({ event_name: 'tracked_events', identifier, timestamp: double.clock.now(), payload: { stripe_customer_id: customer, value: '1' } }) as const;

describe('rate limits', () => {
  it('are off by default: a burst of 60 reads is all answered', async () => {
    const r = await burst(60, () => stripe.customers.list({ limit: 1 }));
    expect(r.errors).toEqual([]);
  });

  it("test mode: a burst over 25 reads a second gets Stripe's 429, a StripeRateLimitError that stripe-node does not retry", async () => {
    double.rateLimits.set('test');
    const retrying = client(double, { maxNetworkRetries: 2 });
    const since = double.requestLog.length;
    const r = await burst(60, () => retrying.customers.list({ limit: 1 }));
    expect(r.errors.length).toBeGreaterThan(0);
    expect(r.ok).toBeLessThanOrEqual(25 * windowsUsed());
    for (const err of r.errors) {
      expect(err).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
      expect(err).toMatchObject({ statusCode: 429, rawType: 'invalid_request_error', code: 'rate_limit', doc_url: 'https://stripe.com/docs/error-codes/rate-limit' });
      expect(err.message).toMatch(/rate limit/i);
      expect(err.requestId).toMatch(/^req_/);
      expect(err.headers?.['stripe-should-retry']).toBeUndefined();
    }
    // One HTTP call per request: a real rate limit is not retried by the SDK.
    const calls = double.requestLog.slice(since).filter((c) => c.path === '/v1/customers');
    expect(calls).toHaveLength(60);
    expect(calls.filter((c) => c.status === 429 && c.rateLimited)).toHaveLength(r.errors.length);
    expect(double.rateLimits.stats().refused).toBe(r.errors.length);
  });

  it('under the limit nothing is refused: 25 reads and 25 writes at once in test mode', async () => {
    double.rateLimits.set('test');
    const r = await burst(50, (i) => (i % 2 ? stripe.customers.list({ limit: 1 }) : stripe.customers.create({ email: `w${i}@example.com` })));
    expect(r.errors).toEqual([]);
    expect(double.rateLimits.stats().refused).toBe(0);
  });

  it('the limit is per second of the double clock: the next second lets calls through again', async () => {
    double.rateLimits.set({ read: 3, write: 3 });
    let refused: Stripe.errors.StripeError | undefined;
    for (let i = 0; i < 30 && !refused; i++) {
      refused = await stripe.prices.list({ limit: 1 }).then(() => undefined, (err: Stripe.errors.StripeError) => err);
    }
    expect(refused).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    double.clock.advance(1);
    const r = await burst(3, () => stripe.prices.list({ limit: 1 }));
    expect(r.errors).toEqual([]);
  });

  it('counts each endpoint apart (GET /v1/prices/:id is one endpoint whatever the id), inside the basic limit', async () => {
    double.rateLimits.set({ read: 100, write: 100, endpoint: 4 });
    const ids = [double.seed.prices.basic, double.seed.prices.pro];
    const r = await burst(20, (i) => stripe.prices.retrieve(ids[i % 2]!));
    expect(r.errors.length).toBeGreaterThan(0);
    expect(r.ok).toBeLessThanOrEqual(4 * windowsUsed());
    expect(double.rateLimits.stats().peak.endpoint).toBeLessThanOrEqual(4);
  });

  it("live mode's shape: meter events have their own limit and leave the basic one alone", async () => {
    double.rateLimits.set({ read: 2, write: 2, meterEvents: 40 });
    const r = await burst(30, (i) => stripe.billing.meterEvents.create(meterEvent(`live-${i}`)));
    expect(r.errors).toEqual([]);
    const writes = await burst(2, (i) => stripe.customers.create({ email: `after-meter-${i}@example.com` }));
    expect(writes.errors).toEqual([]);
    expect(double.rateLimits.stats().peak.meterEvents).toBe(30);
  });

  it('test mode: meter events count as writes; a refused one is not recorded, so its retry is accepted', async () => {
    double.rateLimits.set({ read: 2, write: 2 });
    const r = await burst(12, (i) => stripe.billing.meterEvents.create(meterEvent(`basic-${i}`), { idempotencyKey: `basic-${i}` }));
    expect(r.errors.length).toBeGreaterThan(0);
    expect(r.errors.every((e) => e instanceof Stripe.errors.StripeRateLimitError)).toBe(true);
    const recorded = new Set(double.state.meterEvents.map((e) => e.identifier));
    const refused = Array.from({ length: 12 }, (_, i) => i).filter((i) => !recorded.has(`basic-${i}`));
    expect(refused).toHaveLength(r.errors.length);
    // Same identifier and idempotency key once the second has passed: the 429 was not stored.
    double.clock.advance(1);
    const again = await stripe.billing.meterEvents.create(meterEvent(`basic-${refused[0]}`), { idempotencyKey: `basic-${refused[0]}` });
    expect(again.identifier).toBe(`basic-${refused[0]}`);
  });

  it('POST /_double/rate-limits turns them on (mode or numbers) and off; bad input is a 400', async () => {
    const post = async (body: unknown) => {
      const res = await fetch(`${double.url}/_double/rate-limits`, { method: 'POST', body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as { limits: unknown; error?: { message: string } } };
    };
    expect(await post({ mode: 'live' })).toMatchObject({ status: 200, body: { limits: { read: 100, write: 100, endpoint: 25, meterEvents: 1000 } } });
    expect(await post({ mode: 'test' })).toMatchObject({ status: 200, body: { limits: { read: 25, write: 25, endpoint: 25, meterEvents: 'basic' } } });
    expect(await post({ read: 1, write: 1 })).toMatchObject({ status: 200, body: { limits: { read: 1, write: 1 } } });
    await stripe.customers.list({ limit: 1 }).catch(() => undefined);
    expect((await stripeError(stripe.customers.list({ limit: 1 }))).statusCode).toBe(429);
    for (const bad of [{ mode: 'fast' }, { read: 0, write: 5 }, { read: 5 }, { read: 5, write: 5, meterEvents: 'lots' }]) {
      const r = await post(bad);
      expect(r.status).toBe(400);
      expect(r.body.error?.message).toMatch(/rate limits|mode/);
    }
    expect((await fetch(`${double.url}/_double/rate-limits`, { method: 'POST', body: '[' })).status).toBe(400);
    expect(await post({ mode: 'off' })).toMatchObject({ status: 200, body: { limits: null } });
    const r = await burst(10, () => stripe.customers.list({ limit: 1 }));
    expect(r.errors).toEqual([]);
    const view = (await (await fetch(`${double.url}/_double/rate-limits`)).json()) as { limits: unknown; refused: number };
    expect(view).toMatchObject({ limits: null, refused: 0 });
  });

  it('startStripeDouble({ rateLimits }) starts with them on', async () => {
    const { double: limited, stripe: s } = await setup({ rateLimits: { read: 1, write: 1 } });
    try {
      expect(limited.rateLimits.limits).toEqual({ read: 1, write: 1 });
      const r = await burst(5, () => s.customers.list({ limit: 1 }));
      expect(r.errors.length).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});
