/** Stripe-shaped errors as stripe-node surfaces them. */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StripeDouble } from '../../dev/stripe-double/index.ts';
import { setup, stripeError, subscribe } from './helpers.ts';

let double: StripeDouble;
let stripe: Stripe;
beforeAll(async () => {
  ({ double, stripe } = await setup());
});
afterAll(() => double.close());

describe('errors', () => {
  it('unknown ids are 404 resource_missing with param id', async () => {
    for (const call of [
      () => stripe.customers.retrieve('cus_missing'),
      () => stripe.subscriptions.retrieve('sub_missing'),
      () => stripe.invoices.retrieve('in_missing'),
      () => stripe.checkout.sessions.retrieve('cs_test_missing'),
      () => stripe.prices.retrieve('price_missing'),
      () => stripe.events.retrieve('evt_missing'),
      () => stripe.billing.meters.retrieve('mtr_missing'),
    ]) {
      const err = await stripeError(call());
      expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'id', type: 'StripeInvalidRequestError', rawType: 'invalid_request_error' });
      expect(err.message).toMatch(/^No such [a-z_. ]+: '[a-z_]+missing'$/);
      expect(err.requestId).toMatch(/^req_/);
      expect(err.raw).toMatchObject({ request_log_url: expect.stringContaining(err.requestId ?? 'x') });
    }
  });

  it('an unknown id named in the request (not the URL) is 400 resource_missing naming that parameter, as Stripe answers', async () => {
    const customer = await stripe.customers.create({});
    const { subscription } = await subscribe(double, stripe);
    const price = [{ price: 'price_basic_monthly', quantity: 1 }];
    const cases: Array<[string, () => Promise<unknown>]> = [
      ['customer', () => stripe.checkout.sessions.create({ mode: 'subscription', customer: 'cus_missing', line_items: price, success_url: 'https://x.example' })],
      ['line_items[0][price]', () => stripe.checkout.sessions.create({ mode: 'subscription', line_items: [{ price: 'price_missing', quantity: 1 }], success_url: 'https://x.example' })],
      ['customer', () => stripe.billingPortal.sessions.create({ customer: 'cus_missing' })],
      ['customer', () => stripe.subscriptions.create({ customer: 'cus_missing', items: [{ price: 'price_basic_monthly' }] })],
      ['items[0][price]', () => stripe.subscriptions.create({ customer: customer.id, items: [{ price: 'price_missing' }] })],
      ['items[0][id]', () => stripe.subscriptions.update(subscription.id, { items: [{ id: 'si_missing', quantity: 2 }] })],
      ['items[0][price]', () => stripe.subscriptions.update(subscription.id, { items: [{ price: 'price_missing' }] })],
      ['product', () => stripe.prices.create({ currency: 'usd', unit_amount: 100, product: 'prod_missing' })],
      ['starting_after', () => stripe.customers.list({ starting_after: 'cus_missing' })],
    ];
    for (const [param, call] of cases) {
      const err = await stripeError(call());
      expect(err, param).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err, param).toMatchObject({ statusCode: 400, code: 'resource_missing', param });
      expect(err.message, param).toMatch(/^No such [a-z_. ]+: '[a-z_]+missing'$/);
    }
    // Nothing was created on the way.
    expect([...double.state.subscriptions.values()].filter((s) => s.customer === customer.id)).toEqual([]);
  });

  it('unknown parameters are 400 parameter_unknown, named with their nesting', async () => {
    const top = await stripeError(stripe.customers.create({ colour: 'red' } as Stripe.CustomerCreateParams));
    expect(top).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'colour', message: 'Received unknown parameter: colour' });
    const nested = await stripeError(
      stripe.checkout.sessions.create({
        mode: 'subscription',
        line_items: [{ price: 'price_basic_monthly', quantity: 1, colour: 'red' } as Stripe.Checkout.SessionCreateParams.LineItem],
      }),
    );
    expect(nested).toMatchObject({ code: 'parameter_unknown', param: 'line_items[0][colour]' });
  });

  it('missing, empty and malformed parameters are 400s with Stripe codes', async () => {
    const missing = await stripeError(stripe.billing.meterEvents.create({ payload: { value: '1' } } as unknown as Stripe.Billing.MeterEventCreateParams));
    expect(missing).toMatchObject({ statusCode: 400, code: 'parameter_missing', param: 'event_name', message: 'Missing required param: event_name.' });
    const empty = await stripeError(stripe.subscriptions.create({ customer: '', items: [{ price: 'price_basic_monthly' }] }));
    expect(empty).toMatchObject({ code: 'parameter_invalid_empty', param: 'customer' });
    const notInt = await stripeError(stripe.customers.list({ limit: 'ten' } as unknown as Stripe.CustomerListParams));
    expect(notInt).toMatchObject({ code: 'parameter_invalid_integer', param: 'limit' });
    const enumBad = await stripeError(stripe.subscriptions.list({ status: 'sleeping' } as unknown as Stripe.SubscriptionListParams));
    expect(enumBad).toMatchObject({ statusCode: 400, param: 'status' });
    const badExpand = await stripeError(stripe.customers.list({ expand: ['email'] }));
    expect(badExpand.param).toBe('expand');
  });

  it('refuses requests without a test secret key (401)', async () => {
    const none = await fetch(`${double.url}/v1/customers`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    const live = new Stripe('sk_live_not-a-real-key', { ...double.clientConfig, maxNetworkRetries: 0 });
    const err = await stripeError(live.customers.list());
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(err.statusCode).toBe(401);
  });

  it('unknown URLs are 404 invalid_request_error', async () => {
    const res = await fetch(`${double.url}/v1/widgets`, { headers: { Authorization: `Bearer ${double.apiKey}` } });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { type: string; message: string } };
    expect(body.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringContaining('Unrecognized request URL (GET: /v1/widgets)') });
  });

  it('a canceled subscription can only change its metadata and cancellation details; cancelling again is a 404', async () => {
    const { subscription } = await subscribe(double, stripe);
    await stripe.subscriptions.cancel(subscription.id);
    const update = await stripeError(stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true }));
    expect(update).toMatchObject({ statusCode: 400, message: 'A canceled subscription can only update its cancellation_details and metadata.' });
    const ok = await stripe.subscriptions.update(subscription.id, { metadata: { note: 'closed' } });
    expect(ok.metadata.note).toBe('closed');
    const again = await stripeError(stripe.subscriptions.cancel(subscription.id));
    expect(again).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });

  it('rejects valid Stripe parameters the double does not model, instead of ignoring them', async () => {
    const customer = await stripe.customers.create({});
    const err = await stripeError(
      stripe.subscriptions.create({ customer: customer.id, items: [{ price: 'price_basic_monthly' }], billing_cycle_anchor: 1_900_000_000 }),
    );
    expect(err).toMatchObject({ statusCode: 400, param: 'billing_cycle_anchor', message: expect.stringContaining('Stripe double does not support') });
  });

  it('names a nested unsupported parameter by its full path', async () => {
    const base = { mode: 'subscription' as const, line_items: [{ price: 'price_basic_monthly', quantity: 1 }] };
    const trialEnd = await stripeError(stripe.checkout.sessions.create({ ...base, subscription_data: { trial_end: 1_900_000_000 } }));
    expect(trialEnd).toMatchObject({
      statusCode: 400,
      param: 'subscription_data[trial_end]',
      message: "The Stripe double does not support 'subscription_data[trial_end]' (Stripe does); extend dev/stripe-double if you need it.",
    });
    const priceData = await stripeError(
      stripe.checkout.sessions.create({
        ...base,
        line_items: [...base.line_items, { price_data: { currency: 'usd', product: 'prod_x', unit_amount: 100, recurring: { interval: 'month' } }, quantity: 1 }],
      }),
    );
    expect(priceData).toMatchObject({ statusCode: 400, param: 'line_items[1][price_data]', message: expect.stringContaining("does not support 'line_items[1][price_data]'") });
  });
});
