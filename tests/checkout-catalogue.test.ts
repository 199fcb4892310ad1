/**
 * Checkout sells the catalogue's prices: by lookup key (GET plans' price `id`), by plan key,
 * or by a Stripe price id carrying a catalogue lookup key; STRIPE_PRICE_ID as before.
 */
import { checkoutSessionIdOf as sessionIdOf } from '../dev/stripe-double/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import checkout from '../functions/checkout.ts';
import type { CatalogueInput } from '../shared/catalogue.ts';
import { call, tokenFor, uid, type Stack } from './helpers/stack.ts';
import { startStripeStack, type StripeSide } from './helpers/stripe.ts';

let stack: Stack;
let s: StripeSide;
let stop: () => Promise<void>;
beforeAll(async () => {
  ({ stack, s, stop } = await startStripeStack());
});
afterAll(() => stop());

const priceOf = async (url: string) => (await s.stripe.checkout.sessions.listLineItems(sessionIdOf(url))).data.map((i) => i.price?.id);
const buy = async (priceId?: string) => call(checkout, 'POST', '/api/stripe/checkout', { token: await tokenFor({ sub: uid('u') }), body: priceId === undefined ? {} : { priceId } });
const pricesListed = () => s.double.requestLog.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/prices')).length;

function withCatalogue(c: CatalogueInput | undefined, env: Record<string, string | undefined> = {}) {
  stack.setEnv({ BILLING_CATALOGUE: c && JSON.stringify(c), ...env });
}

describe('POST checkout from the catalogue (catalogue.ts: basic_monthly, pro_monthly)', () => {
  it('takes a lookup key, a plan key or a catalogue price id, and sells the Stripe price they name', async () => {
    for (const name of ['pro_monthly', 'pro', 'price_pro_monthly']) {
      const res = await buy(name);
      expect(res.status, `${name}: ${res.text}`).toBe(200);
      expect(await priceOf(res.body.url), name).toEqual(['price_pro_monthly']);
    }
  });

  it('a warm instance resolves a lookup key once, not on every checkout', async () => {
    await buy('basic_monthly');
    const before = pricesListed();
    for (let i = 0; i < 3; i++) expect((await buy('basic_monthly')).status).toBe(200);
    expect(pricesListed()).toBe(before);
  });

  it('refuses prices outside the catalogue, the metered price, and unknown keys with 400 Unknown price', async () => {
    for (const name of ['price_usage_metered', 'usage_metered', 'enterprise', 'price_nope', 'pro_monthly ']) {
      const res = await buy(name);
      expect(res.status, name).toBe(400);
      expect(res.body).toMatchObject({ error: 'Unknown price', code: 'BAD_REQUEST' });
    }
  });

  it('names the prices when a plan has several, and refuses the plan without prices', async () => {
    withCatalogue({
      plans: [
        { key: 'free', name: 'Free', prices: [] },
        { key: 'pro', name: 'Pro', prices: [
          { lookupKey: 'pro_monthly', interval: 'month', currency: 'usd', unitAmount: 2900 },
          { lookupKey: 'pro_yearly', interval: 'year', currency: 'usd', unitAmount: 29000 },
        ] },
      ],
    });
    try {
      const several = await buy('pro');
      expect(several.status).toBe(400);
      expect(several.body.error).toBe('Plan pro has several prices: name one of pro_monthly, pro_yearly');
      expect((await buy('free')).body.error).toBe('Plan free is not sold');
    } finally {
      withCatalogue(undefined);
    }
  });

  it('with no STRIPE_PRICE_ID, no priceId sells the only catalogue price, or asks for one of them', async () => {
    const basicOnly: CatalogueInput = { plans: [{ key: 'basic', name: 'Basic', prices: [{ lookupKey: 'basic_monthly', interval: 'month', currency: 'usd', unitAmount: 900 }] }] };
    withCatalogue(basicOnly, { STRIPE_PRICE_ID: undefined });
    try {
      const only = await buy();
      expect(only.status, only.text).toBe(200);
      expect(await priceOf(only.body.url)).toEqual(['price_basic_monthly']);
      withCatalogue(undefined, { STRIPE_PRICE_ID: undefined });
      const ask = await buy();
      expect(ask.status).toBe(400);
      expect(ask.body.error).toBe('priceId is required: one of basic_monthly, pro_monthly');
    } finally {
      withCatalogue(undefined, { STRIPE_PRICE_ID: 'price_basic_monthly' });
    }
  });

  it('a catalogue price Stripe does not have (not pushed) is an operator error: 500 without details, logged', async () => {
    withCatalogue({ plans: [{ key: 'team', name: 'Team', prices: [{ lookupKey: 'team_monthly', interval: 'month', currency: 'usd', unitAmount: 4900 }] }] });
    try {
      const res = await buy('team_monthly');
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({ error: 'Server configuration error', code: 'INTERNAL_ERROR' });
      expect(res.text).not.toContain('team_monthly');
    } finally {
      withCatalogue(undefined);
    }
  });

  it('with no catalogue (plans: []), STRIPE_PRICE_ID alone is sold, as seed 2 describes', async () => {
    withCatalogue({ plans: [] });
    try {
      const res = await buy();
      expect(res.status).toBe(200);
      expect(await priceOf(res.body.url)).toEqual(['price_basic_monthly']);
      expect((await buy('price_basic_monthly')).status).toBe(200);
      expect((await buy('price_pro_monthly')).status).toBe(400);
    } finally {
      withCatalogue(undefined);
    }
  });
});
