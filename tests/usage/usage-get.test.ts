/** GET usage: the current period's ledger, the plan's limits (included quantity and overage, used and remaining), and Stripe's view beside it. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import usage from '../../functions/usage.ts';
import type { SubscriptionRow } from '../../shared/store/types.ts';
import { usagePeriod } from '../../shared/usage/period.ts';
import { call, tokenFor, uid, type Stack } from '../helpers/stack.ts';
import { DAY, expectStripeMatchesLedger, linkedAccount, nowS, record, report, SERVICE_KEY, startUsageStack, TEST_CATALOGUE, type StripeSide } from './helpers.ts';

let stack: Stack;
let s: StripeSide;
beforeAll(async () => {
  ({ stack, s } = await startUsageStack({ BILLING_CATALOGUE: JSON.stringify(TEST_CATALOGUE) }));
});
afterEach(async () => {
  await expectStripeMatchesLedger(stack, s);
});
afterAll(async () => {
  await s.stop();
  await stack.stop();
});

const key = () => uid('k');
const get = async (token: string, query = '', path = '/api/stripe/usage') => call(usage, 'GET', `${path}${query}`, { token });

describe('GET usage', () => {
  it('needs a user token: no token or the service key is 401', async () => {
    expect((await call(usage, 'GET', '/api/stripe/usage')).status).toBe(401);
    const svc = await call(usage, 'GET', '/api/stripe/usage', { headers: { authorization: `Bearer ${SERVICE_KEY}` } });
    expect(svc.status).toBe(401);
  });

  it('without a subscription: the calendar month (UTC), and says so; the free plan\'s limits, each with what is used and left', async () => {
    const user = uid('u');
    const now = new Date();
    const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) / 1000;
    const monthEnd = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
    await record([
      { accountId: `user:${user}`, quantity: 7, idempotencyKey: key(), timestamp: monthStart - 1 }, // last month
      { accountId: `user:${user}`, quantity: 5, idempotencyKey: key(), timestamp: monthStart },
      { accountId: `user:${user}`, quantity: 6, idempotencyKey: key() },
      { accountId: `user:${user}`, quantity: 2, idempotencyKey: key(), feature: 'exports' },
    ]);
    const res = await get(await tokenFor({ sub: user }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      accountId: `user:${user}`,
      accountType: 'user',
      customerId: null,
      period: { start: new Date(monthStart * 1000).toISOString(), end: monthEnd, source: 'calendar_month' },
      plan: { key: 'free', name: 'Free', priceId: null },
      recorded: 11,
      reported: 0,
      pending: 11,
      failed: 0,
      meteredFeature: 'events',
      included: 50,
      overage: 0,
      features: { api: false },
      limits: {
        events: { limit: 50, hard: true, used: 11, remaining: 39, resetsAt: monthEnd },
        exports: { limit: 3, hard: true, used: 2, remaining: 1, resetsAt: monthEnd },
      },
      alerts: [],
    });
  });

  it('with no catalogue (plans: []): no plan, no limits, as before', async () => {
    stack.setEnv({ BILLING_CATALOGUE: JSON.stringify({ plans: [] }) });
    try {
      const start = nowS() - 10 * DAY;
      const a = await linkedAccount({ period: { start, end: start + 30 * DAY }, priceId: 'price_basic_monthly' });
      await record([{ accountId: a.accountId, quantity: 130, idempotencyKey: key() }]);
      const res = await get(await tokenFor({ sub: a.id }));
      expect(res.body).toMatchObject({
        plan: { key: null, name: 'price_basic_monthly', priceId: 'price_basic_monthly' },
        recorded: 130, included: 0, overage: 130, features: {}, limits: {}, alerts: [],
      });
      expect((await get(await tokenFor({ sub: uid('u') }))).body).toMatchObject({ plan: null, included: 0, limits: {} });
      await report();
    } finally {
      stack.setEnv({ BILLING_CATALOGUE: JSON.stringify(TEST_CATALOGUE) });
    }
  });

  it('with a subscription: its current period, the plan\'s included quantity and the overage, as reporting progresses', async () => {
    const start = nowS() - 10 * DAY;
    const a = await linkedAccount({ period: { start, end: start + 30 * DAY }, priceId: 'price_basic_monthly' });
    const token = await tokenFor({ sub: a.id });
    await record([
      { accountId: a.accountId, quantity: 1000, idempotencyKey: key(), timestamp: start - 60 }, // previous period
      { accountId: a.accountId, quantity: 60, idempotencyKey: key(), timestamp: start },
      { accountId: a.accountId, quantity: 70, idempotencyKey: key(), timestamp: nowS() - 100 },
    ]);
    const pending = await get(token);
    const end = new Date((start + 30 * DAY) * 1000).toISOString();
    expect(pending.body).toMatchObject({
      customerId: a.customer,
      period: { start: new Date(start * 1000).toISOString(), end, source: 'subscription' },
      plan: { key: 'basic', name: 'Basic', priceId: 'price_basic_monthly' },
      recorded: 130, reported: 0, pending: 130, included: 100, overage: 30,
      limits: {
        events: { limit: 100, hard: false, used: 130, remaining: 0, resetsAt: end },
        exports: { limit: 10, hard: true, used: 0, remaining: 10, resetsAt: end },
      },
    });
    await report();
    const reported = await get(token, '', '/api/billing/usage');
    expect(reported.body).toMatchObject({ success: true, data: { recorded: 130, reported: 130, pending: 0, included: 100, overage: 30 } });
  });

  it('after the subscription was canceled outright: back to the calendar month', async () => {
    const start = nowS() - 10 * DAY;
    const a = await linkedAccount({ period: { start, end: start + 30 * DAY }, priceId: 'price_basic_monthly' });
    const sql = stack.sql;
    await sql`update billing_subscriptions set status = 'canceled', ended_at = now(), canceled_at = now() where customer_id = ${a.customer}`;
    const res = await get(await tokenFor({ sub: a.id }));
    expect(res.body.period.source).toBe('calendar_month');
    expect(res.body.plan).toEqual({ key: 'free', name: 'Free', priceId: null });
    expect(res.body.included).toBe(50);
  });

  describe('when the stored period has ended but the renewal webhook has not come yet', () => {
    const iso = (s: number) => new Date(s * 1000).toISOString();
    /** The same instant `n` calendar months on (UTC). */
    const months = (s: number, n: number) => {
      const d = new Date(s * 1000);
      d.setUTCMonth(d.getUTCMonth() + n);
      return d.getTime() / 1000;
    };

    it('keeps the plan and its included quantity for the period it has most likely moved on to, marked as estimated', async () => {
      const end = nowS() - 10 * DAY;
      const a = await linkedAccount({ period: { start: months(end, -1), end }, priceId: 'price_basic_monthly' });
      await record([
        { accountId: a.accountId, quantity: 500, idempotencyKey: key(), timestamp: end - 60 }, // the stored period
        { accountId: a.accountId, quantity: 60, idempotencyKey: key(), timestamp: end },
        { accountId: a.accountId, quantity: 70, idempotencyKey: key(), timestamp: nowS() - 100 },
      ]);
      const res = await get(await tokenFor({ sub: a.id }), '?source=stripe');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        period: { start: iso(end), end: iso(months(end, 1)), source: 'subscription_estimated' },
        plan: { key: 'basic', priceId: 'price_basic_monthly' },
        recorded: 130, pending: 130, included: 100, overage: 30,
        limits: { events: { used: 130, resetsAt: iso(months(end, 1)) } },
        stripe: { start: iso(Math.floor(end / 60) * 60) },
      });
      await report();
    });

    it('rolls a weekly plan on by whole weeks until the period holds now', async () => {
      const end = nowS() - 10 * DAY;
      const a = await linkedAccount({ period: { start: end - 7 * DAY, end }, priceId: 'price_pro_monthly' });
      await record([
        { accountId: a.accountId, quantity: 5, idempotencyKey: key(), timestamp: end + 6 * DAY }, // the first estimated week, over
        { accountId: a.accountId, quantity: 8, idempotencyKey: key(), timestamp: nowS() - 100 },
      ]);
      const res = await get(await tokenFor({ sub: a.id }));
      expect(res.body).toMatchObject({
        period: { start: iso(end + 7 * DAY), end: iso(end + 14 * DAY), source: 'subscription_estimated' },
        plan: { key: 'pro', priceId: 'price_pro_monthly' },
        recorded: 8, included: 1000, overage: 0,
      });
      await report();
    });

    it('does not roll a subscription that was to end with that period: the calendar month (its plan, while it still grants access)', async () => {
      const end = nowS() - 10 * DAY;
      const a = await linkedAccount({ period: { start: months(end, -1), end }, priceId: 'price_basic_monthly' });
      await stack.sql`update billing_subscriptions set cancel_at_period_end = true where customer_id = ${a.customer}`;
      const res = await get(await tokenFor({ sub: a.id }));
      expect(res.body).toMatchObject({ period: { source: 'calendar_month' }, plan: { key: 'basic' }, included: 100 });
    });

    it('steps month plans on Stripe\'s anchor day, clamped to shorter months', () => {
      const sub = (start: string, end: string) => ({ current_period_start: start, current_period_end: end }) as SubscriptionRow;
      const at = (s: string) => Date.parse(s);
      // Anchored on the 31st: January 31 to February 28, then March 31 to April 30.
      expect(usagePeriod(sub('2027-01-31T09:00:00Z', '2027-02-28T09:00:00Z'), at('2027-04-02T00:00:00Z'), true)).toEqual({
        start: '2027-03-31T09:00:00.000Z', end: '2027-04-30T09:00:00.000Z', source: 'subscription_estimated',
      });
      // A yearly plan over a leap day.
      expect(usagePeriod(sub('2027-03-01T00:00:00Z', '2028-03-01T00:00:00Z'), at('2028-06-01T00:00:00Z'), true)).toMatchObject({
        start: '2028-03-01T00:00:00.000Z', end: '2029-03-01T00:00:00.000Z',
      });
      // Not renewing (canceling, trial, ended): not rolled.
      expect(usagePeriod(sub('2027-01-31T09:00:00Z', '2027-02-28T09:00:00Z'), at('2027-04-02T00:00:00Z'), false).source).toBe('calendar_month');
    });
  });

  it('?source=stripe shows Stripe\'s meter summaries for the same period beside the ledger', async () => {
    const start = Math.floor((nowS() - 5 * DAY) / 60) * 60;
    const a = await linkedAccount({ period: { start, end: start + 30 * DAY }, priceId: 'price_pro_monthly' });
    const token = await tokenFor({ sub: a.id });
    await record([
      { accountId: a.accountId, quantity: 400, idempotencyKey: key(), timestamp: start - 3600 },
      { accountId: a.accountId, quantity: 1200, idempotencyKey: key(), timestamp: start + 3600 },
    ]);
    const before = await get(token, '?source=stripe');
    expect(before.body).toMatchObject({ recorded: 1200, pending: 1200, included: 1000, overage: 200, stripe: { meterId: 'mtr_double_events', customerId: a.customer, aggregatedValue: 0 } });
    await report();
    const after = await get(token, '?source=stripe');
    expect(after.body).toMatchObject({ recorded: 1200, reported: 1200, stripe: { aggregatedValue: 1200, start: new Date(start * 1000).toISOString() } });
    expect((await get(token, '?source=ledger')).status).toBe(400);
  });

  it('when Stripe cannot be read, still answers the ledger and says Stripe\'s side is missing', async () => {
    const a = await linkedAccount();
    await record([{ accountId: a.accountId, quantity: 3, idempotencyKey: key() }]);
    await report();
    s.double.faults.inject({ method: 'GET', path: /event_summaries/, status: 503, times: 5 });
    try {
      const res = await get(await tokenFor({ sub: a.id }), '?source=stripe');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ recorded: 3, reported: 3, stripe: { customerId: a.customer, aggregatedValue: null, error: expect.any(String) } });
    } finally {
      s.double.faults.clear();
    }
  });

  it('organization members read their organization\'s usage; others do not see it', async () => {
    const org = await linkedAccount({ kind: 'organization' });
    await record([{ accountId: org.accountId, quantity: 42, idempotencyKey: key() }]);
    await report();
    for (const role of ['owner', 'member']) {
      const res = await get(await tokenFor({ sub: uid('u'), org: org.id, role }));
      expect(res.body).toMatchObject({ accountId: org.accountId, accountType: 'organization', recorded: 42, reported: 42 });
    }
    expect((await get(await tokenFor({ sub: uid('u') }))).body.recorded).toBe(0);
  });

  it('is rate limited like the other user endpoints', async () => {
    stack.setEnv({ RATE_LIMIT_USER: '2/1m' });
    try {
      const token = await tokenFor({ sub: uid('u') });
      expect((await get(token)).status).toBe(200);
      expect((await get(token)).status).toBe(200);
      const limited = await get(token);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBeTruthy();
    } finally {
      stack.setEnv({ RATE_LIMIT_USER: undefined });
    }
  });
});
