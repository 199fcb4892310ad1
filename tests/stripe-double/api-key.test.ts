/**
 * The double answers only to the secret key it was started with, as Stripe answers only to
 * the account's keys: a mistyped STRIPE_SECRET_KEY fails in development with Stripe's 401,
 * masked like Stripe masks it. Its own hosted pages use that key and keep working.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOUBLE_API_KEY, startStripeDouble, type StripeDouble } from '../../dev/stripe-double/index.ts';
import { launchBrowser } from '../e2e/browser.ts';
import { client, stripeError } from './helpers.ts';

const KEY = 'sk_test_started_with_this_one';

let double: StripeDouble;
beforeAll(async () => {
  double = await startStripeDouble({ port: 0, apiKey: KEY });
});
afterAll(() => double.close());

const customers = (auth: string) => fetch(`${double.url}/v1/customers?limit=1`, { headers: { Authorization: auth } });

describe('API keys', () => {
  it('accepts the key it was started with, as Bearer or as Basic user name', async () => {
    expect(double.apiKey).toBe(KEY);
    expect((await customers(`Bearer ${KEY}`)).status).toBe(200);
    expect((await customers(`Basic ${Buffer.from(`${KEY}:`).toString('base64')}`)).status).toBe(200);
    expect((await client(double).customers.list({ limit: 1 })).object).toBe('list');
  });

  it('refuses any other key with Stripe’s 401, the key masked but for its prefix and last 4', async () => {
    const res = await customers('Bearer sk_test_mistyped_key_abcd');
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({
      type: 'invalid_request_error',
      message: 'Invalid API Key provided: sk_test_*************abcd',
    });
    expect(body.error.code).toBeUndefined();
    expect(JSON.stringify(body)).not.toContain('mistyped');

    const typo = new Stripe(`${KEY}x`, { ...double.clientConfig, maxNetworkRetries: 0 });
    const err = await stripeError(typo.customers.list());
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(err.message).toBe(`Invalid API Key provided: sk_test_${'*'.repeat(KEY.length + 1 - 12)}${`${KEY}x`.slice(-4)}`);
    // The default key is not a back door once another was given.
    expect((await customers(`Bearer ${DOUBLE_API_KEY}`)).status).toBe(401);
    expect(double.requestLog.at(-1)).toMatchObject({ path: '/v1/customers', status: 401 });
  });

  it('defaults to the key npm run dev gives the app, and takes test keys only', async () => {
    const plain = await startStripeDouble({ port: 0 });
    try {
      expect(plain.apiKey).toBe('sk_test_local_double');
      const ok = await fetch(`${plain.url}/v1/customers`, { headers: { Authorization: 'Bearer sk_test_local_double' } });
      expect(ok.status).toBe(200);
      const other = await fetch(`${plain.url}/v1/customers`, { headers: { Authorization: 'Bearer sk_test_anything' } });
      expect(other.status).toBe(401);
    } finally {
      await plain.close();
    }
    await expect(startStripeDouble({ port: 0, apiKey: 'sk_live_123' })).rejects.toThrow(/sk_test_ or rk_test_/);
  });

  it('its Checkout and portal pages call /v1 with its key (in a real browser)', async () => {
    const stripe = client(double);
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      customer_email: 'page@example.com',
      line_items: [{ price: double.seed.prices.basic, quantity: 1 }],
      success_url: `${double.url}/i/paid`,
    });
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      const from = double.requestLog.length;
      await page.goto(session.url ?? '');
      await expect.poll(() => page.locator('#pay').innerText()).toBe('Pay $9.00');
      await page.locator('#pay').click();
      await page.waitForURL(`${double.url}/i/paid`);
      const paid = double.state.sessions.get(session.id);
      expect(paid?.status).toBe('complete');

      const portal = await stripe.billingPortal.sessions.create({ customer: paid?.customer as string });
      await page.goto(portal.url);
      await expect.poll(() => page.locator('#who').innerText()).toBe('page@example.com');
      const pageCalls = double.requestLog.slice(from).filter((r) => r.path !== '/v1/billing_portal/sessions');
      expect(pageCalls.length).toBeGreaterThan(3);
      expect(pageCalls.filter((r) => r.status !== 200)).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
