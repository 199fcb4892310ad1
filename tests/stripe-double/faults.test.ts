/** Fault injection, and stripe-node's own retry behaviour against it. */
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StripeDouble } from '../../dev/stripe-double/index.ts';
import { client, setup, stripeError } from './helpers.ts';

let double: StripeDouble;
let stripe: Stripe;
beforeAll(async () => {
  ({ double, stripe } = await setup());
});
afterAll(() => double.close());
afterEach(() => double.faults.clear());

const callsTo = (path: string, since: number) => double.requestLog.slice(since).filter((r) => r.path === path);

describe('faults', () => {
  it('a 500 fails the next call with a Stripe-shaped api_error, then the API recovers', async () => {
    double.faults.inject({ method: 'POST', path: /^\/v1\/customers$/, status: 500 });
    const err = await stripeError(stripe.customers.create({ email: 'f@example.com' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(err).toMatchObject({ statusCode: 500, rawType: 'api_error' });
    expect(err.requestId).toMatch(/^req_/);
    const ok = await stripe.customers.create({ email: 'f@example.com' });
    expect(ok.id).toMatch(/^cus_/);
  });

  it('only matching calls fail, `times` times', async () => {
    double.faults.inject({ method: 'GET', path: /^\/v1\/prices/, status: 503, times: 2 });
    await expect(stripe.customers.list()).resolves.toMatchObject({ object: 'list' });
    expect((await stripeError(stripe.prices.list())).statusCode).toBe(503);
    expect((await stripeError(stripe.prices.retrieve('price_basic_monthly'))).statusCode).toBe(503);
    await expect(stripe.prices.list()).resolves.toMatchObject({ object: 'list' });
  });

  it('stripe-node retries 500/503 with the same Idempotency-Key and makes one object', async () => {
    const retrying = client(double, { maxNetworkRetries: 2 });
    const since = double.requestLog.length;
    double.faults.inject({ method: 'POST', path: /^\/v1\/customers$/, status: 500 });
    double.faults.inject({ method: 'POST', path: /^\/v1\/customers$/, status: 503 });
    const customer = await retrying.customers.create({ email: 'retry@example.com' });
    const calls = callsTo('/v1/customers', since);
    expect(calls.map((c) => c.status)).toEqual([500, 503, 200]);
    expect(new Set(calls.map((c) => c.idempotencyKey)).size).toBe(1);
    expect(calls[0]!.idempotencyKey).toMatch(/^stripe-node-retry-/);
    expect((await stripe.customers.list({ email: 'retry@example.com' })).data.map((c) => c.id)).toEqual([customer.id]);
  });

  it('gives up after maxNetworkRetries', async () => {
    const retrying = client(double, { maxNetworkRetries: 1 });
    double.faults.inject({ method: 'GET', path: /^\/v1\/customers$/, status: 500, times: 5 });
    const err = await stripeError(retrying.customers.list());
    expect(err.statusCode).toBe(500);
  });

  it('429 surfaces as StripeRateLimitError and 402 as StripeCardError', async () => {
    double.faults.inject({ path: /^\/v1\/customers$/, status: 429 });
    const limited = await stripeError(stripe.customers.list());
    expect(limited).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(limited.code).toBe('rate_limit');
    double.faults.inject({ path: /^\/v1\/customers$/, status: 402 });
    const card = await stripeError(stripe.customers.list());
    expect(card).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(card).toMatchObject({ code: 'card_declined', decline_code: 'generic_decline' });
  });

  it('a reset connection is retried once by stripe-node even with retries off; twice in a row is a connection error', async () => {
    const since = double.requestLog.length;
    double.faults.inject({ method: 'POST', path: /^\/v1\/customers$/, status: 500, reset: true });
    const customer = await stripe.customers.create({ email: 'reset@example.com' });
    expect(customer.id).toMatch(/^cus_/);
    expect(callsTo('/v1/customers', since).map((c) => c.fault ?? false)).toEqual([true, false]);

    double.faults.inject({ method: 'POST', path: /^\/v1\/customers$/, status: 500, reset: true, times: 2 });
    const err = await stripeError(stripe.customers.create({ email: 'reset2@example.com' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
  });

  it('a delay past the client timeout is a timeout error', async () => {
    const impatient = client(double, { timeout: 150 });
    double.faults.inject({ path: /^\/v1\/customers$/, status: 500, delayMs: 600 });
    const err = await stripeError(impatient.customers.list());
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(err.message).toContain('timeout');
  });

  it('clear() removes pending faults', async () => {
    double.faults.inject({ path: /^\/v1\/customers$/, status: 500, times: 3 });
    double.faults.clear();
    await expect(stripe.customers.list()).resolves.toMatchObject({ object: 'list' });
  });
});
