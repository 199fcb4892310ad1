import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import subscription from '../functions/subscription.ts';
import { config } from '../shared/config.ts';
import { getStore, type SubscriptionSnapshot } from '../shared/store/index.ts';
import { call, startStack, tokenFor, uid, type Stack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.stop());

const DAY = 86_400;
const t = (s: number) => new Date(s * 1000).toISOString();
const nowS = () => Math.floor(Date.now() / 1000);

function snapshot(over: Partial<SubscriptionSnapshot> & { id: string; customer_id: string }): SubscriptionSnapshot {
  const start = nowS() - 5 * DAY;
  return {
    account_id: null, status: 'active', price_id: 'price_basic', product_id: 'prod_basic', quantity: 1,
    current_period_start: t(start), current_period_end: t(start + 30 * DAY), cancel_at_period_end: false,
    cancel_at: null, canceled_at: null, ended_at: null, trial_start: null, trial_end: null, past_due_since: null,
    pending_price_id: null, pending_product_id: null, pending_quantity: null, pending_effective_at: null,
    stripe_created: t(start), snapshot_at: Date.now(), ...over,
  };
}

async function seed(accountId: string, kind: 'user' | 'organization', subs: Array<Partial<SubscriptionSnapshot>>) {
  const store = getStore(config());
  const customer = uid('cus');
  await store.linkCustomer({ account_id: accountId, kind, customer_id: customer });
  await store.applyEvent({ event: null, subscriptions: subs.map((s, i) => snapshot({ id: `${customer}_sub${i}`, customer_id: customer, ...s })) });
  return customer;
}

describe('GET subscription', () => {
  it('answers state none (not 404) for an account with no subscription, in both dialects', async () => {
    const user = uid('u');
    const token = await tokenFor({ sub: user });
    const flat = await call(subscription, 'GET', '/api/stripe/subscription', { token });
    expect(flat.status).toBe(200);
    expect(flat.body).toMatchObject({ accountId: `user:${user}`, state: 'none', hasAccess: false, accessUntil: null, subscription: null });
    const env = await call(subscription, 'GET', '/api/billing/subscription', { token });
    expect(env.status).toBe(200);
    expect(env.body).toEqual({ success: true, data: flat.body, error: null });
  });

  it('reports an active subscription with its period, price and Stripe status', async () => {
    const user = uid('u');
    const customer = await seed(`user:${user}`, 'user', [{}]);
    const res = await call(subscription, 'GET', '/api/stripe/subscription', { token: await tokenFor({ sub: user }) });
    expect(res.body.state).toBe('active');
    expect(res.body.hasAccess).toBe(true);
    expect(res.body.customerId).toBe(customer);
    expect(res.body.subscription).toMatchObject({ status: 'active', priceId: 'price_basic', cancelAtPeriodEnd: false, trialEnd: null });
    expect(res.body.accessUntil).toBe(res.body.subscription.currentPeriodEnd);
    expect(Date.parse(res.body.subscription.currentPeriodEnd)).toBeGreaterThan(Date.parse(res.body.subscription.currentPeriodStart));
  });

  it('shows canceling, trialing, past due within grace, and ended', async () => {
    const cases: Array<[Partial<SubscriptionSnapshot>, string, boolean]> = [
      [{ cancel_at_period_end: true }, 'canceling', true],
      [{ status: 'trialing', trial_end: t(nowS() + 3 * DAY) }, 'trialing', true],
      [{ status: 'past_due', past_due_since: t(nowS() - DAY) }, 'past_due', true],
      [{ status: 'past_due', past_due_since: t(nowS() - 30 * DAY) }, 'ended', false],
      [{ status: 'canceled', ended_at: t(nowS() - DAY), canceled_at: t(nowS() - DAY) }, 'ended', false],
    ];
    for (const [sub, state, hasAccess] of cases) {
      const user = uid('u');
      await seed(`user:${user}`, 'user', [sub]);
      const res = await call(subscription, 'GET', '/api/billing/subscription', { token: await tokenFor({ sub: user }) });
      expect(res.body.data, JSON.stringify(sub)).toMatchObject({ state, hasAccess });
    }
  });

  it('grace period is configurable', async () => {
    const user = uid('u');
    await seed(`user:${user}`, 'user', [{ status: 'past_due', past_due_since: t(nowS() - 2 * DAY) }]);
    const token = await tokenFor({ sub: user });
    expect((await call(subscription, 'GET', '/api/stripe/subscription', { token })).body.state).toBe('past_due');
    stack.setEnv({ PAST_DUE_GRACE_DAYS: '1' });
    try {
      expect((await call(subscription, 'GET', '/api/stripe/subscription', { token })).body.state).toBe('ended');
    } finally {
      stack.setEnv({ PAST_DUE_GRACE_DAYS: undefined });
    }
  });

  it('organization members all see the organization subscription; their own accounts stay separate', async () => {
    const org = uid('org');
    await seed(`org:${org}`, 'organization', [{}]);
    for (const role of ['owner', 'member']) {
      const res = await call(subscription, 'GET', '/api/stripe/subscription', { token: await tokenFor({ sub: uid('u'), org, role }) });
      expect(res.body).toMatchObject({ accountId: `org:${org}`, state: 'active' });
    }
    const outsider = await call(subscription, 'GET', '/api/stripe/subscription', { token: await tokenFor({ sub: uid('u') }) });
    expect(outsider.body.state).toBe('none');
  });

  it('takes the best of several subscriptions', async () => {
    const user = uid('u');
    await seed(`user:${user}`, 'user', [
      { status: 'canceled', ended_at: t(nowS() - 40 * DAY), stripe_created: t(nowS() - 90 * DAY) },
      { status: 'active' },
    ]);
    const res = await call(subscription, 'GET', '/api/stripe/subscription', { token: await tokenFor({ sub: user }) });
    expect(res.body.state).toBe('active');
  });

  it("names the catalogue plan of the subscription's product (catalogue.ts), else shows the price id", async () => {
    const user = uid('u');
    await seed(`user:${user}`, 'user', [{ price_id: 'price_pro', product_id: 'pro' }]);
    const res = await call(subscription, 'GET', '/api/stripe/subscription', { token: await tokenFor({ sub: user }) });
    expect(res.body.subscription.plan).toBe('Pro');
    expect(res.body.plan).toEqual({ key: 'pro', name: 'Pro' });
    const other = uid('u');
    await seed(`user:${other}`, 'user', [{ price_id: 'price_elsewhere', product_id: 'prod_elsewhere' }]);
    const res2 = await call(subscription, 'GET', '/api/stripe/subscription', { token: await tokenFor({ sub: other }) });
    expect(res2.body.subscription.plan).toBe('price_elsewhere');
    expect(res2.body.plan).toBeNull();
  });
});
