/**
 * The catalogue as the API serves it: GET plans (public, cacheable) and the plan, features
 * and limits GET subscription answers for an account, from catalogue.ts or BILLING_CATALOGUE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import plans from '../functions/plans.ts';
import subscription from '../functions/subscription.ts';
import shipped from '../catalogue.ts';
import type { CatalogueInput } from '../shared/catalogue.ts';
import { config, parseConfig } from '../shared/config.ts';
import { getStore } from '../shared/store/index.ts';
import { call, startStack, tokenFor, uid, type Stack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.stop());

const CATALOGUE: CatalogueInput = {
  plans: [
    { key: 'free', name: 'Free', prices: [], features: { api: false }, limits: { events: { limit: 100, hard: true } } },
    {
      key: 'team',
      name: 'Team',
      description: 'For teams.',
      product: 'prod_team',
      prices: [
        { lookupKey: 'team_monthly', interval: 'month', currency: 'usd', unitAmount: 4900 },
        { lookupKey: 'team_yearly', interval: 'year', currency: 'usd', unitAmount: 49000 },
      ],
      features: { api: true },
      limits: { events: { limit: 50_000, hard: false }, exports: { limit: 20, hard: true } },
      trial: { days: 14, card: 'if_required' },
    },
  ],
};

function withCatalogue(c: CatalogueInput | undefined) {
  stack.setEnv({ BILLING_CATALOGUE: c && JSON.stringify(c) });
}

describe('GET plans', () => {
  it('answers the catalogue to anyone, in both dialects, as a pricing page needs it', async () => {
    withCatalogue(CATALOGUE);
    try {
      const flat = await call(plans, 'GET', '/api/stripe/plans');
      expect(flat.status).toBe(200);
      expect(flat.body.meteredFeature).toBe('events');
      expect(flat.body.plans).toEqual([
        { key: 'free', name: 'Free', description: '', prices: [], features: { api: false }, limits: { events: { limit: 100, hard: true } }, trial: null, seats: null },
        {
          key: 'team',
          name: 'Team',
          description: 'For teams.',
          prices: [
            { id: 'team_monthly', interval: 'month', intervalCount: 1, currency: 'usd', unitAmount: 4900 },
            { id: 'team_yearly', interval: 'year', intervalCount: 1, currency: 'usd', unitAmount: 49000 },
          ],
          features: { api: true },
          limits: { events: { limit: 50_000, hard: false }, exports: { limit: 20, hard: true } },
          trial: { days: 14, card: 'if_required' },
          seats: null,
        },
      ]);
      // The Stripe product id is ours to know, not the page's.
      expect(flat.text).not.toContain('prod_team');
      const envelope = await call(plans, 'GET', '/api/billing/plans');
      expect(envelope.body).toEqual({ success: true, data: flat.body, error: null });
      expect(flat.headers.get('access-control-allow-origin')).toBe('*');
    } finally {
      withCatalogue(undefined);
    }
  });

  it('serves the shipped catalogue.ts when no BILLING_CATALOGUE is set', async () => {
    const res = await call(plans, 'GET', '/api/stripe/plans');
    expect(res.body.plans.map((p: { key: string }) => p.key)).toEqual(shipped.plans.map((p) => p.key));
  });

  it('is cacheable: a max-age, an ETag, 304 to a matching If-None-Match, 200 when the catalogue changed', async () => {
    withCatalogue(CATALOGUE);
    try {
      const first = await call(plans, 'GET', '/api/stripe/plans');
      expect(first.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
      const etag = first.headers.get('etag')!;
      expect(etag).toMatch(/^"[\w-]+"$/);
      for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
        const again = await call(plans, 'GET', '/api/stripe/plans', { headers: { 'if-none-match': ifNoneMatch } });
        expect(again.status, ifNoneMatch).toBe(304);
        expect(again.text).toBe('');
        expect(again.headers.get('etag')).toBe(etag);
      }
      expect((await call(plans, 'GET', '/api/stripe/plans', { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
      // Each dialect has its own body, so its own tag.
      expect((await call(plans, 'GET', '/api/billing/plans', { headers: { 'if-none-match': etag } })).status).toBe(200);

      withCatalogue({ plans: [{ ...CATALOGUE.plans[1]!, name: 'Teams' }] });
      const changed = await call(plans, 'GET', '/api/stripe/plans', { headers: { 'if-none-match': etag } });
      expect(changed.status).toBe(200);
      expect(changed.body.plans[0].name).toBe('Teams');
    } finally {
      withCatalogue(undefined);
    }
  });

  it('other answers stay uncacheable, and a wrong method is a 405', async () => {
    const token = await tokenFor({ sub: uid('u') });
    const sub = await call(subscription, 'GET', '/api/stripe/subscription', { token });
    expect(sub.headers.get('cache-control')).toBe('no-store');
    expect(sub.headers.get('etag')).toBeNull();
    const post = await call(plans, 'POST', '/api/billing/plans', { body: {} });
    expect(post.status).toBe(405);
    expect(post.headers.get('cache-control')).toBe('no-store');
    expect(post.body.error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('a bad catalogue is refused with the plan, the field and the problem named, never a stack', async () => {
    const bad = { plans: [{ ...CATALOGUE.plans[1]!, prices: [{ lookupKey: 'x', interval: 'fortnight', currency: 'usd', unitAmount: 1 }] }] };
    expect(() => parseConfig({ BILLING_CATALOGUE: JSON.stringify(bad) })).toThrow(
      'BILLING_CATALOGUE is invalid: plans[team].prices[0].interval must be one of day, week, month, year',
    );
    const cases: Array<[unknown, string]> = [
      [{ plans: [{ key: 'Bad Key', name: 'x', prices: [] }] }, 'plans[0].key must be'],
      [{ plans: [CATALOGUE.plans[1], { ...CATALOGUE.plans[1], product: 'other' }] }, 'plans[].key has "team" twice'],
      [{ plans: [{ ...CATALOGUE.plans[1], limits: { events: { limit: -1, hard: true } } }] }, 'plans[team].limits.events.limit must be a whole number'],
      [{ plans: [{ ...CATALOGUE.plans[1], limits: { events: 100 } }] }, 'plans[team].limits.events must be { limit, hard }'],
      [{ plans: [{ ...CATALOGUE.plans[1], trial: { days: 14, card: 'never' } }] }, "plans[team].trial.card must be 'required' or 'if_required'"],
      [{ plans: [{ ...CATALOGUE.plans[1], colour: 'red' }] }, 'plans[team].colour is not a field'],
      [{ plans: [CATALOGUE.plans[0], { ...CATALOGUE.plans[0], key: 'free2', product: 'p2' }] }, 'may have one plan without prices'],
      [{ plans: [{ ...CATALOGUE.plans[1], seats: { min: 5, max: 2 } }] }, 'plans[team].seats.max must be a whole number from min (5) to 100000'],
      [{ plans: [{ ...CATALOGUE.plans[1], seats: { min: 0, max: 2 } }] }, 'plans[team].seats.min must be a whole number of at least 1'],
      [{ plans: [{ ...CATALOGUE.plans[0], seats: { min: 1, max: 2 } }] }, 'seats needs a price'],
      [{ changes: { downgrades: 'never' }, plans: [] }, "changes.downgrades must be 'period_end' or 'now'"],
      [{ changes: { upgradeBy: 'price' }, plans: [] }, "changes.upgradeBy must be 'amount' or 'order'"],
    ];
    for (const [catalogue, problem] of cases) {
      expect(() => parseConfig({ BILLING_CATALOGUE: JSON.stringify(catalogue) }), problem).toThrow(problem);
    }
    expect(() => parseConfig({ BILLING_CATALOGUE: '{plans:' })).toThrow('BILLING_CATALOGUE must be JSON');

    stack.setEnv({ BILLING_CATALOGUE: JSON.stringify(bad) });
    try {
      const res = await call(plans, 'GET', '/api/stripe/plans');
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({ error: 'Server configuration error', code: 'INTERNAL_ERROR' });
      expect(res.text).not.toContain('interval');
    } finally {
      withCatalogue(undefined);
    }
  });
});

describe('GET subscription: the plan, its features and limits', () => {
  async function subscribe(user: string, productId: string, status = 'active') {
    const store = getStore(config());
    const customer = uid('cus');
    const start = Math.floor(Date.now() / 1000) - 86_400;
    await store.linkCustomer({ account_id: `user:${user}`, kind: 'user', customer_id: customer });
    await store.applyEvent({
      event: null,
      subscriptions: [{
        id: uid('sub'), customer_id: customer, account_id: null, status, price_id: 'price_team_monthly', product_id: productId, quantity: 1,
        current_period_start: new Date(start * 1000).toISOString(), current_period_end: new Date((start + 30 * 86_400) * 1000).toISOString(),
        cancel_at_period_end: false, cancel_at: null, canceled_at: null, ended_at: null, trial_start: null, trial_end: null,
        past_due_since: null,
    pending_price_id: null, pending_product_id: null, pending_quantity: null, pending_effective_at: null, stripe_created: new Date(start * 1000).toISOString(), snapshot_at: Date.now(),
      }],
    });
  }

  it("a subscriber gets its product's plan; an account without access gets the plan without prices", async () => {
    withCatalogue(CATALOGUE);
    try {
      const user = uid('u');
      await subscribe(user, 'prod_team');
      const res = await call(subscription, 'GET', '/api/stripe/subscription', { token: await tokenFor({ sub: user }) });
      expect(res.body).toMatchObject({
        state: 'active',
        plan: { key: 'team', name: 'Team' },
        features: { api: true },
        limits: { events: { limit: 50_000, hard: false }, exports: { limit: 20, hard: true } },
      });
      expect(res.body.subscription.plan).toBe('Team');

      const ended = uid('u');
      await subscribe(ended, 'prod_team', 'canceled');
      for (const who of [uid('u'), ended]) {
        const none = await call(subscription, 'GET', '/api/billing/subscription', { token: await tokenFor({ sub: who }) });
        expect(none.body.data).toMatchObject({ hasAccess: false, plan: { key: 'free', name: 'Free' }, features: { api: false }, limits: { events: { limit: 100, hard: true } } });
      }
    } finally {
      withCatalogue(undefined);
    }
  });

  it('a price sold outside the catalogue (STRIPE_PRICE_ID alone) keeps access, with no plan and no limits', async () => {
    withCatalogue({ plans: [] });
    try {
      const user = uid('u');
      await subscribe(user, 'prod_legacy');
      const res = await call(subscription, 'GET', '/api/stripe/subscription', { token: await tokenFor({ sub: user }) });
      expect(res.body).toMatchObject({ state: 'active', hasAccess: true, plan: null, features: {}, limits: {} });
      expect(res.body.subscription.plan).toBe('price_team_monthly');
    } finally {
      withCatalogue(undefined);
    }
  });
});
