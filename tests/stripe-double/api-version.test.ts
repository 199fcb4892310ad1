/**
 * The double speaks the API version stripe-node pins (Stripe.API_VERSION), not an older one:
 * Checkout's `ui_mode` values are the pinned version's, and invoices have no `subscription`
 * (removed in 2025-03-31.basil; it lives in `parent.subscription_details.subscription`).
 */
import { readFileSync } from 'node:fs';
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

/** The values of `Checkout.SessionCreateParams.UiMode` in the installed stripe-node's types. */
function pinnedUiModes(): string[] {
  const types = readFileSync(new URL('../../node_modules/stripe/cjs/resources/Checkout/Sessions.d.ts', import.meta.url), 'utf8');
  const declared = [...types.matchAll(/type UiMode = ([^;]+);/g)].map((m) => [...(m[1] ?? '').matchAll(/'([a-z_]+)'/g)].map((v) => v[1] ?? '').sort());
  expect(declared.length).toBeGreaterThan(0);
  // Session.UiMode and SessionCreateParams.UiMode: one set.
  for (const modes of declared) expect(modes).toEqual(declared[0]);
  return declared[0] ?? [];
}

const base = {
  mode: 'subscription' as const,
  line_items: [{ price: 'price_basic_monthly', quantity: 1 }],
  success_url: 'https://app.example.com/ok',
};

describe('Checkout ui_mode', () => {
  it('is the pinned version’s hosted_page by default and when asked for', async () => {
    expect(pinnedUiModes()).toContain('hosted_page');
    const plain = await stripe.checkout.sessions.create(base);
    expect(plain.ui_mode).toBe('hosted_page');
    const hosted = await stripe.checkout.sessions.create({ ...base, ui_mode: 'hosted_page' });
    expect(hosted.ui_mode).toBe('hosted_page');
    expect(hosted.url).toContain('/c/pay/');
  });

  it('refuses the names older versions used, and any other value, as Stripe does (400 naming ui_mode)', async () => {
    const pinned = pinnedUiModes();
    for (const old of ['hosted', 'embedded', 'custom', 'Hosted_page', 'nonsense']) {
      expect(pinned).not.toContain(old);
      const err = await stripeError(stripe.checkout.sessions.create({ ...base, ui_mode: old }));
      expect(err, old).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err, old).toMatchObject({ statusCode: 400, param: 'ui_mode', message: `Invalid ui_mode: must be one of ${['hosted_page', 'embedded_page', 'elements', 'form'].join(', ')}` });
    }
  });

  it('knows every value of the pinned version: the ones it does not model are refused as such, not as unknown', async () => {
    for (const mode of pinnedUiModes().filter((m) => m !== 'hosted_page')) {
      const err = await stripeError(stripe.checkout.sessions.create({ ...base, ui_mode: mode }));
      expect(err, mode).toMatchObject({ statusCode: 400, param: 'ui_mode', message: 'The Stripe double supports only hosted Checkout.' });
    }
  });
});

describe('invoices have no `subscription` (2025-03-31.basil)', () => {
  const expectNoSubscription = (invoice: unknown, where: string) => {
    expect(invoice, where).toMatchObject({ object: 'invoice' });
    expect(Object.keys(invoice as object), where).not.toContain('subscription');
  };

  it('not on retrieve, list, expanded latest_invoice, actions or events; the parent names it', async () => {
    const done = await subscribe(double, stripe);
    const sub = done.subscription.id;
    expectNoSubscription(done.invoice, 'completeCheckout');
    const renewed = await double.actions.renewPeriod(sub);
    const retrieved = await stripe.invoices.retrieve(done.invoice.id);
    expectNoSubscription(retrieved, 'retrieve');
    expect(retrieved.parent?.subscription_details?.subscription).toBe(sub);
    const listed = await stripe.invoices.list({ subscription: sub });
    expect(listed.data).toHaveLength(2);
    for (const inv of listed.data) expectNoSubscription(inv, 'list');
    const withLatest = await stripe.subscriptions.retrieve(sub, { expand: ['latest_invoice'] });
    expectNoSubscription(withLatest.latest_invoice, 'expanded latest_invoice');
    const invoiceEvents = [...done.events, ...renewed.events].filter((e) => e.type.startsWith('invoice.'));
    expect(invoiceEvents.length).toBeGreaterThan(4);
    for (const e of invoiceEvents) expectNoSubscription(e.data.object, e.type);
    const stored = await stripe.events.list({ type: 'invoice.*', limit: 100 });
    for (const e of stored.data) expectNoSubscription(e.data.object, `GET /v1/events ${e.type}`);
  });

  it('so it cannot be expanded: 400 like Stripe; the parent’s can', async () => {
    const done = await subscribe(double, stripe);
    const onInvoice = await stripeError(stripe.invoices.retrieve(done.invoice.id, { expand: ['subscription'] }));
    expect(onInvoice).toMatchObject({ statusCode: 400, param: 'expand' });
    const nested = await stripeError(stripe.subscriptions.retrieve(done.subscription.id, { expand: ['latest_invoice.subscription'] }));
    expect(nested).toMatchObject({ statusCode: 400, param: 'expand' });
    const parent = await stripe.invoices.retrieve(done.invoice.id, { expand: ['parent.subscription_details.subscription'] });
    expect((parent.parent?.subscription_details?.subscription as Stripe.Subscription).id).toBe(done.subscription.id);
  });
});
